"""The grading kernelspec's command (`python -S -m autograde.kernel_proxy {connection_file}`): a kernel proxy.

jupyter_client starts this as "the kernel": it asks the run's sandboxed kernel server
(autograde/kernel_server.py) for a kernel, sends it the connection information and the working
folder's files (no notebook: those hold the hidden tests) in the format of kernel_wire.py, and stands
for that kernel until it ends. Killing this process kills the kernel. It imports only the standard library,
so it starts without site-packages (`-S`; the package is found through PYTHONPATH): it starts twice per
notebook, for the student's kernel and the checker's.
"""
import io
import json
import os
import signal
import socket
import sys
import tarfile

from autograde import kernel_wire

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
        sys.exit("autograde.kernel_proxy: no sandboxed kernel server for this run: "
                 "grade through `python -m autograde grade`.")
    with open(argv[0], encoding="utf-8") as f:
        connection_info = json.load(f)
    files = _working_files(os.getcwd())
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(server)
    except OSError as err:
        sys.exit(f"autograde.kernel_proxy: the run's sandboxed kernel server does not answer ({err.strerror}): "
                 "it stopped; grade again.")
    kernel_wire.send_request(connection, connection_info, files)
    # SIGTERM (jupyter_client ending the kernel) closes the connection: the server then kills the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = kernel_wire.receive_reply(connection)
    if result is None:
        return 1
    if result["timed_out"]:
        print("autograde: the notebook ran out of time; its kernel was killed.", file=sys.stderr)
    if result.get("error"):  # written by the kernel before any student code ran
        print(f"autograde: {result['error']}", file=sys.stderr)
    return result["exit"]


if __name__ == "__main__":
    sys.exit(main())
