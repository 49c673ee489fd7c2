"""Checks shared by the assignment's test cells (visible and hidden).

Imported by the locked first cell of each notebook, before any student code
runs; nbgrader copies this file over the student's copy when grading. It holds
no expected values: every test cell derives those itself. Every failure is an
AssertionError whose message says, in Chinese, what is wrong and gives a hint,
without the expected numbers.
"""
import contextlib
import importlib.util
import io
import math
import numbers
import os
import sys
import warnings

import numpy as np
import torch

# Captured at import, before student code can replace them.
_Tensor = torch.Tensor
_is_tensor = torch.is_tensor
_isclose = torch.isclose
_as_tensor = torch.as_tensor
_isinstance = isinstance
_AssertionError = AssertionError
# Comparisons go through these functions, not through operators or methods a submission could override
# on torch.Tensor or on a subclass it returns.
_detach, _to, _as_subclass, _item = torch.Tensor.detach, torch.Tensor.to, torch.Tensor.as_subclass, torch.Tensor.item
_sub, _mul, _add, _abs, _le, _all, _isfinite, _amax = (torch.sub, torch.mul, torch.add, torch.abs, torch.le, torch.all,
                                                       torch.isfinite, torch.amax)
_autograd_dir = os.path.dirname(torch.autograd.__file__)
# Every way of running backpropagation (Tensor.backward, torch.autograd.backward/grad however imported,
# torch.autograd.functional, torch.func) goes through this function of torch.autograd.
_engine_run_backward = getattr(torch.autograd, "_engine_run_backward", None)
# Code in these folders (numpy, matplotlib, torch, the standard library) may use cos; the student's code may not.
_LIBRARY_DIRS = tuple(sorted({os.path.realpath(os.path.dirname(os.path.dirname(path))) + os.sep for path in (
    np.__file__, torch.__file__, getattr(importlib.util.find_spec("matplotlib"), "origin", None) or np.__file__)}
    | {os.path.realpath(os.path.dirname(os.__file__)) + os.sep}))

# Tolerances, chosen per dtype: results here are a few float operations away from
# exact, so a few ulps of relative error plus a tiny absolute floor for values near 0.
TOLERANCES = {
    torch.float32: dict(rtol=1e-5, atol=1e-6),
    torch.float64: dict(rtol=1e-10, atol=1e-12),
}


def fail(message):
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    raise _AssertionError(message)


# Hints for errors students meet here, keyed by a stable part of the message (see MISCONCEPTIONS.md).
_ERROR_HINTS = [
    ("Trying to backward through the graph a second time",
     "计算图在第一次反向传播后已被释放：要再反向传播一次，第一次需要 retain_graph=True（或者重新计算一遍前向）；"
     "如果题目要的就是这个错误，请用 try/except 捕获它并 return 异常对象。"),
    ("grad can be implicitly created only for",
     "只能对标量直接调用 backward()：非标量请先 .sum()，或者传入 gradient 参数（例如 torch.ones_like(y)）；"
     "如果题目要的就是这个错误，请用 try/except 捕获它并 return 异常对象。"),
    ("does not require grad and does not have a grad_fn",
     "这个张量不在计算图里：检查是否对输入调用了 requires_grad_(True)、是否 detach 了不该分离的张量；"
     "要对导数再求导时，求导数时要传 create_graph=True。"),
    ("Can't call numpy() on Tensor that requires grad",
     "需要梯度的张量不能直接转成 numpy（matplotlib 画图时也会转换）：先 .detach() 再 .numpy()。"),
    ("a leaf Variable that requires grad is being used in an in-place operation",
     "不能原地修改需要梯度的叶子张量：在 torch.no_grad() 里修改，或者先 x = x.detach().clone()。"),
    ("Only Tensors of floating point",
     "只有浮点张量能求梯度：用 torch.arange(4.0) 而不是 torch.arange(4)，或者先 .float()。"),
    ("object has no attribute 'zero'",
     "清零要用 x.grad.zero_()（带下划线的原地操作）。"),
    ("'NoneType' object has no attribute",
     "某个值是 None。常见原因：函数的某个分支没有 return（检查 return 的缩进）；"
     "第一次 backward() 之前 x.grad 是 None，不能清零或读取；y.backward 少了括号，反向传播没有执行。"),
    ("UnboundLocalError",
     "有变量只在 while 循环或某个 if 分支里赋值：检查缩进（if 不应写在 while 里面）；输入很大时循环可能一次也不执行。"),
]


def _hint_for(err):
    text = f"{type(err).__name__}: {err}"
    return next((hint for part, hint in _ERROR_HINTS if part in text), "")


def call(name, fn, *args, autograd=None, autograd_hint="", backward_runs=1):
    """Call the student's function; its warnings and stderr output must not cost points.

    autograd=True: the function must run backpropagation (backward or torch.autograd.grad, however written);
    autograd=False: it must not (an answer "by the formula"). autograd_hint is added to that message.
    backward_runs: with autograd=True, how many backpropagation runs the task asks for at least.
    """
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    if not callable(fn):
        fail(f"{name} 应是一个函数，实际是 {type(fn).__name__}。")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), autograd_calls() as counter:
        warnings.simplefilter("ignore")
        try:
            result = fn(*args)
        except NotImplementedError:
            fail(f"{name} 还没有实现：把 raise NotImplementedError() 换成你的代码。")
        except _AssertionError:
            raise
        except Exception as err:  # noqa: BLE001  any student error becomes a message
            hint = _hint_for(err) or "先在自己的笔记本里用同样的输入调用它，看看是哪一行出的错。"
            fail(f"调用 {name} 时出错：{type(err).__name__}: {err}\n提示：{hint}")
    if autograd is True and counter["calls"] == 0:
        fail(f"{name} 没有真正做反向传播：请用 y.backward()（要带括号才会执行）或 torch.autograd.grad 求导数，"
             f"不要直接写出导数的公式或写死结果，也不要用有限差分近似。{autograd_hint}")
    if autograd is True and counter["calls"] < backward_runs:
        fail(f"{name} 只做了 {counter['calls']} 次反向传播，这一题要求至少 {backward_runs} 次。{autograd_hint}")
    if autograd is False and counter["calls"] > 0:
        fail(f"{name} 用了自动微分：这一题要按公式写出导数（不调用 backward() 或 torch.autograd.grad），"
             f"好和自动微分的结果对照。{autograd_hint}")
    return result


def expect_pair(name, result, names):
    """A function that returns two results: a tuple (or list) of length 2."""
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    if not _isinstance(result, (tuple, list)) or len(result) != 2:
        what = type(result).__name__ if not _isinstance(result, (tuple, list)) else f"{len(result)} 个结果"
        fail(f"{name} 应返回 ({names}) 两个结果组成的元组，实际返回 {what}：return 后面用逗号分开两个值。")
    return tuple(result)


def inputs_1d(seed, sizes=(1, 5, 17), dtypes=(torch.float32, torch.float64)):
    """Fresh seeded 1-D inputs of several sizes and both float dtypes."""
    gen = torch.Generator().manual_seed(seed)
    for size in sizes:
        for dtype in dtypes:
            yield torch.randn(size, generator=gen, dtype=torch.float64).to(dtype)


def expect_tensor(name, got, *, shape, dtype=None):
    """Type → shape → dtype, each with its own message."""
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    if got is None:
        fail(f"{name} 应返回 torch.Tensor，实际返回 None：是否忘了 return，或者 backward 没有真正执行"
             "（要写 y.backward()，带括号），x.grad 还是 None？")
    if not _isinstance(got, _Tensor):
        fail(f"{name} 应返回 torch.Tensor，实际返回 {type(got).__name__}。")
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


def _float64(t):
    """A plain float64 tensor with t's values (no subclass, no graph)."""
    return _to(_as_subclass(_detach(t), _Tensor), torch.float64)


def _close(got, expected, rtol, atol):
    diff = _abs(_sub(got, expected))
    bound = _add(_mul(_abs(expected), rtol), atol)
    return bool(_item(_all(_le(diff, bound))))


def expect_close(name, got, expected, *, hint="", rtol=None, atol=None):
    """Values match within the dtype's tolerance; the message never shows expected numbers."""
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    expect_tensor(name, got, shape=expected.shape)
    if not got.dtype.is_floating_point:
        fail(f"{name} 应是浮点张量，实际为 {got.dtype}：梯度和函数值都是浮点数，不要转换成整数。")
    tol = TOLERANCES.get(expected.dtype, TOLERANCES[torch.float32])
    rtol = tol["rtol"] if rtol is None else rtol
    atol = tol["atol"] if atol is None else atol
    got64 = _float64(got)
    expected64 = _float64(expected)
    if not bool(_item(_all(_isfinite(got64)))):
        fail(f"{name} 含有 nan 或 inf。")
    if _close(got64, expected64, rtol, atol):
        return
    fail(f"{name} 的值不对。{hint or diagnose(got64, expected64)}")


def diagnose(got, expected):
    """A hint from the shape of the mistake, never from the numbers themselves."""
    scale = _item(_amax(_abs(expected))) if expected.numel() else 0.0
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
    """The error must be a real one: raised inside torch.autograd, with PyTorch's own message."""
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    if err is None:
        fail(f"{name} 应返回捕获到的异常对象，实际返回 None：要么没有抛出异常（检查是否真的做了会出错的那一步，"
             "例如没有先 sum()、第一次没有 retain_graph=True），要么 except 分支里忘了 return e。")
    if _isinstance(err, str):
        fail(f"{name} 返回的是字符串，应返回异常对象本身：except RuntimeError as e: return e（不要 str(e) 或拼接文字）。")
    if not _isinstance(err, BaseException):
        fail(f"{name} 应返回捕获到的异常对象（except ... as e: return e），实际返回 {type(err).__name__}。")
    if not _isinstance(err, error_type):
        fail(f"{name} 返回的异常类型应为 {error_type.__name__}，实际为 {type(err).__name__}。")
    if message_part not in str(err):
        fail(f"{name} 返回的异常信息不是 PyTorch 给出的那一条。{hint}")
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    if not any(path.startswith(_autograd_dir) for path in frames):
        fail(f"{name} 返回的异常不是由 PyTorch 的 autograd 抛出的：不要自己构造或 raise 异常，"
             "要真的调用 backward()，再捕获它抛出的错误。")


def _called_from_library():
    caller = os.path.realpath(sys._getframe(2).f_code.co_filename)
    return caller.startswith(_LIBRARY_DIRS)


@contextlib.contextmanager
def cos_forbidden():
    """While active, cos called from the student's code raises: the derivative must come from autograd.

    torch's, numpy's and math's cos are replaced; calls from numpy, matplotlib or the standard library
    (matplotlib uses cos to draw) still reach the real function.
    """
    targets = [(torch, "cos"), (torch.Tensor, "cos"), (torch.Tensor, "cos_"), (np, "cos"), (math, "cos")]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr in targets]

    def forbidding(original):
        def forbidden(*args, **kwargs):
            if _called_from_library():
                return original(*args, **kwargs)
            fail("这里不能使用 cos（不能利用 f'(x) = cos(x)）：请用自动微分（backward() 或 torch.autograd.grad）求导数。")
        return forbidden

    try:
        for obj, attr, original in saved:
            setattr(obj, attr, forbidding(original))
        yield
    finally:
        for obj, attr, original in saved:
            setattr(obj, attr, original)


@contextlib.contextmanager
def autograd_calls():
    """Counts backpropagation runs: Tensor.backward, torch.autograd.backward/grad (however imported),
    torch.autograd.functional and torch.func all go through torch.autograd._engine_run_backward."""
    counter = {"calls": 0}
    if _engine_run_backward is not None:
        previous = torch.autograd._engine_run_backward  # another counter's, when nested

        def counting(*args, **kwargs):
            counter["calls"] += 1
            return previous(*args, **kwargs)

        torch.autograd._engine_run_backward = counting
        try:
            yield counter
        finally:
            torch.autograd._engine_run_backward = previous
        return
    # Older PyTorch: count the two public entry points.
    original_backward, original_grad = torch.autograd.backward, torch.autograd.grad

    def wrapping(original):
        def wrapper(*args, **kwargs):
            counter["calls"] += 1
            return original(*args, **kwargs)
        return wrapper

    torch.autograd.backward, torch.autograd.grad = wrapping(original_backward), wrapping(original_grad)
    try:
        yield counter
    finally:
        torch.autograd.backward, torch.autograd.grad = original_backward, original_grad


def as_float_tensor(name, value):
    """A result that may be a tensor, a numpy array, a list or a Python number, as a float64 tensor."""
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    try:
        return _as_tensor(np.asarray(value.detach() if _isinstance(value, _Tensor) else value, dtype=np.float64))
    except (TypeError, ValueError):
        fail(f"{name} 应返回数值（张量、数组或数字），实际返回 {type(value).__name__}。")


def as_number(name, value):
    """A result that must be one number: a Python/numpy number, or a tensor/array with one element, as a float."""
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    if value is None:
        fail(f"{name} 应返回一个数（float），实际返回 None：是否忘了 return？")
    if _isinstance(value, (bool, np.bool_)) or (_isinstance(value, (_Tensor, np.ndarray)) and value.dtype in (torch.bool, np.bool_)):
        fail(f"{name} 返回的是比较的结果（True/False），应返回一个数；比较浮点数请用 torch.allclose，不要把比较结果当作答案。")
    if _isinstance(value, (_Tensor, np.ndarray)):
        size = value.numel() if _isinstance(value, _Tensor) else value.size
        if size != 1:
            fail(f"{name} 应返回一个数，实际返回形状为 {tuple(value.shape)} 的{'张量' if _isinstance(value, _Tensor) else '数组'}："
                 "所有元素都相同时取其中一个，例如 t.flatten()[0].item()。")
        value = value.detach().reshape(()).item() if _isinstance(value, _Tensor) else value.reshape(()).item()
    if _isinstance(value, str) or not _isinstance(value, numbers.Real):
        fail(f"{name} 应返回一个数（float），实际返回 {type(value).__name__}。")
    return float(value)


def passed():
    print("通过！")
