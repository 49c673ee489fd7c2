"""A real `make lab` server and the few JupyterLab gestures the browser tests make.

The server is started exactly as the README tells a student: `make lab` in the course folder, from
that course's own Makefile, and the test reads the token from the URL it prints. What a test needs on
top goes through Jupyter's own configuration, not the command line: a free port and no browser window
(jupyter_server_config.json in a private JUPYTER_CONFIG_DIR), and Jupyter's per-user folders (settings,
workspaces, runtime files) in the test's temporary folder, so that neither the settings of the person
running the tests nor other tests leak in.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

E2E = Path(__file__).resolve().parent
REPO = E2E.parent.parent
SCREENSHOTS = E2E / "screenshots"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
# Debian's Chromium, and a font with Chinese glyphs so that screenshots show text rather than boxes.
INSTALL_LINE = "apt-get install -y chromium fonts-wqy-microhei"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
                 "--disable-extensions", "--no-first-run", "--mute-audio"]
# `make lab` runs the environment that runs these tests (the course's .venv/, or a conda env).
ENV_PREFIX = Path(sys.prefix)
# Per-user JupyterLab settings of the test servers: no news pop-up over the screenshots (it would also
# try to reach the internet). Everything else is JupyterLab's default, as a new student has it.
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_section(heading):
    """The README's section under `## HEADING`, up to the next `## `."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section '## {heading}'"
    return match.group(1)


def code_commands(markdown):
    """The commands of a markdown text's ```bash blocks, without their comments."""
    blocks = re.findall(r"```bash\n(.*?)```", markdown, re.DOTALL)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.split("#")[0].strip()]


class Lab:
    """`make lab` in a course folder; stop() shuts it down with its kernels and says what was left."""

    def __init__(self, folder, home, makefile=None):
        self.folder = Path(folder)
        self.makefile = Path(makefile or self.folder / "Makefile")
        self.home = Path(home)
        self.port = free_port()
        self.token = None  # jupyter makes one and prints it, as for a student
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = self.home / "make-lab.log"
        self.process = None

    runtime = property(lambda self: self.home / "runtime")

    def url(self, path="lab", token=True):
        path = path.lstrip("/")
        if not token:
            return f"{self.base}/{path}"
        return f"{self.base}/{path}{'&' if '?' in path else '?'}token={self.token}"

    def command(self):
        """`make lab`; VENV= and -o make it use the tests' environment as it is instead of building .venv/ here."""
        return ["make", "--no-print-directory", "-f", str(self.makefile), "lab",
                f"VENV={ENV_PREFIX}", "-o", str(ENV_PREFIX / ".installed")]

    def _configure(self):
        config = self.home / "config"
        server = {"port": self.port, "port_retries": 0, "open_browser": False}
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            server["allow_root"] = True  # CI (and many containers) run as root, which jupyter refuses unless told
        config.mkdir(parents=True, exist_ok=True)
        (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": server}, indent=1))
        for plugin, values in LAB_SETTINGS.items():
            path = config / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {**os.environ,
               "JUPYTER_CONFIG_DIR": str(config),  # also holds lab/user-settings and lab/workspaces
               "JUPYTER_DATA_DIR": str(self.home / "data"),
               "JUPYTER_RUNTIME_DIR": str(self.runtime)}
        for name in ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE", "JUPYTER_PORT", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH",
                     "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_ALLOW_INSECURE_WRITES"):
            env.pop(name, None)
        return env

    def start(self, timeout=90):
        env = self._configure()
        self.process = subprocess.Popen(self.command(), cwd=self.folder, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"`make lab` exited with {self.process.returncode}:\n{self.log_tail()}")
            printed = self.printed_urls()
            if printed:
                self.token = printed[0].rsplit("=", 1)[1]
                try:
                    with urllib.request.urlopen(self.url("api/status"), timeout=2) as response:
                        if response.status == 200:
                            return self
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.base} within {timeout} s:\n{self.log_tail()}")

    def log_text(self):
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def printed_urls(self):
        """The URLs with a token that `make lab` printed for the student to open."""
        return re.findall(rf"http://127\.0\.0\.1:{self.port}/lab\?token=[0-9a-f]{{16,}}", self.log_text())

    def api(self, method, path, body=None, token=True):
        """(status, JSON or text, headers) of one REST call; redirects are not followed."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path, token=token), data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                status, text, headers = response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as err:
            status, text, headers = err.code, err.read().decode(errors="replace"), err.headers
        try:
            return status, json.loads(text), headers
        except ValueError:
            return status, text, headers

    def shutdown_kernels(self):
        status, sessions, _ = self.api("GET", "api/sessions")
        for session in sessions if status == 200 else []:
            self.api("DELETE", f"api/sessions/{session['id']}")

    def leftovers(self):
        """Live processes of this server: in its process group, or a kernel with a connection file of its runtime."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            pid = int(proc.name)
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                group = os.getpgid(pid)
            except (OSError, IndexError):
                continue
            if state != "Z" and ((self.process and group == self.process.pid) or str(self.runtime) in cmdline):
                found.append((pid, cmdline))
        return found

    def stop(self):
        """Shut down through the server's API (kernels too), else by signals; kill and return what was left."""
        if self.process is None:
            return []
        if self.process.poll() is None:
            self.api("POST", "api/shutdown")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
        left = []
        for _ in range(20):  # kernels may take a moment to exit after the server
            left = self.leftovers()
            if not left:
                break
            time.sleep(0.25)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None
        return left


def running_lab(folder, home, makefile=None):
    """For a fixture: yields `make lab` running in folder; stops it, failing if any process of it was left."""
    server = Lab(folder, home, makefile).start()
    try:
        yield server
    finally:
        left = server.stop()
    assert not left, f"processes of `make lab` still running after shutdown (now killed): {left}"


def shot(page, name, **kwargs):
    """Save a screenshot as tests/e2e/screenshots/NAME.png, for a person to look at; returns its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path


def show(locator, block="start"):
    """Scroll an element to the top (or "center") of its scroll area and wait until it is painted there."""
    locator.evaluate("(e, block) => e.scrollIntoView({block})", block)
    locator.page.wait_for_function(
        """e => { const r = e.getBoundingClientRect();
                  return r.bottom > 0 && r.top < window.innerHeight && r.height > 0; }""",
        arg=locator.element_handle())
    locator.page.wait_for_timeout(400)  # a few frames for JupyterLab's windowed notebook to render the cells
    return locator


def exactly(text):
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def menu(page, *labels):
    """Click through JupyterLab's main menu: menu(page, "Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-item", has=page.locator(".lm-MenuBar-itemLabel", has_text=exactly(labels[0]))).click()
    for label in labels[1:]:
        item = page.locator(".lm-Menu:visible .lm-Menu-item",
                            has=page.locator(".lm-Menu-itemLabel", has_text=exactly(label)))
        item.first.click()


class Notebook:
    """The notebook open in the visible notebook tab, cell by cell as in its file."""

    def __init__(self, page, path):
        self.page = page
        self.path = Path(path)
        self.cells_json = json.loads(self.path.read_text(encoding="utf-8"))["cells"]
        self.panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        self.cells = self.panel.locator(".jp-Notebook .jp-Cell")

    def wait_loaded(self, timeout=60_000):
        self.page.wait_for_function(
            """n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length
                   === n""", arg=len(self.cells_json), timeout=timeout)
        return self

    def index(self, grade_id):
        for i, cell in enumerate(self.cells_json):
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
                return i
        raise KeyError(grade_id)

    def cell(self, key):
        return self.cells.nth(key if isinstance(key, int) else self.index(key))

    def source(self, key):
        cell = self.cells_json[key if isinstance(key, int) else self.index(key)]
        return "".join(cell["source"])

    def set_source(self, key, text):
        """Replace a cell's code as a student pasting it would (no auto-indent or auto-closed brackets)."""
        editor = self.cell(key).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")  # back to command mode, as after typing

    def prompts(self):
        return self.panel.locator(".jp-CodeCell .jp-InputPrompt").evaluate_all("ps => ps.map(p => p.textContent)")

    def prompt(self, key):
        return self.cell(key).locator(".jp-InputPrompt").text_content()

    def last_code_cell(self):
        return max(i for i, c in enumerate(self.cells_json) if c["cell_type"] == "code")

    def run_all(self, until=None, wait=True, timeout=180_000):
        """Run → Run All Cells; then wait until cell `until` (default: the last code cell) has run and none is queued.

        With wait=False, returns what wait_ran() needs to wait later.
        """
        until = self.last_code_cell() if until is None else until
        before = self.prompt(until)
        # Note when a cell gets queued ([*]), so that a run ending on the same count as before is still seen.
        self.panel.evaluate("""panel => {
            window.e2eQueued = false;
            new MutationObserver((_, observer) => {
                if ([...panel.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))) {
                    window.e2eQueued = true;
                    observer.disconnect();
                }
            }).observe(panel, {subtree: true, childList: true, characterData: true});
        }""")
        menu(self.page, "Run", "Run All Cells")
        if not wait:
            return until, before
        self.wait_ran(until, before, timeout)

    def wait_ran(self, key, before, timeout=180_000):
        index = key if isinstance(key, int) else self.index(key)
        self.page.wait_for_function(
            """([i, before]) => {
                 const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                 const prompt = panel.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('.jp-InputPrompt')
                     .textContent;
                 const queued = [...panel.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
                 return /\\d/.test(prompt) && (window.e2eQueued || prompt !== before) && !queued;
               }""", arg=[index, before], timeout=timeout)

    def output(self, key):
        return self.cell(key).locator(".jp-OutputArea").text_content()

    def errors(self):
        """Texts of the outputs shown as errors or warnings (stderr and tracebacks share this mime type)."""
        return self.panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]') \
            .evaluate_all("os => os.map(o => o.textContent)")
