"""The checker kernel (autograde/checker.py): CheckedExecute with real kernels (unsandboxed: python3) on a
small notebook, as nbgrader would. The data-only channel itself: tests/unit/test_wire.py.
"""
import shutil

import nbformat

from autograde.checker import CheckedExecute
from autograde.course import Course
from conftest import REPO

SOURCE = REPO / "source" / "autograd"


def notebook_of(cells):
    nb = nbformat.v4.new_notebook()
    for index, (kind, source, meta) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"cell-{index}"
        if meta:
            cell.metadata["nbgrader"] = {"schema_version": 3, "solution": kind == "answer", "grade": kind == "test",
                                         "locked": kind in ("test", "setup"), "grade_id": f"{kind}-{index}",
                                         **({"points": 1} if kind == "test" else {})}
        nb.cells.append(cell)
    return nb


SETUP = "from autograd_checks import call, expect_close, passed\nimport torch"
TEST = ("import os\nprint(sorted(os.listdir('.')))\nspy = 'checker'\n"
        "got = call('double', torch.arange(3.0))\nexpect_close('double', got, 2 * torch.arange(3.0))\npassed()")
ANSWER = "def double(x):\n    return 2 * x\nspy = 'student'"


def run_checked(tmp_path, student_cells, timeout=60):
    """Run CheckedExecute on a notebook of student_cells in a small course of tmp_path."""
    source = tmp_path / "course" / "source" / "a"
    source.mkdir(parents=True)
    for module in ("autograd_checks.py", "autograd_calls.py", "autograd_wire.py", "autograd_harness.py"):
        shutil.copy(SOURCE / module, source / module)
    nbformat.write(notebook_of([("setup", SETUP, True), ("test", TEST, True)]), source / "nb.ipynb")
    student = tmp_path / "course" / "autograded" / "s" / "a"
    shutil.copytree(source, student)
    (student / "student_file.txt").write_text("the student's")
    config = Course(REPO).config()  # the course's output budgets; its own small course folder
    config.CourseDirectory.root = str(tmp_path / "course")
    executor = CheckedExecute(config=config, kernel_name="python3", timeout=timeout)
    nb = notebook_of(student_cells)
    executor.preprocess(nb, {"metadata": {"path": str(student)}, "nbgrader": {"assignment": "a", "notebook": "nb"}})
    return nb


def outputs(cell):
    return [o.get("text") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs]


def test_test_cells_run_in_a_checker_that_sees_no_student_file_and_reaches_functions_by_name(tmp_path):
    nb = run_checked(tmp_path, [("setup", SETUP, True), ("answer", ANSWER, True), ("test", TEST, True),
                                ("plain", "print(spy)", False)])
    listing, verdict = outputs(nb.cells[2])
    assert "student_file.txt" not in listing and "autograd_checks.py" in listing and "nb.ipynb" not in listing
    assert verdict.strip() == "通过！"
    assert outputs(nb.cells[3]) == ["student\n"], "the test cell's variables live in the checker only"


def test_a_test_cell_that_is_not_the_courses_own_does_not_run(tmp_path):
    edited = TEST.replace("passed()", "print('通过！')")
    nb = run_checked(tmp_path, [("setup", SETUP, True), ("answer", ANSWER, True), ("test", edited, True)])
    assert outputs(nb.cells[2]) == ["AssertionError: 这个检查单元格和课程的原件不一致，没有运行（记 0 分）。"]


def test_a_kernel_that_dies_during_a_call_fails_that_call_only(tmp_path):
    dying = "import os\ndef double(x):\n    os._exit(1)\nspy = 'student'"
    nb = run_checked(tmp_path, [("setup", SETUP, True), ("answer", dying, True), ("test", TEST, True),
                                ("plain", "print(spy)", False)])
    assert "内核没有正常回答（dead）" in outputs(nb.cells[2])[-1]
    assert outputs(nb.cells[3]) == ["KernelError: 检查单元格调用你的函数时，你的内核结束了：这个单元格没有运行。"]


def test_a_call_that_never_returns_fails_with_its_own_message_and_the_notebook_goes_on(tmp_path):
    looping = "def double(x):\n    while True:\n        pass\nspy = 'student'"
    nb = run_checked(tmp_path, [("setup", SETUP, True), ("answer", looping, True), ("test", TEST, True),
                                ("plain", "print(spy)", False)], timeout=12)
    assert "没有在限定时间内结束" in outputs(nb.cells[2])[-1]
    assert outputs(nb.cells[3]) == ["student\n"], "interrupted, the student's kernel runs the next cell"
