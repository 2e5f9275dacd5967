"""The Python API: simulate a model (or a lowered graph) on an accelerator.

>>> from systolab.zoo import get_model
>>> sim = simulate(*get_model("resnet18"), arch="edge_int8")
>>> sim.stats.total.macs
1814073344
>>> sim.stats.cycles >= sim.stats.total.roofline_cycles
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compiler.frontend.pytorch import trace
from compiler.ir import Graph
from compiler.mapping import LayerPlan, MappedModel, map_model
from compiler.passes import compile_graph
from compiler.policy import Policy
from hwsim import RunStats
from hwsim import simulate as hw_simulate
from hwsim.config import Arch, load_arch

__all__ = ["Simulation", "simulate", "simulate_graph"]


@dataclass(frozen=True)
class Simulation:
    """Everything one simulation produced: the mapped program, the stats, and wall times."""

    name: str
    arch: Arch
    mode: str
    mapped: MappedModel
    stats: RunStats
    wall_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def graph(self) -> Graph:
        return self.mapped.graph

    def layer_rows(self) -> list[dict[str, Any]]:
        """One JSON-ready record per simulated layer: the mapping and the stats side by side."""
        by_name = {s.name: s for s in self.stats.layers}
        return [_row(p, by_name[p.op.name].to_dict(), self.arch) for p in self.mapped.plans]


def _row(plan: LayerPlan, stats: dict[str, Any], arch: Arch) -> dict[str, Any]:
    m = plan.mapping
    bound = "compute" if stats["compute_bound_cycles"] >= stats["memory_bound_cycles"] else "memory"
    row: dict[str, Any] = {
        "name": plan.op.name,
        "op": plan.op.kind.value,
        "w_bits": plan.op.precision.w_bits if m else None,
        "a_bits": plan.op.precision.a_bits if m else None,
        "dataflow": m.dataflow if m else "vector" if plan.op.family == "vector" else "dma",
        "order": m.order if m else None,
        "tile": [m.m_t, m.k_t, m.n_t] if m else None,
        "folds": list(m.folds) if m else None,
        "slots": {"weight": m.weight_slots, "input": m.input_slots} if m else None,
        "bound": bound,
        "ms": stats["seconds"] * 1e3,
        "energy_uj": stats["energy_pj"]["total_pj"] * 1e-6,
        "dram_bits": stats["dram_read_bits"] + stats["dram_write_bits"],
        "sparsity": plan.sparsity.note if plan.sparsity else "",
    }
    row.update({k: stats[k] for k in ("cycles", "roofline_cycles", "utilization", "macs",
                                      "stall_cycles", "busy_cycles")})
    return row


def simulate_graph(graph: Graph, arch: Arch | str | Path, *, mode: str = "native",
                   name: str = "model") -> Simulation:
    """Map a lowered graph onto ``arch`` and simulate it (no torch involved past this point)."""
    arch = arch if isinstance(arch, Arch) else load_arch(arch)
    t0 = time.perf_counter()
    mapped = map_model(graph, arch, name, mode=mode)
    t1 = time.perf_counter()
    stats = hw_simulate(mapped.program, arch, mode=mode)
    t2 = time.perf_counter()
    return Simulation(name, arch, mode, mapped, stats, {"map_s": t1 - t0, "simulate_s": t2 - t1})


def simulate(model: nn.Module, example_input: torch.Tensor, arch: Arch | str | Path, *,
             policy: Policy | str | Path | None = None, mode: str = "native",
             name: str | None = None) -> Simulation:
    """Trace ``model`` (with its pruning masks and fake-quant bits, plus ``policy``), compile,
    map and simulate it on ``arch`` (an :class:`Arch`, a shipped config name or a YAML path)."""
    t0 = time.perf_counter()
    graph = compile_graph(trace(model, example_input, policy=policy))
    t1 = time.perf_counter()
    sim = simulate_graph(graph, arch, mode=mode, name=name or type(model).__name__)
    sim.wall_seconds["trace_s"] = t1 - t0
    return sim
