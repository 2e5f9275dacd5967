"""Reading ONNX without weights: the ``onnx`` package on demand, node attributes, and every
tensor's shape by ONNX shape inference (:func:`tensor_shapes`), for
:mod:`compiler.frontend.onnxfile`.

Exporters compute some shapes in the graph for a dynamic batch (``Shape`` -> ``Gather`` ->
``Concat`` -> ``Expand``, as for ViT's reshape targets), which shape inference cannot see
through; those small integer tensors are folded to constants with ONNX's reference evaluator
and inference runs again. QONNX quantizers, custom ops that shape inference does not know,
are identities for it.
"""

from __future__ import annotations

import math
from typing import Any

from hwsim.errors import SystolabError

__all__ = ["QONNX_DOMAINS", "QONNX_OPS", "OnnxError", "attributes", "onnx_package",
           "tensor_shapes"]


class OnnxError(SystolabError):
    """An ONNX file that cannot be read or has a tensor whose shape cannot be known."""


def onnx_package() -> Any:
    """The ``onnx`` module, or the install hint as an error."""
    try:
        import onnx
    except ImportError:
        raise OnnxError("ONNX models need the onnx package: pip install 'systolab[onnx]'") \
            from None
    return onnx


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes by name, as Python values."""
    onnx = onnx_package()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


# QONNX (Pappalardo et al., "QONNX: representing arbitrary-precision quantized neural
# networks", 2022), as Brevitas and FINN export it: the bit width is an input of the node.
QONNX_DOMAINS = frozenset({"qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas"})
QONNX_OPS = {"Quant": 3, "IntQuant": 3, "Trunc": 4, "BipolarQuant": None}  # bit-width input


def tensor_shapes(model: Any, batch: int) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape after ONNX shape inference, symbolic dims of the inputs set to
    ``batch``; tensors whose shape stays unknown are absent. Where a shape is computed in the
    graph (``Shape`` -> ``Gather`` -> ``Concat`` -> ``Expand``, as exporters write for a
    dynamic batch), the small shape tensors are folded to constants and inference runs again."""
    onnx = onnx_package()
    model = onnx.ModelProto.FromString(model.SerializeToString())
    initializer_names = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializer_names:
            continue
        dims = value.type.tensor_type.shape.dim
        for d in dims:
            if not d.HasField("dim_value"):
                d.Clear()
                d.dim_value = batch
    for node in model.graph.node:  # QONNX quantizers keep their input's shape
        if node.domain in QONNX_DOMAINS and node.op_type in QONNX_OPS:
            data = node.input[0]
            node.ClearField("input")
            node.ClearField("attribute")
            node.input.append(data)
            node.op_type, node.domain = "Identity", ""
    shapes: dict[str, tuple[int, ...]] = {}
    for _ in range(_FOLD_ROUNDS):
        shapes = _infer(model)
        folded = _fold(model, shapes)
        if not folded:
            break
        kept = [n for n in model.graph.node if not set(n.output) <= set(folded)]
        del model.graph.node[:]
        model.graph.node.extend(kept)
        model.graph.initializer.extend(onnx.numpy_helper.from_array(v, name)
                                       for name, v in folded.items())
    for init in model.graph.initializer:
        shapes[init.name] = tuple(int(d) for d in init.dims)
    return shapes


_FOLD_ROUNDS = 4
_FOLD_MAX_ELEMENTS = 64  # shape tensors are a few integers; anything larger is data
_FOLDABLE = frozenset({"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice",
                       "Add", "Sub", "Mul", "Div", "Mod", "Equal", "Less", "Greater", "Not",
                       "And", "Or", "Where", "ConstantOfShape", "Range", "Reshape", "Constant",
                       "Identity", "Min", "Max", "Neg", "Abs", "Floor", "Ceil", "ReduceProd",
                       "Tile"})


def _infer(model: Any) -> dict[str, tuple[int, ...]]:
    onnx = onnx_package()
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as err:
        raise OnnxError(f"ONNX shape inference failed: {' '.join(str(err).split())[:300]}") \
            from None
    shapes: dict[str, tuple[int, ...]] = {}
    for value in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        t = value.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            shapes[value.name] = tuple(int(d.dim_value) for d in t.shape.dim)
    return shapes


def _fold(model: Any, shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """Values of the small integer tensors computed from shapes and constants whose shape
    inference could not see through (new ones only), by ONNX's reference evaluator."""
    import numpy as np

    onnx = onnx_package()
    from onnx.reference import ReferenceEvaluator

    values: dict[str, Any] = {}
    for init in model.graph.initializer:
        if init.data_location != onnx.TensorProto.EXTERNAL and \
                math.prod(init.dims) <= _FOLD_MAX_ELEMENTS:
            values[init.name] = onnx.numpy_helper.to_array(init)
    new: dict[str, Any] = {}
    for node in model.graph.node:
        if node.op_type not in _FOLDABLE or node.domain not in ("", "ai.onnx"):
            continue
        ins = [t for t in node.input if t]
        out: Any
        if node.op_type == "Shape":
            if ins[0] not in shapes:
                continue
            a = attributes(node)
            dims = shapes[ins[0]]
            out = [np.array(dims[a.get("start", 0):a.get("end", len(dims))], dtype=np.int64)]
        elif all(t in values for t in ins):
            try:
                out = ReferenceEvaluator(node).run(None, {t: values[t] for t in ins})
            except Exception:  # not foldable here (an op the evaluator lacks): inference decides
                continue
        else:
            continue
        for name, value in zip(node.output, out, strict=False):
            value = np.asarray(value)
            if value.size <= _FOLD_MAX_ELEMENTS and value.dtype.kind in "iub":
                values[name] = value
                new[name] = value
    return new
