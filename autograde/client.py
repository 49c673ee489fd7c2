"""The kernel manager and client nbgrader uses while grading (autograde/execute.py sets them).

Each kernel gets a socket folder of its own in the session's runtime folder (the kernel makes it and
sees nothing else of that folder); no message larger than MAX_MESSAGE_BYTES is ever read into memory.

jupyter_client's wait_for_ready, once the kernel has answered, waits until IOPub has been
quiet for 0.2 s, to drop messages left over from the start. nbclient matches every message
to the request it answers, so nothing needs dropping; the wait is idle time, paid once a
notebook. This client stops waiting as soon as the kernel has answered kernel_info and
IOPub is seen to be connected (the check jupyter_client makes first). Likewise a killed kernel is
polled every 5 ms, not 100 ms, until it is gone: twice a notebook (the student's and the checker).
"""
import os
import time
import uuid
from queue import Empty

import zmq

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type


MAX_MESSAGE_BYTES = 64 << 20  # ZeroMQ drops a larger message (and the peer) before it is read


class ReadyAtOnceKernelClient(AsyncKernelClient):

    def start_channels(self, *args, **kwargs):
        # The channels connect before the kernel has bound its sockets; ZeroMQ then retries every
        # 100 ms by default. Retry every 5 ms: the sockets are local files.
        self.context.setsockopt(zmq.RECONNECT_IVL, 5)
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        super().start_channels(*args, **kwargs)

    async def wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)  # IOPub delivers: connected
                except Empty:
                    pass  # not yet subscribed: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


class GradingKernelManager(AsyncKernelManager):
    """One kernel; its IPC sockets in a folder of its own, runtime_dir/kernel-<32 hex digits>/ (the kernel
    server checks the name), removed when the kernel is cleaned up."""

    client_class = DottedObjectName("autograde.client.ReadyAtOnceKernelClient")
    client_factory = Type(klass=ReadyAtOnceKernelClient)

    def __init__(self, runtime_dir, **kwargs):
        name = f"kernel-{uuid.uuid4().hex}"
        # the connection file too lies in the session's runtime folder, which goes away with the session
        super().__init__(transport="ipc", ip=os.path.join(runtime_dir, name, "k"),
                         connection_file=os.path.join(runtime_dir, f"{name}.json"), **kwargs)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        try:
            os.rmdir(os.path.dirname(self.ip))  # it holds sockets only: the kernel saw it read-only
        except OSError:
            pass  # never made (the kernel did not start), or the session's cleanup removes it

    cleanup_resources = _async_cleanup_resources

    async def _async_wait(self, pollinterval=0.005):
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))
