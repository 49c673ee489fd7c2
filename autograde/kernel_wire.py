"""The one format spoken between a kernel proxy (autograde/kernel_proxy.py, outside the sandbox) and the kernel
server (autograde/kernel_server.py, inside it), over the server's Unix socket. Standard library only: the
kernel server runs it from its own folder, as a script's neighbour.

  proxy → server: one JSON line {"connection": the kernel's connection info, "tar_bytes": N},
                  then N bytes: a tar of the kernel's working files (never a notebook);
  server → proxy: one JSON line {"exit": the kernel's exit code, "timed_out": bool, "error": str or null}
                  when the kernel has ended. The proxy closing the connection ends the kernel.
"""
import json


def send_request(connection, connection_info, files):
    connection.sendall(json.dumps({"connection": connection_info, "tar_bytes": len(files)}).encode() + b"\n" + files)


def receive_request(connection):
    """(connection info, tar bytes)."""
    stream = connection.makefile("rb")
    header = json.loads(stream.readline())
    return header["connection"], stream.read(header["tar_bytes"])


def send_reply(connection, exit_code, timed_out, error):
    connection.sendall(json.dumps({"exit": exit_code, "timed_out": timed_out, "error": error}).encode() + b"\n")


def receive_reply(connection):
    """{"exit", "timed_out", "error"}, or None if the server went away first."""
    line = connection.makefile("rb").readline()
    return json.loads(line) if line else None
