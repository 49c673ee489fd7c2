"""A kernel server inside the sandbox: imports torch once, then forks one fresh kernel per notebook.

Starting a kernel costs ~3 s, nearly all of it `import torch` (numpy, matplotlib, ipykernel).
This process, started by autograde/sandbox.py inside bubblewrap, pays that once; for every
notebook it forks a child that becomes a kernel in about a tenth of the time. Each kernel
  - gets its own user, mount, PID, network, IPC and UTS namespaces: it is PID 1 there, so
    everything it starts dies with it, and it sees no other kernel and not this server;
  - gets a fresh /tmp, /dev/shm and working folder /grading/work (tmpfs) holding the files the
    proxy sent, and /grading/server (this file and its socket) covered by an empty folder;
  - drops every capability before running any student code, and gets the resource limits;
  - is killed when its proxy goes away or the notebook's wall time is over.
Nothing but the imported libraries passes from this server to a kernel, and nothing from
a kernel back: the server never runs student code.

Runs as a script (`python kernel_server.py SOCKET LIMITS_JSON`), so it imports nothing of the
course but its wire format (kernel_wire.py, copied next to it), the standard library and what a kernel
imports anyway.
"""
import ctypes
import io
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import tarfile
import time

try:
    from . import kernel_wire
except ImportError:  # run as a script in the server's folder, next to its copy of kernel_wire.py
    import kernel_wire

SANDBOX_ROOT = "/grading"  # made by bubblewrap: no host folder lies there
WORKDIR = f"{SANDBOX_ROOT}/work"
SERVER_DIR = f"{SANDBOX_ROOT}/server"
COURSE_DIR = f"{SANDBOX_ROOT}/course"  # the course's own modules (autograd_checks.py, ...), read-only
RUNTIME_DIR = f"{SANDBOX_ROOT}/runtime"  # the run's runtime folder: each kernel makes its socket folder here
IPC_DIR = f"{SANDBOX_ROOT}/ipc"  # where a kernel sees its own socket folder (and no other)
KERNEL_FOLDER = re.compile(r"^kernel-[0-9a-f]{32}$")  # a kernel's socket folder, named by the client
SCRATCH = ("/tmp", "/dev/shm", WORKDIR)  # the kernel's only writable places: fresh tmpfs, gone with it

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = (
    0x1, 0x2, 0x4, 0x8, 0x20, 0x1000, 0x4000, 1 << 18)
# statvfs flags that a read-only remount must keep (the kernel may not clear flags its parent namespace locked)
_KEPT_FLAGS = {os.ST_NOSUID: _MS_NOSUID, os.ST_NODEV: _MS_NODEV, os.ST_NOEXEC: _MS_NOEXEC,
               os.ST_NOATIME: 0x400, os.ST_NODIRATIME: 0x800, os.ST_RELATIME: 1 << 21}
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 24, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


# --- the server -------------------------------------------------------------------------------

def _warm_up():
    """Import what every kernel imports, and run the lazy first-use code of autograd and plotting."""
    import importlib
    import threading

    for module in ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                   "IPython.core.history", "pdb", "pydoc", "sqlite3", "mimetypes"):
        importlib.import_module(module)
    import matplotlib.pyplot as plt
    import numpy  # noqa: F401
    import torch

    x = torch.arange(3.0, requires_grad=True)
    (x * x).sum().backward()
    (x * x).backward(torch.ones(3))  # a non-scalar backward imports sympy (~0.4 s)
    torch.autograd.grad((x ** 3).sum(), x, create_graph=True)[0].sum().backward()
    figure = plt.figure()
    plt.plot([0, 1], [0, 1], label="warm")
    plt.legend()
    plt.close(figure)
    if threading.active_count() != 1:  # forking a process with threads would copy their locks mid-use
        raise RuntimeError(f"warming up started threads: {threading.enumerate()}")


def serve(socket_path, limits):
    _warm_up()
    import gc

    gc.freeze()  # the imported modules stay shared with every kernel instead of being copied on first GC
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(8)
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        _wait_for_room(limits["processes"])
        if os.fork() == 0:
            server.close()
            try:
                _kernel_supervisor(connection, limits)
            finally:
                os._exit(70)
        connection.close()
        _reap()


def _wait_for_room(processes, seconds=30):
    """Wait until the processes of ended kernels are gone. A kernel killed with hundreds of processes takes
    seconds to die; they count against the sandbox's process limit, and the next kernel must not pay for them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _reap()
        if sum(name.isdigit() for name in os.listdir("/proc")) < processes // 2:
            return
        time.sleep(0.02)


def _reap():
    while True:  # reap finished supervisors
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


# --- one kernel -------------------------------------------------------------------------------

def _receive(connection):
    """The proxy's request (kernel_wire); the kernel gets no stdin, stdout or stderr: what it prints outside
    a cell never reaches nbgrader's log or memory (cell output travels over its sockets, capped by nbgrader)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(devnull, target)
    os.close(devnull)
    return kernel_wire.receive_request(connection)


def _kernel_supervisor(connection, limits):
    """Runs in the forked child: make the namespaces, fork the kernel into them, watch it, report its end.

    It shares the kernel's namespaces but not its process, and keeps the capabilities the kernel drops:
    once the kernel has bound its sockets, it makes the kernel's socket folder read-only."""
    connection_info, files = _receive(connection)
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC
                         | _CLONE_NEWUTS), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    to_kernel, from_kernel = socket.socketpair()
    kernel = os.fork()
    if kernel == 0:
        connection.close()
        to_kernel.close()
        _become_kernel(connection_info, files, limits, from_kernel)
    from_kernel.close()
    deadline_reached, error = False, None
    pidfd = os.pidfd_open(kernel)
    timeout = limits["notebook_seconds"]
    watched = [pidfd, connection, to_kernel]
    while True:
        ready, _, _ = select.select(watched, [], [], timeout)
        if pidfd in ready:
            break
        if to_kernel in ready:  # the kernel's one message: its sockets are bound, or why it cannot start
            message = to_kernel.recv(2048).decode(errors="replace")
            watched.remove(to_kernel)
            if message == "bound":
                _remount_read_only(IPC_DIR, 0)
                to_kernel.sendall(b"go")
            else:
                error = message[:500]
            continue
        # the proxy asked, went away, or the notebook's wall time is over: end the whole kernel
        deadline_reached = not ready
        os.kill(kernel, signal.SIGKILL)  # PID 1 of its namespace: everything it started dies with it
        timeout = None
    status = os.waitpid(kernel, 0)[1]
    code = os.waitstatus_to_exitcode(status)
    try:
        kernel_wire.send_reply(connection, code, deadline_reached, error)
    except OSError:
        pass
    os._exit(0)


def _become_kernel(connection_info, files, limits, supervisor):
    """PID 1 of the new namespaces: set up its folders, drop privileges, start ipykernel."""
    try:
        os.setsid()  # its own session and process group: killpg(0) reaches this kernel's processes only
        _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)  # shows this kernel's processes only
        scratch_mb = limits["scratch_mb"]
        for scratch in SCRATCH:  # /dev/shm: what multiprocessing's locks need
            _fresh_tmpfs(scratch, scratch_mb)
        _mount("tmpfs", SERVER_DIR, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "mode=555,size=4k")
        connection = dict(connection_info)
        if connection.get("transport") != "ipc":
            raise ValueError("grading kernels talk over IPC sockets only")
        folder, name = os.path.split(os.path.dirname(connection["ip"]))[1], os.path.basename(connection["ip"])
        if not KERNEL_FOLDER.match(folder):
            raise ValueError(f"unexpected socket folder {folder!r}")
        # its own socket folder in the run's runtime folder, seen at IPC_DIR; the runtime folder (and every
        # other kernel's sockets) is then covered by an empty read-only file system
        os.mkdir(f"{RUNTIME_DIR}/{folder}", 0o700)
        _mount(f"{RUNTIME_DIR}/{folder}", IPC_DIR, None, _MS_BIND)
        _mount("tmpfs", RUNTIME_DIR, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC | _MS_RDONLY, "mode=555,size=4k")
        connection["ip"] = f"{IPC_DIR}/{name}"
        connection_file = "/tmp/kernel-connection.json"
        _write(connection_file, json.dumps(connection))
        with tarfile.open(fileobj=io.BytesIO(files)) as archive:
            archive.extractall(WORKDIR, filter="data")
        _all_read_only_but(SCRATCH + (IPC_DIR,))
        _set_limits(limits)
        _drop_capabilities()
        os.chdir(WORKDIR)
        os.environ["PWD"] = WORKDIR
        import numpy

        numpy.random.seed()  # a fresh process seeds numpy from the OS; a forked one would repeat the server's
        from ipykernel.kernelapp import IPKernelApp

        # parent_handle=1: no parent polling (its supervisor kills it), and no "started from a terminal"
        # notice; ignore_cwd: nothing in the working folder can shadow a module; no history database (and no
        # thread saving it): a grading kernel's cells are never recalled
        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file, "--IPKernelApp.parent_handle=1", "--IPKernelApp.ignore_cwd=True",
                        "--HistoryManager.enabled=False"])
        sys.path[:] = [COURSE_DIR] + [p for p in sys.path if p not in (SERVER_DIR, COURSE_DIR, "", WORKDIR)]
        supervisor.sendall(b"bound")  # the supervisor makes the socket folder read-only, then says go
        if supervisor.recv(16) != b"go":
            raise RuntimeError("the kernel server did not confirm the socket folder")
        supervisor.close()
        app.start()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as err:  # noqa: BLE001  say why the kernel could not start, then die
        try:
            supervisor.sendall(f"the kernel could not start: {err!r}".encode()[:2000])
        except OSError:
            pass
        code = 71
    os._exit(code)


def _remount_read_only(point, extra_flags):
    flags = sum(ms for st, ms in _KEPT_FLAGS.items() if os.statvfs(point).f_flag & st)
    _mount(None, point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags | extra_flags)


def _mount_points():
    with open("/proc/self/mountinfo") as mountinfo:  # field 5: the mount point, with octal escapes
        return [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4]) for line in mountinfo]


def _all_read_only_but(writable):
    """Every mount the kernel sees read-only ("/", /dev, /grading, /proc included), but its own scratch."""
    for point in dict.fromkeys(_mount_points()):
        if point not in writable and not point.startswith("/proc/"):
            try:
                _remount_read_only(point, 0)
            except OSError as err:
                if err.errno not in (2, 13):  # gone or hidden beneath another mount (ENOENT, EACCES)
                    raise


def _fresh_tmpfs(path, size_mb):
    """Mount an empty tmpfs of size_mb on path, keeping what the sandbox mounted beneath it (a Python environment
    that lives under /tmp, say): those mounts are held open, then bound again at their places."""
    below = [p for p in _mount_points() if p.startswith(path + "/")]
    topmost = [p for p in below if not any(p.startswith(q + "/") for q in below)]
    kept = [(p, os.open(p, os.O_PATH)) for p in topmost]
    _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=1777,size={size_mb}m")
    for point, fd in kept:
        os.makedirs(point, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", point, None, _MS_BIND | _MS_REC)
        os.close(fd)


def _set_limits(limits):
    mb = 1 << 20
    # the scratch file systems live in memory too: together with the address space, within memory_mb
    address_space = limits["memory_mb"] - len(SCRATCH) * limits["scratch_mb"]
    resource.setrlimit(resource.RLIMIT_AS, (address_space * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _drop_capabilities():
    """The kernel's new user namespace gave it every capability there (for the mounts above): drop them all."""
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last_cap + 1):
        _check(_libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), "capbset")
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient")
    header = struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two zeroed {effective, permitted, inheritable} sets
    _check(_libc.capset(header, data), "capset")


if __name__ == "__main__":
    serve(sys.argv[1], json.loads(sys.argv[2]))
