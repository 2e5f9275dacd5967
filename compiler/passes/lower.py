"""Lowering: the GEMM view of every compute op."""

from __future__ import annotations

import math

from compiler.errors import IRError
from compiler.ir import CONV_OPS, Gemm, Graph, Op, OpKind
from compiler.passes.manager import compiler_pass

__all__ = ["gemm_of", "lower_to_gemm"]


def gemm_of(op: Op) -> Gemm:
    """The ``Gemm(M, N, K, groups)`` that performs ``op``'s MACs.

    Conv (im2col view): M = batch * out_h * out_w, N = out_channels / groups,
    K = in_channels / groups * kh * kw. Output channels pruned away (``kept_out_channels``)
    are not computed. Linear: M = product of leading dims, N = out_features,
    K = in_features. Matmul: one GEMM per batch element (``groups``).
    """
    kept = op.sparsity.kept_out_channels or op.out_channels
    if op.kind in CONV_OPS:
        batch, cin, (oh, ow) = op.inputs[0].shape[0], op.inputs[0].shape[1], op.output.shape[-2:]
        kh, kw = op.attrs["kernel"]
        groups = int(op.attrs["groups"])
        if op.kind is OpKind.DEPTHWISE_CONV2D:
            multiplier = op.out_channels // groups
            groups = max(1, kept // multiplier)
            return Gemm(M=batch * oh * ow, N=multiplier, K=kh * kw, groups=groups)
        return Gemm(M=batch * oh * ow, N=kept // groups, K=cin // groups * kh * kw, groups=groups)
    if op.kind is OpKind.LINEAR:
        x = op.inputs[0].shape
        return Gemm(M=math.prod(x[:-1]), N=kept, K=x[-1])
    if op.kind is OpKind.MATMUL:
        a, b = op.inputs[0].shape, op.inputs[1].shape
        if len(b) == 1:
            b = (*b, 1)
        return Gemm(M=a[-2] if len(a) > 1 else 1, N=b[-1], K=a[-1],
                    groups=math.prod(op.output.shape[:-2]))
    raise IRError(f"op {op.name!r} ({op.kind.value}) is not a compute op; it has no GEMM view")


@compiler_pass(lowers=True)
def lower_to_gemm(graph: Graph) -> Graph:
    """Ensures: every compute op carries a :class:`Gemm` record with its MACs."""
    out = graph.copy()
    for op in out.compute_ops():
        out.set_record(op.name, gemm_of(op))
    return out
