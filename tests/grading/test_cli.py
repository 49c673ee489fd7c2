"""Bad input to `python -m autograde` gets one clear sentence and a non-zero exit, and loses nothing."""
import shutil

from conftest import REPO, run_autograde


def assert_refused(result, phrase):
    assert result.returncode == 1, result
    first, *rest = result.stderr.strip().splitlines()
    assert first.startswith("autograde: ") and phrase in first, result.stderr
    assert all(line.startswith("  hint: ") for line in rest), result.stderr
    assert "Traceback" not in result.stderr


def test_missing_assignment():
    assert_refused(run_autograde("release", "no_such_assignment"), "No assignment 'no_such_assignment'")


def test_folder_that_is_not_a_course(tmp_path):
    assert_refused(run_autograde("--course", tmp_path, "report"), "is not a course folder")


def test_grading_with_no_submissions(tmp_path):
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    shutil.copytree(REPO / "source", tmp_path / "source")
    assert_refused(run_autograde("--course", tmp_path, "grade"), "No submissions to grade")


def test_unknown_student(tmp_path):
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    shutil.copytree(REPO / "source", tmp_path / "source")
    (tmp_path / "submitted" / "alice" / "autograd").mkdir(parents=True)
    assert_refused(run_autograde("--course", tmp_path, "grade", "--student", "mallory"), "student 'mallory'")


def test_corrupt_gradebook_is_reported_and_left_as_it_was(tmp_path):
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    shutil.copytree(REPO / "source", tmp_path / "source")
    (tmp_path / "gradebook.db").write_bytes(b"not a database")
    assert_refused(run_autograde("--course", tmp_path, "report"), "Cannot open the gradebook")
    assert (tmp_path / "gradebook.db").read_bytes() == b"not a database"


def test_check_needs_exactly_one_source_of_submissions():
    assert_refused(run_autograde("check"), "exactly one of --cases")


def test_usage_errors_exit_2():
    result = run_autograde("no-such-command")
    assert result.returncode == 2
