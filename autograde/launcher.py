"""The grading kernelspec's command (`python -m autograde.launcher {connection_file}`).

jupyter_client starts this as "the kernel": it asks the run's sandboxed kernel server
(autograde/zygote.py) for a kernel, sends it the connection information and the working
folder's files (no notebook: those hold the hidden tests), and stands for that kernel until
it ends. The kernel gets no stdin, stdout or stderr of this process. Killing this process kills the kernel. Imports only the standard library: it
starts once per notebook.
"""
import io
import json
import os
import signal
import socket
import sys
import tarfile

SERVER_ENV = "AUTOGRADE_KERNEL_SERVER"


def _regular(member):
    return member if member.isreg() or member.isdir() else None  # never a link, device or FIFO


def _working_files(folder):
    """The folder's files and folders, but no notebook and nothing else than a file or folder, as a tar archive
    in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".ipynb") and name != ".ipynb_checkpoints":
                archive.add(os.path.join(folder, name), arcname=name, filter=_regular)
    return buffer.getvalue()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    server = os.environ.get(SERVER_ENV)
    if not server or not os.path.exists(server):
        sys.exit("autograde.launcher: no sandboxed kernel server for this run: "
                 "grade through `python -m autograde grade`.")
    with open(argv[0], encoding="utf-8") as f:
        connection_info = json.load(f)
    files = _working_files(os.getcwd())
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(server)
    except OSError as err:
        sys.exit(f"autograde.launcher: the run's sandboxed kernel server does not answer ({err.strerror}): "
                 "it stopped; grade again.")
    # The kernel's stdin, stdout and stderr: nothing. What a kernel prints outside a cell never reaches
    # nbgrader's log or memory; cell output travels over the kernel's sockets, where nbgrader caps it.
    with open(os.devnull, "r+b") as devnull:
        socket.send_fds(connection, [b"F"], [devnull.fileno()] * 3)
    header = {"connection": connection_info, "tar_bytes": len(files)}
    connection.sendall(json.dumps(header).encode() + b"\n" + files)
    # SIGTERM (jupyter_client ending the kernel) closes the connection: the server then kills the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    reply = connection.makefile("rb").readline()
    if not reply:
        return 1
    result = json.loads(reply)
    if result["timed_out"]:
        print("autograde: the notebook ran out of time; its kernel was killed.", file=sys.stderr)
    if result.get("error"):  # written by the kernel before any student code ran
        print(f"autograde: {result['error']}", file=sys.stderr)
    return result["exit"]


if __name__ == "__main__":
    sys.exit(main())
