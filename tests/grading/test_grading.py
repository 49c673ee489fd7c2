"""The instructor's path with the real nbgrader: release, autograde, feedback, reports (`make demo`)."""
import html
import os
import shutil
import subprocess
import sys
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograde import gradebook
from autograde.course import Course
from conftest import REPO, copy_course, hidden_test_lines, run_autograde

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`python -m autograde demo` in a fresh copy of the course (as `make demo` runs it)."""
    copy = tmp_path_factory.mktemp("demo") / "course"
    copy_course(copy)
    result = run_autograde("--course", copy, "demo")
    assert result.returncode == 0, result.stderr
    return Course(copy / "demo"), result


def test_sample_class_scores_exactly_what_each_submission_states(demo):
    course, _ = demo
    got = gradebook.scores(course, "autograd")
    for student in course.students("autograd"):
        expected = json.loads((course.submitted / student / "expected.json").read_text(encoding="utf-8"))["scores"]
        assert {grade_id: got[student][grade_id] for grade_id in expected} == expected, student


def test_solution_scores_full_and_blank_release_scores_zero(demo):
    course, result = demo
    items = gradebook.items(course, "autograd")
    got = gradebook.scores(course, "autograd")
    auto = [i.grade_id for i in items if i.auto]
    assert sum(got["alice_full"][g] for g in auto) == 47.0  # 20 + 19 + 8 (03_extension)
    assert sum(got["bob_blank"][g] for g in auto) == 0.0
    assert sum(got["carol_partial"][g] for g in auto) == 5.0  # she did not hand in the optional 03_extension
    # per notebook, late penalty, final total (of 51: three hand-graded answers of 02 wait for a grader), questions
    # pending
    assert re.search(r"^alice_full\s+20\s+19\s+8\s+0\s+47\s+3$", result.stdout, re.MULTILINE)
    assert re.search(r"^carol_partial\s+3\s+2\s+0\s+0\s+5\s+\d$", result.stdout, re.MULTILINE)


def test_every_test_of_a_blank_submission_fails_with_a_hint_not_a_python_error(demo):
    course, _ = demo
    for path in sorted((course.autograded / "bob_blank" / "autograd").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":  # the test cells
                errors = [out for out in cell.outputs if out.output_type == "error"]
                assert [e.ename for e in errors] == ["AssertionError"], (path.name, cell.metadata.nbgrader.grade_id)
                assert "还没有实现" in errors[0].evalue, (path.name, cell.metadata.nbgrader.grade_id, errors[0].evalue)


def test_written_answer_waits_for_manual_grading(demo):
    course, _ = demo
    got = gradebook.scores(course, "autograd")
    assert got["alice_full"]["why_second_derivative_costs_more"] is None  # an answer: the TA grades it
    assert got["bob_blank"]["why_second_derivative_costs_more"] == 0.0  # untouched: nbgrader gives 0
    for design in ("own_control_flow_design", "own_control_flow_explained"):  # 4.3: code and text, by hand
        assert got["alice_full"][design] is None and got["bob_blank"][design] == 0.0


def test_grades_table_has_a_row_per_student_and_a_column_per_item(demo):
    course, _ = demo
    rows = (course.reports / "autograd-grades.csv").read_text(encoding="utf-8-sig").splitlines()
    header = rows[0].split(",")
    assert header[0] == "学号" and "plot_sin_and_grad_test" in header and "gd_steps_test" in header
    assert "03_extension (/8)" in header and "总分 (/51)" in header
    totals = {r.split(",")[0]: r.split(",")[header.index("总分 (/51)")] for r in rows[1:]}
    assert totals == {"alice_full": "47", "bob_blank": "0", "carol_partial": "5"}


def test_feedback_shows_the_hint_but_never_the_hidden_tests(demo):
    course, _ = demo
    pages = sorted(course.feedback.glob("*/autograd/*.html"))
    assert len(pages) == 8  # alice and bob hand in three notebooks, carol two
    hidden = hidden_test_lines()
    assert len(hidden) > 50
    for page in pages:
        text = html.unescape(page.read_text(encoding="utf-8"))
        leaked = [line for line in hidden if line in text]
        assert leaked == [], (page, leaked[:3])
        assert "BEGIN HIDDEN TESTS" not in text and "Traceback (most recent call last)" not in text
    carol = html.unescape((course.feedback / "carol_partial/autograd/01_basics.html").read_text(encoding="utf-8"))
    assert "是否忘了 x.grad.zero_()" in carol


def test_grading_a_student_again_gives_identical_grades(demo):
    course, _ = demo
    before = gradebook.scores(course, "autograd")
    result = run_autograde("--course", course.root, "grade", "--student", "carol_partial")
    # 3: carol did not hand in the optional 03_extension, and a missing notebook asks the instructor for a look
    assert result.returncode == 3 and "缺少 03_extension.ipynb" in result.stdout, result.stdout + result.stderr
    assert gradebook.scores(course, "autograd") == before


def ungraded_copy(course, root):
    """The same class, not graded yet: config, source and submissions only."""
    root.mkdir()
    for name in ("nbgrader_config.py", "source", "submitted"):
        source = course.root / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return Course(root)


def test_parallel_grading_gives_what_plain_sequential_nbgrader_gives(demo, tmp_path):
    course, _ = demo
    plain = ungraded_copy(course, tmp_path / "plain")
    for args in (["generate_assignment", "autograd"], ["autograde", "autograd"]):  # nbgrader as it comes
        subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=plain.root, check=True, capture_output=True,
                       env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    assert gradebook.scores(plain, "autograd") == gradebook.scores(course, "autograd")


def test_gradebook_schema_version_is_the_one_nbgraders_alembic_command_reports(tmp_path):
    from nbgrader.api import _temp_alembic_ini  # how nbgrader itself asks, when it creates a gradebook

    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'gradebook.db'}") as ini:
        heads = subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", ini, "heads"],
                               capture_output=True, text=True, check=True).stdout
    assert heads.split()[0] == gradebook.schema_version()


@pytest.fixture
def dask_cluster():
    """A real Dask scheduler and two workers on loopback, stopped afterwards."""
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    dask = [str(Path(sys.executable).parent / "dask")]
    processes = [subprocess.Popen(dask + ["scheduler", "--host", "127.0.0.1", "--port", str(port),
                                          "--dashboard-address", ":0"], env=env, stderr=subprocess.DEVNULL)]
    processes += [subprocess.Popen(dask + ["worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                           "--dashboard-address", ":0"], env=env, stderr=subprocess.DEVNULL)
                  for _ in range(2)]
    from distributed import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout="5s") as client:
                if len(client.scheduler_info()["workers"]) == 2:
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the Dask cluster did not come up"
        time.sleep(1)
    yield address
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def test_a_dask_cluster_grades_like_local_workers(demo, dask_cluster, tmp_path):
    course, _ = demo
    root = ungraded_copy(course, tmp_path / "cluster").root
    result = run_autograde("--course", root, "grade", "--cluster", dask_cluster)
    assert result.returncode == 3, result.stdout + result.stderr  # carol's missing 03_extension wants a look
    assert gradebook.scores(Course(root), "autograd") == gradebook.scores(course, "autograd")
    assert sorted(p.name for p in (root / "autograded").iterdir()) == course.students("autograd")
