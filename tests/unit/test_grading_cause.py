"""Why nbgrader could not grade a submission, read from the error it reported (autograde/grading.py)."""
import pytest

from autograde import grading


@pytest.mark.parametrize("error, why", [
    ("Traceback ...\nnbclient.exceptions.DeadKernelError: Kernel died", "the kernel died"),
    ("RuntimeError: Kernel died before replying to kernel_info", "the kernel did not start"),
    ("RuntimeError: Kernel didn't respond in 60 seconds", "the kernel did not start"),
    ("nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{bad'", "a notebook is not valid JSON"),
    ("nbgrader.preprocessors.execute.UnresponsiveKernelError", "the kernel could not be interrupted"),
    ("No notebooks found for assignment", "none of its notebooks has a name of the assignment's"),
    ("ValueError: Checksum for grade cell q1 has changed!", "nbgrader failed on it: ValueError: Checksum"),
    ("AssertionError: cell_type changed", "its notebook metadata was tampered with"),
    ("ValueError: weird \x1b[31m\nthing", "nbgrader failed on it: thing"),  # the last line, control characters out
])
def test_causes_come_from_the_error_nbgrader_reports(error, why):
    assert grading.cause(error).startswith(why)


def test_no_error_text_and_a_long_last_line():
    assert grading.cause(None) == "nbgrader failed on it: no error text"
    assert grading.cause("\n  \n") == "nbgrader failed on it: no error text"
    long = grading.cause("x" * 1000 + "<script>")
    assert long == "nbgrader failed on it: " + "x" * 200
