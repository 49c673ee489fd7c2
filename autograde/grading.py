"""Autograde submissions with nbgrader's Python API, one submission at a time, in this process.

Outcomes come from what nbgrader returns for each submission (NbGraderAPI.autograde: success, or the error
it raised) and from the gradebook, never from text a kernel could print: kernels have no stdout or stderr
here (autograde/kernel_proxy.py), and their cell output is capped (autograde/execute.py).
A submission nbgrader cannot finish (the kernel died, ran out of time or memory, a notebook is not valid
JSON, its metadata was tampered with) gets 0 for every auto-graded cell, never stale points from an
earlier run, and its status says why; the other submissions are graded as usual.
"""
import contextlib
import os
import re
import sys
from dataclasses import dataclass

from . import gradebook, sandbox
from .errors import AutogradeError
from .execute import UNSANDBOXED_ENV

# (part of the error nbgrader reports, what the instructor reads)
CAUSES = [("DeadKernelError", "the kernel died: os._exit, or a memory, process or time limit"),
          ("Kernel died before replying", "the kernel did not start"),
          ("Kernel didn't respond", "the kernel did not start"),
          ("NotJSONError", "a notebook is not valid JSON"),
          ("Notebook does not appear to be JSON", "a notebook is not valid JSON"),
          ("UnresponsiveKernelError", "the kernel could not be interrupted"),
          ("No notebooks found", "none of its notebooks has a name of the assignment's"),
          ("nbgrader metadata", "its notebook metadata was tampered with"),
          ("cell_type", "its notebook metadata was tampered with"),
          ("checksum", "its notebook metadata was tampered with")]


def cause(error):
    """Why nbgrader failed on a submission, from the error it reported (a traceback)."""
    for part, why in CAUSES:
        if part in (error or ""):
            return why
    last = [line for line in (error or "").splitlines() if line.strip()][-1:] or ["no error text"]
    return "nbgrader failed on it: " + re.sub(r"[^\w .,:;'()\-]", "?", last[0])[:200]


@dataclass(frozen=True)
class GradingOptions:
    """How submissions are graded, from the command line down to each batch process."""

    unsandboxed: bool = False  # grade without bubblewrap: trusted code only
    cell_timeout: int = None  # seconds per cell; None: c.Execute.timeout in nbgrader_config.py
    verbose: bool = False  # show nbgrader's log


def students_to_grade(course, assignment, student=None):
    """Every student with a submission, or the one asked for; a clear error where there is none."""
    course.source_notebooks(assignment)  # a clear error for a missing assignment
    everyone = course.students(assignment)
    if not everyone:
        raise AutogradeError(f"No submissions to grade: {course.submitted}/<student>/{assignment}/ is empty.")
    if student is not None and student not in everyone:
        raise AutogradeError(f"No submission of {assignment} from student '{student}'.",
                             hint=f"Students with a submission: {', '.join(everyone)}.")
    return [student] if student else everyone


def _api(course, cell_timeout):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = course.config()
    if cell_timeout:
        config.Execute.timeout = cell_timeout
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def grade_here(*, course, assignment, students, options=GradingOptions(), on_graded=None):
    """Autograde these submissions of a course in this process, each kernel in one sandboxed session.

    on_graded(student, status), if given, is called as each submission is finished; status is None if it
    was graded, else why not. Returns {student: status}."""
    reason = sandbox.require(options.unsandboxed)
    if reason is None:
        limits = sandbox.Limits(config=course.config())
        session = sandbox.grading_session(limits, course.source / assignment)
    else:
        print(f"warning: grading WITHOUT the sandbox ({reason}): student code runs with your rights.",
              file=sys.stderr)
        session = contextlib.nullcontext({UNSANDBOXED_ENV: "1"})
    statuses = {}
    with session as env:
        os.environ.update(env)
        api = _api(course, options.cell_timeout)
        for student in students:
            result = api.autograde(assignment, student, force=True, create=True)
            status = None if result["success"] else cause(result.get("error"))
            if status is not None:
                gradebook.zero_auto_scores(course, assignment, student)
            statuses[student] = status
            if on_graded:
                on_graded(student, status)
    return statuses

