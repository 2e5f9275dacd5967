"""Capture a torch model as a flat list of calls with real shapes.

``torch.fx.symbolic_trace`` is tried first (fast, keeps module calls whole); when it cannot
trace the model (data- or shape-dependent Python control flow, for instance), ``torch.export``
is the fallback. Either way shapes come from running the example input through the graph,
never from guesses. Both front ends are normalized to one form, :class:`Call`, so that the
converter in :mod:`compiler.frontend.convert` has a single table of ops.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from compiler.errors import TraceError
from compiler.frontend.annotations import bits_of
from compiler.ir import TensorSpec

__all__ = ["Call", "Captured", "Ref", "capture"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ref:
    """A tensor-valued argument: the fx node that produces it and its spec."""

    node: str
    spec: TensorSpec


@dataclass(slots=True)
class Call:
    """One op of the captured graph in a front-end-neutral form.

    ``target`` is an ATen-like op name ("conv2d", "add", "flatten", ...), or ``module:<Type>``
    for a module call from torch.fx; ``args`` hold :class:`Ref` s for tensors and plain values
    otherwise; ``scope`` is the qualified name of the innermost module the call came from.
    """

    node: str
    target: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    output: TensorSpec | None  # None: not a tensor (sizes, tuples)
    scope: str
    module: nn.Module | None = None  # set for module calls (fx)
    placeholder: str | None = None  # "input" | "constant" for graph inputs and parameters
    origin: str = ""  # human-readable "where from" for error messages


@dataclass(slots=True)
class Captured:
    calls: list[Call]
    outputs: list[str]
    method: str  # "fx" or "export"
    fx_error: str = ""
    tuple_outputs: dict[str, tuple[TensorSpec | None, ...]] = field(default_factory=dict)


# Python callables that fx records, mapped to the ATen-like names the converter knows.
_FUNCTIONS: dict[Callable[..., Any], str] = {
    operator.add: "add",
    operator.iadd: "add",
    operator.sub: "sub",
    operator.mul: "mul",
    operator.imul: "mul",
    operator.truediv: "div",
    operator.matmul: "matmul",
    operator.getitem: "getitem",
    torch.add: "add",
    torch.sub: "sub",
    torch.mul: "mul",
    torch.div: "div",
    torch.matmul: "matmul",
    torch.bmm: "bmm",
    torch.mm: "mm",
    torch.cat: "cat",
    torch.concat: "cat",
    torch.flatten: "flatten",
    torch.reshape: "reshape",
    torch.permute: "permute",
    torch.transpose: "transpose",
    torch.relu: "relu",
    torch.sigmoid: "sigmoid",
    torch.softmax: "softmax",
    torch.mean: "mean",
    torch.squeeze: "squeeze",
    torch.unsqueeze: "unsqueeze",
    F.relu: "relu",
    F.relu6: "relu6",
    F.gelu: "gelu",
    F.silu: "silu",
    F.hardswish: "hardswish",
    F.sigmoid: "sigmoid",
    F.softmax: "softmax",
    F.dropout: "dropout",
    F.linear: "linear",
    F.conv2d: "conv2d",
    F.max_pool2d: "max_pool2d",
    F.avg_pool2d: "avg_pool2d",
    F.adaptive_avg_pool2d: "adaptive_avg_pool2d",
    F.layer_norm: "layer_norm",
    F.batch_norm: "batch_norm",
    F.embedding: "embedding",
    getattr: "getattr",
}


def _spec_of(value: Any) -> TensorSpec | None:
    if isinstance(value, torch.Tensor):
        return TensorSpec(tuple(int(d) for d in value.shape), str(value.dtype).removeprefix("torch."))
    return None


def _fn_name(target: Any) -> str:
    return getattr(target, "__name__", None) or getattr(target, "__qualname__", None) or str(target)


class _Tracer(fx.Tracer):
    """torch.fx tracer that keeps fake-quant modules whole (they carry the activation bits)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return bits_of(m) is not None or super().is_leaf_module(m, module_qualified_name)


def capture(model: nn.Module, example_input: torch.Tensor) -> Captured:
    """Trace ``model`` on ``example_input`` with torch.fx, falling back to torch.export."""
    model = model.eval()
    try:
        return _capture_fx(model, example_input)
    except Exception as fx_err:  # fx raises many types; all mean "cannot trace this way"
        fx_msg = f"{type(fx_err).__name__}: {fx_err}".splitlines()[0]
        log.info("torch.fx could not trace %s (%s); trying torch.export", type(model).__name__, fx_msg)
    try:
        captured = _capture_export(model, example_input)
    except Exception as ex_err:
        ex_msg = f"{type(ex_err).__name__}: {ex_err}".strip().splitlines()[0]
        raise TraceError(
            f"cannot trace model {type(model).__name__}: torch.fx failed ({fx_msg}) and "
            f"torch.export failed ({ex_msg}); the model must be traceable by one of them "
            "with the given example input"
        ) from None
    captured.fx_error = fx_msg
    return captured


# -- torch.fx -------------------------------------------------------------------------------
def _scope_fx(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


def _capture_fx(model: nn.Module, example_input: torch.Tensor) -> Captured:
    gm = fx.GraphModule(model, _Tracer().trace(model))
    with torch.no_grad():
        ShapeProp(gm).propagate(example_input)
    specs: dict[str, TensorSpec | None] = {}

    def spec(node: fx.Node) -> TensorSpec | None:
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            return None
        return TensorSpec(tuple(int(d) for d in meta.shape), str(meta.dtype).removeprefix("torch."))

    arg = _resolver(specs)

    calls: list[Call] = []
    outputs: list[str] = []
    tuples: dict[str, tuple[TensorSpec | None, ...]] = {}
    for node in gm.graph.nodes:
        specs[node.name] = spec(node)
        if node.op == "output":
            outputs = [r.node for r in _flatten_refs(arg(node.args[0]))]
            continue
        if node.meta.get("tensor_meta") is not None and isinstance(node.meta["tensor_meta"], (tuple, list)):
            tuples[node.name] = tuple(
                TensorSpec(tuple(int(d) for d in m.shape)) if hasattr(m, "shape") else None
                for m in node.meta["tensor_meta"]
            )
        args, kwargs = arg(node.args), {k: arg(v) for k, v in node.kwargs.items()}
        if node.op == "placeholder":
            calls.append(Call(node.name, "input", (), {}, specs[node.name], "", placeholder="input"))
        elif node.op == "get_attr":
            calls.append(
                Call(node.name, "constant", (), {}, specs[node.name], str(node.target),
                     placeholder="constant", origin=f"attribute {node.target}")
            )
        elif node.op == "call_module":
            module = gm.get_submodule(str(node.target))
            calls.append(
                Call(node.name, f"module:{type(module).__name__}", args, kwargs, specs[node.name],
                     str(node.target), module=module,
                     origin=f"module {node.target} ({type(module).__name__})")
            )
        elif node.op == "call_function":
            target = _FUNCTIONS.get(node.target, _fn_name(node.target))
            calls.append(
                Call(node.name, target, args, kwargs, specs[node.name], _scope_fx(node),
                     origin=f"function {_fn_name(node.target)} in {_scope_fx(node) or 'the top module'}")
            )
        elif node.op == "call_method":
            calls.append(
                Call(node.name, str(node.target), args, kwargs, specs[node.name], _scope_fx(node),
                     origin=f"method .{node.target}() in {_scope_fx(node) or 'the top module'}")
            )
    return Captured(calls, outputs, "fx", tuple_outputs=tuples)


# -- torch.export ---------------------------------------------------------------------------
def _capture_export(model: nn.Module, example_input: torch.Tensor) -> Captured:
    ep = torch.export.export(model, (example_input,))
    sig = ep.graph_signature
    lifted = {**sig.inputs_to_parameters, **sig.inputs_to_buffers,
              **sig.inputs_to_lifted_tensor_constants}

    def spec(node: fx.Node) -> TensorSpec | None:
        return _spec_of(node.meta.get("val"))

    specs: dict[str, TensorSpec | None] = {}

    arg = _resolver(specs)

    calls: list[Call] = []
    outputs: list[str] = []
    tuples: dict[str, tuple[TensorSpec | None, ...]] = {}
    for node in ep.graph.nodes:
        specs[node.name] = spec(node)
        val = node.meta.get("val")
        if isinstance(val, (tuple, list)):
            tuples[node.name] = tuple(_spec_of(v) for v in val)
        if node.op == "output":
            outputs = [r.node for r in _flatten_refs(arg(node.args[0]))]
            continue
        scope = _scope_fx(node)
        if node.op == "placeholder":
            kind = "constant" if node.name in lifted else "input"
            calls.append(Call(node.name, kind, (), {}, specs[node.name], lifted.get(node.name, ""),
                              placeholder=kind, origin=f"{kind} {lifted.get(node.name, node.name)}"))
        elif node.op == "call_function":
            overload = getattr(node.target, "_overloadpacket", None)
            target = (overload.__name__ if overload is not None
                      else _FUNCTIONS.get(node.target, _fn_name(node.target)))
            stack = node.meta.get("nn_module_stack") or {}
            mod_type = next(reversed(stack.values()))[1] if stack else ""
            module = model.get_submodule(scope) if scope else None
            calls.append(
                Call(node.name, target, arg(node.args), {k: arg(v) for k, v in node.kwargs.items()},
                     specs[node.name], scope, module=module,
                     origin=f"aten.{target} from {scope or 'the top module'}"
                     + (f" ({str(mod_type).rsplit('.', 1)[-1]})" if mod_type else ""))
            )
    return Captured(calls, outputs, "export", tuple_outputs=tuples)


def _resolver(specs: dict[str, TensorSpec | None]) -> Callable[[Any], Any]:
    """Map fx node arguments to :class:`Ref` (tensor nodes, by their spec so far) or to the
    node's name (non-tensor nodes), through lists and tuples."""

    def arg(a: Any) -> Any:
        if isinstance(a, fx.Node):
            spec = specs.get(a.name)
            return Ref(a.name, spec) if spec is not None else a.name
        if isinstance(a, (list, tuple)):
            return type(a)(arg(x) for x in a)
        return a

    return arg


def _flatten_refs(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _flatten_refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _flatten_refs(v)]
    return []
