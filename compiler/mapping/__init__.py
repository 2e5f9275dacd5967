"""Mapping a lowered IR graph onto an accelerator, and code generation of its Program.

>>> import torch
>>> from torch import nn
>>> from compiler.frontend.pytorch import trace
>>> from compiler.passes import compile_graph
>>> from hwsim.config import load_arch
>>> graph = compile_graph(trace(nn.Sequential(nn.Linear(256, 64)), torch.randn(32, 256)))
>>> plan = map_model(graph, load_arch("edge_int8")).plan("0")
>>> plan.gemm, plan.mapping.dataflow, plan.mapping.folds
(Gemm(M=32, N=64, K=256, groups=1), 'os', (2, 1, 4))
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.errors import MappingError
from compiler.ir import COMPUTE_OPS, CONV_OPS, Gemm, Graph, Op, OpKind
from compiler.mapping.codegen import op_layer, tensor_bits
from compiler.mapping.geometry import ConvGeometry
from compiler.mapping.sparsity import SparsityEffect, sparsity_effect
from compiler.mapping.tiling import GemmMapping, check_objective, map_gemm
from hwsim.config import Arch
from hwsim.errors import SystolabError
from hwsim.isa import Layer, Program

__all__ = ["GemmMapping", "LayerPlan", "MappedModel", "map_gemm", "map_model", "map_op"]


@dataclass(frozen=True, slots=True)
class LayerPlan:
    """What one op became: its GEMM (compute ops), the mapping chosen, notes for the report."""

    op: Op
    gemm: Gemm | None
    mapping: GemmMapping | None
    sparsity: SparsityEffect | None


@dataclass(frozen=True, slots=True)
class MappedModel:
    graph: Graph
    arch: Arch
    plans: tuple[LayerPlan, ...]  # ops that cost something, in execution order
    program: Program

    def plan(self, name: str) -> LayerPlan:
        for p in self.plans:
            if p.op.name == name:
                return p
        raise KeyError(name)


def _input_word_bits(graph: Graph, op: Op, gemm: Gemm, bits: dict[str, int],
                     scalesim: bool) -> float:
    """Bits per input element as loads move it: the input tensor's stored width
    (:func:`~compiler.mapping.codegen.tensor_bits`); a convolution's tiles move their
    footprint of it (:mod:`compiler.mapping.geometry`). SCALE-Sim's folds tile the im2col
    matrix, which the array's input path expands on chip: there the width is spread over it."""
    source = graph.inputs_of(op.name)[0]
    stored = bits[source]
    if op.kind not in CONV_OPS or not scalesim:
        return float(stored)
    unique = graph.op(source).output.numel
    return stored * min(1.0, unique / (gemm.M * gemm.K * gemm.groups))


def _weight_word_bits(graph: Graph, op: Op, effect: SparsityEffect, bits: dict[str, int]) -> float:
    """Stored bits per weight: the sparsity format's, or for a matmul the stored width of its
    second operand (an activation playing the weight)."""
    if op.kind is OpKind.MATMUL:
        return float(bits[graph.inputs_of(op.name)[1]])
    return effect.weight_word_bits


def map_model(graph: Graph, arch: Arch, name: str = "model", mode: str = "native",
              objective: str = "latency") -> MappedModel:
    """Map every op of a lowered graph onto ``arch`` and generate the Program.

    Each layer's mapping is the best for ``objective`` (``latency``, ``energy`` or ``edp``;
    see :func:`map_gemm`); ``mode="scalesim"`` tiles as SCALE-Sim does.
    """
    check_objective(objective)
    bits = tensor_bits(graph)
    plans, layers = [], []
    for op in graph.ops():
        mapped = map_op(graph, op, arch, bits, mode, objective)
        if mapped is not None:
            plans.append(mapped[0])
            layers.append(mapped[1])
    if not layers:
        raise MappingError(f"model {name!r} has no op that does work on the accelerator")
    return MappedModel(graph, arch, tuple(plans), Program(name, tuple(layers)))


def map_op(graph: Graph, op: Op, arch: Arch, bits: dict[str, int], mode: str = "native",
           objective: str = "latency") -> tuple[LayerPlan, Layer] | None:
    """One op of :func:`map_model`: its plan and layer, or ``None`` if it costs nothing (a
    layout op the next op reads in place). ``bits`` is the graph's
    :func:`~compiler.mapping.codegen.tensor_bits`; an op's layer depends on the rest of
    the graph only through them."""
    gemm = mapping = effect = None
    try:
        if op.kind in COMPUTE_OPS:
            effect = sparsity_effect(op, arch)
            w_bits = effect.w_bits or op.precision.w_bits  # (decoded shared weights)
            arch.array.pe.check_bits(w_bits, op.precision.a_bits)
            gemm = graph.record(op.name, Gemm)
            scalesim = mode == "scalesim"
            mapping = map_gemm(gemm, w_bits, op.precision.a_bits,
                               bits[op.name], arch, _weight_word_bits(graph, op, effect, bits),
                               _input_word_bits(graph, op, gemm, bits, scalesim), scalesim,
                               geometry=None if scalesim else ConvGeometry.of(op),
                               k_scale=effect.k_scale, objective=objective,
                               weight_code=effect.weight_code)
        layer = op_layer(graph, op, bits, arch, mapping)
    except SystolabError as err:
        raise MappingError(f"cannot map op {op.name!r} ({op.kind.value}, from "
                           f"{op.source or 'the model'}) onto {arch.name!r}: {err}") from err
    return None if layer is None else (LayerPlan(op, gemm, mapping, effect), layer)
