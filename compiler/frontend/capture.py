"""Capture a torch model as a flat list of calls with real shapes.

``torch.fx.symbolic_trace`` is tried first (fast, keeps module calls whole); when it cannot
trace the model (data- or shape-dependent Python control flow, for instance), ``torch.export``
is the fallback. Either way shapes come from propagating the example input's shape through the
graph, never from guesses, and never by running the model on data: torch.fx's graph runs on
meta tensors (:class:`_MetaShapeProp`), torch.export traces with fake tensors. No activation is
allocated and no state of the model changes (observers keep their ranges), so an example input
too large for memory (``x[:1].expand(10**6, ...)``) captures as quickly as a small one.
Both front ends are normalized to one form, :class:`Call`, so that the converter in
:mod:`compiler.frontend.convert` has a single table of ops.
"""

from __future__ import annotations

import itertools
import logging
import math
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import _extract_tensor_metadata
from torch.nn.utils.stateless import _reparametrize_module

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
    """torch.fx tracer that keeps fake-quant modules whole (they carry the activation bits), and
    so QAT convolutions and linear layers (``torch.ao.nn.qat``, which quantize their weight in
    forward: their module carries the weight's bits) and eager-mode quantization stubs."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (bits_of(m) is not None
                or (isinstance(m, nn.Conv2d | nn.Linear) and hasattr(m, "weight_fake_quant"))
                or type(m).__name__ in _STUBS
                or super().is_leaf_module(m, module_qualified_name))


# torch.ao eager-mode quantization stubs: QuantStub's observer (a forward hook, which torch.fx
# does not see) holds the bits of the model's input
_STUBS = ("QuantStub", "DeQuantStub")


def _first_line(err: BaseException, limit: int = 300) -> str:
    text = f"{type(err).__name__}: {err}".strip().splitlines()[0]
    return text if len(text) <= limit else text[:limit - 3] + "..."


@contextmanager
def _quiet_fake_tensors() -> Iterator[None]:
    """torch.export logs a traceback at ERROR level for a shape error it then raises: the
    raised error is reported, so the log is silenced."""
    logger = logging.getLogger("torch._subclasses.fake_tensor")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def capture(model: nn.Module, example_input: torch.Tensor) -> Captured:
    """Trace ``model`` on ``example_input`` with torch.fx, falling back to torch.export."""
    model = model.eval()
    try:
        return _capture_fx(model, example_input)
    except Exception as fx_err:  # fx raises many types; all mean "cannot trace this way"
        fx_msg = _first_line(fx_err)
        log.info("torch.fx could not trace %s (%s); trying torch.export", type(model).__name__, fx_msg)
    try:
        with _quiet_fake_tensors():
            captured = _capture_export(model, example_input)
    except Exception as ex_err:
        raise TraceError(
            f"cannot trace model {type(model).__name__}: torch.fx failed ({fx_msg}) and "
            f"torch.export failed ({_first_line(ex_err)}); the model must be traceable by one "
            f"of them with the given example input (shape {tuple(example_input.shape)})"
        ) from None
    captured.fx_error = fx_msg
    return captured


# -- torch.fx -------------------------------------------------------------------------------
def _scope_fx(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


# Modules whose output has their input's shape and dtype: propagated without dispatching to
# their meta kernels (the normalizations' decompositions import torch._dynamo, half a second,
# on first use).
_SHAPE_KEEPING = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
                  nn.ReLU, nn.ReLU6, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
                  nn.GELU, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh,
                  nn.LeakyReLU, nn.Hardtanh, nn.Softmax)


class _MetaShapeProp(fx.Interpreter):
    """Shape propagation on meta tensors, recording each node's ``tensor_meta`` as torch.fx's
    ShapeProp does. The model's parameters and buffers are swapped for meta tensors of the same
    shapes while it runs (and restored), so nothing is computed or allocated.

    The commonest ops get their output shape from the arithmetic in torch's documentation
    (:func:`_module_shape`: linear, convolution, pooling, flatten; broadcasting arithmetic;
    shape-keeping modules pass their input on)
    rather than from their meta kernels: those are Python, and the first call of one imports
    sympy and torch._dynamo, most of a second that a one-shot ``systolab simulate`` would pay.
    Every other op runs its meta kernel. ``test_capture_shapes`` holds the arithmetic to
    torch's own results."""

    def run_node(self, n: fx.Node) -> Any:
        """Run ``n`` and record ``tensor_meta`` (shape, dtype) as ShapeProp does, without its
        memory-format queries (their first call imports sympy)."""
        try:
            result = super().run_node(n)
        except Exception as err:
            raise RuntimeError(f"shape propagation failed at {n.format_node()}: "
                               f"{type(err).__name__}: {err}") from err

        tensors = 0

        def meta(value: Any) -> Any:
            nonlocal tensors
            if isinstance(value, torch.Tensor):
                tensors += 1
                return _extract_tensor_metadata(value, include_contiguity=False)
            return value

        recorded = fx.node.map_aggregate(result, meta)
        if tensors:
            n.meta["tensor_meta"] = recorded
        return result

    def call_module(self, target: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        module = self.fetch_attr(str(target))
        x = args[0] if len(args) == 1 and not kwargs else None
        if isinstance(x, torch.Tensor) and x.device.type == "meta":
            if isinstance(module, _SHAPE_KEEPING) or bits_of(module) is not None \
                    or type(module).__name__ in _STUBS:
                return x  # fake quantizers too: their data-dependent branches need no running
            shape = _module_shape(module, tuple(x.shape))
            if shape is not None:
                return torch.empty(shape, dtype=x.dtype, device="meta")
        return super().call_module(target, args, kwargs)

    def call_function(self, target: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        tensors = [a for a in (*args, *(args[0] if args and isinstance(args[0], list | tuple)
                                        else ())) if isinstance(a, torch.Tensor)]
        if tensors and all(t.device.type == "meta" for t in tensors):
            x = args[0] if args else None
            if target in _SHAPE_KEEPING_FUNCTIONS and isinstance(x, torch.Tensor):
                return torch.empty(x.shape, dtype=kwargs.get("dtype") or x.dtype, device="meta")
            if target in _BROADCASTING and len(args) == 2 and not kwargs:
                shape = _broadcast(*(tuple(t.shape) for t in tensors))
                if shape is not None:
                    return torch.empty(shape, dtype=torch.result_type(*args), device="meta")
            if target in (operator.matmul, torch.matmul, torch.bmm) and len(tensors) == 2 \
                    and len(args) == 2 and not kwargs:
                a, b = (tuple(t.shape) for t in tensors)
                batch = _broadcast(a[:-2], b[:-2]) if min(len(a), len(b)) >= 2 else None
                if batch is not None and a[-1] == b[-2] and tensors[0].dtype == tensors[1].dtype:
                    return torch.empty((*batch, a[-2], b[-1]), dtype=tensors[0].dtype,
                                       device="meta")
            if target in (torch.cat, torch.concat) and len(tensors) == len(args[0]) \
                    and set(kwargs) <= {"dim"} and len(args) + len(kwargs) <= 2:
                dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
                shape = _concatenated([tuple(t.shape) for t in tensors], dim)
                if shape is not None and len({t.dtype for t in tensors}) == 1:
                    return torch.empty(shape, dtype=tensors[0].dtype, device="meta")
        return super().call_function(target, args, kwargs)


# Binary arithmetic that broadcasts (the meta kernels of these, of ``matmul`` and of ``cat``
# are Python, whose first call imports sympy or torch._dynamo).
_BROADCASTING = {operator.add, operator.iadd, operator.sub, operator.mul, operator.imul,
                 operator.truediv, torch.add, torch.sub, torch.mul, torch.div}


_SHAPE_KEEPING_FUNCTIONS = {torch.relu, torch.sigmoid, torch.softmax, torch.tanh, F.relu, F.relu6,
                            F.gelu, F.silu, F.hardswish, F.sigmoid, F.softmax, F.dropout,
                            F.layer_norm, F.batch_norm}


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """NumPy broadcasting of ``shapes``, or ``None`` where they do not broadcast."""
    out: list[int] = []
    for sizes in itertools.zip_longest(*(reversed(s) for s in shapes), fillvalue=1):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            return None
        out.append(wide.pop() if wide else 1)
    return tuple(reversed(out))


def _concatenated(shapes: list[tuple[int, ...]], dim: int) -> tuple[int, ...] | None:
    rank = len(shapes[0])
    if not -rank <= dim < rank or any(len(s) != rank for s in shapes):
        return None
    dim %= rank
    if any(s[:dim] + s[dim + 1:] != shapes[0][:dim] + shapes[0][dim + 1:] for s in shapes):
        return None
    return (*shapes[0][:dim], sum(s[dim] for s in shapes), *shapes[0][dim + 1:])


def _windows(size: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    """Output length of a sliding window (convolution, pooling; torch.nn's documentation):
    with ``ceil``, a last window that would start in the right padding is dropped."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pair(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,) * dims


def _module_shape(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Output shape of the commonest modules by arithmetic, or ``None``: let the meta kernel
    say (or raise the error torch would)."""
    if isinstance(module, nn.Linear):
        return (*shape[:-1], module.out_features) if shape[-1:] == (module.in_features,) else None
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        dims = len(module.kernel_size)
        if isinstance(module.padding, str) or len(shape) != dims + 2 \
                or shape[1] != module.in_channels:
            return None
        spatial = tuple(_windows(*args) for args in zip(
            shape[2:], module.kernel_size, module.stride, module.padding, module.dilation,
            strict=True))
        return (shape[0], module.out_channels, *spatial) if min(spatial) > 0 else None
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d) and len(shape) in (3, 4):
        if isinstance(module, nn.MaxPool2d) and module.return_indices:
            return None
        k = _pair(module.kernel_size, 2)
        s = _pair(module.stride if module.stride is not None else module.kernel_size, 2)
        p = _pair(module.padding, 2)
        d = _pair(getattr(module, "dilation", 1), 2)
        if any(2 * pi > ki for pi, ki in zip(p, k, strict=True)):
            return None  # torch's error, from the kernel
        spatial = tuple(_windows(*a, module.ceil_mode) for a in zip(shape[-2:], k, s, p, d,
                                                                     strict=True))
        return (*shape[:-2], *spatial) if min(spatial) > 0 else None
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and len(shape) in (3, 4):
        if isinstance(module, nn.AdaptiveMaxPool2d) and module.return_indices:
            return None
        size = _pair(module.output_size, 2)
        return (*shape[:-2], *(o if o is not None else n
                               for o, n in zip(size, shape[-2:], strict=True)))
    if isinstance(module, nn.Flatten):
        start, end = (d % len(shape) for d in (module.start_dim, module.end_dim))
        return (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])
    return None


def _meta(t: torch.Tensor) -> torch.Tensor:
    meta = torch.empty_like(t, device="meta")
    return nn.Parameter(meta, t.requires_grad) if isinstance(t, nn.Parameter) else meta


def _propagate_shapes(gm: fx.GraphModule, example_input: torch.Tensor) -> None:
    """Run ``gm`` on meta tensors. Plain tensor attributes are swapped too and restored: a
    pruned layer's forward pre-hook recomputes its ``weight`` attribute, which must stay
    real for the front end to read the mask from."""
    plain = ((f"{prefix}.{key}" if prefix else key, value)
             for prefix, module in gm.named_modules(remove_duplicate=False)
             for key, value in vars(module).items() if isinstance(value, torch.Tensor))
    tensors = itertools.chain(gm.named_parameters(remove_duplicate=False),
                              gm.named_buffers(remove_duplicate=False), plain)
    with _reparametrize_module(gm, {name: _meta(t) for name, t in tensors}), torch.no_grad():
        _MetaShapeProp(gm).run(
            torch.empty(example_input.shape, dtype=example_input.dtype, device="meta"))


def _capture_fx(model: nn.Module, example_input: torch.Tensor) -> Captured:
    gm = fx.GraphModule(model, _Tracer().trace(model))
    _propagate_shapes(gm, example_input)
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
