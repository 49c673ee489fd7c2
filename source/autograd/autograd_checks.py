"""The checks a test cell uses: what a teacher needs to write a new auto-graded item.

A test cell (visible part, then nbgrader's hidden part) calls the student's function by name and checks
what comes back; every failure is one AssertionError with a Chinese message and a hint, never the
expected numbers. The locked first cell of each notebook imports what its tests use:

    got = call("grad_two_dot", x, autograd=True, derivative=True)   # one call; calls(NAME, [args, ...]) for many
    expect_tensor("grad_two_dot", got, shape=x.shape, dtype=x.dtype) # type, shape, dtype: one message each
    expect_close("grad_two_dot", got, 4 * x, hint="……")              # values within TOLERANCES[dtype]
    passed()                                                         # the last line: prints 通过！

  call / calls        the student's function, called where their code lives (autograd_calls.py); results are
                      plain data: tensors, numpy arrays, numbers, str, None, tuples/lists, StudentError for a
                      returned exception, AxesInfo for what a function drew on NewAxes(...); Func("sin") passes
                      an elementwise function. Method checks, as keyword arguments: autograd=True/False,
                      backward_runs, same_graph_runs, forward_ok, forbid_cos, derivative (see calls).
  expect_pair, expect_tensor, expect_close, expect_raised_by_autograd, as_number, as_float_tensor
                      checks of a result; expect_close's message comes from diagnose() unless hint= is given.
  inputs_1d(seed)     fresh seeded 1-D inputs for hidden tests, float32 and float64.
  fail(message)       a failure of your own; hints for errors the student's code raised: autograd_calls.ERROR_HINTS.

The expected values, tolerances and comparisons run only in the test cell's kernel: under grading the
checker kernel, which never runs student code (autograde/checker.py).
"""
import numbers

import numpy as np
import torch

from autograd_calls import as_tensor_or_none, call, calls, fail, passed  # noqa: F401  (re-exported for the test cells)
from autograd_wire import AxesInfo, Func, NewAxes, Opaque, StudentError  # noqa: F401  (used by the test cells)

# Tolerances, chosen per dtype: results here are a few float operations away from
# exact, so a few ulps of relative error plus a tiny absolute floor for values near 0.
TOLERANCES = {
    torch.float32: dict(rtol=1e-5, atol=1e-6),
    torch.float64: dict(rtol=1e-10, atol=1e-12),
}


def expect_pair(name, result, names):
    """A function that returns two results: a tuple (or list) of length 2."""
    __tracebackhide__ = True
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        what = _what(result) if not isinstance(result, (tuple, list)) else f"{len(result)} 个结果"
        fail(f"{name} 应返回 ({names}) 两个结果组成的元组，实际返回 {what}：return 后面用逗号分开两个值。")
    return tuple(result)


def _what(value):
    """A value's type, as a student would name it."""
    if isinstance(value, Opaque):
        return value.type_name
    if isinstance(value, StudentError):
        return value.type_name
    if isinstance(value, AxesInfo):
        return "Axes"
    if isinstance(value, torch.Tensor):
        return "Tensor"
    if isinstance(value, np.generic):
        return type(value).__name__
    return type(value).__name__


def inputs_1d(seed, sizes=(1, 5, 17), dtypes=(torch.float32, torch.float64)):
    """Fresh seeded 1-D inputs of several sizes and both float dtypes."""
    gen = torch.Generator().manual_seed(seed)
    for size in sizes:
        for dtype in dtypes:
            yield torch.randn(size, generator=gen, dtype=torch.float64).to(dtype)


def expect_tensor(name, got, *, shape, dtype=None):
    """Type → shape → dtype, each with its own message."""
    __tracebackhide__ = True
    if got is None:
        fail(f"{name} 应返回 torch.Tensor，实际返回 None：是否忘了 return，或者 backward 没有真正执行"
             "（要写 y.backward()，带括号），x.grad 还是 None？")
    if not isinstance(got, torch.Tensor):
        fail(f"{name} 应返回 torch.Tensor，实际返回 {_what(got)}。")
    if tuple(got.shape) != tuple(shape):
        fail(f"{name} 的形状应为 {tuple(shape)}，实际为 {tuple(got.shape)}：检查是否返回了别的张量"
             "（例如函数值而不是梯度）、多做了 sum() 或 reshape，或者写死了某个例子的结果。")
    if got.dtype == torch.bool:
        fail(f"{name} 是布尔张量（== 比较的结果），应返回计算出的数值本身；"
             "要比较两个浮点张量时用 torch.allclose，不要用 ==。")
    if dtype is not None and got.dtype != dtype:
        hint = ("梯度应与输入同为浮点类型：不要 .int() 或 .long()。" if not got.dtype.is_floating_point
                else "不要改变输入的 dtype（例如不要 .float()、.double() 或在 torch.tensor 里指定另一个 dtype）。")
        fail(f"{name} 的 dtype 应为 {dtype}，实际为 {got.dtype}：{hint}")


def _close(got, expected, rtol, atol):
    return bool(((got - expected).abs() <= expected.abs() * rtol + atol).all())


def expect_close(name, got, expected, *, hint="", rtol=None, atol=None):
    """Values match within the dtype's tolerance; the message never shows expected numbers."""
    __tracebackhide__ = True
    expect_tensor(name, got, shape=expected.shape)
    if not got.dtype.is_floating_point:
        fail(f"{name} 应是浮点张量，实际为 {got.dtype}：梯度和函数值都是浮点数，不要转换成整数。")
    tol = TOLERANCES.get(expected.dtype, TOLERANCES[torch.float32])
    rtol = tol["rtol"] if rtol is None else rtol
    atol = tol["atol"] if atol is None else atol
    got64 = got.detach().to(torch.float64)
    expected64 = expected.detach().to(torch.float64)
    if not bool(torch.isfinite(got64).all()):
        fail(f"{name} 含有 nan 或 inf。")
    if _close(got64, expected64, rtol, atol):
        return
    fail(f"{name} 的值不对。{hint or diagnose(got64, expected64)}")


def diagnose(got, expected):
    """A hint from the shape of the mistake, never from the numbers themselves."""
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    if scale > 0 and _close(got, 2 * expected, 1e-5, 1e-6):
        return "结果是期望值的 2 倍：是否忘了 x.grad.zero_()，让梯度累积了两次？"
    if scale > 0 and _close(got, 3 * expected, 1e-5, 1e-6):
        return "结果是期望值的 3 倍：梯度累积了三次，是否忘了 x.grad.zero_()？"
    if _close(got, torch.zeros_like(expected), 0.0, 1e-12):
        return "结果全为 0：是否在 backward() 之前就取了 x.grad，或者清零后没有再反向传播？"
    if _close(got, -expected, 1e-5, 1e-6):
        return "符号相反：检查求导的函数。"
    return ("检查你求导的函数是否就是题目要求的那个、是否对正确的张量调用了 backward()，"
            "以及 x.grad 里是否还留着之前反向传播的梯度（需要先 x.grad.zero_()）。")


def expect_raised_by_autograd(name, err, *, error_type, message_part, hint):
    """The returned error must be a real one: an exception of error_type (a class name) with PyTorch's
    own message, seen leaving torch.autograd during the call (recorded by the student-side harness)."""
    __tracebackhide__ = True
    if err is None:
        fail(f"{name} 应返回捕获到的异常对象，实际返回 None：要么没有抛出异常（检查是否真的做了会出错的那一步，"
             "例如没有先 sum()、第一次没有 retain_graph=True），要么 except 分支里忘了 return e。")
    if isinstance(err, str):
        fail(f"{name} 返回的是字符串，应返回异常对象本身：except RuntimeError as e: return e（不要 str(e) 或拼接文字）。")
    if not isinstance(err, StudentError):
        fail(f"{name} 应返回捕获到的异常对象（except ... as e: return e），实际返回 {_what(err)}。")
    if not err.is_a(error_type):
        fail(f"{name} 返回的异常类型应为 {error_type}，实际为 {err.type_name}。")
    if message_part not in err.message:
        fail(f"{name} 返回的异常信息不是 PyTorch 给出的那一条。{hint}")
    if not err.autograd:
        fail(f"{name} 返回的异常不是由 PyTorch 的 autograd 抛出的：不要自己构造或 raise 异常，"
             "要真的调用 backward()，再捕获它抛出的错误。")


def as_float_tensor(name, value):
    """A result that may be a tensor, a numpy array, a list or a Python number, as a float64 tensor."""
    __tracebackhide__ = True
    if isinstance(value, (tuple, list)) and all(type(v) in (int, float) for v in value):
        value = np.asarray(value, dtype=np.float64)
    tensor = as_tensor_or_none(value)
    if tensor is None or tensor.dtype == torch.bool:
        fail(f"{name} 应返回数值（张量、数组或数字），实际返回 {_what(value)}。")
    return tensor.to(torch.float64)


def as_number(name, value):
    """A result that must be one number: a Python/numpy number, or a tensor/array with one element, as a float."""
    __tracebackhide__ = True
    if value is None:
        fail(f"{name} 应返回一个数（float），实际返回 None：是否忘了 return？")
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (torch.Tensor, np.ndarray))
                                               and value.dtype in (torch.bool, np.bool_)):
        fail(f"{name} 返回的是比较的结果（True/False），应返回一个数；比较浮点数请用 torch.allclose，不要把比较结果当作答案。")
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            fail(f"{name} 应返回一个数，实际返回形状为 {tuple(value.shape)} 的{'张量' if isinstance(value, torch.Tensor) else '数组'}："
                 "所有元素都相同时取其中一个，例如 t.flatten()[0].item()。")
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) or not isinstance(value, numbers.Real):
        fail(f"{name} 应返回一个数（float），实际返回 {_what(value)}。")
    return float(value)


def book_f(a):
    """The book's control-flow function (d2l-zh 2.5.4), its one definition: the hidden tests' reference, and the f
    that 02_exercises gives students in a locked cell (they write their own in 01_basics, which is the task there)."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c
