"""Benchmark: plain sequential `nbgrader autograde` against `python -m autograde grade`, same class, one run.

"Plain" is nbgrader as it comes: its own Execute, every cell (the tests too) in one unsandboxed kernel per
notebook. This tool runs each notebook in two sandboxed kernels (the student's and the checker, see
autograde/checker.py), both forked from the run's kernel server.

The class is drawn from the sample submissions (every case file under the given folders,
repeated to the size asked for). Prints both wall times, their ratio, the cost per
submission, and the floor: a fresh kernel that only imports torch, numpy and matplotlib,
next to the same for a kernel forked from the sandboxed kernel server (what grading uses).
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import sandbox, scheduler, submissions
from .execute import UNSANDBOXED_ENV
from .grading import GradingOptions
from .course import REPO_ROOT, nbgrader, scratch_course

CASE_FOLDERS = [REPO_ROOT / "autograde" / "sample_class", REPO_ROOT / "tests" / "corpus" / "cases"]


def _class(course, assignment, size):
    cases = [case for folder in CASE_FOLDERS if folder.is_dir() for case in submissions.load_cases(folder)]
    for index in range(size):
        case = cases[index % len(cases)]
        submissions.build(course, assignment, case, course.submitted / f"s{index:04d}_{case.name}"[:60])
    return course.students(assignment)


IMPORTS = "import torch, numpy, matplotlib.pyplot"
NBGRADER_AUTOGRADE_STEPS = [  # nbgrader 0.9.6's default Autograde.autograde_preprocessors
    "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata"]


def _kernel_floor(repeats=3):
    """Seconds for a fresh kernel to start, import torch, numpy and matplotlib, and shut down."""
    from jupyter_client.manager import start_new_kernel

    started = time.monotonic()
    for _ in range(repeats):
        manager, client = start_new_kernel(kernel_name="python3")
        client.execute_interactive(IMPORTS, timeout=120)
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    return (time.monotonic() - started) / repeats


def _forked_kernel_cost(limits, repeats=10):
    """The same for a sandboxed kernel forked from the kernel server, as grading starts it (after the
    server has started once per run) and ends it."""
    import asyncio

    from jupyter_client.kernelspec import KernelSpecManager

    from .client import GradingKernelManager

    async def one(env, folder):
        manager = GradingKernelManager(
            runtime_dir=env[sandbox.RUNTIME_ENV], kernel_name=sandbox.KERNEL_NAME,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(sandbox.JUPYTER_PATH / "kernels")]))
        await manager.start_kernel(cwd=folder, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        await client.execute_interactive(IMPORTS, timeout=60)
        client.stop_channels()
        await manager.shutdown_kernel(now=True)

    with sandbox.grading_session(limits) as env, tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        for _ in range(repeats):
            asyncio.run(one(env, folder))
        return (time.monotonic() - started) / repeats


def main(*, course, assignment, students=120, workers=None, verbose=False):
    workers = workers or os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="autograde-bench-") as tmp:
        plain = scratch_course(course, Path(tmp) / "plain", assignment, verbose=verbose)
        ours = scratch_course(course, Path(tmp) / "ours", assignment, verbose=verbose)
        names = _class(plain, assignment, students)
        _class(ours, assignment, students)
        notebooks = sum(len(list((plain.submitted / n / assignment).glob("*.ipynb"))) for n in names)
        print(f"class: {len(names)} submissions, {notebooks} notebooks; machine: {os.cpu_count()} cores")

        started = time.monotonic()
        try:
            # nbgrader's own Execute, as in a course without this tool (the course's config would sandbox it)
            steps = [f"--Autograde.autograde_preprocessors={step}" for step in NBGRADER_AUTOGRADE_STEPS]
            nbgrader(plain, "autograde", assignment, *steps, verbose=verbose, env={UNSANDBOXED_ENV: "1"})
        except Exception as err:  # noqa: BLE001  plain nbgrader exits 1 when one submission fails
            print(f"  (plain nbgrader reported: {str(err)[:100]})")
        plain_seconds = time.monotonic() - started
        print(f"plain nbgrader autograde (sequential, no sandbox): {plain_seconds:7.1f} s")

        reason = sandbox.problem()
        started = time.monotonic()
        scheduler.grade_class(course=ours, assignment=assignment, students=names, workers=workers,
                              options=GradingOptions(unsandboxed=reason is not None, verbose=verbose))
        ours_seconds = time.monotonic() - started
        sandboxed = "sandboxed" if reason is None else f"NOT sandboxed: {reason}"
        print(f"python -m autograde grade ({workers} workers, {sandboxed}): {ours_seconds:7.1f} s")

    floor = _kernel_floor()
    forked = _forked_kernel_cost(sandbox.Limits(config=course.config())) if reason is None else None
    for line in summary(plain_seconds=plain_seconds, ours_seconds=ours_seconds, submissions=len(names),
                        notebooks=notebooks, workers=workers, floor=floor, forked=forked):
        print(line)
    sys.stdout.flush()


def summary(*, plain_seconds, ours_seconds, submissions, notebooks, workers, floor, forked=None):
    """The benchmark's closing lines, from its measured seconds: ratio, cost per submission, kernel floor."""
    lines = [f"ratio: {plain_seconds / ours_seconds:.2f}x faster",
             f"per submission: plain {plain_seconds / submissions:.1f} s, ours {ours_seconds / submissions:.1f} s "
             f"(wall, {workers} workers)",
             f"floor: a fresh kernel importing torch, numpy, matplotlib takes {floor:.1f} s; "
             f"{notebooks} notebooks x floor / {workers} workers = {notebooks * floor / workers:.0f} s"]
    if forked is not None:
        lines.append(f"a sandboxed kernel forked from the kernel server does the same in {forked:.2f} s "
                     f"({floor / forked:.0f}x less)")
    return lines
