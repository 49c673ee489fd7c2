"""nbgrader's Execute preprocessor for this course: every grading kernel sandboxed, every output capped in bytes.

nbgrader_config.py puts it in place of nbgrader's own Execute (c.Autograde.autograde_preprocessors), so it runs
for `python -m autograde grade` and for nbgrader's own autograde path (Formgrader's Autograde button,
`nbgrader autograde`) alike:
- in a grading session of the course's tool (its environment names the session's kernel server), every kernel
  is forked from that server (autograde/sandbox.py, kernel_server.py);
- anywhere else it starts a session of its own for the notebook (a kernel server: a few seconds more), or, where
  bubblewrap cannot run, refuses with one sentence: student code never runs unsandboxed by default;
- only `python -m autograde grade --unsandboxed` (UNSANDBOXED_ENV) runs a plain kernel.
Each output of a cell (stream, display_data, execute_result, error, display updates) counts against a per-cell
and a per-notebook budget in bytes; past it, outputs are dropped and one note says so. A test cell that fails
still scores 0: nbgrader records the error from the kernel's reply when its output was dropped.
"""
import json
import os
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbformat.v4 import new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Integer

from . import sandbox
from .client import GradingKernelManager
from .errors import AutogradeError
from .kernel_proxy import SERVER_ENV

UNSANDBOXED_ENV = "AUTOGRADE_UNSANDBOXED"
NOT_SANDBOXED = ("This course grades student code only in its sandbox, and bubblewrap cannot run here ({reason}): "
                 "grade with `python -m autograde grade` on a Linux machine with bubblewrap "
                 "(or `python -m autograde grade --unsandboxed` for trusted code only).")


class GradingExecute(Execute):

    # Set in the course's nbgrader_config.py, the one place for them; grading refuses to start without them.
    max_cell_output_bytes = Integer(None, allow_none=True, help="Output kept per cell, all output types together; "
                                                                "the rest is dropped with a note.").tag(config=True)
    max_notebook_output_bytes = Integer(None, allow_none=True, help="Output kept per notebook, all cells together."
                                        ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._output_bytes, self._cells_cut, self._session_env = {}, set(), None
        for name in ("max_cell_output_bytes", "max_notebook_output_bytes"):
            if getattr(self, name) is None:
                raise AutogradeError(f"nbgrader_config.py does not set c.GradingExecute.{name}: grading needs it.")
        if os.environ.get(UNSANDBOXED_ENV) == "1":
            return self.execute_notebook(nb, resources, km)
        if os.environ.get(SERVER_ENV):  # a session of `python -m autograde grade`
            self._session_env = dict(os.environ)
            return self.execute_notebook(nb, resources, km)
        reason = sandbox.problem()  # nbgrader's own path: a session for this notebook alone
        if reason:
            raise AutogradeError(NOT_SANDBOXED.format(reason=reason))
        with sandbox.grading_session(sandbox.Limits(config=self.config), self._course_modules(resources)) as env:
            self._session_env = {**os.environ, **env}
            return self.execute_notebook(nb, resources, km)

    def execute_notebook(self, nb, resources, km):
        """Run the notebook's cells (nbgrader's Execute), the session being set up."""
        return super().preprocess(nb, resources, km)

    def _course_modules(self, resources):
        """source/<assignment>/ of the course being graded: its *.py files are the check modules."""
        assignment = (resources or {}).get("nbgrader", {}).get("assignment")
        if not assignment:
            return None
        coursedir = CourseDirectory(config=self.config)
        return Path(coursedir.format_path(coursedir.source_directory, ".", assignment))

    def new_kernel_manager(self, kernel_name):
        """A kernel manager for one kernel of this notebook: a sandboxed one in a session."""
        if self._session_env is None:
            return self.kernel_manager_class(kernel_name=kernel_name, config=self.config)
        return GradingKernelManager(
            runtime_dir=self._session_env[sandbox.RUNTIME_ENV], kernel_name=sandbox.KERNEL_NAME, config=self.config,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(sandbox.JUPYTER_PATH / "kernels")]))

    def kernel_env(self):
        """The environment a kernel is started with (the proxy finds the session's kernel server there)."""
        return self._session_env

    def create_kernel_manager(self):
        if self._session_env is None:
            return super().create_kernel_manager()
        self.kernel_name = sandbox.KERNEL_NAME
        self.shutdown_kernel = "immediate"  # a grading kernel has nothing to save
        self.log.info("Grading in the course's sandbox (kernel %s)", sandbox.KERNEL_NAME)
        self.km = self.new_kernel_manager(self.kernel_name)
        return self.km

    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_env() is not None:
            kwargs["env"] = self.kernel_env()
        return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)  # nbclient binds the synchronous one to its own

    # --- output budget ---------------------------------------------------------------------------

    def _spend(self, msg, cell_index):
        """Whether this message's output fits in what is left of the cell's and the notebook's budget."""
        size = len(json.dumps(msg["content"], default=str))
        cell = self._output_bytes.get(cell_index, 0) + size
        total = sum(self._output_bytes.values()) + size
        if cell > self.max_cell_output_bytes or total > self.max_notebook_output_bytes:
            return False
        self._output_bytes[cell_index] = cell
        return True

    def output(self, outs, msg, display_id, cell_index):
        if self._spend(msg, cell_index):
            return super().output(outs, msg, display_id, cell_index)
        if cell_index in self._cells_cut:
            return None
        self._cells_cut.add(cell_index)
        note = new_output("stream", name="stderr", text=(
            f"[autograde] 输出过多：每个单元格最多保留 {self.max_cell_output_bytes} 字节、整个笔记本最多 "
            f"{self.max_notebook_output_bytes} 字节，其余输出已丢弃。\n"))
        outs.append(note)
        return note

    def _update_display_id(self, display_id, msg):
        if self._spend(msg, -1):  # updates replace earlier outputs; they still count
            super()._update_display_id(display_id, msg)
