"""The ONNX front end: an ``.onnx`` file becomes an IR Graph, without torch.

Shapes come from ONNX shape inference over the file's graph
(:func:`compiler.frontend.onnxshapes.tensor_shapes`, which also folds computed shapes), so
weights are never needed: a file whose initializers live in external data files that are
missing (the shape-only models several tools ship) loads from the initializers' dims, and the
graph's notes say so. A symbolic input dimension (``batch``) takes the given batch.

One table, :data:`CONVERTERS`, maps each ONNX op type to a converter, as the PyTorch front end
maps ATen ops (:mod:`compiler.frontend.convert`). An op type not in it is an
:class:`~compiler.errors.UnsupportedOpError` naming the op type, the node and the opset.
Layer names are the ONNX node names (``/layer1/layer1.0/conv1/Conv`` from the PyTorch
exporter), so reports and policy files use them.

Nodes that only compute shapes (``Shape``, ``Gather`` on a shape, ``Constant``, ``Cast`` of
a constant...) and nodes whose every input is a weight are folded away: they are not work the
accelerator does. Quantize/dequantize pairs (QDQ) set the bits of the weights and activations
they quantize: the integer type of the zero point (int8, uint8, int4, int16...) gives the
width. So do QONNX quantizers (``Quant``/``IntQuant`` and ``Trunc`` with their bit-width input,
``BipolarQuant`` as 1 bit), as Brevitas and FINN export them.

>>> import onnx
>>> from onnx import TensorProto, helper
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])
>>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
>>> w = helper.make_tensor("w", TensorProto.FLOAT, [16, 3, 3, 3], [0.0] * 432)
>>> conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])
>>> model = helper.make_model(helper.make_graph([conv], "g", [x], [y], [w]))
>>> graph = onnx_to_graph(model, batch=2)
>>> [(op.name, op.output.shape) for op in graph.compute_ops()]
[('conv', (2, 16, 8, 8))]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.errors import TraceError, UnsupportedOpError
from compiler.frontend.onnxshapes import (
    QONNX_DOMAINS,
    QONNX_OPS,
    OnnxError,
    attributes,
    onnx_package,
    tensor_shapes,
)
from compiler.ir import Graph, Op, OpKind, Precision, TensorSpec, conv_kind, verify
from hwsim.fields import shown

__all__ = ["CONVERTERS", "OnnxError", "load_onnx", "onnx_to_graph"]

MAX_BYTES = 2**31  # protobuf's own limit for one file; weights beyond it are external data


# -- reading ----------------------------------------------------------------------------------
def load_onnx(path: str | Path, *, batch: int = 1) -> Graph:
    """The IR graph of the ONNX model in ``path`` (weights not needed; module doc)."""
    onnx = onnx_package()
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise OnnxError(f"cannot read ONNX model {str(path)!r}: {err.strerror}") from None
    if size > MAX_BYTES:
        raise OnnxError(f"ONNX model {str(path)!r} must be at most 2 GiB (larger weights live "
                        "in external data files)")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise OnnxError(f"{str(path)!r} is not an ONNX model ({type(err).__name__}: "
                        f"{str(err)[:200]})") from None
    missing = _missing_external_data(model, path.parent)
    graph = onnx_to_graph(model, batch=batch, name=path.name)
    if missing:
        graph.notes.append(f"weights are in external data files that are missing "
                           f"({', '.join(sorted(missing)[:3])}{'...' if len(missing) > 3 else ''}): "
                           "shapes come from the initializers' dims")
    return graph


def _missing_external_data(model: Any, folder: Path) -> set[str]:
    onnx = onnx_package()
    missing = set()
    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            location = next((e.value for e in init.external_data if e.key == "location"), "")
            target = (folder / location).resolve()
            if not location or not target.is_file() or folder.resolve() not in target.parents:
                missing.add(location or init.name)
    return missing


def _opset(model: Any) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


@dataclass
class _Ctx:
    graph: Graph
    opset: int
    shapes: dict[str, tuple[int, ...]]
    initializers: dict[str, Any]  # name -> TensorProto (dims always; data when present)
    names: dict[str, str] = field(default_factory=dict)  # ONNX tensor -> IR op producing it
    constant: set[str] = field(default_factory=set)  # weights and values computed from them
    bits: dict[str, int] = field(default_factory=dict)  # tensors dequantized from n-bit ints
    dtypes: dict[str, int] = field(default_factory=dict)  # declared element types
    values: dict[str, Any] = field(default_factory=dict)  # outputs of Constant nodes
    used: set[str] = field(default_factory=set)

    def spec(self, tensor: str, node: Any) -> TensorSpec:
        shape = self.shapes.get(tensor)
        if shape is None:
            raise OnnxError(f"the shape of tensor {tensor!r} (at {_where(node, self.opset)}) "
                            "is unknown after ONNX shape inference: give the model's inputs "
                            "fixed shapes or a symbolic batch only")
        return TensorSpec(shape)

    def unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.used or name in self.graph:
            name, i = f"{base}_{i}", i + 1
        self.used.add(name)
        return name

    def source(self, tensor: str, node: Any) -> str:
        """The IR op producing ``tensor``; a weight used as data becomes a CONSTANT op."""
        if tensor in self.names:
            return self.names[tensor]
        if tensor in self.constant:
            name = self.unique(tensor)
            self.graph.add_op(Op(name, OpKind.CONSTANT, (), self.spec(tensor, node),
                                 source="ONNX initializer"))
            self.names[tensor] = name
            return name
        raise OnnxError(f"tensor {tensor!r} is used at {_where(node, self.opset)} before any "
                        "node produces it")

    def add(self, node: Any, kind: OpKind, data: list[str], **fields: Any) -> str:
        inputs = [t for t in data if t]
        sources = [self.source(t, node) for t in inputs]
        out = node.output[0]
        name = self.unique(node.name or f"{node.op_type}_{len(self.graph)}")
        self.graph.add_op(Op(name, kind, tuple(self.spec(t, node) for t in inputs),
                             self.spec(out, node), source=f"ONNX {node.op_type}", **fields),
                          inputs=sources)
        for tensor in node.output:
            self.names[tensor] = name
        return name


def _where(node: Any, opset: int) -> str:
    return f"node {node.name or '(unnamed)'!r} ({node.op_type}, opset {opset})"


def _value(ctx: _Ctx, tensor: str) -> Any:
    """The numpy value of an initializer with its data present, else None."""
    if tensor in ctx.values:
        return ctx.values[tensor]
    init = ctx.initializers.get(tensor)
    onnx = onnx_package()
    if init is None or init.data_location == onnx.TensorProto.EXTERNAL:
        return None
    return onnx.numpy_helper.to_array(init)


def _inputs(node: Any) -> list[str]:
    return list(node.input)


# -- converters -----------------------------------------------------------------------------
def _precision(ctx: _Ctx, data: str, weight: str | None) -> Precision:
    fields = {}
    if data in ctx.bits:
        fields["a_bits"] = min(ctx.bits[data], 16)
    if weight is not None and weight in ctx.bits:
        fields["w_bits"] = min(ctx.bits[weight], 16)
    return Precision(**fields)


def _chain(ctx: _Ctx, node: Any, data: str,
           steps: list[tuple[str, OpKind, TensorSpec, dict[str, Any]]]) -> None:
    """Lower one node into a chain of IR ops: ``steps`` of (name suffix, kind, output,
    fields); the step with suffix ``""`` takes the node's name."""
    name = ctx.unique(node.name or f"{node.op_type}_{len(ctx.graph)}")
    source, spec = ctx.source(data, node), ctx.spec(data, node)
    for suffix, kind, output, fields in steps:
        op_name = name if not suffix else ctx.unique(f"{name}.{suffix}")
        ctx.graph.add_op(Op(op_name, kind, (spec,), output, source=f"ONNX {node.op_type}",
                            **fields), inputs=[source])
        source, spec = op_name, output
    for tensor in node.output:
        ctx.names[tensor] = source


def _window(ctx: _Ctx, node: Any, shape: tuple[int, ...]) -> dict[str, tuple[int, int]]:
    """Kernel, stride, leading padding and dilation of a conv or pooling node over an NCHW
    input, or an NCL one as 2-D of height 1 (auto_pad resolved from the output shape)."""
    rank = len(shape) - 2
    if rank not in (1, 2):
        raise UnsupportedOpError(f"{_where(node, ctx.opset)}: only 1-D and 2-D windows (an NCL "
                                 f"or NCHW input) are supported, not an input of shape {shape}")
    a = attributes(node)
    kernel = list(a["kernel_shape"]) if "kernel_shape" in a else \
        list(ctx.spec(_inputs(node)[1], node).shape[2:])
    strides = list(a.get("strides", [1] * rank))
    dilations = list(a.get("dilations", [1] * rank))
    pads = list(a.get("pads", [0] * 2 * rank))
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        # SAME_UPPER/LOWER: the total padding the output shape implies, split as ONNX does
        out = ctx.spec(node.output[0], node).shape
        total = [max((o - 1) * s + (k - 1) * d + 1 - i, 0) for o, s, k, d, i in
                 zip(out[2:], strides, kernel, dilations, shape[2:], strict=True)]
        pads = [t // 2 for t in total] + [t - t // 2 for t in total]
    if rank == 1:
        kernel, strides, dilations, pads = [1, *kernel], [1, *strides], [1, *dilations], [0, *pads]
    return {"kernel": (int(kernel[0]), int(kernel[1])),
            "stride": (int(strides[0]), int(strides[1])),
            "padding": (int(pads[0]), int(pads[1])),
            "dilation": (int(dilations[0]), int(dilations[1]))}


def _as_2d(shape: tuple[int, ...]) -> tuple[int, ...]:
    """An NCL shape as NC1L (a 1-D op runs as 2-D of height 1); NCHW unchanged."""
    return (*shape[:2], 1, shape[2]) if len(shape) == 3 else shape


def _via_2d(ctx: _Ctx, node: Any, data: str, kind: OpKind, fields: dict[str, Any]) -> None:
    """The op itself, or for a 1-D input: reshape, the op as 2-D, reshape (views)."""
    shape, out = ctx.spec(data, node).shape, ctx.spec(node.output[0], node)
    if len(shape) == 4:
        ctx.add(node, kind, [data], **fields)
        return
    _chain(ctx, node, data, [("as_2d", OpKind.RESHAPE, TensorSpec(_as_2d(shape)), {}),
                             ("", kind, TensorSpec(_as_2d(out.shape)), fields),
                             ("as_1d", OpKind.RESHAPE, out, {})])


def _conv(ctx: _Ctx, node: Any) -> None:
    x, w, *rest = _inputs(node)
    xs, ws = ctx.spec(x, node).shape, ctx.spec(w, node).shape
    groups = int(attributes(node).get("group", 1))
    attrs = {**_window(ctx, node, xs), "groups": groups}
    _via_2d(ctx, node, x, conv_kind(groups, xs[1], ws[0]),
            {"weight": TensorSpec(_as_2d(ws)), "has_bias": bool(rest and rest[0]),
             "precision": _precision(ctx, x, w), "attrs": attrs})


def _conv_transpose(ctx: _Ctx, node: Any) -> None:
    """A 2-D transposed conv as the PyTorch front end lowers it: GEMM of every input pixel
    with the kernel (M = N*H*W, K = Cin, N = Cout*kh*kw), then col2im on the vector unit."""
    x, w, *rest = _inputs(node)
    xs, ws = ctx.spec(x, node).shape, ctx.spec(w, node).shape
    groups = int(attributes(node).get("group", 1))
    if len(xs) != 4 or groups != 1:
        raise UnsupportedOpError(f"{_where(node, ctx.opset)}: ConvTranspose is supported in 2-D "
                                 f"with group 1, not an input of shape {xs} and group {groups}")
    (n, cin, h, width), (_, cout, kh, kw) = xs, ws
    _chain(ctx, node, x, [
        ("nhwc", OpKind.PERMUTE, TensorSpec((n, h, width, cin)), {}),
        ("", OpKind.LINEAR, TensorSpec((n, h, width, cout * kh * kw)),
         {"weight": TensorSpec((cout * kh * kw, cin)), "has_bias": False,
          "precision": _precision(ctx, x, w)}),
        ("col2im", OpKind.COL2IM, ctx.spec(node.output[0], node),
         {"has_bias": bool(rest and rest[0]), "attrs": {"kernel": (kh, kw)}})])


def _resize(ctx: _Ctx, node: Any) -> None:
    """Resize / Upsample: nearest, or linear over H and W (bilinear)."""
    mode = attributes(node).get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    shape = ctx.spec(_inputs(node)[0], node).shape
    if mode not in ("nearest", "linear") or len(shape) != 4:
        raise UnsupportedOpError(f"{_where(node, ctx.opset)}: resizing is supported as nearest "
                                 f"or (bi)linear on an NCHW tensor, not {mode} on {shape}")
    ctx.add(node, OpKind.UPSAMPLE, _inputs(node)[:1],
            attrs={"mode": "nearest" if mode == "nearest" else "bilinear"})


def _gemm(ctx: _Ctx, node: Any) -> None:
    a_in, b_in, *rest = _inputs(node)
    at = attributes(node)
    if at.get("transA", 0):
        raise UnsupportedOpError(f"{_where(node, ctx.opset)}: Gemm with transA is not "
                                 "supported (transpose the input first)")
    if b_in not in ctx.constant:
        _matmul(ctx, node)
        return
    k, n = ctx.spec(b_in, node).shape[::-1] if at.get("transB", 0) else ctx.spec(b_in, node).shape
    ctx.add(node, OpKind.LINEAR, [a_in], weight=TensorSpec((n, k)),
            has_bias=bool(rest and rest[0]), precision=_precision(ctx, a_in, b_in))


def _matmul(ctx: _Ctx, node: Any) -> None:
    a_in, b_in = _inputs(node)[:2]
    b_shape = ctx.spec(b_in, node).shape
    if b_in in ctx.constant and len(b_shape) == 2:  # x @ W: a linear layer without bias
        k, n = b_shape
        ctx.add(node, OpKind.LINEAR, [a_in], weight=TensorSpec((n, k)), has_bias=False,
                precision=_precision(ctx, a_in, b_in))
        return
    ctx.add(node, OpKind.MATMUL, [a_in, b_in], precision=_precision(ctx, a_in, b_in))


def _pool(kind: OpKind, global_: bool = False) -> Callable[[_Ctx, Any], None]:
    def convert(ctx: _Ctx, node: Any) -> None:
        x = _inputs(node)[0]
        shape = ctx.spec(x, node).shape
        if global_:
            whole = _as_2d(shape)[2:] if len(shape) in (3, 4) else ()
            if not whole:
                raise UnsupportedOpError(f"{_where(node, ctx.opset)}: global pooling is "
                                         f"supported over NCL or NCHW, not {shape}")
            attrs = {"kernel": whole, "stride": whole}
        else:
            window = _window(ctx, node, shape)
            attrs = {"kernel": window["kernel"], "stride": window["stride"]}
        _via_2d(ctx, node, x, kind, {"attrs": attrs})

    return convert


def _activation(fn: str) -> Callable[[_Ctx, Any], None]:
    def convert(ctx: _Ctx, node: Any) -> None:
        ctx.add(node, OpKind.ACTIVATION, _inputs(node)[:1], attrs={"fn": fn})

    return convert


def _clip(ctx: _Ctx, node: Any) -> None:
    ins, a = _inputs(node), attributes(node)
    lo = a.get("min", _scalar(ctx, ins[1]) if len(ins) > 1 and ins[1] else None)
    hi = a.get("max", _scalar(ctx, ins[2]) if len(ins) > 2 and ins[2] else None)
    if (lo, hi) == (0.0, 6.0):
        _activation("relu6")(ctx, node)
    elif lo == 0.0 and hi is None:
        _activation("relu")(ctx, node)
    else:
        raise UnsupportedOpError(f"{_where(node, ctx.opset)}: Clip is supported as ReLU6 "
                                 f"(min 0, max 6) or ReLU, not min {lo}, max {hi}")


def _scalar(ctx: _Ctx, tensor: str) -> float | None:
    value = _value(ctx, tensor)
    return None if value is None or value.size != 1 else float(value.reshape(()))


def _elementwise(kind: OpKind, fn: str) -> Callable[[_Ctx, Any], None]:
    def convert(ctx: _Ctx, node: Any) -> None:
        # a constant scalar operand (x * 0.125) is an immediate, as a Python number is in torch
        data = [t for t in _inputs(node)[:2]
                if not (t in ctx.constant and math.prod(ctx.spec(t, node).shape) == 1)]
        ctx.add(node, kind, data, attrs={"fn": fn})

    return convert


def _batchnorm(ctx: _Ctx, node: Any) -> None:
    x = _inputs(node)[0]
    ctx.add(node, OpKind.BATCHNORM, [x],
            attrs={"num_features": ctx.spec(x, node).shape[1], "affine": True})


def _layernorm(ctx: _Ctx, node: Any) -> None:
    ins = _inputs(node)
    shape = ctx.spec(ins[0], node).shape
    axis = int(attributes(node).get("axis", -1)) % len(shape)
    ctx.add(node, OpKind.LAYERNORM, ins[:1],
            attrs={"num_features": math.prod(shape[axis:]), "affine": len(ins) > 1})


def _softmax(ctx: _Ctx, node: Any) -> None:
    ctx.add(node, OpKind.SOFTMAX, _inputs(node)[:1],
            attrs={"dim": int(attributes(node).get("axis", -1))})


def _concat(ctx: _Ctx, node: Any) -> None:
    ctx.add(node, OpKind.CONCAT, [t for t in _inputs(node) if t],
            attrs={"dim": int(attributes(node)["axis"])})


def _layout(kind: OpKind) -> Callable[[_Ctx, Any], None]:
    def convert(ctx: _Ctx, node: Any) -> None:
        ctx.add(node, kind, _inputs(node)[:1])

    return convert


def _gather(ctx: _Ctx, node: Any) -> None:
    table, indices = _inputs(node)[:2]
    if table in ctx.constant:  # an embedding table
        ctx.add(node, OpKind.EMBEDDING, [indices], weight=ctx.spec(table, node))
    else:
        ctx.add(node, OpKind.SLICE, [table])


def _alias(ctx: _Ctx, node: Any) -> None:
    source = _inputs(node)[0]
    if source in ctx.constant:
        ctx.constant.update(node.output)
    else:
        ctx.names[node.output[0]] = ctx.source(source, node)
    if source in ctx.bits:
        ctx.bits[node.output[0]] = ctx.bits[source]


_INT_BITS = {"INT8": 8, "UINT8": 8, "INT16": 16, "UINT16": 16, "INT4": 4, "UINT4": 4,
             "INT2": 2, "UINT2": 2, "INT32": 32, "UINT32": 32}


def _qdq_bits(ctx: _Ctx, node: Any) -> int:
    """Width of the integers a QuantizeLinear makes or a DequantizeLinear reads: the type of
    the zero point (uint8 when it is absent, as the ONNX spec says), or output_dtype."""
    onnx = onnx_package()
    ins = _inputs(node)
    dtype = attributes(node).get("output_dtype", 0)
    if not dtype and len(ins) > 2 and ins[2]:
        init = ctx.initializers.get(ins[2])
        dtype = init.data_type if init is not None else ctx.dtypes.get(ins[2], 0)
    name = onnx.TensorProto.DataType.Name(dtype) if dtype else "UINT8"
    if name not in _INT_BITS:
        raise UnsupportedOpError(f"{_where(node, ctx.opset)}: quantization to {name} is not "
                                 f"an integer type ({', '.join(_INT_BITS)})")
    return _INT_BITS[name]


def _quantize(ctx: _Ctx, node: Any) -> None:
    """QuantizeLinear / DequantizeLinear: a weight's stored width, or the width an activation
    is quantized to (an identity op the next compute op reads its a_bits from)."""
    bits = _qdq_bits(ctx, node)
    _alias(ctx, node)
    ctx.bits[node.output[0]] = bits


def _qonnx_quant(ctx: _Ctx, node: Any) -> None:
    """A QONNX quantizer: the bits of the weight or activation it quantizes (BipolarQuant is
    binary, 1 bit)."""
    index = QONNX_OPS[node.op_type]
    if index is None:
        bits = 1
    else:
        ins = _inputs(node)
        value = _value(ctx, ins[index]) if len(ins) > index and ins[index] else None
        if value is None or value.size != 1 or not float(value) >= 1:
            raise UnsupportedOpError(f"{_where(node, ctx.opset)}: the bit width (input "
                                     f"{index}) must be a constant of at least 1")
        bits = math.ceil(float(value))
    data = _inputs(node)[0]
    if data in ctx.constant:
        ctx.constant.update(node.output)
    else:
        _alias(ctx, node)
    ctx.bits[node.output[0]] = bits


CONVERTERS: dict[str, Callable[[_Ctx, Any], None]] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Resize": _resize,
    "Upsample": _resize,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MaxPool": _pool(OpKind.MAXPOOL2D),
    "AveragePool": _pool(OpKind.AVGPOOL2D),
    "GlobalAveragePool": _pool(OpKind.AVGPOOL2D, global_=True),
    "GlobalMaxPool": _pool(OpKind.MAXPOOL2D, global_=True),
    "Relu": _activation("relu"),
    "Sigmoid": _activation("sigmoid"),
    "HardSwish": _activation("hardswish"),
    "Gelu": _activation("gelu"),
    "Clip": _clip,
    "Add": _elementwise(OpKind.ADD, "add"),
    "Sub": _elementwise(OpKind.ADD, "sub"),
    "Mul": _elementwise(OpKind.MUL, "mul"),
    "Div": _elementwise(OpKind.MUL, "div"),
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Softmax": _softmax,
    "Concat": _concat,
    "Reshape": _layout(OpKind.RESHAPE),
    "Flatten": _layout(OpKind.RESHAPE),
    "Squeeze": _layout(OpKind.RESHAPE),
    "Unsqueeze": _layout(OpKind.RESHAPE),
    "Transpose": _layout(OpKind.PERMUTE),
    "Slice": _layout(OpKind.SLICE),
    "Split": _layout(OpKind.SLICE),
    "Expand": _layout(OpKind.EXPAND),
    "Gather": _gather,
    "Identity": _alias,
    "Dropout": _alias,
    "Cast": _alias,
    "QuantizeLinear": _quantize,
    "DequantizeLinear": _quantize,
}
# Ops that compute shapes or constants: folded away when their inputs are constants.
_SHAPE_OPS = frozenset({"Shape", "Size", "Constant", "ConstantOfShape", "Range"})


# -- the graph --------------------------------------------------------------------------------
def onnx_to_graph(model: Any, *, batch: int = 1, name: str = "model") -> Graph:
    """The IR graph of an in-memory ``onnx.ModelProto`` (module doc)."""
    opset = _opset(model)
    initializers = {i.name: i for i in model.graph.initializer}
    ctx = _Ctx(Graph(), opset, tensor_shapes(model, batch), initializers,
               constant=set(initializers),
               dtypes={v.name: v.type.tensor_type.elem_type
                       for v in (*model.graph.input, *model.graph.value_info)})
    for value in model.graph.input:
        if value.name in initializers:
            continue
        op_name = ctx.unique(value.name)
        shape = ctx.shapes.get(value.name)
        if shape is None:
            raise OnnxError(f"{name}: the shape of input {value.name!r} is unknown")
        ctx.graph.add_op(Op(op_name, OpKind.INPUT, (), TensorSpec(shape), source="model input"))
        ctx.names[value.name] = op_name
    for node in model.graph.node:
        if node.domain in QONNX_DOMAINS and node.op_type in QONNX_OPS:
            _qonnx_quant(ctx, node)
            continue
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedOpError(f"unsupported op {node.domain}.{node.op_type} at "
                                     f"{_where(node, opset)}: only the default ONNX domain is "
                                     "read")
        data = [t for t in node.input if t]
        if node.op_type == "Constant" and "value" in attributes(node):
            ctx.values[node.output[0]] = onnx_package().numpy_helper.to_array(attributes(node)["value"])
        if node.op_type in _SHAPE_OPS or (data and all(t in ctx.constant for t in data)
                                          and node.op_type not in ("DequantizeLinear",)):
            ctx.constant.update(node.output)  # shape arithmetic or weight preprocessing
            continue
        if node.op_type == "DequantizeLinear" and data[0] in ctx.constant:
            ctx.constant.update(node.output)
            ctx.bits[node.output[0]] = _qdq_bits(ctx, node)
            continue
        converter = CONVERTERS.get(node.op_type)
        if converter is None:
            raise UnsupportedOpError(
                f"unsupported op {node.op_type!r} at {_where(node, opset)}; supported: "
                f"{', '.join(sorted(CONVERTERS))}")
        try:
            converter(ctx, node)
        except (KeyError, IndexError, ValueError) as err:
            raise UnsupportedOpError(f"{_where(node, opset)} cannot be read: {type(err).__name__}: "
                                     f"{shown(str(err))}") from None
    for i, value in enumerate(model.graph.output):
        if value.name not in ctx.names:
            continue
        src = ctx.names[value.name]
        spec = ctx.graph.op(src).output
        ctx.graph.add_op(Op(ctx.unique("output" if i == 0 else f"output_{i}"), OpKind.OUTPUT,
                            (spec,), spec, source="model output"), inputs=[src])
    if not ctx.graph.compute_ops():
        raise TraceError(f"{name}: the ONNX graph has no compute layer (Conv, Gemm, MatMul)")
    verify(ctx.graph)
    ctx.graph.notes.append(f"read from ONNX (opset {opset})")
    return ctx.graph
