"""A real JupyterHub on loopback, with hub/jupyterhub_config.py as the README gives it, and the local users of a class.

The users are real Linux accounts (useradd, a password by chpasswd) that log in through PAM, as on a school's
Hub. The Hub runs as root in a private mount namespace (tests/private_mounts.py) where the course's Python is
reachable for them, so every single-user server it spawns, and every command a user runs there, sees it too;
nothing on the machine changes but the accounts, which stop() removes.
"""
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import REPO
from e2e.lab import LAB_SETTINGS, SCREENSHOTS, free_port
from private_mounts import python_paths, unshare_command

CONFIG = REPO / "hub" / "jupyterhub_config.py"
PROXY = REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent
MARK = "autograde hub test"  # GECOS of the accounts this test makes: it never touches any other account


class Hub:
    def __init__(self, groups, db_url=None):
        """groups: {Unix group: [user names]}, e.g. {"d2l-students": ["d2l-alice"], "d2l-graders": ["d2l-grader"]};
        db_url: the graders' gradebook (AUTOGRADE_DB_URL where the Hub starts), or None for each course's SQLite."""
        self.groups = groups
        self.db_url = db_url
        self.root = Path(tempfile.mkdtemp(prefix="autograde-hub-"))  # pytest's own folders are closed to others
        self.root.chmod(0o755)
        self.exchange = self.root / "exchange"
        self.exchange.mkdir()
        self.exchange.chmod(0o1777)  # as nbgrader documents /srv/nbgrader/exchange: everyone writes, nobody deletes others'
        self.state = self.root / "state"  # the Hub's own database and cookie secret, root's only
        self.state.mkdir(mode=0o700)
        self.passwords = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.root / "jupyterhub.log"
        self.process = None

    def env(self):
        """The Hub's environment, as an administrator starts it."""
        env = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "AUTOGRADE_EXCHANGE": str(self.exchange)}
        return {**env, "AUTOGRADE_DB_URL": self.db_url} if self.db_url else env

    def add_users(self):
        for group, users in self.groups.items():
            if subprocess.run(["getent", "group", group], capture_output=True).returncode != 0:
                subprocess.run(["groupadd", group], check=True)
            for user in users:
                self._remove_user(user)  # left by an earlier run that was killed
                subprocess.run(["useradd", "--create-home", "--home-dir", str(self.home(user)), "--gid", group,
                                "--shell", "/bin/bash", "--comment", MARK, user], check=True)
                self.passwords[user] = secrets.token_urlsafe(12)
                subprocess.run(["chpasswd"], input=f"{user}:{self.passwords[user]}\n", text=True, check=True)
                self._lab_settings(user)

    def home(self, user):
        return self.root / "home" / user

    def _lab_settings(self, user):
        """JupyterLab's per-user settings: no news pop-up (it would reach for the internet over the screenshots)."""
        import json

        for plugin, values in LAB_SETTINGS.items():
            path = self.home(user) / ".jupyter" / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.chown(self.home(user) / ".jupyter", user)

    def chown(self, path, user):
        subprocess.run(["chown", "-R", f"{user}:", str(path)], check=True)

    @staticmethod
    def _remove_user(user):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return
        assert entry.pw_gecos == MARK, f"An account {user} exists that this test did not make: not touching it."
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        subprocess.run(["userdel", user], check=True, capture_output=True)

    def start(self, timeout=60):
        assert PROXY.exists(), ("JupyterHub's proxy is not installed: run `make hub-proxy` (npm ci --prefix hub; "
                                "`make test` and `make e2e` do it first).")
        keep = self.root / "keep"
        keep.mkdir()
        command = (f"{BIN}/jupyterhub -f {CONFIG} --port {self.port} --JupyterHub.hub_port={free_port()} "
                   f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}")
        self.process = subprocess.Popen(unshare_command(python_paths(), keep, command), cwd=self.state,
                                        env=self.env(), stdin=subprocess.DEVNULL, stdout=self.log.open("wb"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"JupyterHub did not answer on {self.url} within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=60):
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def server_env(self, user):
        """The environment of the user's running JupyterLab (what the Hub gave it; its terminals have the same)."""
        uid = pwd.getpwnam(user).pw_uid
        for proc in Path("/proc").iterdir():
            try:
                if not proc.name.isdigit() or proc.stat().st_uid != uid:
                    continue
                if b"jupyterhub-singleuser" in (proc / "cmdline").read_bytes():
                    items = (proc / "environ").read_bytes().split(b"\0")
                    return dict(item.decode().split("=", 1) for item in items if b"=" in item)
            except OSError:
                continue
        raise AssertionError(f"{user} has no JupyterLab running on the Hub")

    def run_as(self, user, *command, cwd=None, timeout=600):
        """A command as `user` in the Hub's mount namespace, in the environment of their JupyterLab's terminals:
        the user must be logged in."""
        cwd = cwd or self.home(user)
        argv = ["nsenter", f"--target={self.process.pid}", "--mount", f"--wd={cwd}", "--",  # entering resets the cwd
                "setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--init-groups", "--reset-env",
                "env", *(f"{k}={v}" for k, v in self.server_env(user).items()), *map(str, command)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    @staticmethod
    def _processes(users):
        found = []
        for user in users:
            listed = subprocess.run(["ps", "-u", user, "-o", "pid=,stat=,args="], capture_output=True, text=True)
            found += [line.strip() for line in listed.stdout.splitlines() if line.split()[1][0] != "Z"]
        return found

    def stop(self):
        """Stop the Hub (it stops the users' servers and its proxy), end what is left of the users, remove them;
        returns the users' processes that outlived the Hub by more than 10 s."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        users = [user for names in self.groups.values() for user in names]
        for _ in range(40):  # kernels may take a moment to exit after their server
            left = self._processes(users)
            if not left:
                break
            time.sleep(0.25)
        for user in users:
            self._remove_user(user)
        for group in self.groups:
            subprocess.run(["groupdel", group], capture_output=True)
        if self.log.exists():  # the Hub's and its servers' log, beside the screenshots, for a person to read
            SCREENSHOTS.mkdir(exist_ok=True)
            shutil.copy(self.log, SCREENSHOTS / "jupyterhub.log")
        shutil.rmtree(self.root, ignore_errors=True)
        return left
