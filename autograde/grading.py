"""Grade submissions with nbgrader autograde, each kernel in the sandbox."""
import sys
import tempfile

from . import sandbox
from .course import nbgrader
from .errors import AutogradeError


def main(*, course, assignment, student=None, unsandboxed=False, verbose=False):
    """Autograde one student, or every submission; return the ids graded."""
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
        nbgrader(course, *args, env=env, verbose=verbose)
    return [student] if student else everyone
