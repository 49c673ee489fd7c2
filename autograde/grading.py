"""Grade submissions with nbgrader autograde."""
from .course import nbgrader
from .errors import AutogradeError


def main(*, course, assignment, student=None, verbose=False):
    """Autograde one student, or every submission; return the ids graded."""
    course.source_notebooks(assignment)  # a clear error for a missing assignment
    everyone = course.students(assignment)
    if not everyone:
        raise AutogradeError(f"No submissions to grade: {course.submitted}/<student>/{assignment}/ is empty.")
    if student is not None and student not in everyone:
        raise AutogradeError(f"No submission of {assignment} from student '{student}'.",
                             hint=f"Students with a submission: {', '.join(everyone)}.")
    args = ["autograde", assignment, "--force"] + (["--student", student] if student else [])
    nbgrader(course, *args, verbose=verbose)
    return [student] if student else everyone
