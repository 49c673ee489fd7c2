"""Reading an untrusted submission folder (autograde/submission_files.py): no kernel, no nbgrader."""
import os

import pytest

from autograde.submission_files import SubmissionFiles, collect

NOTEBOOKS = ["01_basics", "02_exercises"]
COURSE_FILES = ["autograd_checks.py", "d2l_plot.py"]


@pytest.fixture
def submission(tmp_path):
    folder = tmp_path / "submitted" / "alice" / "autograd"
    folder.mkdir(parents=True)
    (folder / "01_basics.ipynb").write_text("{}")
    (folder / "autograd_checks.py").write_text("# the release's copy\n")
    (folder / "timestamp.txt").write_text("2026-03-01 20:00:00")
    return folder


def read(folder, allowed=(), max_file_mb=50):
    return collect(folder, notebooks=NOTEBOOKS, course_files=COURSE_FILES,
                   rules=SubmissionFiles(allowed=list(allowed), max_file_mb=max_file_mb))


def test_notebooks_and_course_files_are_read(submission):
    files, refused = read(submission)
    assert files == {"01_basics.ipynb": b"{}", "autograd_checks.py": b"# the release's copy\n",
                     "timestamp.txt": b"2026-03-01 20:00:00"} and refused == []



def test_the_exchanges_submission_secret_is_read(submission):
    """nbgrader's exchange writes it on submit; release_feedback needs it in the feedback folder."""
    (submission / "submission_secret.txt").write_text("9f" * 64)
    files, refused = read(submission)
    assert files["submission_secret.txt"] == b"9f" * 64 and refused == []

def test_links_are_refused_never_followed(submission, tmp_path):
    secret = tmp_path / "source.ipynb"
    secret.write_text("hidden tests")
    (submission / "02_exercises.ipynb").symlink_to(secret)
    (submission / "data").mkdir()
    (submission / "data" / "gradebook.db").symlink_to(tmp_path / "nowhere")
    files, refused = read(submission, allowed=["data/*"])
    assert "02_exercises.ipynb" not in files and b"hidden tests" not in b"".join(files.values())
    assert refused == [("02_exercises.ipynb", "a symbolic link"), ("data/gradebook.db", "a symbolic link")]


def test_a_linked_submission_folder_is_refused_whole(tmp_path, submission):
    linked = tmp_path / "submitted" / "mallory" / "autograd"
    linked.parent.mkdir()
    linked.symlink_to(submission)
    files, refused = read(linked)
    assert files == {} and refused == [("autograd", "the submission folder is a symbolic link or not a folder")]


def test_fifos_and_modules_are_refused_and_data_files_need_a_pattern(submission):
    os.mkfifo(submission / "pipe.ipynb")
    (submission / "autograd_checks").mkdir()
    (submission / "autograd_checks" / "__init__.py").write_text("fake")
    (submission / "data.csv").write_text("1,2")
    (submission / "data.py").write_text("shadow")
    (submission / ".ipynb_checkpoints").mkdir()
    (submission / ".ipynb_checkpoints" / "01_basics-checkpoint.ipynb").write_text("{}")
    files, refused = read(submission, allowed=["*.csv", "*.py"])
    assert files["data.csv"] == b"1,2" and "data.py" not in files
    assert dict(refused) == {"autograd_checks/__init__.py": "not part of the assignment",
                             "data.py": "not part of the assignment",
                             "pipe.ipynb": "not a regular file (a device, FIFO or socket)"}


def test_files_over_the_size_limit_are_refused(submission):
    (submission / "02_exercises.ipynb").write_bytes(bytes((1 << 20) + 1))
    files, refused = read(submission, max_file_mb=1)
    assert "02_exercises.ipynb" not in files and refused == [("02_exercises.ipynb", "larger than 1 MB")]
