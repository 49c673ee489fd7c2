"""Run every grading kernel inside bubblewrap, with resource limits.

nbgrader starts kernels by kernelspec. While grading, the course's tool points it at the
kernelspec `python3-sandboxed` (autograde/jupyter/kernels/), whose command is
autograde/launcher.py. For each grading run (one nbgrader process), kernel_server()
starts a kernel server (autograde/zygote.py) in a bubblewrap sandbox that
  - runs as an unprivileged user with no capabilities (a distinct host uid when
    started as root, so that a `mount -o remount,rw /` or a fork bomb gets nowhere);
  - has its own user, PID, network, IPC and UTS namespaces: no network at all (kernels
    talk to nbgrader over IPC-transport sockets in the run's runtime folder), and dies
    with its parent;
  - sees the system and the Python environment read-only, and nothing of the course:
    no notebook (with hidden tests), no source/, gradebook, other students or home;
  - has its environment cleared and its processes limited (see Limits).
The server imports torch once and forks each notebook's kernel into namespaces of its own,
with a fresh /tmp and a private copy of the submission's non-notebook files (zygote.py says
how); this module only builds the sandbox around it.
"""
import contextlib
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from traitlets import Integer
from traitlets.config import Configurable

from . import zygote
from .course import with_repo
from .errors import AutogradeError
from .launcher import SERVER_ENV
from .scratch import owned_tempdir

KERNEL_NAME = "python3-sandboxed"
JUPYTER_PATH = Path(__file__).resolve().parent / "jupyter"
LIMITS_ENV = "AUTOGRADE_SANDBOX_LIMITS"
_STAGE_ENV = "AUTOGRADE_SANDBOX_STAGE"
INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`), "
                "or grade without the sandbox on purpose with --unsandboxed (trusted code only).")


class Limits(Configurable):
    """Per-notebook limits of a sandboxed grading kernel; set them in nbgrader_config.py (c.Limits.…)."""

    notebook_seconds = Integer(300, help="Wall time for a whole notebook; then the kernel is killed.").tag(config=True)
    memory_mb = Integer(4096, help="Memory of each kernel: its address space plus its three scratch file systems "
                                   "(torch needs ~1.5 GB of address space).").tag(config=True)
    scratch_mb = Integer(128, help="Size of each in-memory scratch file system of a kernel (/tmp, /dev/shm and its "
                                   "working folder); counted in memory_mb.").tag(config=True)
    processes = Integer(256, help="Processes and threads of the sandbox (kernel server and current kernel).").tag(config=True)
    file_mb = Integer(64, help="Largest file the sandbox may write.").tag(config=True)

    def as_env(self):
        return json.dumps({name: getattr(self, name) for name in self.trait_names(config=True)})


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
SOCKET_NAME = "zygote.sock"
RUNTIME_ENV = "AUTOGRADE_RUNTIME_DIR"
UID_RANGE = range(61000, 65000)  # host uids of sandboxes started by root, one per live sandbox
UID_LOCKS = Path("/run/autograde-uids")


@contextlib.contextmanager
def grading_session(limits, course_modules=None):
    """The environment that makes kernels started with the kernelspec KERNEL_NAME sandboxed kernels of this
    session, valid while its kernel server lives (see autograde/execute.py for how grading uses it).

    course_modules: a folder whose *.py files (the course's check modules) every kernel imports, read-only,
    ahead of anything in its working folder. The session's runtime folder receives the client's
    connection files (jupyter_client puts them in TMPDIR) and one socket folder per kernel."""
    with owned_tempdir(RUNTIME_PREFIX, dir=_runtime_parent()) as runtime_dir:
        env = {"JUPYTER_PATH": str(JUPYTER_PATH), "TMPDIR": str(runtime_dir), RUNTIME_ENV: str(runtime_dir),
               "PYTHONPATH": with_repo(os.environ.get("PYTHONPATH"))}  # the kernelspec runs autograde.launcher
        with kernel_server(limits, runtime_dir, course_modules) as server_env:
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


def _system_mounts():
    mounts = []
    for path in ("/usr", "/etc", "/opt"):
        if os.path.isdir(path):
            mounts += ["--ro-bind", path, path]
    for name in ("lib", "lib32", "lib64", "bin", "sbin"):  # merged-/usr systems link these into /usr
        path = Path("/") / name
        if path.is_symlink():
            mounts += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            mounts += ["--ro-bind", str(path), str(path)]
    return mounts


def _stage(path, staging):
    """Make path reachable for the unprivileged sandbox user, who may not walk to it (e.g. under /root):
    bind-mount it, read-only, at staging, inside the private mount namespace this launcher runs in."""
    staging.mkdir(mode=0o755)
    subprocess.run(["mount", "--bind", path, str(staging)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(staging)], check=True)
    return str(staging)


def _unstage(staging):
    """Unmount a staging point and remove the then-empty folder. Never recursive: a folder that is
    still a mount point holds the real Python environment."""
    subprocess.run(["umount", str(staging)], capture_output=True)
    try:
        staging.rmdir()
    except OSError:
        pass  # still mounted: it goes away with this launcher's mount namespace


def bwrap_command(mounts, limits):
    """The bubblewrap command line that starts the kernel server (autograde/zygote.py) in the sandbox."""
    return [
        "bwrap", "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
        "--die-with-parent", "--new-session",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", zygote.WORKDIR, "--dir", zygote.IPC_DIR,
        *_system_mounts(), *mounts,
        "--chdir", zygote.WORKDIR,
        "--clearenv",  # nothing of the grader's environment (database URLs, tokens) reaches student code
        "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp", "--setenv", "MPLBACKEND", "agg",
        "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONNOUSERSITE", "1",
        "--setenv", "NBGRADER_EXECUTION", "autograde",
        # one thread a kernel: the run's workers already use every core, and idle OpenMP threads spin
        "--setenv", "OMP_NUM_THREADS", "1",
        sys.executable, f"{zygote.SERVER_DIR}/zygote.py", f"{zygote.SERVER_DIR}/{SOCKET_NAME}", json.dumps(limits),
    ]


def _limit(limits, uid):
    """Run in the child before exec: drop to an unprivileged user (when root) and limit its processes."""
    def apply():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            # counted per host user: this uid is the sandbox's own, so the limit is the sandbox's
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
        else:  # counted per host user, who is the instructor: allow what they run already, plus the sandbox's
            resource.setrlimit(resource.RLIMIT_NPROC, (_tasks_of(os.getuid()) + limits["processes"],) * 2)
    return apply


def _tasks_of(uid):
    """Processes and threads whose real uid is uid (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as status:
                    fields = dict(line.split(":", 1) for line in status if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields["Threads"])
            except (OSError, KeyError, ValueError):
                pass  # ended meanwhile
    return count


def _check_folder(path, prefix):
    if not Path(path).name.startswith(prefix):
        sys.exit(f"autograde.sandbox: {path} is not a {prefix}… folder made for this grading run: "
                 "grade through `python -m autograde grade`.")
    return str(Path(path).resolve())


def _allocate_uid():
    """A host uid no other live sandbox has: the first of UID_RANGE, unused by any account, whose lock file this
    process can lock. The lock lasts as long as this process (the kernel server's keeper); so do the sandbox's
    processes (bwrap's --die-with-parent)."""
    import fcntl
    import pwd

    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for uid in UID_RANGE:
        try:
            pwd.getpwuid(uid)
            continue  # an account's uid: never share its process count or files
        except KeyError:
            pass
        fd = os.open(UID_LOCKS / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, fd
        except BlockingIOError:
            os.close(fd)
    raise RuntimeError(f"all {len(UID_RANGE)} sandbox uids are in use")


def main(argv=None):
    """The kernel server's keeper: python -m autograde.sandbox SERVER_DIR RUNTIME_DIR (see kernel_server).

    Starts the sandbox and stays outside it; ends it when its stdin (a pipe from the grading process) closes,
    so that nothing of a run outlives the process that started it, however that process ends."""
    argv = sys.argv[1:] if argv is None else argv
    if os.geteuid() == 0 and os.environ.get(_STAGE_ENV) != "private-mounts":
        # Root: go on in a private mount namespace (same process), where _stage can bind-mount freely.
        os.environ[_STAGE_ENV] = "private-mounts"
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--",
                              sys.executable, "-m", "autograde.sandbox", *argv])
    server_dir = _check_folder(argv[0], SERVER_PREFIX)
    runtime_dir = _check_folder(argv[1], RUNTIME_PREFIX)
    limits = json.loads(os.environ.get(LIMITS_ENV) or Limits().as_env())
    mounts = ["--bind", runtime_dir, zygote.RUNTIME_DIR, "--bind", server_dir, zygote.SERVER_DIR,
              "--ro-bind", f"{server_dir}/course", zygote.COURSE_DIR]
    staged, uid = [], None
    try:
        if os.geteuid() == 0:
            uid, _lock = _allocate_uid()  # the sandbox's own host user
            for path in [Path(server_dir), *Path(server_dir).iterdir()]:
                os.chown(path, uid, uid, follow_symlinks=False)
            os.chmod(runtime_dir, 0o1733)  # kernels may add their socket folders, not list others' files
        for prefix in sorted({sys.prefix, sys.base_prefix}):  # the Python environment
            if not prefix.startswith(("/usr/", "/opt/")):
                source = prefix
                if uid is not None:
                    staged.append(Path(tempfile.mkdtemp(prefix="stage-", dir=runtime_dir)))
                    staged[-1].chmod(0o755)
                    source = _stage(prefix, staged[-1] / "prefix")
                mounts = ["--ro-bind", source, prefix] + mounts
        child = subprocess.Popen(bwrap_command(mounts, limits), preexec_fn=_limit(limits, uid))
        signal.signal(signal.SIGTERM, lambda *_: child.kill())
        threading.Thread(target=_kill_when_stdin_closes, args=(child,), daemon=True).start()
        return child.wait()
    finally:
        for folder in staged:
            _unstage(folder / "prefix")
            _unstage(folder)


def _kill_when_stdin_closes(child):
    while os.read(0, 4096):
        pass
    child.kill()


@contextlib.contextmanager
def kernel_server(limits, runtime_dir, course_modules=None, ready_seconds=120):
    """Start the sandboxed kernel server for one grading run; yields the environment nbgrader needs.

    The server imports torch once and forks every kernel of the run from there (autograde/zygote.py):
    the kernelspec's launcher (autograde/launcher.py) finds it through SERVER_ENV."""
    with owned_tempdir(SERVER_PREFIX, dir=Path(runtime_dir).parent) as server_dir:
        shutil.copy(Path(zygote.__file__), server_dir / "zygote.py")
        (server_dir / "course").mkdir(mode=0o755)
        for module in sorted(Path(course_modules).glob("*.py")) if course_modules else []:
            if module.is_file() and not module.is_symlink():
                shutil.copy(module, server_dir / "course" / module.name)
        env = {**os.environ, LIMITS_ENV: limits.as_env(), "PYTHONPATH": with_repo(os.environ.get("PYTHONPATH"))}
        # stdin: the lifeline (the keeper ends the sandbox when it closes); a session of its own: Ctrl-C in the
        # terminal reaches the grading process only, which then ends the run in order
        server = subprocess.Popen([sys.executable, "-m", "autograde.sandbox", str(server_dir), str(runtime_dir)],
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


if __name__ == "__main__":
    sys.exit(main())
