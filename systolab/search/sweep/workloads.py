"""Workloads of a sweep, traced and compiled once in the parent process.

A zoo model (or ``file.py:factory``) is traced with torch and compiled to the lowered IR; a
SCALE-Sim topology is read without torch. Workers receive the lowered graphs, never the models
(:func:`systolab.search.workers.pack`), so torch is imported at most once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler.ir import Graph
from systolab.search.sweep.spec import WorkloadSpec

__all__ = ["Workload", "load_workload"]


@dataclass(frozen=True)
class Workload:
    """A named, lowered IR graph (batch included)."""

    name: str
    graph: Graph


def load_workload(spec: WorkloadSpec) -> Workload:
    """Trace (zoo model) or read (SCALE-Sim topology) one workload and compile it."""
    if spec.topology is not None:
        from compiler.frontend.scalesim import load_scalesim_topology

        return Workload(spec.name, load_scalesim_topology(Path(spec.topology)))
    assert spec.model is not None, "the spec loader requires model or topology"
    from compiler.passes import compile_graph
    from systolab.model_loader import load_graph

    return Workload(spec.name, compile_graph(load_graph(spec.model, batch=spec.batch)))
