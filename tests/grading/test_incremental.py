"""`make grade` grades new or changed submissions only; a re-release that changes a test makes grades stale.

One class (tests/classroom.py, no late policy), graded by `make grade` as the README says, then: again
(nothing to grade), after one resubmission (that one), after a release that changes a test's points
(nothing graded, every grade stale, exit 3), and with --all (everyone, fresh).
"""
import json
import re
import subprocess

import nbformat
import pytest

from classroom import ON_TIME, dump_gradebook, make_class
from conftest import REPO, run_autograde

pytestmark = pytest.mark.slow


def make_grade(course):
    """`make grade` in the course copy, with this repository's environment (no reinstall); returncode is the
    grading tool's exit code (make itself says 2 for any failed recipe, and names the code: "Error 3")."""
    result = subprocess.run(["make", "-C", str(course.root), "grade", f"VENV={REPO / '.venv'}", "STAMP="],
                            capture_output=True, text=True, timeout=1200)
    failed = re.search(r"\] Error (\d+)$", result.stderr, re.MULTILINE)
    result.returncode = int(failed[1]) if failed else result.returncode
    return result


def status_lines(result):
    return {m[1]: m[2] for m in re.finditer(r"^  (s\d_\w+): ([已未]评分.*)$", result.stdout, re.MULTILINE)}


def autograded_files(course):
    return {p: p.stat().st_mtime_ns for p in course.autograded.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_class(tmp_path_factory.mktemp("incremental") / "course", late_policy=False)
    first = make_grade(course)
    assert first.returncode == 3, first.stdout + first.stderr  # s3 renamed a notebook
    assert len(status_lines(first)) == 5
    return course


def test_make_grade_twice_in_a_row_grades_nothing_the_second_time(course):
    before, files = dump_gradebook(course), autograded_files(course)
    again = make_grade(course)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "5 份提交自上次评分后没有改动，这次不评（全部重新评分：--all）。" in again.stdout
    assert status_lines(again) == {} and "submissions" not in again.stdout  # no progress bar: nothing ran
    assert dump_gradebook(course) == before and autograded_files(course) == files


def test_a_resubmission_alone_is_graded(course):
    (course.submitted / "s5_blank_no_timestamp" / "autograd" / "timestamp.txt").write_text(ON_TIME, encoding="utf-8")
    result = make_grade(course)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 份提交自上次评分后没有改动" in result.stdout
    assert status_lines(result) == {"s5_blank_no_timestamp": "已评分"}


def test_a_release_that_changes_a_test_makes_every_grade_stale_until_regraded(course):
    path = course.source / "autograd" / "01_basics.ipynb"
    notebook = nbformat.read(path, as_version=4)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "grad_two_dot_test"]
    cell.metadata.nbgrader.points = 3
    nbformat.write(notebook, path)
    assert run_autograde("--course", course.root, "release").returncode == 0

    result = make_grade(course)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = status_lines(result)
    assert sorted(lines) == ["s1_on_time", "s2_late", "s3_renamed_notebook", "s4_fails_to_run",
                             "s5_blank_no_timestamp"]
    assert lines["s1_on_time"] == ("已评分；成绩已过期：01_basics 的评分单元格在评分后改过（重新评分："
                                   "python -m autograde grade --all）")
    assert "5 份提交自上次评分后没有改动" in result.stdout
    rows = (course.reports / "autograd-grades.csv").read_text(encoding="utf-8-sig").splitlines()
    assert all("成绩过期" in row.split(",")[3] for row in rows[1:])

    result = run_autograde("--course", course.root, "grade", "--all")
    assert result.returncode == 3, result.stdout + result.stderr  # s3's renamed notebook still wants a look
    lines = status_lines(result)
    assert len(lines) == 5 and not any("过期" in line for line in lines.values())
    assert re.search(r"^s1_on_time\s+20\s+19\s+8\s+0\s+47\s+3$", result.stdout, re.M) is None  # 2 → 3 points
    assert re.search(r"^s1_on_time\s+21\s+19\s+8\s+0\s+48\s+3$", result.stdout, re.M)
    record = json.loads((course.root / ".autograde" / "autograd-graded.json").read_text(encoding="utf-8"))
    assert sorted(record) == sorted(lines)
