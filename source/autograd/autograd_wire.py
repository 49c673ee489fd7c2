"""The data-only wire between the test cells and the student's functions.

While grading, the test cells run in a checker kernel that never runs student code; they reach
a student's function only by sending its name and plain arguments to the student's kernel
(autograd_harness.py there) and get back plain data, encoded here: numbers, strings, booleans,
None, tuples/lists, tensors/arrays as dtype + shape + raw bytes (never pickle), an exception as
its type names and message, an Axes as the data of its lines and texts. In JupyterLab the same
encode → decode path runs in one process, so a test behaves the same in both places.

decode() is the checker's side: it checks every field, size and shape, builds fresh tensors from
bytes, and raises InvalidAnswer for anything else. Nothing in a reply can run code in the checker.
"""
import base64
import json

import numpy as np
import torch

MAX_TEXT = 16 << 20  # characters of one reply
MAX_ELEMENTS = 1 << 20  # of one tensor or array
MAX_ITEMS = 1000  # of one tuple or list
MAX_DEPTH = 6
MAX_STR = 20_000

_DTYPES = {name: (getattr(torch, name), np.dtype(name)) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")}
_TORCH_NAMES = {torch_dtype: name for name, (torch_dtype, _) in _DTYPES.items()}

# Element-wise functions a test may pass to a student's function, by name (a function cannot cross the wire).
ELEMENTWISE = {
    "x³": lambda t: t ** 3,
    "sin": torch.sin,
    "exp(x/2)": lambda t: torch.exp(t / 2),
    "x·sin(x)": lambda t: t * torch.sin(t),
}


class InvalidAnswer(Exception):
    """A reply that is not the plain data the wire carries."""


class Func:
    """An argument: the element-wise function ELEMENTWISE[name]."""

    def __init__(self, name):
        if name not in ELEMENTWISE:
            raise ValueError(f"unknown function {name!r}")
        self.name = name


class NewAxes:
    """An argument: a new matplotlib Axes, made in the student's kernel and described after the call."""

    def __init__(self, figsize=(6, 3)):
        self.figsize = tuple(float(v) for v in figsize)


class StudentError:
    """An exception a student's function returned or raised, as data."""

    def __init__(self, type_names, message, autograd):
        self.type_names, self.message, self.autograd = type_names, message, autograd

    type_name = property(lambda self: self.type_names[0])

    def is_a(self, name):
        return name in self.type_names

    def __str__(self):
        return self.message


class Opaque:
    """Something the wire does not carry (a function, a custom object, an unsupported tensor): its type only."""

    def __init__(self, type_name):
        self.type_name = type_name


class AxesInfo:
    """What a plotting function drew: lines (x, y float64 arrays or None, label), legend texts, axis labels."""

    def __init__(self, lines, legend, legend_lines, xlabel, ylabel):
        self.lines, self.legend, self.legend_lines = lines, legend, legend_lines
        self.xlabel, self.ylabel = xlabel, ylabel


def _type_name(value):
    return type(value).__name__


# ---------- encode: plain data out of any value (runs where the value lives) ----------

def _array_fields(array, dtype_name):
    array = np.asarray(array)
    if array.size > MAX_ELEMENTS:
        raise ValueError(f"more than {MAX_ELEMENTS} elements")
    return {"dtype": dtype_name, "shape": list(array.shape), "data": base64.b64encode(array.tobytes(order="C")).decode()}


def plain_tensor(tensor):
    """A tensor's values as a plain CPU tensor (no subclass, no graph, no functorch wrapper)."""
    functorch = getattr(torch._C, "_functorch", None)
    for _ in range(8):
        if functorch is not None and functorch.is_functorch_wrapped_tensor(tensor):
            tensor = functorch.get_unwrapped(tensor)
    tensor = torch.Tensor.detach(tensor)
    if type(tensor) is not torch.Tensor:
        tensor = torch.Tensor.as_subclass(tensor, torch.Tensor)
    return torch.Tensor.cpu(tensor)


def encode(value, *, errors_from_autograd=(), depth=0):
    """value as JSON-ready plain data. errors_from_autograd: ids of exceptions seen leaving autograd."""
    if depth > MAX_DEPTH:
        return {"$": "object", "type": "嵌套太深的容器"}
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        return value[:MAX_STR]
    if isinstance(value, torch.Tensor):
        tensor = plain_tensor(value)
        name = _TORCH_NAMES.get(tensor.dtype)
        if name is None or tensor.layout != torch.strided:
            return {"$": "object", "type": f"Tensor（dtype 为 {tensor.dtype}）"}
        return {"$": "tensor", **_array_fields(tensor.numpy(), name)}
    if isinstance(value, np.ndarray) and type(value) is np.ndarray and value.dtype.name in _DTYPES:
        return {"$": "ndarray", **_array_fields(value, value.dtype.name)}
    if isinstance(value, np.generic) and np.dtype(type(value)).name in _DTYPES:
        return {"$": "npscalar", **_array_fields(np.asarray(value), np.dtype(type(value)).name)}
    if type(value) in (tuple, list):
        items = [encode(item, errors_from_autograd=errors_from_autograd, depth=depth + 1)
                 for item in value[:MAX_ITEMS]]
        return {"$": type(value).__name__, "items": items}
    if isinstance(value, BaseException):
        return {"$": "exception", "types": [c.__name__ for c in type(value).__mro__][:20],
                "message": str(value)[:MAX_STR], "autograd": id(value) in errors_from_autograd}
    if isinstance(value, Func):
        return {"$": "func", "name": value.name}
    if isinstance(value, NewAxes):
        return {"$": "new_axes", "figsize": list(value.figsize)}
    return {"$": "object", "type": _type_name(value)[:100]}


def _float_array_or_none(data):
    try:
        array = np.asarray(data, dtype=np.float64).ravel()
    except Exception:  # noqa: BLE001  e.g. a tensor that requires grad: not data a line can hold
        return None
    return encode(array) if array.size <= MAX_ELEMENTS else None


def encode_axes(axes, legend_handles=None):
    """What is drawn on a matplotlib Axes, as plain data. legend_handles: the artists its legend was made
    for, in order (recorded while the student's function ran), to tell which text labels which line."""
    lines = list(axes.get_lines())
    legend = axes.get_legend()
    texts = [text.get_text()[:MAX_STR] for text in legend.get_texts()] if legend is not None else None
    owners = None
    if legend is not None and legend_handles is not None:
        owners = [next((i for i, line in enumerate(lines) if line is handle), None) for handle in legend_handles]
    return {"$": "axes",
            "lines": [{"x": _float_array_or_none(line.get_xdata()), "y": _float_array_or_none(line.get_ydata()),
                       "label": str(line.get_label())[:MAX_STR]} for line in lines[:MAX_ITEMS]],
            "legend": texts, "legend_lines": owners,
            "xlabel": str(axes.get_xlabel())[:MAX_STR], "ylabel": str(axes.get_ylabel())[:MAX_STR]}


def dumps(data):
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# ---------- decode: the checker's side, every field checked ----------

def loads(text):
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise InvalidAnswer("回答的数据太大")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise InvalidAnswer("回答不是合法的 JSON") from err


def _expect(condition, what):
    if not condition:
        raise InvalidAnswer(what)


def _fields(obj, names):
    _expect(isinstance(obj, dict) and set(obj) == set(names), f"数据的字段不对：应为 {sorted(names)}")
    return [obj[name] for name in names]


def _string(value, limit=MAX_STR):
    _expect(type(value) is str and len(value) <= limit, "应是长度有限的字符串")
    return value


def _array(obj):
    dtype_name, shape, data = _fields(obj, ("$", "dtype", "shape", "data"))[1:]
    _expect(dtype_name in _DTYPES, "不支持的 dtype")
    _expect(type(shape) is list and len(shape) <= 8 and all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape),
            "形状不对")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    _expect(count <= MAX_ELEMENTS, "元素太多")
    _string(data, limit=MAX_TEXT)
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError as err:
        raise InvalidAnswer("数据不是 base64") from err
    numpy_dtype = _DTYPES[dtype_name][1]
    _expect(len(raw) == count * numpy_dtype.itemsize, "数据长度与形状不符")
    return np.frombuffer(raw, dtype=numpy_dtype).reshape(shape).copy()  # raw bytes: no object, no pickle


def decode(obj, depth=0):
    """Plain data back into values the tests use; InvalidAnswer for anything else."""
    _expect(depth <= MAX_DEPTH, "嵌套太深")
    if obj is None or type(obj) in (bool, int, float):
        return obj
    if type(obj) is str:
        return _string(obj)
    _expect(isinstance(obj, dict) and type(obj.get("$")) is str, "无法识别的数据")
    kind = obj["$"]
    if kind == "tensor":
        return torch.from_numpy(_array(obj))
    if kind == "ndarray":
        return _array(obj)
    if kind == "npscalar":
        array = _array(obj)
        _expect(array.shape == (), "numpy 数应是 0 维的")
        return array[()]
    if kind in ("tuple", "list"):
        (items,) = _fields(obj, ("$", "items"))[1:]
        _expect(type(items) is list and len(items) <= MAX_ITEMS, "元素太多")
        values = [decode(item, depth + 1) for item in items]
        return tuple(values) if kind == "tuple" else values
    if kind == "exception":
        types, message, autograd = _fields(obj, ("$", "types", "message", "autograd"))[1:]
        _expect(type(types) is list and 0 < len(types) <= 20, "异常的类型不对")
        return StudentError([_string(name, 200) for name in types], _string(message), autograd is True)
    if kind == "object":
        (type_name,) = _fields(obj, ("$", "type"))[1:]
        return Opaque(_string(type_name, 200))
    if kind == "func":
        (name,) = _fields(obj, ("$", "name"))[1:]
        _expect(name in ELEMENTWISE, "未知的函数")
        return Func(name)
    if kind == "new_axes":
        (figsize,) = _fields(obj, ("$", "figsize"))[1:]
        _expect(type(figsize) is list and len(figsize) == 2 and all(type(v) in (int, float) for v in figsize), "figsize 不对")
        return NewAxes(figsize)
    if kind == "axes":
        lines, legend, owners, xlabel, ylabel = _fields(obj, ("$", "lines", "legend", "legend_lines", "xlabel",
                                                              "ylabel"))[1:]
        _expect(type(lines) is list and len(lines) <= MAX_ITEMS, "曲线太多")
        decoded = []
        for line in lines:
            x, y, label = _fields(line, ("x", "y", "label"))
            decoded.append(tuple(None if v is None else _float_line(v) for v in (x, y)) + (_string(label),))
        _expect(legend is None or (type(legend) is list and len(legend) <= MAX_ITEMS), "图例不对")
        legend = None if legend is None else [_string(text) for text in legend]
        _expect(owners is None or (type(owners) is list and len(owners) <= MAX_ITEMS and all(
            o is None or (type(o) is int and 0 <= o < len(decoded)) for o in owners)), "图例的曲线不对")
        return AxesInfo(decoded, legend, owners, _string(xlabel), _string(ylabel))
    raise InvalidAnswer("无法识别的数据")


def _float_line(obj):
    _expect(isinstance(obj, dict) and obj.get("$") == "ndarray", "曲线的数据不对")
    array = _array(obj)
    _expect(array.dtype == np.float64 and array.ndim == 1, "曲线的数据不对")
    return array
