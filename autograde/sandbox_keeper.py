"""The kernel server's keeper: the one process of a grading session outside the sandbox.

`python -m autograde.sandbox_keeper SERVER_DIR RUNTIME_DIR`, started by autograde/sandbox.py, starts the
kernel server (autograde/kernel_server.py) in bubblewrap and stays outside it: as root, in a private mount
namespace, it stages the Python environment where the sandbox's own uid can read it and allocates that uid;
it limits the sandbox's processes; it ends the sandbox when its stdin (a pipe from the grading process)
closes, so nothing of a session outlives the process that started it, however that process ends.
The sandbox
  - runs as an unprivileged user with no capabilities (a distinct host uid when started as root, so that a
    `mount -o remount,rw /` or a fork bomb gets nowhere);
  - has its own user, PID, network, IPC and UTS namespaces: no network at all (kernels talk to nbgrader over
    IPC-transport sockets in the session's runtime folder), and dies with its keeper;
  - sees the system and the Python environment read-only, and of the course only its modules (read-only):
    no notebook (with hidden tests), no source/, gradebook, other students or home;
  - has its environment cleared and its processes limited (sandbox.Limits).
"""
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from . import kernel_server
from .scratch import wait_for_lifeline
from .sandbox import LIMITS_ENV, RUNTIME_PREFIX, SERVER_PREFIX, SOCKET_NAME

_STAGE_ENV = "AUTOGRADE_SANDBOX_STAGE"
UID_RANGE = range(61000, 65000)  # host uids of sandboxes started by root, one per live sandbox
UID_LOCKS = Path("/run/autograde-uids")


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
    """The bubblewrap command line that starts the kernel server (autograde/kernel_server.py) in the sandbox."""
    return [
        "bwrap", "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
        "--die-with-parent", "--new-session",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", kernel_server.WORKDIR, "--dir", kernel_server.IPC_DIR,
        *_system_mounts(), *mounts,
        "--chdir", kernel_server.WORKDIR,
        "--clearenv",  # nothing of the grader's environment (database URLs, tokens) reaches student code
        "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp", "--setenv", "MPLBACKEND", "agg",
        "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONNOUSERSITE", "1",
        "--setenv", "NBGRADER_EXECUTION", "autograde",
        # one thread a kernel: the run's workers already use every core, and idle OpenMP threads spin
        "--setenv", "OMP_NUM_THREADS", "1",
        sys.executable, f"{kernel_server.SERVER_DIR}/kernel_server.py", f"{kernel_server.SERVER_DIR}/{SOCKET_NAME}", json.dumps(limits),
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
    """Start the sandbox, stay outside it, end it when stdin closes (see the module's docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if os.geteuid() == 0 and os.environ.get(_STAGE_ENV) != "private-mounts":
        # Root: go on in a private mount namespace (same process), where _stage can bind-mount freely.
        os.environ[_STAGE_ENV] = "private-mounts"
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--",
                              sys.executable, "-m", "autograde.sandbox_keeper", *argv])
    server_dir = _check_folder(argv[0], SERVER_PREFIX)
    runtime_dir = _check_folder(argv[1], RUNTIME_PREFIX)
    limits = json.loads(os.environ[LIMITS_ENV])  # set by sandbox.running_kernel_server
    mounts = ["--bind", runtime_dir, kernel_server.RUNTIME_DIR, "--bind", server_dir, kernel_server.SERVER_DIR,
              "--ro-bind", f"{server_dir}/course", kernel_server.COURSE_DIR]
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
    wait_for_lifeline()
    child.kill()




if __name__ == "__main__":
    sys.exit(main())
