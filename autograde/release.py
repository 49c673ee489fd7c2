"""Generate the student version (release/) from source/ with nbgrader."""
from .course import nbgrader


def main(*, course, assignment, verbose=False):
    course.source_notebooks(assignment)  # a clear error for a missing assignment
    nbgrader(course, "generate_assignment", assignment, "--force", verbose=verbose)
    print(f"release/{assignment}/ generated from source/{assignment}/.")
