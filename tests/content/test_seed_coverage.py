"""Every example and remark of the notes the course was made from is in a lesson.

The notes (../shared/seeds/) are not part of this repository, so the phrases are listed
here; a lesson that loses one of them fails this test.
"""
import json
import re

import pytest

from conftest import REPO

NOTEBOOKS = REPO / "notebooks"
REMARKS = {
    "2.5.1": ["数值求解", "计算图", "x.requires_grad_(True)", "y = 2 * torch.dot(x, x)", "x.grad.zero_()", "y = x.sum()"],
    "2.5.2": ["规则", "loss = 2 * torch.dot(x, x)  # 标量：可以直接backward()", "losses = x * x  # 向量：不能直接backward()",
              "数学原因", "实用原因", "雅可比矩阵", "y.sum().backward()", "torch.ones(len(x))"],
    "2.5.3": ["u = y.detach()", "z = u * x", "相当于一个新的变量", "3 * y"],
    "2.5.4": ["while b.norm() < 1000:", "c = 100 * b", "a = torch.randn(size=(), requires_grad=True)", "d / a",
              r"f(a)=k\cdot a", r"\dfrac{f(a)}{a}=\dfrac{k\cdot a}{a}=k"],
    "2.5.6": ["计算二阶导数是建立在一阶导数基础上的", "计算图被释放", "无法二次传播",
              "a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)", "def piecewise_function(x):",
              "theoretical_grad = -3 * val**2", "y_i.backward(retain_graph=True)",
              "plot([x_np, x_np],[y_np, grad_np],"],
}


def text_of(prefix):
    (path,) = NOTEBOOKS.glob(f"{prefix}_*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return re.sub(r"\s+", "", "\n".join("".join(c["source"]) for c in cells))


@pytest.mark.parametrize("section", sorted(REMARKS))
def test_lesson_covers_the_notes(section):
    text = text_of(section)
    missing = [r for r in REMARKS[section] if re.sub(r"\s+", "", r) not in text]
    assert missing == []
