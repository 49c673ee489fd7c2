"""How a test cell reaches the student's functions: call(NAME, args...), and the checks of method.

The machinery behind autograd_checks.py (which a teacher uses). A call is encoded as plain data
(autograd_wire.py) and answered by autograd_harness.serve where the student's code lives: in
JupyterLab and nbgrader's Validate that is the same kernel, called directly; while grading, the test
cells run in a separate checker kernel that never runs student code, and each call travels over the
Jupyter stdin channel to the student's kernel and back (autograde/checker.py). A reply is decoded and
validated as data; anything else is an "invalid answer". What only the student's process can see
(did backpropagation run, how often, which gradients autograd produced) comes back as recorded facts,
checked here: best effort, bound to the values where possible (see unbound).
"""
import json
import os

import numpy as np
import torch

import autograd_harness
import autograd_wire as wire
from autograd_wire import AxesInfo, NewAxes, StudentError

CHANNEL_ENV = "AUTOGRADE_CHECKER"  # set by the grading tool in the checker kernel: the prompt prefix of a call


def fail(message):
    __tracebackhide__ = True  # IPython leaves this frame out: the student sees the message
    raise AssertionError(message) from None  # one message, never "During handling of the above exception"


# Hints for errors students meet here, keyed by a stable part of PyTorch's message (measured on torch 2.13;
# tests/unit/test_hint_ladder.py tries each).
_NON_LEAF_UPDATE_HINT = ("某个值是 None：只有需要梯度的叶子张量才有 .grad。w = w - lr * w.grad 得到的新 w 不是叶子，"
                         "下一步它的 .grad 就是 None；请在 torch.no_grad() 里原地更新：w -= lr * w.grad。")
ERROR_HINTS = [
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
    # 03_extension: w = w - lr * w.grad makes w a non-leaf; at the next step its .grad is None and `lr * w.grad` raises
    ("and 'NoneType'", _NON_LEAF_UPDATE_HINT),
    ("'NoneType' and", _NON_LEAF_UPDATE_HINT),
    # a forward-mode tangent must have its primal's shape (measured on torch 2.13: fwAD.make_dual, torch.func.jvp)
    ("forward gradient that has a different size",
     "前向模式的切向量要和输入同形状：make_dual(x, t) 或 jvp(h, (x,), (t,)) 里的 t 就是传进来的 t。"),
]


def _hint_for(error):
    text = f"{error.type_name}: {error.message}"
    return next((hint for part, hint in ERROR_HINTS if part in text), "")


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


def as_tensor_or_none(value):
    """A numeric result (tensor, numpy array or number, Python int or float) as a tensor; None for anything else."""
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
    got = as_tensor_or_none(got)
    if got is None or not got.is_floating_point() or got.numel() == 0:
        return None
    pool = [r.to(got.dtype) for r in recorded]
    produced = torch.cat(pool) if pool else torch.empty(0, dtype=got.dtype)
    if bool(torch.isin(got.flatten(), produced).all()):
        return None
    return (f"{name} 给出的导数不是这次调用里自动微分算出的梯度：请直接用 backward() 之后的 x.grad "
            "（或 torch.autograd.grad 的结果），不要在反向传播之外再用公式、三角恒等式或差分另算，也不要在得到梯度后再对它做运算。")


def passed():
    """The end of a test cell: every check of this cell passed, including the derivatives' (see calls)."""
    __tracebackhide__ = True
    pending = [message for cell, message in _unbound if cell == _cell()]
    _unbound.clear()
    if pending:
        fail(pending[0])
    print("通过！")
