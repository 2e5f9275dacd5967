"""The Python API: simulate a model (or a lowered graph) on an accelerator.

>>> from systolab.zoo import get_model
>>> sim = simulate(*get_model("resnet18"), arch="edge_int8")
>>> sim.stats.total.macs
1814073344
>>> sim.stats.cycles >= sim.stats.total.roofline_cycles
True

:func:`simulate_model` takes what the command line takes as MODEL: a zoo name, a
``file.py:factory`` or an ``.onnx`` file (read without torch).

>>> simulate_model("lenet5", "stripes").stats.total.macs
416520
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.passes import compile_graph
from compiler.policy import Policy
from hwsim.config import Arch
from systolab.model_loader import load_graph, model_label
from systolab.pipeline import Simulation, simulate_graph

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["Simulation", "simulate", "simulate_graph", "simulate_model"]


def simulate(model: nn.Module, example_input: torch.Tensor, arch: Arch | str | Path, *,
             policy: Policy | str | Path | None = None, mode: str = "native",
             name: str | None = None) -> Simulation:
    """Trace ``model`` (with its pruning masks and fake-quant bits, plus ``policy``), compile
    it, and run the pipeline (:func:`systolab.pipeline.simulate_graph`) on ``arch`` (an
    :class:`Arch`, a shipped config name or a YAML path)."""
    from compiler.frontend.pytorch import trace

    t0 = time.perf_counter()
    graph = compile_graph(trace(model, example_input, policy=policy))
    t1 = time.perf_counter()
    sim = simulate_graph(graph, arch, mode=mode, name=name or type(model).__name__)
    sim.wall_seconds["trace_s"] = t1 - t0
    return sim


def simulate_model(model: str, arch: Arch | str | Path, *, batch: int = 1,
                   policy: Policy | str | Path | None = None, mode: str = "native",
                   objective: str = "latency") -> Simulation:
    """Simulate MODEL as the command line names it (a zoo name, ``file.py:factory`` or an
    ``.onnx`` file) on ``arch``, with ``policy`` applied; ``objective`` is what the mapper
    minimizes per layer."""
    t0 = time.perf_counter()
    graph = compile_graph(load_graph(model, batch=batch, policy=policy))
    t1 = time.perf_counter()
    sim = simulate_graph(graph, arch, mode=mode, name=model_label(model), objective=objective)
    sim.wall_seconds["trace_s"] = t1 - t0
    return sim
