"""The checker's data-only channel (source/autograd/autograd_wire.py): crafted replies are decoded directly,
no kernel."""
import base64
import json
import pickle
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "source" / "autograd"))
import autograd_wire as wire  # noqa: E402


class Boom:
    def __reduce__(self):
        return (sys.exit, ("unpickled",))


@pytest.mark.parametrize("crafted, why", [
    ({"$": "tensor", "dtype": "object", "shape": [1], "data": base64.b64encode(pickle.dumps([Boom()])).decode()},
     "不支持的 dtype"),
    ({"$": "tensor", "dtype": "float32", "shape": [4], "data": base64.b64encode(b"\0" * 12).decode()}, "数据长度与形状不符"),
    ({"$": "tensor", "dtype": "float32", "shape": [-1], "data": ""}, "形状不对"),
    ({"$": "pickle", "data": "gASV"}, "无法识别的数据"),
    ({"$": "tensor", "dtype": "float32", "shape": [1], "data": "AAAAAA==", "extra": 1}, "数据的字段不对"),
    ({"$": "exception", "types": [], "message": "x", "autograd": True}, "异常的类型不对"),
    ({"$": "list", "items": [{"$": "list", "items": [[]]}] * 2}, "无法识别的数据"),  # a bare JSON list is not a value
])
def test_crafted_replies_are_invalid_answers_and_nothing_is_unpickled(crafted, why):
    with pytest.raises(wire.InvalidAnswer, match=why):
        wire.decode(crafted)


def test_deep_or_huge_replies_are_invalid_before_anything_is_built():
    nested = {"$": "list", "items": []}
    for _ in range(wire.MAX_DEPTH + 2):
        nested = {"$": "list", "items": [nested]}
    with pytest.raises(wire.InvalidAnswer, match="嵌套太深"):
        wire.decode(nested)
    with pytest.raises(wire.InvalidAnswer, match="太大"):
        wire.loads("[" * (wire.MAX_TEXT + 1))
    with pytest.raises(wire.InvalidAnswer, match="JSON"):
        wire.loads("[" * 100_000)


def test_values_cross_the_wire_as_fresh_plain_data():
    import numpy as np
    import torch

    class Sneaky(torch.Tensor):
        def __float__(self):
            raise AssertionError("never called")

    value = (torch.arange(3.0).as_subclass(Sneaky), np.float32(1.5), [None, "s", True], torch.tensor(2.0),
             RuntimeError("boom"), object())
    back = wire.decode(json.loads(wire.dumps(wire.encode(value))))
    tensor, number, items, scalar, error, other = back
    assert type(tensor) is torch.Tensor and tensor.tolist() == [0.0, 1.0, 2.0]
    assert isinstance(number, np.float32) and number == np.float32(1.5)
    assert items == [None, "s", True] and scalar.shape == () and scalar.dtype == torch.float32
    assert error.type_names[:2] == ["RuntimeError", "Exception"] and error.message == "boom" and not error.autograd
    assert isinstance(other, wire.Opaque) and other.type_name == "object"
