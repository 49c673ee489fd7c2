"""`python -m autograde collect-zip`: an LMS's submissions download, named as Canvas and Moodle name it, ends
in graded submissions. How the names are read: tests/unit/test_collect_zip_names.py."""
import zipfile

import pytest

from autograde import gradebook, submissions
from autograde.course import Course
from conftest import copy_course, run_autograde


def test_not_a_zip_is_refused(tmp_path):
    copy_course(tmp_path / "course")
    (tmp_path / "x.zip").write_text("no", encoding="utf-8")
    result = run_autograde("--course", tmp_path / "course", "collect-zip", tmp_path / "x.zip")
    assert result.returncode == 1 and result.stderr.startswith("autograde: Cannot read")


@pytest.mark.slow
def test_canvas_and_moodle_downloads_end_in_graded_submissions(tmp_path):
    course = Course(copy_course(tmp_path / "course"))
    work = tmp_path / "work"
    for case in (submissions.Case("full", "the solution"), submissions.Case("blank", "nothing", base="blank")):
        submissions.build(course, "autograd", case, work / case.name)
    canvas, moodle = tmp_path / "submissions.zip", tmp_path / "作业-下载.zip"
    notebooks = course.source_notebooks("autograd")  # 01_basics, 02_exercises and the optional 03_extension
    with zipfile.ZipFile(canvas, "w") as archive:  # 张三 first handed in a blank 01_basics, then the solution
        archive.write(work / "blank/autograd/01_basics.ipynb", "张三_1001_5001_01_basics.ipynb")
        archive.write(work / "full/autograd/01_basics.ipynb", "张三_LATE_1001_5002_01_basics-1.ipynb")
        for name in notebooks[1:]:
            archive.write(work / f"full/autograd/{name}.ipynb", f"张三_1001_5001_{name}.ipynb")
    with zipfile.ZipFile(moodle, "w") as archive:
        for name in notebooks:
            archive.write(work / f"blank/autograd/{name}.ipynb", f"李四_31_assignsubmission_file_/{name}.ipynb")
        archive.writestr("readme.txt", "not a submission")
    roster = tmp_path / "roster.csv"
    roster.write_text("学号,姓名,email\n2023001,张三,z@example.edu\n", encoding="utf-8")
    assert run_autograde("--course", course.root, "roster", roster).returncode == 0

    result = run_autograde("--course", course.root, "collect-zip", canvas)
    assert result.returncode == 0, result.stderr
    assert "  2023001: " + "、".join(f"{n}.ipynb" for n in notebooks) in result.stdout  # the roster's 学号 for 张三
    result = run_autograde("--course", course.root, "collect-zip", moodle)
    assert result.returncode == 0, result.stderr
    assert "未收取（文件名不是 Canvas 或 Moodle 的格式）：readme.txt" in result.stdout
    assert course.students("autograd") == ["2023001", "李四"]

    result = run_autograde("--course", course.root, "grade")
    assert result.returncode == 0, result.stdout + result.stderr
    auto = [i.grade_id for i in gradebook.items(course, "autograd") if i.auto]
    got = gradebook.scores(course, "autograd")
    assert sum(got["2023001"][g] for g in auto) == 47.0  # the resubmitted 01_basics was graded (20 + 19 + 8)
    assert sum(got["李四"][g] for g in auto) == 0.0
