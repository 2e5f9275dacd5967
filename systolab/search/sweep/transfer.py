"""The transfer table of a co-design sweep: every front point's policy run on every front
point's hardware (HAQ, Wang et al., CVPR 2019, Table 1, which runs the policy specialized for
one accelerator on the others).

A policy's accuracy does not depend on the hardware it runs on, so each row keeps the error
measured in the sweep; latency and energy are simulated for every (policy, hardware) pair, and
a cell says whether the row's policy meets the sweep's budget on the column's hardware. The
diagonal is what the sweep chose; off the diagonal, a specialized policy is typically either
over the budget or slower than the column's own.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from hwsim.config import load_arch
from hwsim.errors import ConfigError
from hwsim.outfiles import replacing
from systolab.search.sweep.codesign import pinned_layers, policy_of
from systolab.search.sweep.evaluate import PointResult
from systolab.search.sweep.points import objective_of, to_arch
from systolab.search.sweep.runner import SweepOutcome
from systolab.search.sweep.workloads import load_workload

__all__ = ["TransferTable", "transfer_table", "write_transfer"]

MAX_POINTS = 8


@dataclass(frozen=True)
class TransferTable:
    """``latency_ms[i][j]`` and ``energy_uj[i][j]``: the policies of ``points[i]`` (one per
    workload, summed) on the hardware of ``points[j]``; ``holds[i][j]``: within the budget for
    every workload; ``error_pct[i]``: the policies' measured top-1 error (summed)."""

    points: tuple[PointResult, ...]
    latency_ms: tuple[tuple[float, ...], ...]
    energy_uj: tuple[tuple[float, ...], ...]
    holds: tuple[tuple[bool, ...], ...]
    error_pct: tuple[float, ...]


def _spread(front: list[PointResult], count: int) -> list[PointResult]:
    """At most ``count`` front points, evenly spread over the front sorted by latency."""
    front = sorted(front, key=lambda r: (r.metrics["latency_ms"], r.seq))
    if len(front) <= count:
        return front
    step = (len(front) - 1) / (count - 1)
    return [front[round(k * step)] for k in range(count)]


def transfer_table(outcome: SweepOutcome, max_points: int = MAX_POINTS) -> TransferTable:
    """The table of the module doc over at most ``max_points`` points of the front."""
    from systolab.search.costs import CostModel  # imports torch: co-design sweeps have it

    spec = outcome.spec
    if spec.codesign is None or spec.codesign.task is None:
        raise ConfigError("a transfer table needs a co-design sweep with a task (codesign.task)")
    points = _spread(list(outcome.front), max_points)
    base = load_arch(spec.base)
    workloads = [load_workload(w) for w in spec.workloads]
    (metric, limit), = spec.codesign.budget
    pinned = [pinned_layers(w.graph, spec.codesign.keep_first_last) for w in workloads]
    policies = [[policy_of(pin, r.details[w.name]["bits"])
                 for w, pin in zip(workloads, pinned, strict=True)] for r in points]
    latency, energy, holds = [], [], []
    columns = []
    for r in points:
        arch = to_arch(base, r.point)
        columns.append([CostModel(w.graph, arch, mode=spec.mode, name=w.name,
                                  objective=objective_of(r.point)) for w in workloads])
    for row in policies:
        lat_row, en_row, ok_row = [], [], []
        for costs in columns:
            figures = [c.evaluate(p) for c, p in zip(costs, row, strict=True)]
            lat_row.append(sum(f.latency_ms for f in figures))
            en_row.append(sum(f.energy_uj for f in figures))
            ok_row.append(all(getattr(f, metric) <= limit * (1 + 1e-9) for f in figures))
        latency.append(tuple(lat_row))
        energy.append(tuple(en_row))
        holds.append(tuple(ok_row))
    return TransferTable(tuple(points), tuple(latency), tuple(energy), tuple(holds),
                         tuple(r.metrics["error_pct"] for r in points))


def write_transfer(table: TransferTable, path: str | Path) -> Path:
    """One row per (policy, hardware) pair as CSV."""
    with replacing(Path(path), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["policy_of", "hardware", "error_pct", "latency_ms", "energy_uj",
                         "within_budget", "own"])
        for i, src in enumerate(table.points):
            for j, dst in enumerate(table.points):
                writer.writerow([src.point.label, dst.point.label, table.error_pct[i],
                                 table.latency_ms[i][j], table.energy_uj[i][j],
                                 table.holds[i][j], i == j])
    return Path(path)
