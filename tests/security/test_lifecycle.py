"""The grader's own lifecycle: killed or interrupted, it leaves no process and no folder, and a rerun finishes.

Also: nbgrader's own autograde path (what Formgrader's button runs) goes through the same sandbox, and
refuses to run student code where the sandbox cannot run.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from autograde import gradebook, sandbox, submissions
from autograde.course import Course
from conftest import REPO

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}")]
STUDENTS = ["s1", "s2", "s3", "s4"]


@pytest.fixture
def class_of_four(course_copy, tmp_path):
    course = Course(course_copy)
    case = submissions.load_case(REPO / "autograde" / "sample_class" / "alice_full.toml")
    for student in STUDENTS:
        submissions.build(course, "autograd", case, course.submitted / student)
    marker = uuid.uuid4().hex
    tmp = Path(tempfile.mkdtemp(prefix="autograde-lifecycle-"))  # the run's temporary folders, watched by the test
    tmp.chmod(0o755)  # as /tmp is: the sandbox's own uid reaches it
    env = {**os.environ, "TMPDIR": str(tmp), "AUTOGRADE_TEST_RUN": marker}
    yield course, env, marker, tmp
    shutil.rmtree(tmp, ignore_errors=True)


def _start_grading(course, env):
    return subprocess.Popen([sys.executable, "-m", "autograde", "--course", str(course.root), "grade", "--workers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_until_graded(course, count, process, seconds=240):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = [p for p in course.autograded.glob("*/autograd/*.ipynb")] if course.autograded.is_dir() else []
        if len({p.parent.parent.name for p in done}) >= count:
            return
        assert process.poll() is None, "the grading run ended before it could be stopped"
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} submissions graded in {seconds} s")


def _processes_of(marker):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"AUTOGRADE_TEST_RUN={marker}".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass  # ended meanwhile, or not ours
    return found


def _wait_for_nothing_left(marker, tmp, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _processes_of(marker) and not any(tmp.iterdir()):
            return
        time.sleep(0.2)
    raise AssertionError(f"left behind: processes {_processes_of(marker)}, folders {sorted(p.name for p in tmp.iterdir())}")


def _full_marks(course):
    got = gradebook.scores(course, "autograd")
    auto = [i.grade_id for i in gradebook.items(course, "autograd") if i.auto]
    return {student: sum(got.get(student, {}).get(g) or 0 for g in auto) for student in STUDENTS}


def test_a_killed_grader_leaves_nothing_behind_and_a_rerun_gives_full_grades(class_of_four):
    course, env, marker, tmp = class_of_four
    grader = _start_grading(course, env)
    _wait_until_graded(course, 1, grader)
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    _wait_for_nothing_left(marker, tmp)
    rerun = _start_grading(course, env)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, out + err
    assert _full_marks(course) == {student: 47 for student in STUDENTS}
    _wait_for_nothing_left(marker, tmp)


def test_ctrl_c_stops_within_seconds_keeps_finished_grades_and_says_how_to_resume(class_of_four):
    course, env, marker, tmp = class_of_four
    grader = _start_grading(course, env)
    _wait_until_graded(course, 1, grader)
    os.killpg(grader.pid, signal.SIGINT)  # what the terminal sends to its foreground process group
    stopped = time.monotonic()
    out, err = grader.communicate(timeout=30)
    assert time.monotonic() - stopped < 10, "Ctrl-C must stop the run within seconds"
    assert grader.returncode == 130, out + err
    assert "interrupted" in err and "Run the same command again" in err
    recorded = [s for s, total in _full_marks(course).items() if total == 47]
    assert recorded and f"{len(recorded)} of 4 submissions were graded and recorded" in err
    _wait_for_nothing_left(marker, tmp)
    resumed = _start_grading(course, env)  # grades only what is left
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out + err
    assert f"{len(recorded)} 份提交自上次评分后没有改动，这次不评" in out
    assert _full_marks(course) == {student: 47 for student in STUDENTS}


def _plain_nbgrader(course, *args, path):
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, capture_output=True, text=True,
                          env={**os.environ, "PATH": path}, timeout=600)


def test_nbgraders_own_autograde_runs_student_code_in_the_sandbox_or_refuses(course_copy):
    course = Course(course_copy)
    case = submissions.Case(name="sandbox_only", why="right only where it runs in the course's sandbox", answers={
        "grad_of_sum": "import os\n"
                       "def grad_of_sum(x):\n"
                       "    x = x.detach().clone().requires_grad_(True)\n"
                       "    x.sum().backward()\n"
                       "    return x.grad if os.path.isdir('/grading/work') else x.grad * 0\n"})
    submissions.build(course, "autograd", case, course.submitted / "sandbox_only")
    venv_bin = str(Path(sys.executable).parent)
    assert _plain_nbgrader(course, "generate_assignment", "autograd", "--force", path=venv_bin).returncode == 0

    no_bwrap = _plain_nbgrader(course, "autograde", "autograd", path=venv_bin)  # bwrap is not on this PATH
    assert no_bwrap.returncode != 0
    assert "This course grades student code only in its sandbox" in no_bwrap.stdout + no_bwrap.stderr
    assert "python -m autograde grade" in no_bwrap.stdout + no_bwrap.stderr

    sandboxed = _plain_nbgrader(course, "autograde", "autograd", "--force", path=f"{venv_bin}:{os.environ['PATH']}")
    assert sandboxed.returncode == 0, sandboxed.stdout + sandboxed.stderr
    assert gradebook.scores(course, "autograd")["sandbox_only"]["grad_of_sum_test"] == 1.0
