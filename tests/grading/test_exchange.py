"""A class through nbgrader's exchange, as on a JupyterHub: release → fetch → submit → collect → grade →
feedback → release_feedback → fetch_feedback, with the exchange folder the course config names.

The student is whoever runs the test (nbgrader's exchange knows students by their login), with the
student-side config a Hub administrator would install (exchange folder and course id), in a home of
their own; the instructor works in a copy of the course.
"""
import getpass
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograde import gradebook, submissions
from autograde.course import Course
from conftest import copy_course, run_autograde

pytestmark = pytest.mark.slow


def nbgrader(cwd, *args, env):
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"nbgrader {args[0]}:\n{result.stdout}{result.stderr}"
    return result


def test_exchange_round_trip_ends_in_feedback_the_student_fetches(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(stat.S_ISVTX | 0o777)  # like /srv/nbgrader/exchange on a Hub: everyone writes, nobody deletes others'
    base = {**os.environ, "AUTOGRADE_EXCHANGE": str(exchange),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    course = Course(copy_course(tmp_path / "course"))
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = 'd2l-autograd'\n",
        encoding="utf-8")
    student_env = {**base, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter")}
    student_env.pop("AUTOGRADE_EXCHANGE")
    student = getpass.getuser()

    assert run_autograde("--course", course.root, "release").returncode == 0
    nbgrader(course.root, "release_assignment", "autograd", env=base)
    listed = nbgrader(home, "list", env=student_env)
    assert "d2l-autograd autograd" in listed.stdout + listed.stderr
    nbgrader(home, "fetch_assignment", "autograd", env=student_env)
    notebooks = course.source_notebooks("autograd")  # 01_basics, 02_exercises and the optional 03_extension
    assert sorted(p.name for p in (home / "autograd").glob("*.ipynb")) == [f"{n}.ipynb" for n in notebooks]
    # the student answers in the fetched notebooks: the reference solution of 01_basics, nothing in the others
    submissions.build(course, "autograd", submissions.Case(student, "answers 01_basics", notebooks=["01_basics"]), home)
    (home / "expected.json").unlink()
    nbgrader(home, "submit", "autograd", env=student_env)

    nbgrader(course.root, "collect", "autograd", env=base)
    assert (course.submitted / student / "autograd" / "timestamp.txt").is_file()
    result = run_autograde("--course", course.root, "grade")
    assert result.returncode == 0, result.stdout + result.stderr
    got = gradebook.scores(course, "autograd")[student]
    items = gradebook.items(course, "autograd")
    assert sum(got[i.grade_id] for i in items if i.auto and i.notebook == "01_basics") == 20.0
    for notebook in notebooks[1:]:
        assert sum(got[i.grade_id] for i in items if i.auto and i.notebook == notebook) == 0.0
    assert run_autograde("--course", course.root, "feedback").returncode == 0
    nbgrader(course.root, "release_feedback", "autograd", env=base)

    nbgrader(home, "fetch_feedback", "autograd", env=student_env)
    pages = sorted((home / "autograd" / "feedback").glob("*/*.html"))
    assert [p.name for p in pages] == [f"{n}.html" for n in notebooks]
    assert "还没有实现" in pages[1].read_text(encoding="utf-8")  # the hint of a blank answer
