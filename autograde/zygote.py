"""A kernel server inside the sandbox: imports torch once, then forks one fresh kernel per notebook.

Starting a kernel costs ~3 s, nearly all of it `import torch` (numpy, matplotlib, ipykernel).
This process, started by autograde/sandbox.py inside bubblewrap, pays that once; for every
notebook it forks a child that becomes a kernel in about a tenth of the time. Each kernel
  - gets its own user, mount, PID, network, IPC and UTS namespaces: it is PID 1 there, so
    everything it starts dies with it, and it sees no other kernel and not this server;
  - gets a fresh /tmp, /dev/shm and working folder /grading/work (tmpfs) holding the files the
    launcher sent, and /grading/server (this file and its socket) covered by an empty folder;
  - drops every capability before running any student code, and gets the resource limits;
  - is killed when its launcher goes away or the notebook's wall time is over.
Nothing but the imported libraries passes from this server to a kernel, and nothing from
a kernel back: the server never runs student code.

Runs as a script (`python zygote.py SOCKET LIMITS_JSON`), so it imports nothing of the
course, only the standard library and what a kernel imports anyway.
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

SANDBOX_ROOT = "/grading"  # made by bubblewrap: no host folder lies there
WORKDIR = f"{SANDBOX_ROOT}/work"
SERVER_DIR = f"{SANDBOX_ROOT}/server"
RUNTIME_DIR = f"{SANDBOX_ROOT}/runtime"  # the run's runtime folder: kernels create their IPC sockets here

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 1 << 18
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
        if os.fork() == 0:
            server.close()
            try:
                _kernel_supervisor(connection, limits)
            finally:
                os._exit(70)
        connection.close()
        while True:  # reap finished supervisors
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


# --- one kernel -------------------------------------------------------------------------------

def _receive(connection):
    """The launcher's request: its stdin, stdout and stderr, then a JSON header line and a tar of the
    working folder's files. The kernel writes to the launcher's stdout and stderr, as a kernel
    started directly would (into nbgrader's log)."""
    _, fds, _, _ = socket.recv_fds(connection, 1, 3)
    for fd, target in zip(fds, (0, 1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    stream = connection.makefile("rb")
    header = json.loads(stream.readline())
    files = stream.read(header["tar_bytes"])
    return header, files


def _kernel_supervisor(connection, limits):
    """Runs in the forked child: make the namespaces, fork the kernel into them, watch it, report its end."""
    header, files = _receive(connection)
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC
                         | _CLONE_NEWUTS), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    kernel = os.fork()
    if kernel == 0:
        connection.close()
        _become_kernel(header, files, limits)
    deadline_reached = False
    pidfd = os.pidfd_open(kernel)
    timeout = limits["notebook_seconds"]
    while True:
        ready, _, _ = select.select([pidfd, connection], [], [], timeout)
        if pidfd in ready:
            break
        # the launcher asked, went away, or the notebook's wall time is over: end the whole kernel
        deadline_reached = not ready
        os.kill(kernel, signal.SIGKILL)  # PID 1 of its namespace: everything it started dies with it
        timeout = None
    status = os.waitpid(kernel, 0)[1]
    code = os.waitstatus_to_exitcode(status)
    try:
        connection.sendall(json.dumps({"exit": code, "timed_out": deadline_reached}).encode() + b"\n")
    except OSError:
        pass
    os._exit(0)


def _become_kernel(header, files, limits):
    """PID 1 of the new namespaces: set up its folders, drop privileges, start ipykernel."""
    try:
        _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)  # shows this kernel's processes only
        for scratch in ("/tmp", "/dev/shm"):  # /dev/shm: what multiprocessing's locks need
            _fresh_tmpfs(scratch)
        _mount("tmpfs", WORKDIR, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755")
        _mount("tmpfs", SERVER_DIR, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "mode=555,size=4k")
        with tarfile.open(fileobj=io.BytesIO(files)) as archive:
            archive.extractall(WORKDIR, filter="data")
        connection = dict(header["connection"])
        if connection.get("transport") != "ipc":
            raise ValueError("grading kernels talk over IPC sockets only")
        # same socket files, reached through the runtime folder's place in the sandbox
        connection["ip"] = os.path.join(RUNTIME_DIR, os.path.basename(connection["ip"]))
        connection_file = "/tmp/kernel-connection.json"
        _write(connection_file, json.dumps(connection))
        _set_limits(limits)
        _drop_capabilities()
        os.chdir(WORKDIR)
        os.environ["PWD"] = WORKDIR
        sys.path[:] = [p for p in sys.path if p != SERVER_DIR]
        import numpy

        numpy.random.seed()  # a fresh process seeds numpy from the OS; a forked one would repeat the server's
        from ipykernel.kernelapp import IPKernelApp

        # parent_handle=1: no parent polling (its supervisor kills it), and no "started from a terminal"
        # notice in nbgrader's log
        IPKernelApp.launch_instance(argv=["-f", connection_file, "--IPKernelApp.parent_handle=1"])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as err:  # noqa: BLE001  say why the kernel could not start, then die
        print(f"autograde kernel server: the kernel could not start: {err!r}", file=sys.stderr, flush=True)
        code = 71
    os._exit(code)


def _fresh_tmpfs(path):
    """Mount an empty tmpfs on path, keeping what the sandbox mounted beneath it (a Python environment
    that lives under /tmp, say): those mounts are held open, then bound again at their places."""
    with open("/proc/self/mountinfo") as mountinfo:  # field 5: the mount point, with octal escapes
        points = [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4]) for line in mountinfo]
    below = [p for p in points if p.startswith(path + "/")]
    topmost = [p for p in below if not any(p.startswith(q + "/") for q in below)]
    kept = [(p, os.open(p, os.O_PATH)) for p in topmost]
    _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777")
    for point, fd in kept:
        os.makedirs(point, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", point, None, _MS_BIND | _MS_REC)
        os.close(fd)


def _set_limits(limits):
    mb = 1 << 20
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
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
