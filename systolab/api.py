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
from pathlib import Path

import torch
from torch import nn

from compiler.frontend.pytorch import trace
from compiler.passes import compile_graph
from compiler.policy import Policy
from hwsim.config import Arch
from systolab.pipeline import Simulation, simulate_graph

__all__ = ["Simulation", "simulate", "simulate_graph"]


def simulate(model: nn.Module, example_input: torch.Tensor, arch: Arch | str | Path, *,
             policy: Policy | str | Path | None = None, mode: str = "native",
             name: str | None = None) -> Simulation:
    """Trace ``model`` (with its pruning masks and fake-quant bits, plus ``policy``), compile
    it, and run the pipeline (:func:`systolab.pipeline.simulate_graph`) on ``arch`` (an
    :class:`Arch`, a shipped config name or a YAML path)."""
    t0 = time.perf_counter()
    graph = compile_graph(trace(model, example_input, policy=policy))
    t1 = time.perf_counter()
    sim = simulate_graph(graph, arch, mode=mode, name=name or type(model).__name__)
    sim.wall_seconds["trace_s"] = t1 - t0
    return sim
