"""Grade submissions with nbgrader autograde, each kernel in the sandbox.

A submission nbgrader cannot finish (the kernel died, ran out of time or memory, a
notebook is not valid JSON) gets 0 for every auto-graded cell, never stale points
from an earlier run, and its status says why.
"""
import re
import sys
import tempfile

from . import gradebook, sandbox
from .course import nbgrader
from .errors import AutogradeError

_FAILED = re.compile(r"There was an error processing assignment '(?P<assignment>[^']*)' for student '(?P<student>[^']*)'")
_CAUSES = [("DeadKernelError", "the kernel died: os._exit, or a memory, process or time limit"),
           ("Kernel didn't respond", "the kernel did not start"),
           ("NotJSONError", "a notebook is not valid JSON"),
           ("UnresponsiveKernelError", "the kernel could not be interrupted")]


def _failures(log, assignment):
    """{student: reason} for each submission nbgrader gave up on, with the cause read from its log."""
    failed, block = {}, []
    for line in log.splitlines():
        block.append(line)
        match = _FAILED.search(line)
        if match and match["assignment"] == assignment:
            text = "\n".join(block)
            failed[match["student"]] = next((why for key, why in _CAUSES if key in text), "nbgrader failed on it")
        if "There was an error processing assignment:" in line:
            block = [line]
    return failed


def main(*, course, assignment, student=None, unsandboxed=False, verbose=False):
    """Autograde one student, or every submission; return {student: None if graded, else why not}."""
    course.source_notebooks(assignment)  # a clear error for a missing assignment
    everyone = course.students(assignment)
    if not everyone:
        raise AutogradeError(f"No submissions to grade: {course.submitted}/<student>/{assignment}/ is empty.")
    if student is not None and student not in everyone:
        raise AutogradeError(f"No submission of {assignment} from student '{student}'.",
                             hint=f"Students with a submission: {', '.join(everyone)}.")
    reason = sandbox.require(unsandboxed)
    args = ["autograde", assignment, "--force"] + (["--student", student] if student else [])
    with tempfile.TemporaryDirectory(prefix=sandbox.RUNTIME_PREFIX) as runtime_dir:
        env = None
        if reason is None:
            extra_args, env = sandbox.nbgrader_options(sandbox.Limits(config=course.config()), runtime_dir)
            args += extra_args
        else:
            print(f"warning: grading WITHOUT the sandbox ({reason}): student code runs with your rights.",
                  file=sys.stderr)
        try:
            log = nbgrader(course, *args, env=env, verbose=verbose)
        except AutogradeError as err:
            log = err.log
            if not _failures(log, assignment):
                raise
    failed = _failures(log, assignment)
    for name in failed:
        gradebook.zero_auto_scores(course, assignment, name)
    return {name: failed.get(name) for name in ([student] if student else everyone)}
