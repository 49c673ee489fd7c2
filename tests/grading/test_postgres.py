"""The gradebook in PostgreSQL (AUTOGRADE_DB_URL), against a real server; two graders writing at once."""
import os
import subprocess
import sys

import pytest

from autograde import gradebook, submissions
from autograde.course import Course
from conftest import REPO, copy_course

pytestmark = pytest.mark.slow


def test_two_graders_write_one_postgresql_gradebook_at_once(postgres, tmp_path):
    root = copy_course(tmp_path / "course")
    course = Course(root)
    cases = submissions.load_cases(REPO / "autograde" / "sample_class")
    env = {**os.environ, "AUTOGRADE_DB_URL": postgres}
    release = subprocess.run([sys.executable, "-m", "autograde", "--course", root, "release"], env=env,
                             capture_output=True, text=True)
    assert release.returncode == 0, release.stderr
    for case in cases:
        submissions.build(course, "autograd", case, course.submitted / case.name)
    graders = [subprocess.Popen([sys.executable, "-m", "autograde", "--course", root, "grade", "--student", case.name,
                                 "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for case in cases]
    for case, grader in zip(cases, graders):
        out, err = grader.communicate(timeout=600)
        # carol did not hand in the optional 03_extension: a missing notebook asks the instructor for a look
        assert grader.returncode == (3 if case.name == "carol_partial" else 0), out + err
    os.environ["AUTOGRADE_DB_URL"] = postgres  # read the gradebook as nbgrader_config.py points to it
    try:
        scores = gradebook.scores(course, "autograd")
    finally:
        del os.environ["AUTOGRADE_DB_URL"]
    assert not (root / "gradebook.db").exists(), "the grades must land in PostgreSQL, not SQLite"
    totals = {student: sum(v or 0 for k, v in got.items() if k.endswith("_test")) for student, got in scores.items()}
    assert totals == {"alice_full": 47.0, "bob_blank": 0.0, "carol_partial": 5.0}
