"""Checks shared by the assignment's test cells (visible and hidden).

Imported by the locked first cell of each notebook. A test reaches a student's function only
through call(NAME, args...): the function is called where the student's code lives, and what
comes back is plain data (autograd_wire.py). In JupyterLab and nbgrader's Validate that is the
same kernel (autograd_harness.serve is called directly); while grading, the test cells run in a
separate checker kernel that never runs student code, and each call travels over the Jupyter
stdin channel to the student's kernel and back (autograde/checker.py). Expected values and
comparisons therefore exist only where the tests run.

Every failure is one AssertionError whose message says, in Chinese, what is wrong and gives a
hint, without the expected numbers.
"""
import json
import numbers
import os

import numpy as np
import torch

import autograd_harness
import autograd_wire as wire
from autograd_wire import AxesInfo, Func, NewAxes, Opaque, StudentError  # noqa: F401  (used by the test cells)

CHANNEL_ENV = "AUTOGRADE_CHECKER"  # set by the grading tool in the checker kernel: the prompt prefix of a call

# Tolerances, chosen per dtype: results here are a few float operations away from
# exact, so a few ulps of relative error plus a tiny absolute floor for values near 0.
TOLERANCES = {
    torch.float32: dict(rtol=1e-5, atol=1e-6),
    torch.float64: dict(rtol=1e-10, atol=1e-12),
}


def fail(message):
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    raise AssertionError(message) from None  # one message, never "During handling of the above exception"


# Hints for errors students meet here, keyed by a stable part of PyTorch's message (measured on torch 2.13;
# tests/unit/test_hint_ladder.py tries each).
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


def _hint_for(error):
    text = f"{error.type_name}: {error.message}"
    return next((hint for part, hint in _ERROR_HINTS if part in text), "")


_INVALID = "{name} 的回答不是作业要求的普通数据（invalid answer：{why}）：请返回张量、数组、数字或它们组成的元组，不要改动评分用的模块。"


def _ask(request):
    """Send a request to the student's side; the decoded reply. Under grading, over the stdin channel."""
    text = json.dumps(request, ensure_ascii=False)
    prefix = os.environ.get(CHANNEL_ENV)
    if not prefix:
        return wire.loads(autograd_harness.serve(text))  # JupyterLab / Validate: the same path, in-process
    # the grading tool runs autograd_harness.serve(text) in the student's kernel and hands back its text
    answer = json.loads(input(f"{prefix}autograd_harness.serve {text}"))
    if answer["status"] != "ok":
        return {"$failure": answer["status"]}
    return wire.loads(answer["reply"])


def calls(name, arg_lists, *, autograd=None, autograd_hint="", backward_runs=1, same_graph_runs=0, forward_ok=False,
          forbid_cos=False, derivative=None):
    """Call the student's function NAME once for each argument list; the decoded results, in order.

    autograd=True: each call must run backpropagation (backward or torch.autograd.grad, however written;
    forward_ok: forward-mode AD counts too), at least backward_runs times, and at least same_graph_runs
    times through one and the same graph; autograd=False: it must not.
    derivative: which parts of a result are derivatives (True: the result; an index: that item; "all":
    every item). Each of their values must be one that autograd produced during that call, so a formula
    next to a decoy backward does not pass; passed() reports it, after the checks of the values.
    An argument NewAxes(...) gives the function a new matplotlib Axes: its result is then what was drawn
    there (AxesInfo). Func("sin") passes one of autograd_wire.ELEMENTWISE.
    """
    __tracebackhide__ = True
    arg_lists = [list(args) for args in arg_lists]
    try:
        request = {"fn": name, "calls": [[wire.encode(a) for a in args] for args in arg_lists],
                   "forbid_cos": bool(forbid_cos)}
        reply = _ask(request)
    except wire.InvalidAnswer as err:
        fail(_INVALID.format(name=name, why=err))
    failure = reply.get("$failure") if isinstance(reply, dict) else None
    if failure == "invalid":
        fail(_INVALID.format(name=name, why="回答的格式不对"))
    if failure == "timeout":
        fail(f"调用 {name} 没有在限定时间内结束：是否有死循环（例如 while 的条件永远成立）？")
    if failure is not None:
        fail(f"调用 {name} 时你的内核没有正常回答（{failure}）：是否结束了内核（os._exit、内存耗尽），"
             "或者改动了评分用的模块？")
    if not isinstance(reply, dict):
        fail(_INVALID.format(name=name, why="不是一个字典"))
    if "missing" in reply:
        if reply["missing"] == "undefined":
            fail(f"{name} 还没有定义：先运行定义它的单元格（函数名要和题目一致）。")
        fail(f"{name} 应是一个函数，实际是 {str(reply['missing'])[:100]}。")
    results = reply.get("results")
    if not isinstance(results, list) or len(results) != len(arg_lists):
        fail(_INVALID.format(name=name, why="结果的个数不对"))
    values = []
    for args, result in zip(arg_lists, results):
        try:
            value, facts, axes = _decode_result(result)
        except wire.InvalidAnswer as err:
            fail(_INVALID.format(name=name, why=err))
        if isinstance(value, _Raised):
            _fail_raised(name, value.error)
        _check_method(name, facts, autograd=autograd, autograd_hint=autograd_hint, backward_runs=backward_runs,
                      same_graph_runs=same_graph_runs, forward_ok=forward_ok)
        if any(isinstance(a, NewAxes) for a in args):
            if axes is None:
                fail(_INVALID.format(name=name, why="没有图"))
            value = axes
        if autograd is True and derivative is not None:
            try:
                parts = [value] if derivative is True else list(value) if derivative == "all" else (
                    list(derivative(value)) if callable(derivative) else [value[derivative]])
            except Exception:  # noqa: BLE001  a malformed result: the checks that follow say what is wrong
                parts = []
            # reported by passed(), after the checks of the values, whose messages say more about a wrong answer
            _unbound.extend((_cell(), message) for message in (unbound(name, part, facts["values"]) for part in parts)
                            if message)
        values.append(value)
    return values


def call(name, *args, **options):
    """One call of the student's function NAME (see calls)."""
    __tracebackhide__ = True
    return calls(name, [args], **options)[0]


def _decode_result(result):
    if not isinstance(result, dict) or not set(result) <= {"facts", "value", "raised", "axes"} or "facts" not in result:
        raise wire.InvalidAnswer("结果的字段不对")
    facts = result["facts"]
    if not isinstance(facts, dict) or set(facts) != {"backward_runs", "forward_runs", "same_graph_runs", "values"}:
        raise wire.InvalidAnswer("调用记录的字段不对")
    runs = [facts["backward_runs"], facts["forward_runs"], facts["same_graph_runs"]]
    if not all(type(n) is int and 0 <= n <= 10 ** 9 for n in runs) or type(facts["values"]) is not list:
        raise wire.InvalidAnswer("调用记录不对")
    recorded = [wire.decode(v) for v in facts["values"][:wire.MAX_ITEMS]]
    if not all(isinstance(v, torch.Tensor) and v.is_floating_point() for v in recorded):
        raise wire.InvalidAnswer("记录的梯度不对")
    facts = {"backward_runs": runs[0], "forward_runs": runs[1], "same_graph_runs": runs[2], "values": recorded}
    axes = wire.decode(result["axes"]) if "axes" in result else None
    if axes is not None and not isinstance(axes, AxesInfo):
        raise wire.InvalidAnswer("图的数据不对")
    if ("value" in result) == ("raised" in result):
        raise wire.InvalidAnswer("应有且只有一个结果或异常")
    if "raised" in result:
        error = wire.decode(result["raised"])
        if not isinstance(error, StudentError):
            raise wire.InvalidAnswer("异常的数据不对")
        return _Raised(error), facts, axes
    return wire.decode(result["value"]), facts, axes


class _Raised:
    def __init__(self, error):
        self.error = error


def _fail_raised(name, error):
    __tracebackhide__ = True
    if error.is_a("NotImplementedError"):
        fail(f"{name} 还没有实现：把 raise NotImplementedError() 换成你的代码。")
    if error.type_name == "CosForbidden":
        fail("这里不能使用 cos（不能利用 f'(x) = cos(x)）：请用自动微分（backward() 或 torch.autograd.grad）求导数。")
    hint = _hint_for(error) or "先在自己的笔记本里用同样的输入调用它，看看是哪一行出的错。"
    fail(f"调用 {name} 时出错：{error.type_name}: {error.message}\n提示：{hint}")


def _check_method(name, facts, *, autograd, autograd_hint, backward_runs, same_graph_runs, forward_ok):
    __tracebackhide__ = True
    runs = facts["backward_runs"] + (facts["forward_runs"] if forward_ok else 0)
    if autograd is True and runs == 0:
        fail(f"{name} 没有真正做反向传播：请用 y.backward()（要带括号才会执行）或 torch.autograd.grad 求导数，"
             f"不要直接写出导数的公式或写死结果，也不要用有限差分近似。{autograd_hint}")
    if autograd is True and runs < backward_runs:
        fail(f"{name} 只做了 {runs} 次反向传播，这一题要求至少 {backward_runs} 次。{autograd_hint}")
    if autograd is True and facts["same_graph_runs"] < same_graph_runs:
        fail(f"{name} 没有对同一个计算图反向传播 {same_graph_runs} 次：题目要求对同一个 d 调用两次 backward"
             f"（第一次 retain_graph=True），不要重新计算 d。{autograd_hint}")
    if autograd is False and facts["backward_runs"] + facts["forward_runs"] > 0:
        fail(f"{name} 用了自动微分：这一题要按公式写出导数（不调用 backward() 或 torch.autograd.grad），"
             f"好和自动微分的结果对照。{autograd_hint}")


def _as_tensor_or_none(value):
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "fiub":
        return torch.from_numpy(np.asarray(value))
    if type(value) in (int, float):
        return torch.tensor(float(value), dtype=torch.float64)
    return None


_unbound = []  # (cell, message): derivatives that autograd did not produce, reported by passed()


def _cell():
    """Which cell is running (IPython's execution count), so that passed() reports only its own cell's calls."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell.execution_count if shell is not None else None


def unbound(name, got, recorded):
    """Why got (a derivative the student returned or drew) is not what autograd produced in that call, or
    None. Each of its values must equal, exactly and in got's dtype, a value autograd produced: a formula,
    an identity or a finite difference next to a decoy backward does not pass. Values that are not floats
    are left to the other checks."""
    got = _as_tensor_or_none(got)
    if got is None or not got.is_floating_point() or got.numel() == 0:
        return None
    pool = [r.to(got.dtype) for r in recorded]
    produced = torch.cat(pool) if pool else torch.empty(0, dtype=got.dtype)
    if bool(torch.isin(got.flatten(), produced).all()):
        return None
    return (f"{name} 给出的导数不是这次调用里自动微分算出的梯度：请直接用 backward() 之后的 x.grad "
            "（或 torch.autograd.grad 的结果），不要在反向传播之外再用公式、三角恒等式或差分另算，也不要在得到梯度后再对它做运算。")


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
    tensor = _as_tensor_or_none(value)
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


def passed():
    """The end of a test cell: every check of this cell passed, including the derivatives' (see calls)."""
    __tracebackhide__ = True
    pending = [message for cell, message in _unbound if cell == _cell()]
    _unbound.clear()
    if pending:
        fail(pending[0])
    print("通过！")


# ---------- 03_extension (the optional third notebook): hints for the errors of a hand-written training loop ----------
# w = w - lr * w.grad makes w a non-leaf: at the next step its .grad is None, and `lr * w.grad` raises a TypeError.
_NON_LEAF_UPDATE_HINT = ("某个值是 None：只有需要梯度的叶子张量才有 .grad。w = w - lr * w.grad 得到的新 w 不是叶子，"
                         "下一步它的 .grad 就是 None；请在 torch.no_grad() 里原地更新：w -= lr * w.grad。")
_ERROR_HINTS += [
    ("and 'NoneType'", _NON_LEAF_UPDATE_HINT),
    ("'NoneType' and", _NON_LEAF_UPDATE_HINT),
    # a forward-mode tangent must have its primal's shape (measured on torch 2.13: fwAD.make_dual, torch.func.jvp)
    ("forward gradient that has a different size", "前向模式的切向量要和输入同形状：make_dual(x, t) 或 jvp(h, (x,), (t,)) 里的 t 就是传进来的 t。"),
]
