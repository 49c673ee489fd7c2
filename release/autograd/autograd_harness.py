"""The student's side of the wire: call one of the student's functions by name, report what happened as data.

serve(request) is the only entry point. While grading, the checker kernel asks for it and the
grading tool evaluates `autograd_harness.serve(<request>)` in the student's kernel; in JupyterLab
the test cells call it directly. It looks the function up in the student's session, calls it with
the decoded arguments and returns, encoded by autograd_wire.py, its result or the exception it
raised, what it drew (for a plotting function), and what this harness saw while it ran:

  - how many times backpropagation (and forward-mode AD) ran, how often through one and the same graph,
    and every gradient autograd produced
    (outputs of torch.autograd.grad, the .grad of the leaves a backward reached, forward tangents);
  - which exceptions left torch.autograd's entry points;
  - cos called from the student's code, when the request forbids it.

These facts come from the student's process, so a determined student can forge them: the tests use
them as best-effort method checks, next to value checks the student's process cannot reach.
"""
import contextlib
import io
import json
import math
import os
import sys
import warnings

import numpy as np
import torch

import autograd_wire as wire

MAX_RECORDED = 1 << 20  # gradient elements kept per call

# Code in these folders (numpy, matplotlib, torch, the standard library) may use cos; the student's code may not.
_LIBRARY_DIRS = tuple(sorted({os.path.realpath(os.path.dirname(os.path.dirname(path))) + os.sep
                              for path in (np.__file__, torch.__file__)}
                             | {os.path.realpath(os.path.dirname(os.__file__)) + os.sep}))


class CosForbidden(Exception):
    """cos was called from the student's code while the test forbids it."""


def _namespace():
    """The student's session: IPython's user namespace (the script's globals without IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        shell = None
    else:
        shell = get_ipython()
    return shell.user_ns if shell is not None else sys.modules["__main__"].__dict__


def serve(request_text):
    """Answer one request {"fn": name, "calls": [[arg, ...], ...], "forbid_cos": bool} with JSON text."""
    request = json.loads(request_text)
    fn = _namespace().get(request["fn"])
    if fn is None:
        return wire.dumps({"missing": "undefined"})
    if not callable(fn):
        return wire.dumps({"missing": type(fn).__name__[:100]})
    results = [_call(fn, [wire.decode(arg) for arg in args], request.get("forbid_cos", False))
               for args in request["calls"]]
    return wire.dumps({"results": results})


def _call(fn, args, forbid_cos):
    import matplotlib.pyplot as plt

    figures = []
    for i, arg in enumerate(args):
        if isinstance(arg, wire.Func):
            args[i] = wire.ELEMENTWISE[arg.name]
        elif isinstance(arg, wire.NewAxes):
            figure, args[i] = plt.subplots(figsize=arg.figsize)  # also the current axes, for plt.plot
            figures.append((figure, args[i]))
    recorder = _Recorder(forbid_cos)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), recorder:
        warnings.simplefilter("ignore")
        try:
            value, error = fn(*args), None
        except (Exception, SystemExit) as err:  # noqa: BLE001  reported as data; an interrupt still stops it
            value, error = None, err
    result = {"facts": recorder.facts()}
    if error is not None:
        result["raised"] = wire.encode(error, errors_from_autograd=recorder.errors)
    else:
        result["value"] = wire.encode(value, errors_from_autograd=recorder.errors)
    for figure, axes in figures:
        legend = axes.get_legend()
        result["axes"] = wire.encode_axes(axes, recorder.legends.get(id(legend)) if legend is not None else None)
        plt.close(figure)
    return result


class _Recorder:
    """While active: counts backpropagation runs, keeps the gradients autograd produced and the exceptions
    that left autograd, and (if asked) forbids cos in the student's code."""

    def __init__(self, forbid_cos):
        self.forbid_cos = forbid_cos
        self.backward_runs = self.forward_runs = self.recorded = 0
        self.values, self.errors, self.legends, self.saved = [], set(), {}, []
        self.graphs = {}  # id of a graph's output node -> [node, backward runs through it]

    def facts(self):
        return {"backward_runs": self.backward_runs, "forward_runs": self.forward_runs,
                "same_graph_runs": max((runs for _, runs in self.graphs.values()), default=0),
                "values": [wire.encode(v) for v in self.values]}

    def _keep(self, tensor):
        try:
            plain = wire.plain_tensor(tensor)
            if plain.is_floating_point() and self.recorded + plain.numel() <= MAX_RECORDED:
                self.values.append(plain.clone().flatten())
                self.recorded += plain.numel()
        except Exception:  # noqa: BLE001  a value that cannot be read is simply not recorded
            pass

    def _patch(self, owner, name, replacement):
        self.saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def __enter__(self):
        import matplotlib.legend

        engine = torch.autograd._engine_run_backward
        recorder = self

        def run_backward(outputs, *args, **kwargs):
            recorder.backward_runs += 1
            for node in {id(t.grad_fn): t.grad_fn for t in outputs
                         if isinstance(t, torch.Tensor) and t.grad_fn is not None}.values():
                recorder.graphs.setdefault(id(node), [node, 0])[1] += 1  # the node is kept: its id stays its own
            accumulate = kwargs.get("accumulate_grad", True)
            inputs = args[3] if len(args) > 3 else kwargs.get("inputs")
            leaves = list(inputs) if inputs else (_leaves(outputs) if accumulate else [])
            try:
                result = engine(outputs, *args, **kwargs)
            except BaseException as err:
                recorder.errors.add(id(err))
                raise
            for grad in (leaf.grad for leaf in leaves) if accumulate else result:
                if isinstance(grad, torch.Tensor):
                    recorder._keep(grad)
            return result

        def seen(original):
            def entry(*args, **kwargs):
                try:
                    return original(*args, **kwargs)
                except BaseException as err:
                    recorder.errors.add(id(err))
                    raise
            return entry

        fw = torch.autograd.forward_ad
        unpack = fw.unpack_dual

        def unpack_dual(*args, **kwargs):
            dual = unpack(*args, **kwargs)
            if dual.tangent is not None:
                recorder.forward_runs += 1
                recorder._keep(dual.tangent)
            return dual

        legend_init = matplotlib.legend.Legend.__init__

        def legend(self_, parent, handles, labels, *args, **kwargs):
            recorder.legends[id(self_)] = list(handles)
            legend_init(self_, parent, handles, labels, *args, **kwargs)

        self._patch(torch.autograd, "_engine_run_backward", run_backward)
        self._patch(torch.autograd, "backward", seen(torch.autograd.backward))
        self._patch(torch.autograd, "grad", seen(torch.autograd.grad))
        self._patch(torch.Tensor, "backward", seen(torch.Tensor.backward))
        self._patch(fw, "unpack_dual", unpack_dual)
        self._patch(matplotlib.legend.Legend, "__init__", legend)
        if self.forbid_cos:
            for owner, name in [(torch, "cos"), (torch.Tensor, "cos"), (torch.Tensor, "cos_"), (np, "cos"),
                                (math, "cos")]:
                self._patch(owner, name, _forbidding(getattr(owner, name)))
        return self

    def __exit__(self, *exc):
        while self.saved:
            owner, name, original = self.saved.pop()
            setattr(owner, name, original)
        return False


def _leaves(outputs, limit=10_000):
    """The leaf tensors a backward from outputs reaches (the AccumulateGrad nodes of their graph)."""
    leaves, seen = [], set()
    stack = [getattr(t, "grad_fn", None) for t in outputs if isinstance(t, torch.Tensor)]
    while stack and len(seen) < limit:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            leaves.append(variable)
        stack.extend(next_node for next_node, _ in getattr(node, "next_functions", ()))
    return leaves


def _forbidding(original):
    def forbidden(*args, **kwargs):
        caller = os.path.realpath(sys._getframe(1).f_code.co_filename)
        if caller.startswith(_LIBRARY_DIRS):
            return original(*args, **kwargs)
        raise CosForbidden("cos")
    return forbidden
