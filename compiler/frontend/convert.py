"""Turn captured calls (:mod:`compiler.frontend.capture`) into the IR.

One table, :data:`CONVERTERS`, maps each ATen-like op name to a converter; torch.fx module
calls are first rewritten into the same form by :func:`~compiler.frontend.modules.module_call`.
Anything not in the table is an :class:`UnsupportedOpError` that names the op, the node and
the module it came from: the compiler never skips an op silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from compiler.errors import UnsupportedOpError
from compiler.frontend.annotations import (
    bits_from_range,
    bits_of,
    precision_with,
    read_sparsity,
    read_weight_bits,
    read_weight_code,
)
from compiler.frontend.capture import Call, Captured, Ref
from compiler.frontend.modules import module_call
from compiler.ir import Graph, Op, OpKind, Precision, TensorSpec, conv_kind

__all__ = ["CONVERTERS", "to_graph"]

# Ops that produce a view of their input and cost nothing: their node is aliased away.
_ALIASES = frozenset(
    {"contiguous", "clone", "detach", "detach_", "lift_fresh_copy", "alias", "to", "type_as",
     "float", "_assert_tensor_metadata"}
)
_ACTIVATIONS = {"relu": "relu", "relu_": "relu", "relu6": "relu6", "gelu": "gelu", "silu": "silu",
                "silu_": "silu", "hardswish": "hardswish", "hardswish_": "hardswish",
                "sigmoid": "sigmoid"}
_RESHAPES = frozenset({"flatten", "view", "reshape", "_unsafe_view", "unflatten", "squeeze",
                       "unsqueeze"})
_PERMUTES = frozenset({"permute", "transpose", "t"})
_QUANTIZERS = frozenset({"fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"})


@dataclass
class _Ctx:
    graph: Graph
    captured: Captured
    calls: dict[str, Call]
    names: dict[str, str] = field(default_factory=dict)  # fx node -> IR op name (after aliasing)
    constants: set[str] = field(default_factory=set)  # fx nodes that hold parameters
    weight_bits: dict[str, int] = field(default_factory=dict)  # fake-quantized constants
    used: set[str] = field(default_factory=set)

    def unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.used:
            name, i = f"{base}_{i}", i + 1
        self.used.add(name)
        return name

    def op_name(self, call: Call) -> str:
        """The user's name: the module path for the op of a leaf module, else scope.op.

        Built-in torch modules count as leaves even with children attached (a parametrization,
        an input quantizer): a quantized conv is still ``layer1.0.conv2``.
        """
        m = call.module
        leaf = m is not None and (next(m.children(), None) is None
                                  or type(m).__module__.startswith("torch."))
        if call.scope and leaf and call.scope not in self.used:
            self.used.add(call.scope)
            return call.scope
        base = call.target.removeprefix("module:").lower()
        return self.unique(f"{call.scope}.{base}" if call.scope else base)

    def source(self, ref: Ref) -> str:
        """IR op that produces ``ref``, creating a CONSTANT node for a parameter used as data."""
        if ref.node in self.names:
            return self.names[ref.node]
        if ref.node in self.constants:
            call = self.calls[ref.node]
            name = self.unique(call.scope or ref.node)
            self.graph.add_op(Op(name, OpKind.CONSTANT, (), ref.spec, source=call.origin))
            self.names[ref.node] = name
            return name
        raise UnsupportedOpError(f"node {ref.node!r} is used before it is defined")

    def add(self, call: Call, kind: OpKind, inputs: list[Ref], **fields: Any) -> str:
        assert call.output is not None
        sources = [self.source(r) for r in inputs]
        name = self.op_name(call)
        self.graph.add_op(
            Op(name, kind, tuple(r.spec for r in inputs), call.output, source=call.origin,
               **fields),
            inputs=sources,
        )
        self.names[call.node] = name
        return name


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    return (value[0], value[0]) if len(value) == 1 else (int(value[0]), int(value[1]))


def _spec(value: Any) -> TensorSpec | None:
    if isinstance(value, Ref):
        return value.spec
    return value if isinstance(value, TensorSpec) else None


def _tensors(values: Any) -> list[Ref]:
    if isinstance(values, Ref):
        return [values]
    if isinstance(values, (list, tuple)):
        return [v for v in values if isinstance(v, Ref)]
    return []


def _arg(call: Call, index: int, key: str, default: Any = None) -> Any:
    if len(call.args) > index:
        return call.args[index]
    return call.kwargs.get(key, default)


# -- converters -----------------------------------------------------------------------------
def _conv(ctx: _Ctx, call: Call) -> None:
    x, w = _arg(call, 0, "input"), _arg(call, 1, "weight")
    bias = _arg(call, 2, "bias")
    stride, padding = _arg(call, 3, "stride", 1), _arg(call, 4, "padding", 0)
    dilation, groups = _arg(call, 5, "dilation", 1), int(_arg(call, 6, "groups", 1))
    wspec = _spec(w)
    assert wspec is not None and isinstance(x, Ref)
    kind = conv_kind(groups, x.spec.shape[1], wspec.shape[0])
    attrs = {
        "kernel": (wspec.shape[2], wspec.shape[3]),
        "stride": _pair(stride),
        "padding": padding if isinstance(padding, str) else _pair(padding),
        "dilation": _pair(dilation),
        "groups": groups,
    }
    _compute(ctx, call, kind, [x], weight=wspec, has_bias=bias is not None, attrs=attrs,
             weight_ref=w)


def _linear(ctx: _Ctx, call: Call) -> None:
    x, w, bias = _arg(call, 0, "input"), _arg(call, 1, "weight"), _arg(call, 2, "bias")
    wspec = _spec(w)
    assert wspec is not None and isinstance(x, Ref)
    _compute(ctx, call, OpKind.LINEAR, [x], weight=wspec, has_bias=bias is not None,
             weight_ref=w)


def _matmul(ctx: _Ctx, call: Call) -> None:
    a, b = _arg(call, 0, "input"), _arg(call, 1, "other", _arg(call, 1, "mat2"))
    refs = _tensors([a, b])
    if len(refs) != 2:
        raise UnsupportedOpError(f"op {call.target!r} at node {call.node!r} ({call.origin}) "
                                 "must multiply two tensors")
    if refs[1].node in ctx.constants:
        # x @ W with a parameter W is a linear layer without bias.
        _compute(ctx, call, OpKind.LINEAR, [refs[0]],
                 weight=TensorSpec(tuple(reversed(refs[1].spec.shape[-2:]))), has_bias=False,
                 weight_ref=refs[1])
        return
    bits = [_marker_bits(ctx, r) for r in refs]
    precision = precision_with(Precision(), w_bits=bits[1], a_bits=bits[0])
    ctx.add(call, OpKind.MATMUL, refs, precision=precision)


def _compute(ctx: _Ctx, call: Call, kind: OpKind, inputs: list[Ref], *, weight: TensorSpec,
             has_bias: bool, weight_ref: Any, attrs: dict[str, Any] | None = None) -> None:
    ctx.add(call, kind, inputs, **_layer_fields(ctx, call, inputs[0], weight, has_bias,
                                                weight_ref, attrs))


_LAYERS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def _layer_fields(ctx: _Ctx, call: Call, data: Ref, weight: TensorSpec, has_bias: bool,
                  weight_ref: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
    """A compute op's weight, bias, precision (fake-quant bits of the weight and of the input
    ``data``) and sparsity (pruning masks of the layer's module)."""
    module = call.module if isinstance(call.module, _LAYERS) else None
    sparsity = read_sparsity(module) if module is not None else None
    w_bits = read_weight_bits(module) if module is not None else None
    if w_bits is None and isinstance(weight_ref, Ref):
        w_bits = ctx.weight_bits.get(weight_ref.node)
    a_bits = _marker_bits(ctx, data)
    if a_bits is None:
        a_bits = _observer_bits(ctx, data)
    if a_bits is None and module is not None:
        a_bits = bits_of(getattr(module, "act_quant", None))  # compiler.compression.quantize_layer
    precision = precision_with(Precision(), w_bits=w_bits, a_bits=a_bits)
    fields: dict[str, Any] = {"weight": weight, "has_bias": has_bias, "precision": precision,
                              "attrs": attrs or {}}
    if sparsity is not None:
        fields["sparsity"] = sparsity
    code = read_weight_code(module) if module is not None else None
    if code is not None:
        fields["weight_code"] = code
    return fields


def _chain(ctx: _Ctx, call: Call, data: Ref, steps: list[tuple[str, OpKind, TensorSpec,
                                                               dict[str, Any]]]) -> None:
    """Lower one call into a chain of IR ops: ``steps`` of (name suffix, kind, output,
    fields); the step with suffix ``""`` takes the call's own name (the layer's)."""
    name = ctx.op_name(call)
    source, spec = ctx.source(data), data.spec
    for suffix, kind, output, fields in steps:
        op_name = name if not suffix else ctx.unique(f"{name}.{suffix}")
        ctx.graph.add_op(Op(op_name, kind, (spec,), output, source=call.origin, **fields),
                         inputs=[source])
        source, spec = op_name, output
    ctx.names[call.node] = source


def _padding_1d(padding: Any, kernel: int, dilation: int) -> int:
    """Leading padding of a 1-D conv: a number, ``"valid"`` or ``"same"`` (as torch pads)."""
    if padding == "valid":
        return 0
    if padding == "same":
        return dilation * (kernel - 1) // 2
    return int(padding[0] if isinstance(padding, (list, tuple)) else padding)


def _conv1d(ctx: _Ctx, call: Call) -> None:
    """Conv1d as a 2-D conv of height 1: reshape, conv, reshape (the reshapes are views)."""
    x, w = _arg(call, 0, "input"), _arg(call, 1, "weight")
    bias = _arg(call, 2, "bias")
    stride, dilation = _pair(_arg(call, 3, "stride", 1))[0], _pair(_arg(call, 5, "dilation", 1))[0]
    groups = int(_arg(call, 6, "groups", 1))
    wspec, out = _spec(w), call.output
    assert wspec is not None and isinstance(x, Ref) and out is not None
    (n, c, length), (cout, cin_g, k) = x.spec.shape, wspec.shape
    pad = _padding_1d(_arg(call, 4, "padding", 0), k, dilation)
    attrs = {"kernel": (1, k), "stride": (1, stride), "padding": (0, pad),
             "dilation": (1, dilation), "groups": groups}
    image = TensorSpec((n, c, 1, length))
    conv = TensorSpec((out.shape[0], out.shape[1], 1, out.shape[2]))
    fields = _layer_fields(ctx, call, x, TensorSpec((cout, cin_g, 1, k)), bias is not None, w,
                           attrs)
    _chain(ctx, call, x, [("as_2d", OpKind.RESHAPE, image, {}),
                          ("", conv_kind(groups, c, cout), conv, fields),
                          ("as_1d", OpKind.RESHAPE, out, {})])


def _pool1d(kind: OpKind) -> Callable[[_Ctx, Call], None]:
    def convert(ctx: _Ctx, call: Call) -> None:
        x, out = _arg(call, 0, "input"), call.output
        assert isinstance(x, Ref) and out is not None
        (n, c, length), lout = x.spec.shape, out.shape[-1]
        if call.target == "adaptive_avg_pool1d":
            kernel, stride = math.ceil(length / lout), length // lout
        else:
            kernel = _pair(_arg(call, 1, "kernel_size"))[0]
            stride = _pair(_arg(call, 2, "stride", None) or kernel)[0]
        attrs = {"kernel": (1, kernel), "stride": (1, stride)}
        _chain(ctx, call, x, [("as_2d", OpKind.RESHAPE, TensorSpec((n, c, 1, length)), {}),
                              ("", kind, TensorSpec((n, c, 1, lout)), {"attrs": attrs}),
                              ("as_1d", OpKind.RESHAPE, out, {})])

    return convert


def _conv_transpose2d(ctx: _Ctx, call: Call) -> None:
    """ConvTranspose2d as GEMM plus col2im: every input pixel times the weight gives a kh x kw
    patch per output channel (M = N*H*W, K = Cin, N = Cout*kh*kw: the layer's MACs), which
    the vector unit adds into the output where patches overlap (the bias with it)."""
    x, w = _arg(call, 0, "input"), _arg(call, 1, "weight")
    bias, groups = _arg(call, 2, "bias"), int(_arg(call, 6, "groups", 1))
    wspec, out = _spec(w), call.output
    assert wspec is not None and isinstance(x, Ref) and out is not None
    if groups != 1:
        raise UnsupportedOpError(f"op 'conv_transpose2d' at node {call.node!r} ({call.origin}) "
                                 f"is supported with groups 1, not {groups}")
    (n, cin, h, w_), (_, cout, kh, kw) = x.spec.shape, wspec.shape
    patches = TensorSpec((n, h, w_, cout * kh * kw))
    fields = _layer_fields(ctx, call, x, TensorSpec((cout * kh * kw, cin)), False, w, None)
    _chain(ctx, call, x, [("nhwc", OpKind.PERMUTE, TensorSpec((n, h, w_, cin)), {}),
                          ("", OpKind.LINEAR, patches, fields),
                          ("col2im", OpKind.COL2IM, out, {"has_bias": bias is not None,
                                                          "attrs": {"kernel": (kh, kw)}})])


def _upsample(mode: str | None) -> Callable[[_Ctx, Call], None]:
    def convert(ctx: _Ctx, call: Call) -> None:
        chosen = mode or str(call.kwargs.get("mode", _arg(call, 3, "mode", "nearest")))
        if chosen not in ("nearest", "bilinear"):
            raise UnsupportedOpError(f"op {call.target!r} at node {call.node!r} "
                                     f"({call.origin}): upsampling is supported as nearest or "
                                     f"bilinear, not {chosen!r}")
        ctx.add(call, OpKind.UPSAMPLE, _tensors(list(call.args[:1])), attrs={"mode": chosen})

    return convert


def _marker_bits(ctx: _Ctx, ref: Ref) -> int | None:
    """Bits of a fake-quant op that directly produces ``ref`` (activation quantization)."""
    name = ctx.names.get(ref.node)
    if name is None or name not in ctx.graph:
        return None
    op = ctx.graph.op(name)
    return op.attrs.get("bits") if op.kind is OpKind.IDENTITY else None


def _observer_bits(ctx: _Ctx, ref: Ref) -> int | None:
    """Bits of the eager-mode QAT observer (``activation_post_process``, run as a forward hook
    that torch.fx does not record) that last quantized ``ref``: that of the module producing
    it, or, through ops of one input that do not requantize (ReLU, pooling, flatten: eager
    mode observes only the modules it swaps, conv, linear and the stubs), of an earlier one."""
    call = ctx.calls.get(ref.node)
    while call is not None:
        bits = bits_of(getattr(call.module, "activation_post_process", None))
        if bits is not None:
            return bits
        sources = _tensors(list(call.args))
        if len(sources) != 1 or call.target in _COMPUTE_TARGETS \
                or isinstance(call.module, nn.Conv2d | nn.Linear):
            return None  # a float layer's output, or a join: not quantized here
        call = ctx.calls.get(sources[0].node)
    return None


_COMPUTE_TARGETS = frozenset({"conv2d", "linear", "matmul", "bmm", "mm"})


def _fake_quant(ctx: _Ctx, call: Call) -> None:
    x = _arg(call, 0, "input")
    qmin, qmax = call.args[-2], call.args[-1]
    bits = bits_from_range(int(qmin), int(qmax))
    if isinstance(x, Ref) and x.node in ctx.constants:
        # A fake-quantized parameter (weight parametrization under torch.export).
        ctx.constants.add(call.node)
        ctx.weight_bits[call.node] = bits
        return
    ctx.add(call, OpKind.IDENTITY, [x], attrs={"fn": "fake_quant", "bits": bits})


def _activation(fn: str) -> Callable[[_Ctx, Call], None]:
    def convert(ctx: _Ctx, call: Call) -> None:
        ctx.add(call, OpKind.ACTIVATION, [_arg(call, 0, "input")], attrs={"fn": fn})

    return convert


def _hardtanh(ctx: _Ctx, call: Call) -> None:
    lo, hi = _arg(call, 1, "min_val", -1.0), _arg(call, 2, "max_val", 1.0)
    if (lo, hi) != (0.0, 6.0):
        raise UnsupportedOpError(
            f"op 'hardtanh' at node {call.node!r} ({call.origin}) is supported only as ReLU6 "
            f"(min 0, max 6), not min {lo}, max {hi}"
        )
    _activation("relu6")(ctx, call)


def _elementwise(kind: OpKind, fn: str) -> Callable[[_Ctx, Call], None]:
    def convert(ctx: _Ctx, call: Call) -> None:
        refs = _tensors(list(call.args[:2]))
        ctx.add(call, kind, refs, attrs={"fn": fn})

    return convert


def _norm(kind: OpKind) -> Callable[[_Ctx, Call], None]:
    def convert(ctx: _Ctx, call: Call) -> None:
        x = _arg(call, 0, "input")
        if kind is OpKind.BATCHNORM:
            features, affine = x.spec.shape[1], _arg(call, 1, "weight") is not None
        else:
            shape = _arg(call, 1, "normalized_shape")
            features = math.prod(shape) if isinstance(shape, (list, tuple)) else int(shape)
            affine = _arg(call, 2, "weight") is not None
        ctx.add(call, kind, [x], attrs={"num_features": features, "affine": affine})

    return convert


def _pool(kind: OpKind) -> Callable[[_Ctx, Call], None]:
    def convert(ctx: _Ctx, call: Call) -> None:
        x = _arg(call, 0, "input")
        assert call.output is not None
        (h, w), (oh, ow) = x.spec.shape[-2:], call.output.shape[-2:]
        if call.target in ("adaptive_avg_pool2d", "mean"):
            kernel, stride = (math.ceil(h / oh), math.ceil(w / ow)), (h // oh, w // ow)
        else:
            kernel = _pair(_arg(call, 1, "kernel_size"))
            stride = _pair(_arg(call, 2, "stride", None) or kernel)
        ctx.add(call, kind, [x], attrs={"kernel": kernel, "stride": stride})

    return convert


def _mean(ctx: _Ctx, call: Call) -> None:
    x, dims = _arg(call, 0, "input"), _arg(call, 1, "dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    rank = len(x.spec.shape)
    if rank == 4 and sorted(d % rank for d in dims) == [2, 3]:
        _pool(OpKind.AVGPOOL2D)(ctx, call)
        return
    raise UnsupportedOpError(
        f"op 'mean' at node {call.node!r} ({call.origin}) is supported only over the spatial "
        f"dims of an NCHW tensor, not dims {dims} of shape {x.spec.shape}"
    )


def _layout(kind: OpKind) -> Callable[[_Ctx, Call], None]:
    def convert(ctx: _Ctx, call: Call) -> None:
        ctx.add(call, kind, _tensors(list(call.args[:1])))

    return convert


def _softmax(ctx: _Ctx, call: Call) -> None:
    ctx.add(call, OpKind.SOFTMAX, [_arg(call, 0, "input")], attrs={"dim": _arg(call, 1, "dim")})


def _cat(ctx: _Ctx, call: Call) -> None:
    ctx.add(call, OpKind.CONCAT, _tensors(_arg(call, 0, "tensors")),
            attrs={"dim": _arg(call, 1, "dim", 0)})


def _embedding(ctx: _Ctx, call: Call) -> None:
    # aten.embedding(weight, indices) and F.embedding(input, weight): the table is the parameter.
    first, second = call.args[0], call.args[1]
    is_table = isinstance(first, Ref) and first.node in ctx.constants
    table, indices = (first, second) if is_table else (second, first)
    ctx.add(call, OpKind.EMBEDDING, _tensors([indices]), weight=_spec(table))


def _getitem(ctx: _Ctx, call: Call) -> None:
    src, index = call.args[0], call.args[1]
    if isinstance(src, str) and src in ctx.captured.tuple_outputs and isinstance(index, int):
        # Element of a tuple result (e.g. batch norm's (out, mean, var)): the element is the op.
        ctx.names[call.node] = ctx.names[src]
        return
    _layout(OpKind.SLICE)(ctx, call)


CONVERTERS: dict[str, Callable[[_Ctx, Call], None]] = {
    "conv2d": _conv,
    "conv1d": _conv1d,
    "conv_transpose2d": _conv_transpose2d,
    "max_pool1d": _pool1d(OpKind.MAXPOOL2D),
    "avg_pool1d": _pool1d(OpKind.AVGPOOL2D),
    "adaptive_avg_pool1d": _pool1d(OpKind.AVGPOOL2D),
    "interpolate": _upsample(None),
    "upsample_nearest2d": _upsample("nearest"),
    "upsample_bilinear2d": _upsample("bilinear"),
    "linear": _linear,
    "matmul": _matmul,
    "bmm": _matmul,
    "mm": _matmul,
    "batch_norm": _norm(OpKind.BATCHNORM),
    "_native_batch_norm_legit_no_training": _norm(OpKind.BATCHNORM),
    "layer_norm": _norm(OpKind.LAYERNORM),
    "hardtanh": _hardtanh,
    "add": _elementwise(OpKind.ADD, "add"),
    "add_": _elementwise(OpKind.ADD, "add"),
    "sub": _elementwise(OpKind.ADD, "sub"),
    "mul": _elementwise(OpKind.MUL, "mul"),
    "div": _elementwise(OpKind.MUL, "div"),
    "softmax": _softmax,
    "_softmax": _softmax,
    "max_pool2d": _pool(OpKind.MAXPOOL2D),
    "avg_pool2d": _pool(OpKind.AVGPOOL2D),
    "adaptive_avg_pool2d": _pool(OpKind.AVGPOOL2D),
    "mean": _mean,
    "cat": _cat,
    "expand": _layout(OpKind.EXPAND),
    "select": _layout(OpKind.SLICE),
    "slice": _layout(OpKind.SLICE),
    "getitem": _getitem,
    "embedding": _embedding,
    "dropout": _layout(OpKind.IDENTITY),
    "identity": _layout(OpKind.IDENTITY),
    "fake_quantize_per_tensor_affine": _fake_quant,
    "fake_quantize_per_channel_affine": _fake_quant,
    **{name: _activation(fn) for name, fn in _ACTIVATIONS.items()},
    **{name: _layout(OpKind.RESHAPE) for name in _RESHAPES},
    **{name: _layout(OpKind.PERMUTE) for name in _PERMUTES},
}


def _fake_quant_module(ctx: _Ctx, call: Call) -> None:
    ctx.add(call, OpKind.IDENTITY, [call.args[0]],
            attrs={"fn": "fake_quant", "bits": call.kwargs["bits"]})


def _embedding_module(ctx: _Ctx, call: Call) -> None:
    ctx.add(call, OpKind.EMBEDDING, _tensors([call.args[0]]), weight=call.args[1])


CONVERTERS["fake_quant_module"] = _fake_quant_module
CONVERTERS["embedding_module"] = _embedding_module


def to_graph(captured: Captured) -> Graph:
    """Build the IR graph from a capture; raises UnsupportedOpError for unknown ops."""
    graph = Graph()
    ctx = _Ctx(graph, captured, {c.node: c for c in captured.calls})
    for call in captured.calls:
        if call.placeholder == "input":
            assert call.output is not None
            name = ctx.unique(call.node)
            graph.add_op(Op(name, OpKind.INPUT, (), call.output, source="model input"))
            ctx.names[call.node] = name
            continue
        if call.placeholder == "constant":
            ctx.constants.add(call.node)
            continue
        if call.output is None and call.node not in captured.tuple_outputs:
            continue  # sizes, shapes and other non-tensor values cost nothing
        if call.target.startswith("module:"):
            call = module_call(call)
        elif call.target not in _QUANTIZERS and call.module is not None \
                and bits_of(call.module) is not None:
            continue  # a fake-quant module's own range arithmetic (torch.export shows it)
        refs = _tensors(list(call.args)) + _tensors(list(call.kwargs.values()))
        on_params = bool(refs) and all(r.node in ctx.constants for r in refs)
        if on_params and call.target not in _QUANTIZERS:
            ctx.constants.add(call.node)  # weight preprocessing (e.g. weight_orig * weight_mask)
            continue
        if call.target in _ALIASES:
            src = refs[0]
            if src.node in ctx.constants:
                ctx.constants.add(call.node)
            else:
                ctx.names[call.node] = ctx.names[src.node]
            continue
        converter = CONVERTERS.get(call.target)
        if converter is None:
            raise UnsupportedOpError(
                f"unsupported op {call.target.removeprefix('module:')!r} at node {call.node!r} "
                f"({call.origin}); supported: conv1d/conv2d, conv_transpose2d, linear, "
                "matmul/bmm, batch/layer norm, relu/relu6/gelu/silu/hardswish/sigmoid, add/mul, "
                "cat, 1-D and 2-D pooling, nearest/bilinear upsampling, "
                "flatten/reshape/permute/transpose, softmax, dropout, embedding"
            )
        converter(ctx, call)
    outputs = [ctx.names[n] for n in captured.outputs if n in ctx.names]
    for i, out_src in enumerate(outputs):
        spec = graph.op(out_src).output
        graph.add_op(Op(ctx.unique("output" if i == 0 else f"output_{i}"), OpKind.OUTPUT,
                        (spec,), spec, source="model output"), inputs=[out_src])
    return graph
