"""Checks shared by the assignment's test cells (visible and hidden).

Imported by the locked first cell of each notebook, before any student code
runs; nbgrader copies this file over the student's copy when grading. It holds
no expected values: every test cell derives those itself. Every failure is an
AssertionError whose message says, in Chinese, what is wrong and gives a hint,
without the expected numbers.
"""
import contextlib
import io
import math
import os
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
_autograd_dir = os.path.dirname(torch.autograd.__file__)

# Tolerances, chosen per dtype: results here are a few float operations away from
# exact, so a few ulps of relative error plus a tiny absolute floor for values near 0.
TOLERANCES = {
    torch.float32: dict(rtol=1e-5, atol=1e-6),
    torch.float64: dict(rtol=1e-10, atol=1e-12),
}


def fail(message):
    raise _AssertionError(message)


def call(name, fn, *args):
    """Call the student's function; its warnings and stderr output must not cost points."""
    if not callable(fn):
        fail(f"{name} 应是一个函数，实际是 {type(fn).__name__}。")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            return fn(*args)
        except NotImplementedError:
            fail(f"{name} 还没有实现：把 raise NotImplementedError() 换成你的代码。")
        except _AssertionError:
            raise
        except Exception as err:  # noqa: BLE001  any student error becomes a message
            fail(f"调用 {name} 时出错：{type(err).__name__}: {err}")


def inputs_1d(seed, sizes=(1, 5, 17), dtypes=(torch.float32, torch.float64)):
    """Fresh seeded 1-D inputs of several sizes and both float dtypes."""
    gen = torch.Generator().manual_seed(seed)
    for size in sizes:
        for dtype in dtypes:
            yield torch.randn(size, generator=gen, dtype=torch.float64).to(dtype)


def expect_tensor(name, got, *, shape, dtype=None):
    """Type → shape → dtype, each with its own message."""
    if not _isinstance(got, _Tensor):
        fail(f"{name} 应返回 torch.Tensor，实际返回 {type(got).__name__}。")
    if tuple(got.shape) != tuple(shape):
        fail(f"{name} 的形状应为 {tuple(shape)}，实际为 {tuple(got.shape)}。")
    if dtype is not None and got.dtype != dtype:
        hint = "整数张量不能求梯度：输入应保持浮点类型。" if not got.dtype.is_floating_point else "不要改变输入的 dtype。"
        fail(f"{name} 的 dtype 应为 {dtype}，实际为 {got.dtype}。{hint}")


def _close(got, expected, rtol, atol):
    diff = (got - expected).abs()
    bound = atol + rtol * expected.abs()
    return bool((diff <= bound).all().item())


def expect_close(name, got, expected, *, hint="", rtol=None, atol=None):
    """Values match within the dtype's tolerance; the message never shows expected numbers."""
    expect_tensor(name, got, shape=expected.shape)
    if not got.dtype.is_floating_point:
        fail(f"{name} 应是浮点张量，实际为 {got.dtype}。")
    tol = TOLERANCES.get(expected.dtype, TOLERANCES[torch.float32])
    rtol = tol["rtol"] if rtol is None else rtol
    atol = tol["atol"] if atol is None else atol
    got64 = got.detach().to(torch.float64)
    expected64 = expected.detach().to(torch.float64)
    if not bool(torch.isfinite(got64).all().item()):
        fail(f"{name} 含有 nan 或 inf。")
    if _close(got64, expected64, rtol, atol):
        return
    fail(f"{name} 的值不对。{hint or diagnose(got64, expected64)}")


def diagnose(got, expected):
    """A hint from the shape of the mistake, never from the numbers themselves."""
    scale = expected.abs().max().item()
    if scale > 0 and _close(got, 2 * expected, 1e-5, 1e-6):
        return "结果是期望值的 2 倍：是否忘了 x.grad.zero_()，让梯度累积了两次？"
    if _close(got, torch.zeros_like(expected), 0.0, 1e-12):
        return "结果全为 0：是否在 backward() 之前就取了 x.grad，或者清零后没有再反向传播？"
    if _close(got, -expected, 1e-5, 1e-6):
        return "符号相反：检查求导的函数。"
    return "检查你求导的函数是否就是题目要求的那个，以及是否对正确的张量调用了 backward()。"


def expect_raised_by_autograd(name, err, *, error_type, message_part, hint):
    """The error must be a real one: raised inside torch.autograd, with PyTorch's own message."""
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
        fail(f"{name} 返回的异常不是由 PyTorch 的 autograd 抛出的：要真的调用 backward()，再捕获它抛出的错误。")


@contextlib.contextmanager
def cos_forbidden(numpy_and_math=True):
    """While active, cos raises: the derivative must come from autograd.

    numpy_and_math=False forbids only torch's cos, for code that runs matplotlib (which uses np.cos).
    """
    def forbidden(*args, **kwargs):
        fail("这里不能使用 cos：请用自动微分（backward() 或 torch.autograd.grad）求导数。")

    targets = [(torch, "cos"), (torch.Tensor, "cos"), (torch.Tensor, "cos_")]
    if numpy_and_math:
        targets += [(np, "cos"), (math, "cos")]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr in targets]
    try:
        for obj, attr in targets:
            setattr(obj, attr, forbidden)
        yield
    finally:
        for obj, attr, original in saved:
            setattr(obj, attr, original)


@contextlib.contextmanager
def autograd_calls():
    """Counts calls of torch.autograd.backward (behind Tensor.backward) and torch.autograd.grad."""
    counter = {"calls": 0}
    original_backward, original_grad = torch.autograd.backward, torch.autograd.grad

    def counting(original):
        def wrapper(*args, **kwargs):
            counter["calls"] += 1
            return original(*args, **kwargs)
        return wrapper

    torch.autograd.backward, torch.autograd.grad = counting(original_backward), counting(original_grad)
    try:
        yield counter
    finally:
        torch.autograd.backward, torch.autograd.grad = original_backward, original_grad


def as_float_tensor(name, value):
    """A result that may be a tensor, a numpy array, a list or a Python number, as a float64 tensor."""
    try:
        return _as_tensor(np.asarray(value.detach() if _isinstance(value, _Tensor) else value, dtype=np.float64))
    except (TypeError, ValueError):
        fail(f"{name} 应返回数值（张量、数组或数字），实际返回 {type(value).__name__}。")


def passed():
    print("通过！")
