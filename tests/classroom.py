"""A small real class under a late policy, shared by the tests that run a course as instructors do.

Five students: on time, late, a renamed (so missing) notebook, a notebook whose every answer fails to run, a blank
release handed in without a timestamp. The course copy has a due date and nbgrader's "zero" late policy.
"""
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat

from autograde import submissions
from autograde.course import Course
from conftest import copy_course

ASSIGNMENT = "autograd"
DUE = "2026-03-01 23:59:00 UTC"
ON_TIME = "2026-03-01 20:00:00.000000 UTC"
LATE = "2026-03-02 09:30:00.000000 UTC"
LATE_POLICY = '\n# A late policy, as a course with a due date sets it.\nc.LateSubmissionPlugin.penalty_method = "zero"\n'


def _answer_cells(course, notebook):
    cells = nbformat.read(course.source / ASSIGNMENT / f"{notebook}.ipynb", as_version=4).cells
    return [c.metadata.nbgrader.grade_id for c in cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]


def cases(course):
    """(case, timestamp or None) for each student of the class."""
    crash = {gid: 'raise RuntimeError("还没写完")' for gid in _answer_cells(course, "01_basics")}
    return [
        (submissions.Case("s1_on_time", "the solution, on time"), ON_TIME),
        (submissions.Case("s2_late", "the solution, late"), LATE),
        (submissions.Case("s3_renamed_notebook", "02_exercises handed in as 02_Exercises.ipynb",
                          rename={"02_exercises": "02_Exercises"}), ON_TIME),
        (submissions.Case("s4_fails_to_run", "every answer of 01_basics raises", answers=crash,
                          notebooks=course.source_notebooks(ASSIGNMENT)), ON_TIME),  # and hands in every notebook
        (submissions.Case("s5_blank_no_timestamp", "the untouched release, no timestamp.txt", base="blank"), None),
    ]


def nbgrader_env():
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def plain_nbgrader(course, *args):
    """nbgrader as it comes, in the course folder; its output if it fails."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, capture_output=True,
                            text=True, env=nbgrader_env(), timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def make_class(root, late_policy=True):
    """A copy of the course with the assignment recorded (due date set) and the five submissions."""
    copy_course(root)
    if late_policy:
        with open(root / "nbgrader_config.py", "a", encoding="utf-8") as config:
            config.write(LATE_POLICY)
    course = Course(root)
    plain_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    plain_nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    for case, timestamp in cases(course):
        folder = course.submitted / case.name
        submissions.build(course, ASSIGNMENT, case, folder)
        (folder / "expected.json").unlink()
        if timestamp:
            (folder / ASSIGNMENT / "timestamp.txt").write_text(timestamp, encoding="utf-8")
    return course


def enter_by_hand(course, student, manual=None, extra_credit=None):
    """What a grader types into Formgrader: {(notebook, grade_id): points} as manual scores and extra credit."""
    from nbgrader.api import Gradebook

    db_url = course.config().CourseDirectory.db_url
    with Gradebook(db_url, course.config().CourseDirectory.course_id) as gb:
        for field, entries in (("manual_score", manual or {}), ("extra_credit", extra_credit or {})):
            for (notebook, grade_id), points in entries.items():
                setattr(gb.find_grade(grade_id, notebook, ASSIGNMENT, student), field, points)
        gb.db.commit()


def dump_gradebook(course):
    """Every row of every table of a SQLite gradebook, read with sqlite3 (not with the code under test).

    Each row is a dict of all its columns; an opaque id (a uuid) is replaced by the row it names, so
    two gradebooks built separately compare equal when they record the same things. {table: sorted rows}"""
    path = course.root / "gradebook.db"
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    foreign = {t: {r["from"]: r["table"] for r in db.execute(f"PRAGMA foreign_key_list('{t}')")} for t in tables}
    rows = {t: [dict(r) for r in db.execute(f"SELECT * FROM '{t}'")] for t in tables}
    by_id = {t: {r["id"]: r for r in rows[t]} for t in tables if rows[t] and "id" in rows[t][0]}
    uuid_tables = {t for t in by_id if t not in ("student", "course")}  # their ids are names, not uuids

    def natural(table, row):
        out = {}
        for key, value in row.items():
            target = foreign[table].get(key)
            if target in uuid_tables and value is not None:
                out[key] = natural(target, by_id[target][value])
            elif not (key == "id" and table in uuid_tables):
                out[key] = value
        return out

    dumped = {t: sorted((natural(t, r) for r in rows[t]), key=repr) for t in tables}
    db.close()
    return dumped
