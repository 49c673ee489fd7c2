"""nbgrader's Execute, with every grade decided in a checker kernel that never runs student code.

Configured in nbgrader_config.py (Autograde.autograde_preprocessors) in place of nbgrader's Execute.
Next to the student's kernel it starts a second kernel, the checker, the same way (same kernel
name and manager: under `python -m autograde grade` it is forked from the run's sandboxed kernel
server into a sandbox of its own). The checker's working folder holds only the course's modules
(copies of source/<assignment>/*.py), no file of the student; like every kernel it has a socket folder
of its own, and its connection file (with the signing key) lies outside the sandbox.

  - An auto-graded test cell (grade, not solution) runs in the checker, and only if its text is the
    course's own (that of source/<assignment>/<notebook>.ipynb); its outputs and error are what the
    notebook records, so nbgrader's scores and feedback come from the checker.
  - The locked setup cell runs in both kernels; every other cell in the student's kernel, as before.
  - A test reaches a student's function only by asking for it on the stdin channel (input(prompt)
    with the checker's marker, see source/autograd/autograd_calls.py). This executor runs the
    course's harness entry in the student's kernel as a silent request whose only result is one
    user expression: the reply is text, at most MAX_REPLY characters, read with ast.literal_eval as
    one string and handed to the checker, which decodes and validates it as data. Every wait on the
    student's kernel ends by the test cell's own deadline: a call that runs too long is interrupted
    and fails. A kernel that dies during a call fails that call; the notebook goes on (earlier points
    stay), and the student's later cells are not run (each records why).
"""
import ast
import asyncio
import json
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbgrader.coursedir import CourseDirectory

from .execute import GradingExecute
from .sandbox import RUNTIME_PREFIX
from .scratch import owned_tempdir

CHANNEL_ENV = "AUTOGRADE_CHECKER"  # in the checker kernel: the prompt prefix that marks a call
MAX_REPLY = 16 << 20  # characters of one reply from the student's kernel
_ENTRY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*) ")


def _margin(timeout):
    """Seconds of a test cell's time kept back from its calls: to interrupt a stuck call and report it."""
    return min(10.0, timeout / 4)


def _is_test(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _is_setup(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("locked") and not meta.get("grade") and not meta.get("solution")


class CheckedExecute(GradingExecute):
    """The course's Execute (sandboxed kernels, capped output), with auto-graded test cells run in a checker
    kernel (see the module docstring)."""

    def execute_notebook(self, nb, resources, km):
        source = self._source_folder(resources)
        course_nb = nbformat.read(source / f"{resources['nbgrader']['notebook']}.ipynb", as_version=4)
        self._tests = {c.source for c in course_nb.cells if _is_test(c)}
        self._setups = {c.source for c in course_nb.cells if _is_setup(c)}
        self._dead = False
        # removed however grading ends (autograde/scratch.py), a kill -9 of the grader included
        with owned_tempdir("autograde-checker-", dir=_outside_sandboxes()) as private:
            folder = Path(private) / "work"
            folder.mkdir()
            for module in source.glob("*.py"):  # the course's modules, nothing of the student
                shutil.copy(module, folder / module.name)
            self._checker = _CheckerClient(self, nb, folder, Path(private) / "checker-connection.json")
            self._checker.launch()  # starts while the student's kernel starts; ready by its first cell
            try:
                return super().execute_notebook(nb, resources, km)
            finally:
                self._checker.cleanup()

    def _source_folder(self, resources):
        coursedir = CourseDirectory(config=self.config)
        folder = Path(coursedir.format_path(coursedir.source_directory, ".", resources["nbgrader"]["assignment"]))
        if not folder.is_dir():
            raise FileNotFoundError(f"the course's source folder {folder} is missing: the checker needs its tests")
        return folder

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if _is_test(cell):
            if cell.source in self._tests:
                return self._checker.execute_cell(cell, index, store_history=True), resources
            cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue=(
                "这个检查单元格和课程的原件不一致，没有运行（记 0 分）。"), traceback=[])]
            return cell, resources
        if _is_setup(cell) and cell.source in self._setups:
            self._checker.execute_cell(nbformat.from_dict(json.loads(json.dumps(cell))), index, store_history=True)
        if self._dead:  # it ended while a test called one of its functions: nothing more runs there
            cell.outputs = [nbformat.v4.new_output("error", ename="KernelError", evalue=(
                "检查单元格调用你的函数时，你的内核结束了：这个单元格没有运行。"), traceback=[])]
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    async def student_call(self, prompt, deadline):
        """Run the harness entry named in prompt in the student's kernel; the answer for the checker (JSON)."""
        entry = _ENTRY.match(prompt)
        if entry is None:
            return _answer("invalid")
        if self._dead:
            return _answer("dead")
        expression = f"__import__({entry[1]!r}).{entry[2]}({prompt[entry.end():]!r})"
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"r": expression},
                                 allow_stdin=False, stop_on_error=False)
        reply = await self._reply(msg_id, deadline)
        if reply is None:
            if not await ensure_async(self.kc.is_alive()):
                self._dead = True
                return _answer("dead")
            await ensure_async(self.km.interrupt_kernel())
            # a slow kernel may still answer; one that ignores the interrupt makes later calls wait their own time
            self._dead = await self._reply(msg_id, time.monotonic() + self._checker.interrupt_wait) == "dead"
            return _answer("timeout")
        if reply == "dead":
            self._dead = True
            return _answer("dead")
        result = reply["content"].get("user_expressions", {}).get("r", {})
        text = result.get("data", {}).get("text/plain") if result.get("status") == "ok" else None
        if not isinstance(text, str) or len(text) > MAX_REPLY:
            return _answer("invalid")
        try:
            value = ast.literal_eval(text)  # a literal only: nothing of the student's runs here
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            return _answer("invalid")
        return _answer("ok", value) if isinstance(value, str) else _answer("invalid")

    async def _reply(self, msg_id, deadline):
        """The student's kernel's reply to msg_id, "dead", or None once the deadline has passed."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(1.0, remaining)))
            except Empty:
                if not await ensure_async(self.kc.is_alive()):
                    return "dead"
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg


def _outside_sandboxes():
    """A folder for the checker's private files that no sandbox sees: under `python -m autograde grade`
    TMPDIR is the run's runtime folder, which every kernel of the run sees; its parent is not mounted."""
    temp = Path(tempfile.gettempdir())
    return str(temp.parent if temp.name.startswith(RUNTIME_PREFIX) else temp)


def _answer(status, reply=None):
    return json.dumps({"status": status, "reply": reply})


class _CheckerClient(NotebookClient):
    """The checker kernel's client: started like the student's, answers the test cells' calls."""

    def __init__(self, owner, nb, folder, connection_file):
        super().__init__(
            nb, config=owner.config, log=owner.log, kernel_name=owner.kernel_name,
            kernel_manager_class=owner.kernel_manager_class, timeout=owner.timeout, allow_errors=True,
            interrupt_on_timeout=owner.interrupt_on_timeout, error_on_timeout=owner.error_on_timeout,
            raise_on_iopub_timeout=owner.raise_on_iopub_timeout, shutdown_kernel=owner.shutdown_kernel,
            startup_timeout=owner.startup_timeout, extra_arguments=list(owner.extra_arguments),
            on_cell_executed=owner.on_cell_executed, resources={"metadata": {"path": str(folder)}})
        self.owner = owner
        self.connection_file = connection_file
        self.marker = f"autograde-call-{secrets.token_hex(8)}:"

    def create_kernel_manager(self):
        """As the student's kernel gets its own (execute.GradingExecute): in a grading session, a sandboxed kernel
        with a socket folder of its own that no other kernel sees."""
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name", "python3")
        self.km = self.owner.new_kernel_manager(self.kernel_name)
        if self.owner.kernel_env() is not None:
            self.shutdown_kernel = "immediate"  # a grading kernel has nothing to save
        self.km.connection_file = str(self.connection_file)  # the signing key stays outside every sandbox
        return self.km

    async def async_start_new_kernel(self, **kwargs):
        if self.owner.kernel_env() is not None:
            kwargs["env"] = self.owner.kernel_env()
        return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def launch(self):
        self.km = self.create_kernel_manager()
        self.start_new_kernel()

    async def _async_ready(self):
        """Connect to the launched kernel (once) and mark it as the checker: its test cells then call
        the student's functions over the stdin channel (autograd_calls.CHANNEL_ENV)."""
        if self.kc is not None:
            return
        await self.async_start_new_kernel_client()
        code = f"import os; os.environ[{CHANNEL_ENV!r}] = {self.marker!r}"
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        reply = await self.async_wait_for_reply(msg_id)
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError("the checker kernel could not be set up")
        self.kc.allow_stdin = True

    def cleanup(self):
        if self.km is not None:
            self._cleanup_kernel()

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        await self._async_ready()
        timeout = self._get_timeout(cell)
        self.interrupt_wait = _margin(timeout) / 2 if timeout else 5.0
        deadline = time.monotonic() + (timeout - _margin(timeout) if timeout else 365 * 86400)
        server = asyncio.ensure_future(self._serve_calls(deadline))
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            server.cancel()

    execute_cell = run_sync(async_execute_cell)

    async def _serve_calls(self, deadline):
        while True:
            msg = await ensure_async(self.kc.stdin_channel.get_msg(timeout=None))
            if msg["msg_type"] != "input_request":
                continue
            prompt = msg["content"].get("prompt", "")
            if prompt.startswith(self.marker):
                try:
                    answer = await self.owner.student_call(prompt[len(self.marker):], deadline)
                except Exception as err:  # noqa: BLE001  the test cell must get an answer, never wait forever
                    self.log.warning("autograde checker: a call to the student's kernel failed: %r", err)
                    answer = _answer("error")
            else:
                answer = ""  # a test cell asking for input by mistake
            self.kc.input(answer)
