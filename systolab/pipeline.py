"""The pipeline: map a lowered graph onto an accelerator and simulate its program.

This is the one place that goes from the compiler's IR to hwsim's stats; the Python API
(:func:`systolab.api.simulate`), design-space sweeps and the policy search all call
:func:`simulate_graph`. It imports no torch, so SCALE-Sim topologies and sweeps over them run
without it. The steps, top to bottom:

1. resolve the accelerator (an :class:`~hwsim.config.Arch`, a shipped name or a YAML path),
   restricted to one dataflow if the user forces one;
2. map every op onto it for the user's objective (``latency``, ``energy`` or ``edp``) and
   generate the tile program (:func:`compiler.mapping.map_model`);
3. simulate the program (:func:`hwsim.engine.simulate`).

>>> from compiler.ir import Graph, Op, OpKind, TensorSpec
>>> from compiler.passes import compile_graph
>>> x = TensorSpec((64, 256))
>>> graph = Graph()
>>> graph.add_op(Op("x", OpKind.INPUT, (), x))
'x'
>>> graph.add_op(Op("fc", OpKind.LINEAR, (x,), TensorSpec((64, 128)), weight=TensorSpec((128, 256))),
...              inputs=["x"])
'fc'
>>> sim = simulate_graph(compile_graph(graph), "edge_int8", name="mlp")
>>> sim.stats.total.macs, sim.stats.cycles >= sim.stats.total.roofline_cycles
(2097152, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.ir import Graph
from compiler.mapping import LayerPlan, MappedModel, map_model
from hwsim.config import Arch, load_arch
from hwsim.engine import simulate
from hwsim.stats import RunStats

__all__ = ["Simulation", "simulate_graph"]


@dataclass(frozen=True)
class Simulation:
    """Everything one simulation produced: the mapped program, the stats, and wall times."""

    name: str
    arch: Arch
    mode: str
    mapped: MappedModel
    stats: RunStats
    wall_seconds: dict[str, float] = field(default_factory=dict)
    objective: str = "latency"

    @property
    def graph(self) -> Graph:
        return self.mapped.graph

    def layer_rows(self) -> list[dict[str, Any]]:
        """One JSON-ready record per simulated layer: the mapping and the stats side by side."""
        by_name = {s.name: s for s in self.stats.layers}
        return [_row(p, by_name[p.op.name].to_dict()) for p in self.mapped.plans]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the model, arch, mode and mapping objective, the totals and
        :meth:`layer_rows`."""
        res = self.stats.resources
        return {"model": self.name, "arch": self.arch.name, "mode": self.mode,
                "objective": self.objective, "dataflows": list(self.arch.array.dataflows),
                "total": self.stats.total.to_dict(), "layers": self.layer_rows(),
                "fpga": res.to_dict() if res is not None else None}


def _row(plan: LayerPlan, stats: dict[str, Any]) -> dict[str, Any]:
    m = plan.mapping
    row: dict[str, Any] = {
        "name": plan.op.name,
        "op": plan.op.kind.value,
        "w_bits": plan.op.precision.w_bits if m else None,
        "a_bits": plan.op.precision.a_bits if m else None,
        "dataflow": m.dataflow if m else "vector" if plan.op.family == "vector" else "dma",
        "order": m.order if m else None,
        "n_block": m.n_block if m and m.order == "Nmnk" else None,
        "tile": [m.m_t, m.k_t, m.n_t] if m else None,
        "folds": list(m.folds) if m else None,
        "slots": {"weight": m.weight_slots, "input": m.input_slots} if m else None,
        "bound": stats["bound"],
        "ms": stats["seconds"] * 1e3,
        "energy_uj": stats["energy_pj"]["total_pj"] * 1e-6,
        "dram_bits": stats["dram_read_bits"] + stats["dram_write_bits"],
        "sparsity": plan.sparsity.note if plan.sparsity else "",
    }
    row.update({k: stats[k] for k in ("cycles", "roofline_cycles", "utilization", "macs",
                                      "stall_cycles", "busy_cycles")})
    return row


def simulate_graph(graph: Graph, arch: Arch | str | Path, *, mode: str = "native",
                   name: str = "model", trace: bool = True, objective: str = "latency",
                   dataflow: str = "auto",
                   on_progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Map a lowered graph onto ``arch`` and simulate it (the steps in the module doc).

    ``objective`` is what the mapper minimizes per layer; ``dataflow`` forces one of the
    arch's dataflows (``"auto"``: the mapper chooses). ``trace`` keeps the tile timeline for
    a Perfetto trace; searches and sweeps turn it off. ``on_progress(layers simulated,
    layers)`` is called after each layer.
    """
    arch = (arch if isinstance(arch, Arch) else load_arch(arch)).with_dataflow(dataflow)
    t0 = time.perf_counter()
    mapped = map_model(graph, arch, name, mode=mode, objective=objective)
    t1 = time.perf_counter()
    stats = simulate(mapped.program, arch, mode=mode, trace=trace, on_progress=on_progress)
    t2 = time.perf_counter()
    return Simulation(name, arch, mode, mapped, stats, {"map_s": t1 - t0, "simulate_s": t2 - t1},
                      objective)
