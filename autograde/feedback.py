"""Feedback for students: nbgrader's HTML, with failing tests reduced to their message.

Configured in nbgrader_config.py (GenerateFeedback.preprocessors). A traceback quotes
the line of the test that failed, which may be hidden-test code; the message alone is
what a student needs, and the tests write it in Chinese with a hint.
"""
from nbconvert.preprocessors import Preprocessor

from .course import nbgrader


class ShortenTracebacks(Preprocessor):
    """Replace each error's traceback with one line: the exception type and its message."""

    enabled = True  # nbconvert registers preprocessors disabled unless they say otherwise

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


def main(*, course, assignment, verbose=False):
    nbgrader(course, "generate_feedback", assignment, "--force", verbose=verbose)
    print(f"Feedback written to {course.feedback.relative_to(course.root)}/<student>/{assignment}/.")
