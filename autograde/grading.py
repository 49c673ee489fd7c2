"""Grade submissions with nbgrader autograde, each kernel in the sandbox.

A submission nbgrader cannot finish (the kernel died, ran out of time or memory, a
notebook is not valid JSON) gets 0 for every auto-graded cell, never stale points
from an earlier run, and its status says why. nbgrader stops the whole run on some
tampered metadata; then the run goes on without that submission, so that one
student can never keep the others from being graded.
"""
import contextlib
import re
import sys
from pathlib import Path

from . import gradebook, sandbox
from .course import nbgrader
from .errors import AutogradeError

_FAILED = re.compile(r"There was an error processing assignment '(?P<assignment>[^']*)' for student '(?P<student>[^']*)'")
_BLOCK = re.compile(r"There was an error processing assignment: ")
_CAUSES = [("DeadKernelError", "the kernel died: os._exit, or a memory, process or time limit"),
           ("Kernel didn't respond", "the kernel did not start"),
           ("NotJSONError", "a notebook is not valid JSON"),
           ("UnresponsiveKernelError", "the kernel could not be interrupted"),
           ("No notebooks found", "none of its notebooks has a name of the assignment's")]
_STARTED = re.compile(r"Creating/updating student with ID '(?P<student>[^']*)'")
_RUN_STOPPERS = ["nbgrader metadata format", "error accessing the nbgrader database"]


def _failures(log, assignment):
    """{student: reason} for each submission nbgrader gave up on, with the cause read from its traceback."""
    failed = {m["student"]: "nbgrader failed on it" for m in _FAILED.finditer(log) if m["assignment"] == assignment}
    for block in _BLOCK.split(log)[1:]:  # each block starts with the failed submission's folder
        folder = Path(block.split(None, 1)[0])
        if folder.name == assignment:
            failed[folder.parent.name] = next((why for key, why in _CAUSES if key in block), "nbgrader failed on it")
    return failed


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


def main(*, course, assignment, student=None, unsandboxed=False, cell_timeout=None, verbose=False, on_started=None):
    """Autograde one student, or every submission, in this course with one nbgrader process.

    on_started(student), if given, is called as nbgrader starts on each submission.
    Returns {student: None if graded, else why not}."""
    graded = students_to_grade(course, assignment, student)
    reason = sandbox.require(unsandboxed)
    args = ["autograde", assignment, "--force"] + (["--student", student] if student else [])
    if cell_timeout:
        args.append(f"--Execute.timeout={cell_timeout}")
    if reason is None:
        session = sandbox.grading_session(sandbox.Limits(config=course.config()))
    else:
        print(f"warning: grading WITHOUT the sandbox ({reason}): student code runs with your rights.",
              file=sys.stderr)
        session = contextlib.nullcontext(([], None))

    def watch(line):
        started = _STARTED.search(line)
        if started and on_started:
            on_started(started["student"])

    with session as (extra_args, env):
        args += extra_args
        failed, done = {}, set()
        while True:
            exclude = [f"--CourseDirectory.student_id_exclude={','.join(sorted(done))}"] if done else []
            try:
                nbgrader_log = nbgrader(course, *args, *exclude, env=env, verbose=verbose, on_line=watch)
                error = None
            except AutogradeError as err:  # nbgrader exits non-zero if any submission failed
                nbgrader_log, error = err.log, err
            failed.update(_failures(nbgrader_log, assignment))
            started = [m["student"] for m in _STARTED.finditer(nbgrader_log)]
            stopped = started and any(stopper in nbgrader_log for stopper in _RUN_STOPPERS)
            if error is None or (failed and not stopped):
                break
            if not stopped:
                raise error
            failed[started[-1]] = "its notebook metadata was tampered with, which stops nbgrader"
            done.update(started)
    for name in failed:
        gradebook.zero_auto_scores(course, assignment, name)
    return {name: failed.get(name) for name in graded}

