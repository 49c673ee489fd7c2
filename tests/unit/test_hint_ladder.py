"""The hints a student reads when a check fails (source/autograd/autograd_checks.py), without a kernel:
diagnose's ladder from the shape of the mistake, and the hint for an error PyTorch raised."""
import re
import sys

import pytest
import torch

from conftest import REPO

sys.path.insert(0, str(REPO / "source" / "autograd"))
import autograd_calls as calls  # noqa: E402
import autograd_checks as checks  # noqa: E402
from autograd_wire import StudentError  # noqa: E402

EXPECTED = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)


@pytest.mark.parametrize("got, start", [
    (2 * EXPECTED, "结果是期望值的 2 倍"),
    (3 * EXPECTED, "结果是期望值的 3 倍"),
    (torch.zeros(3, dtype=torch.float64), "结果全为 0"),
    (-EXPECTED, "符号相反"),
    (EXPECTED + 1, "检查你求导的函数"),  # no pattern: the general hint
    (2 * EXPECTED + 1e-3, "检查你求导的函数"),  # twice, but not within the tolerance
])
def test_diagnose_names_the_likely_mistake(got, start):
    assert checks.diagnose(got, EXPECTED).startswith(start)


def test_all_zero_expected_is_never_called_twice_or_thrice():
    zero = torch.zeros(3, dtype=torch.float64)
    assert checks.diagnose(zero, zero).startswith("结果全为 0")


def test_expect_close_fails_with_the_hint_and_never_the_expected_numbers():
    with pytest.raises(AssertionError) as caught:
        checks.expect_close("x.grad", torch.tensor([2.0, -4.0, 1.0]), EXPECTED)
    message = str(caught.value)
    assert message.startswith("x.grad 的值不对。结果是期望值的 2 倍") and "-2" not in message and "0.5" not in message
    checks.expect_close("x.grad", EXPECTED * (1 + 1e-12), EXPECTED)  # within float64's tolerance: passes


@pytest.mark.parametrize("type_name, message, part", [
    ("RuntimeError", "Trying to backward through the graph a second time (or directly access saved tensors ...",
     "retain_graph=True"),
    ("RuntimeError", "grad can be implicitly created only for scalar outputs", "只能对标量直接调用 backward()"),
    ("RuntimeError", "element 0 of tensors does not require grad and does not have a grad_fn", "requires_grad_(True)"),
    ("AttributeError", "'NoneType' object has no attribute 'zero_'", "某个值是 None"),
    ("UnboundLocalError", "cannot access local variable 'c'", "while 循环"),
    # 03_extension: w = w - lr * w.grad, then lr * w.grad at the next step; a tangent of another shape than x
    ("TypeError", "unsupported operand type(s) for *: 'float' and 'NoneType'", "w = w - lr * w.grad"),
    ("TypeError", "unsupported operand type(s) for *: 'NoneType' and 'float'", "torch.no_grad()"),
    ("RuntimeError", "Trying to set a forward gradient that has a different size than that of the original Tensor, "
                     "this is not supported. Tensor is of size [3] while the given forward gradient is of size [].",
     "切向量要和输入同形状"),
])
def test_errors_pytorch_raises_get_their_hint(type_name, message, part):
    error = StudentError([type_name, "Exception"], message, autograd=True)
    assert part in calls._hint_for(error)
    with pytest.raises(AssertionError, match=f"调用 f 时出错：{type_name}: .*\n提示：.*{re.escape(part)}"):
        calls._fail_raised("f", error)


def test_an_unknown_error_gets_the_general_hint_and_not_implemented_its_own():
    unknown = StudentError(["ValueError", "Exception"], "math domain error", autograd=False)
    assert calls._hint_for(unknown) == ""
    with pytest.raises(AssertionError, match="先在自己的笔记本里用同样的输入调用它"):
        calls._fail_raised("f", unknown)
    with pytest.raises(AssertionError, match="f 还没有实现"):
        calls._fail_raised("f", StudentError(["NotImplementedError", "RuntimeError"], "", autograd=False))
