"""Run each grading kernel inside bubblewrap, with resource limits.

nbgrader starts kernels by kernelspec. While grading, the course's tool points it at
the kernelspec `python3-sandboxed` (autograde/jupyter/kernels/), whose command is
`python -m autograde.sandbox {connection_file}`: this module. It starts ipykernel in a
sandbox that
  - runs as an unprivileged user with no capabilities (a distinct host uid when
    started as root, so that a `mount -o remount,rw /` or a fork bomb gets nowhere);
  - has its own user, PID, network, IPC and UTS namespaces: no network at all (the
    kernel talks to nbgrader over IPC-transport sockets in the runtime folder), and
    dies with its parent;
  - sees the system and the Python environment read-only, a fresh /tmp, and a private
    writable copy of the submission's non-notebook files as its working folder: no
    notebook (with hidden tests), no source/, gradebook, other students or home;
  - is limited in memory, processes, file size and total time (see Limits).
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from traitlets import Integer
from traitlets.config import Configurable

from .errors import AutogradeError

KERNEL_NAME = "python3-sandboxed"
JUPYTER_PATH = Path(__file__).resolve().parent / "jupyter"
LIMITS_ENV = "AUTOGRADE_SANDBOX_LIMITS"
_STAGE_ENV = "AUTOGRADE_SANDBOX_STAGE"
INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`), "
                "or grade without the sandbox on purpose with --unsandboxed (trusted code only).")


class Limits(Configurable):
    """Per-notebook limits of a sandboxed grading kernel; set them in nbgrader_config.py (c.Limits.…)."""

    notebook_seconds = Integer(300, help="Wall time for a whole notebook; then the kernel is killed.").tag(config=True)
    memory_mb = Integer(4096, help="Address space of each process in the sandbox (torch needs ~1.5 GB).").tag(config=True)
    processes = Integer(256, help="Processes and threads of the sandbox's user (torch starts a few threads).").tag(config=True)
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


def nbgrader_options(limits, runtime_dir):
    """(extra nbgrader arguments, extra environment) that make nbgrader grade in the sandbox.

    runtime_dir, a folder made for this run (named RUNTIME_PREFIX…), receives the connection
    files (jupyter_client puts them in TMPDIR) and the IPC sockets (an absolute `ip` prefix:
    the default is relative to the working folder, which differs inside the sandbox)."""
    if not Path(runtime_dir).name.startswith(RUNTIME_PREFIX):
        raise ValueError(f"runtime folder must be named {RUNTIME_PREFIX}…: {runtime_dir}")
    args = [f"--Execute.kernel_name={KERNEL_NAME}", "--KernelManager.transport=ipc",
            f"--KernelManager.ip={Path(runtime_dir) / 'kernel-ipc'}"]
    env = {"JUPYTER_PATH": str(JUPYTER_PATH), "TMPDIR": str(runtime_dir), LIMITS_ENV: limits.as_env()}
    return args, env


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


def bwrap_command(mounts, connection_file, workdir):
    """The bubblewrap command line that starts ipykernel for this connection file."""
    return [
        "bwrap", "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
        "--die-with-parent", "--new-session",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        *_system_mounts(), *mounts,
        "--chdir", workdir,
        "--clearenv",  # nothing of the grader's environment (database URLs, tokens) reaches student code
        "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp", "--setenv", "MPLBACKEND", "agg",
        "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONNOUSERSITE", "1",
        "--setenv", "NBGRADER_EXECUTION", "autograde",
        sys.executable, "-m", "ipykernel_launcher", "-f", connection_file,
    ]


def _private_copy(workdir, private_root):
    """Copy the working folder's files, but no notebook: those hold the hidden tests."""
    target = private_root / "work"
    shutil.copytree(workdir, target, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    return target


def _limit(limits, uid):
    """Run in the child before exec: drop to an unprivileged user (when root) and set the limits."""
    def apply():
        mb = 1 << 20
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_mb"] * mb,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            # counted per host user: this uid is the sandbox's own, so the limit is the sandbox's
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
        else:
            current = len([p for p in os.listdir("/proc") if p.isdigit()])
            resource.setrlimit(resource.RLIMIT_NPROC, (current + limits["processes"],) * 2)
    return apply


def main(argv=None):
    """Kernel launcher: python -m autograde.sandbox CONNECTION_FILE (started by jupyter_client)."""
    argv = sys.argv[1:] if argv is None else argv
    if os.geteuid() == 0 and os.environ.get(_STAGE_ENV) != "private-mounts":
        # Root: go on in a private mount namespace (same process), where _stage can bind-mount freely.
        os.environ[_STAGE_ENV] = "private-mounts"
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--",
                              sys.executable, "-m", "autograde.sandbox", *argv])
    connection_file = os.path.abspath(argv[0])
    runtime_dir = os.path.dirname(connection_file)
    if not os.path.basename(runtime_dir).startswith(RUNTIME_PREFIX):
        sys.exit(f"autograde.sandbox: the connection file must lie in a {RUNTIME_PREFIX}… folder made for "
                 f"this grading run, not in {runtime_dir}: run the kernel through `python -m autograde grade`.")
    limits = json.loads(os.environ.get(LIMITS_ENV) or Limits().as_env())
    workdir = os.getcwd()
    private_root = Path(tempfile.mkdtemp(prefix="sandbox-", dir=runtime_dir))
    staged = []
    private_conn = private_root / "connection.json"
    shutil.copy(connection_file, private_conn)  # the client's own copy is readable by root only
    private_workdir = _private_copy(workdir, private_root)
    mounts = ["--bind", runtime_dir, runtime_dir,  # ipykernel creates its IPC sockets here
              "--ro-bind", str(private_conn), connection_file,
              "--bind", str(private_workdir), workdir]
    uid = None
    try:
        if os.geteuid() == 0:
            uid = 61000 + os.getpid() % 4000  # the sandbox's own host user
            for path in [private_root, *private_root.rglob("*")]:
                os.chown(path, uid, uid, follow_symlinks=False)
            os.chmod(runtime_dir, 0o1733)  # the kernel may add its sockets, not list others' files
        for prefix in sorted({sys.prefix, sys.base_prefix}):  # the Python environment
            if not prefix.startswith(("/usr/", "/opt/")):
                source = prefix
                if uid is not None:
                    staged.append(Path(tempfile.mkdtemp(prefix="stage-", dir=runtime_dir)))
                    staged[-1].chmod(0o755)
                    source = _stage(prefix, staged[-1] / "prefix")
                mounts = ["--ro-bind", source, prefix] + mounts
        child = subprocess.Popen(bwrap_command(mounts, connection_file, workdir), preexec_fn=_limit(limits, uid))
        signal.signal(signal.SIGTERM, lambda *_: child.kill())
        try:
            return child.wait(timeout=limits["notebook_seconds"])
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()
    finally:
        for folder in staged:
            _unstage(folder / "prefix")
            _unstage(folder)
        shutil.rmtree(private_root, ignore_errors=True)  # holds no mount point: staging lies apart


def require(unsandboxed):
    """Refuse to grade untrusted code without the sandbox, unless the instructor opted out."""
    reason = problem()
    if reason and not unsandboxed:
        raise AutogradeError(f"Cannot grade safely: {reason}.", hint=INSTALL_HINT)
    return reason


if __name__ == "__main__":
    sys.exit(main())
