"""What vector and layout ops cost: vector-unit operations and DRAM movement, stated per op.

Vector ops run on the vector unit (``lanes x ops_per_cycle`` operations per cycle); their
operation counts per output element are modelling assumptions stated below. Layout ops either
move data or are free views; the table says which. A moving layout op streams the tensor
from DRAM through the vector unit (one copy operation per element, which reorders or gathers
it) and back.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.ir import Op, OpKind

__all__ = ["LAYOUT_MOVES", "VectorCost", "vector_cost"]

# Vector-unit operations per output element (one op = one lane-cycle of a simple ALU op).
# Activations: relu 1 (max); relu6 2 (max, min); sigmoid 4 (piecewise-linear/LUT evaluation,
# as in NVDLA's LUT-based activation unit); silu 5 (sigmoid, mul); hardswish 4 (add, clamp,
# mul, shift); gelu 8 (tanh approximation: cube, two mul-adds, tanh LUT, mul).
_ACTIVATION_OPS = {"relu": 1, "relu6": 2, "sigmoid": 4, "silu": 5, "hardswish": 4, "gelu": 8}
# Softmax: max, subtract, exp (LUT), sum, multiply by reciprocal: 5 per element.
# Batch norm (not folded): scale and shift, 2. Layer norm: mean, variance (sub, square, sum),
# normalize (sub, mul), affine (mul, add): 7 per element.
_FIXED_OPS = {OpKind.SOFTMAX: 5, OpKind.BATCHNORM: 2, OpKind.LAYERNORM: 7, OpKind.ADD: 1,
              OpKind.MUL: 1}

# Upsampling: nearest copies one input element (1); bilinear weighs four neighbours (four
# multiplies, three adds: 7).
_UPSAMPLE_OPS = {"nearest": 1, "bilinear": 7}

LAYOUT_MOVES: dict[OpKind, bool] = {
    OpKind.INPUT: False,  # the model input is already in DRAM
    OpKind.OUTPUT: False,  # the producer's store is the output
    OpKind.CONSTANT: False,  # parameters are read by the op that uses them
    OpKind.RESHAPE: False,  # a view: same bytes, new shape
    OpKind.EXPAND: False,  # a broadcast view
    OpKind.SLICE: False,  # consumers read the slice in place
    OpKind.CONCAT: False,  # producers write into their slice of the concatenated tensor
    OpKind.IDENTITY: False,
    OpKind.PERMUTE: True,  # a transpose reorders the tensor: read and write it once
    OpKind.EMBEDDING: True,  # gather the looked-up rows of the table, write them out
}


@dataclass(frozen=True, slots=True)
class VectorCost:
    elements: int  # output elements
    ops_per_element: int

    @property
    def ops(self) -> int:
        return self.elements * self.ops_per_element


def vector_cost(op: Op) -> VectorCost:
    """Vector-unit work of a vector op."""
    out = op.output.numel
    if op.kind is OpKind.ACTIVATION:
        return VectorCost(out, _ACTIVATION_OPS[str(op.attrs["fn"])])
    if op.kind in (OpKind.MAXPOOL2D, OpKind.AVGPOOL2D):
        kh, kw = op.attrs["kernel"]
        # A window of kh*kw compares or adds; averaging adds one multiply by 1/(kh*kw).
        return VectorCost(out, kh * kw + (op.kind is OpKind.AVGPOOL2D))
    if op.kind is OpKind.UPSAMPLE:
        return VectorCost(out, _UPSAMPLE_OPS[str(op.attrs["mode"])])
    if op.kind is OpKind.COL2IM:
        # every element of the GEMM result is added into its output pixel once
        return VectorCost(op.inputs[0].numel, 1)
    if op.kind in _FIXED_OPS:
        return VectorCost(out, _FIXED_OPS[op.kind])
    if LAYOUT_MOVES.get(op.kind, False):  # a copy that reorders or gathers as it streams
        return VectorCost(out, 1)
    raise ValueError(f"op {op.name!r} ({op.kind.value}) does no vector-unit work")

