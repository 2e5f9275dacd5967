"""The golden (model, arch) cases and how a figure is computed, shared by the test and the
regeneration script, so both compute the same thing."""

from __future__ import annotations

from typing import Any

from compiler.frontend.pytorch import trace
from compiler.passes import compile_graph
from systolab.pipeline import simulate_graph
from systolab.zoo import get_model

CASES = [
    ("resnet18", "edge_int8"),
    ("resnet18", "stripes"),
    ("resnet18", "bitfusion_eyeriss"),
    ("mobilenet_v2", "edge_int8"),
    ("vit_small", "cloud_tpu_int8"),
    ("lenet5", "loom"),
]


def figures(model: str, arch: str) -> dict[str, Any]:
    sim = simulate_graph(compile_graph(trace(*get_model(model))), arch, name=model)
    total = sim.stats.total
    return {"cycles": total.cycles, "energy_pj": total.energy_pj, "macs": total.macs,
            "dram_bits": total.dram_read_bits + total.dram_write_bits}
