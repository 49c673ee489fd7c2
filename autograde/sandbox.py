"""A grading session: every kernel of it runs in one bubblewrap sandbox, with resource limits.

nbgrader starts kernels by kernelspec. While grading, autograde/execute.py points it at the
kernelspec `python3-sandboxed` (autograde/jupyter/kernels/), whose command is the kernel proxy
(autograde/kernel_proxy.py). For each session, running_kernel_server() starts the session's kernel
server (autograde/kernel_server.py) through its keeper (autograde/sandbox_keeper.py, which builds the
sandbox and says what it allows). The server imports torch once and forks each notebook's kernel into
namespaces of its own, with fresh scratch file systems and a private copy of the submission's
non-notebook files (kernel_server.py says how). This module is what the grading process uses: the
limits (set in nbgrader_config.py), whether the sandbox can run here, and the session.
"""
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from traitlets import Integer
from traitlets.config import Configurable

from . import kernel_server, kernel_wire
from .course import with_repo
from .errors import AutogradeError
from .kernel_proxy import SERVER_ENV
from .scratch import owned_tempdir

KERNEL_NAME = "python3-sandboxed"
JUPYTER_PATH = Path(__file__).resolve().parent / "jupyter"
LIMITS_ENV = "AUTOGRADE_SANDBOX_LIMITS"
INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`), "
                "or grade without the sandbox on purpose with --unsandboxed (trusted code only).")


class Limits(Configurable):
    """Per-notebook limits of a sandboxed grading kernel. Their values live in one place, the course's
    nbgrader_config.py (c.Limits.…); a session refuses to start while one is unset."""

    notebook_seconds = Integer(None, allow_none=True,
                               help="Wall time for a whole notebook; then the kernel is killed.").tag(config=True)
    memory_mb = Integer(None, allow_none=True, help="Memory of each kernel: its address space plus its three scratch "
                                                    "file systems (torch needs ~1.5 GB of address space).").tag(config=True)
    scratch_mb = Integer(None, allow_none=True, help="Size of each in-memory scratch file system of a kernel (/tmp, "
                                                     "/dev/shm and its working folder); counted in memory_mb.").tag(config=True)
    processes = Integer(None, allow_none=True,
                        help="Processes and threads of the sandbox (kernel server and current kernel).").tag(config=True)
    file_mb = Integer(None, allow_none=True, help="Largest file the sandbox may write.").tag(config=True)

    def as_env(self):
        values = {name: getattr(self, name) for name in self.trait_names(config=True)}
        unset = sorted(name for name, value in values.items() if value is None)
        if unset:
            raise AutogradeError(f"nbgrader_config.py does not set c.Limits.{unset[0]}: the sandbox needs every limit.",
                                 hint="Copy the c.Limits lines from the course's nbgrader_config.py.")
        return json.dumps(values)


def problem():
    """Why the sandbox cannot run here, or None if it can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    probe = subprocess.run(["bwrap", "--unshare-all", "--unshare-user", "--die-with-parent",
                            "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot create a sandbox here ({probe.stderr.strip() or probe.returncode})"
    return None


RUNTIME_PREFIX = "autograde-runtime-"
SERVER_PREFIX = "autograde-server-"
SOCKET_NAME = "kernel-server.sock"
RUNTIME_ENV = "AUTOGRADE_RUNTIME_DIR"


@contextlib.contextmanager
def grading_session(limits, course_modules=None):
    """The environment that makes kernels started with the kernelspec KERNEL_NAME sandboxed kernels of this
    session, valid while its kernel server lives (see autograde/execute.py for how grading uses it).

    course_modules: a folder whose *.py files (the course's check modules) every kernel imports, read-only,
    ahead of anything in its working folder. The session's runtime folder receives the client's
    connection files (jupyter_client puts them in TMPDIR) and one socket folder per kernel."""
    with owned_tempdir(RUNTIME_PREFIX, dir=_runtime_parent()) as runtime_dir:
        env = {"JUPYTER_PATH": str(JUPYTER_PATH), "TMPDIR": str(runtime_dir), RUNTIME_ENV: str(runtime_dir),
               "PYTHONPATH": with_repo(os.environ.get("PYTHONPATH"))}  # the kernelspec runs autograde.kernel_proxy
        with running_kernel_server(limits, runtime_dir, course_modules) as server_env:
            yield {**env, **server_env}


def _runtime_parent():
    """Where a session's folders go: the temporary folder, unless root grades and the sandbox's own uid could
    not reach it (TMPDIR under /root, say); then a folder of /run that it can."""
    parent = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0 or all(os.stat(p).st_mode & 0o001 for p in [parent, *parent.parents]):
        return str(parent)
    fallback = Path("/run/autograde-runs")
    fallback.mkdir(mode=0o711, exist_ok=True)
    return str(fallback)


@contextlib.contextmanager
def running_kernel_server(limits, runtime_dir, course_modules=None, ready_seconds=120):
    """Start the sandboxed kernel server for one grading run; yields the environment nbgrader needs.

    The server imports torch once and forks every kernel of the run from there (autograde/kernel_server.py):
    the kernelspec's launcher (autograde/kernel_proxy.py) finds it through SERVER_ENV."""
    with owned_tempdir(SERVER_PREFIX, dir=Path(runtime_dir).parent) as server_dir:
        for script in (kernel_server.__file__, kernel_wire.__file__):  # run there as a script and its neighbour
            shutil.copy(script, server_dir / Path(script).name)
        (server_dir / "course").mkdir(mode=0o755)
        for module in sorted(Path(course_modules).glob("*.py")) if course_modules else []:
            if module.is_file() and not module.is_symlink():
                shutil.copy(module, server_dir / "course" / module.name)
        env = {**os.environ, LIMITS_ENV: limits.as_env(), "PYTHONPATH": with_repo(os.environ.get("PYTHONPATH"))}
        # stdin: the lifeline (the keeper ends the sandbox when it closes); a session of its own: Ctrl-C in the
        # terminal reaches the grading process only, which then ends the run in order
        server = subprocess.Popen([sys.executable, "-m", "autograde.sandbox_keeper", str(server_dir), str(runtime_dir)],
                                  env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True)
        try:
            _wait_until_ready(server, ready_seconds)
            yield {SERVER_ENV: str(server_dir / SOCKET_NAME)}
        finally:
            _stop(server)
            for stream in (server.stdin, server.stdout, server.stderr):
                stream.close()


def _stop(server):
    """End the server and everything it started (its process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            pass  # already gone
        try:
            server.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_until_ready(server, seconds):
    ready, _, _ = select.select([server.stdout], [], [], seconds)
    line = server.stdout.readline() if ready else b""
    if line.strip() != b"ready":
        _stop(server)
        why = server.stderr.read().decode(errors="replace").strip().splitlines()
        raise AutogradeError("The sandboxed kernel server did not start: "
                             + (why[-1].rstrip(".") if why else f"no answer within {seconds} s") + ".",
                             hint="Run `python -m autograde grade -v`, or grade with --unsandboxed (trusted code only).")


def require(unsandboxed):
    """Refuse to grade untrusted code without the sandbox, unless the instructor opted out."""
    reason = problem()
    if reason and not unsandboxed:
        raise AutogradeError(f"Cannot grade safely: {reason}.", hint=INSTALL_HINT)
    return reason


