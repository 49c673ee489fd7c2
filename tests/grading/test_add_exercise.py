"""README's recipe "加一道自动评分的题", followed literally in a copy of the course: a toy item is added to
source/, released, checked against right and wrong submissions, then removed again."""
import filecmp

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from conftest import REPO, copy_course, run_autograde

NOTEBOOK = "02_exercises.ipynb"

ANSWER = '''def cube_grad(x):
    """返回 (x ** 3).sum() 关于 x 的梯度。"""
    ### BEGIN SOLUTION
    x = x.detach().clone().requires_grad_(True)
    (x ** 3).sum().backward()
    return x.grad
    ### END SOLUTION'''

TEST = '''"""检查 cube_grad：形状（可见），随机输入上的值（隐藏）。"""
got = call("cube_grad", torch.arange(3.0), autograd=True, derivative=True)
expect_tensor("cube_grad", got, shape=(3,), dtype=torch.float32)
### BEGIN HIDDEN TESTS
for x, got in zip(list(inputs_1d(seed=7)), calls("cube_grad", [(x,) for x in inputs_1d(seed=7)], autograd=True,
                                                  derivative=True)):
    expect_close("cube_grad", got, 3 * x ** 2, hint="x³ 的导数是 3x²。")
### END HIDDEN TESTS
passed()'''

CASES = {
    "right_cube_autograd_grad.toml": '''why = "用 torch.autograd.grad 求梯度：应得满分"
base = "solution"
[answers]
cube_grad = """
def cube_grad(x):
    x = x.detach().requires_grad_()
    return torch.autograd.grad((x ** 3).sum(), x)[0]
"""
[expected]
cube_grad_test = 1
''',
    "wrong_cube_formula.toml": '''why = "直接写出导数公式，没有做反向传播：应得 0 分"
base = "solution"
[answers]
cube_grad = """
def cube_grad(x):
    return 3 * x ** 2
"""
[expected]
cube_grad_test = 0
''',
    "wrong_cube_square.toml": '''why = "求成了 x² 的梯度：应得 0 分"
base = "solution"
[answers]
cube_grad = """
def cube_grad(x):
    x = x.detach().clone().requires_grad_(True)
    (x ** 2).sum().backward()
    return x.grad
"""
[expected]
cube_grad_test = 0
''',
}


def _cell(make, source, grade_id, **flags):
    cell = make(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "task": False, "locked": False,
                                 "solution": False, "grade": False, **flags}
    return cell


def test_add_check_and_remove_an_exercise(tmp_path):
    course = copy_course(tmp_path / "course")
    path = course / "source" / "autograd" / NOTEBOOK
    original = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    # 1. the answer cell and its test cell, before the notebook's closing words
    nb.cells[-1:-1] = [new_markdown_cell("## 练习6：x³ 的梯度（1分）\n\n实现 `cube_grad(x)`。"),
                       _cell(new_code_cell, ANSWER, "cube_grad", solution=True),
                       _cell(new_code_cell, TEST, "cube_grad_test", grade=True, locked=True, points=1)]
    nbformat.write(nb, path)
    # 2. make release: the student version has the visible check and neither the solution nor the hidden tests
    released = run_autograde("release", "autograd", cwd=course)
    assert released.returncode == 0, released.stdout + released.stderr
    text = "\n".join(c.source for c in nbformat.read(course / "release" / "autograd" / NOTEBOOK, as_version=4).cells)
    assert 'call("cube_grad", torch.arange(3.0)' in text
    assert "3 * x ** 2" not in text and "(x ** 3).sum().backward()" not in text
    # 3. corpus cases, then make check: every stated score is earned
    cases = tmp_path / "cases"
    cases.mkdir()
    for name, case in CASES.items():
        (cases / name).write_text(case, encoding="utf-8")
    checked = run_autograde("check", "autograd", "--cases", cases, cwd=course)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "submissions: 3 " in checked.stdout and "false negatives: 0  false positives: 0" in checked.stdout
    # 4. removing it again gives back exactly the course's release
    path.write_bytes(original)
    assert run_autograde("release", "autograd", cwd=course).returncode == 0
    names = sorted(p.name for p in (REPO / "release" / "autograd").iterdir())
    _, mismatch, errors = filecmp.cmpfiles(REPO / "release" / "autograd", course / "release" / "autograd", names,
                                           shallow=False)
    assert (mismatch, errors) == ([], [])
