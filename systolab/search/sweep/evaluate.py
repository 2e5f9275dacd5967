"""Evaluate one design point: feasibility first, then simulation of every workload.

The steps, in order (the first that fails makes the point infeasible, with its reason):

1. build the :class:`Arch` from the base and the point (impossible combinations fail here);
2. ASIC area (:func:`hwsim.area.asic_area`) against ``max_area_mm2``;
3. FPGA resources (:func:`hwsim.resources.fpga_resources`, from the Yosys-synthesized per-PE
   table) against the board times ``max_fpga_utilization``;
4. per workload: map and simulate (or, in co-design mode, search the best policy, with its
   measured accuracy when the co-design has a task), summing latency, energy and top-1 error;
   a layer that cannot be mapped names the workload and the layer;
5. ``max_latency_ms`` and ``max_energy_uj`` on the sums.

Infeasible points keep whatever metrics were computed before the failing step (area at
least, when the arch could be built), so reports can still show them. A metric that is not a
finite non-negative number makes the point infeasible and is dropped: it is never stored,
reported or put on a front.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

from hwsim.area import asic_area
from hwsim.config import Arch
from hwsim.errors import SystolabError
from hwsim.resources import PeResourceTable, fpga_resources
from systolab.pipeline import simulate_graph
from systolab.search.sweep.codesign import Sensitivities, best_measured_policy
from systolab.search.sweep.points import Point, objective_of, to_arch
from systolab.search.sweep.spec import CodesignSpec, Constraints
from systolab.search.sweep.uniform_policy import best_uniform_policy
from systolab.search.sweep.workloads import Workload

__all__ = ["Context", "PointResult", "evaluate_point"]


@dataclass(frozen=True)
class Context:
    """Everything a worker needs besides the point; built once, sent once per worker."""

    base: Arch
    workloads: tuple[Workload, ...]
    constraints: Constraints
    pe_resources: PeResourceTable | None  # None when no FPGA board is set
    mode: str = "native"
    codesign: CodesignSpec | None = None
    # per workload, its measured sensitivities (co-design with an accuracy task only)
    sensitivities: tuple[Sensitivities, ...] = ()


@dataclass(frozen=True)
class PointResult:
    """The outcome of one point. ``metrics`` has the base metrics
    (:data:`systolab.search.sweep.objectives.BASE_METRICS`) computed so far; ``details`` the
    per-workload figures (and chosen policies in co-design mode) and the area breakdown."""

    point: Point
    seq: int  # position in the sweep's enumeration: results are ordered by it, not by time
    feasible: bool
    reason: str
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def id(self) -> str:
        return self.point.id


def _fpga_check(arch: Arch, ctx: Context) -> tuple[float, str]:
    """(largest utilization fraction, reason or "") on the constraint's board."""
    board = ctx.constraints.fpga
    assert board is not None and ctx.pe_resources is not None
    report = fpga_resources(replace(arch, fpga=board), ctx.pe_resources)
    util = report.utilization
    limit = ctx.constraints.max_fpga_utilization
    over = [f"{k} {getattr(report.used, k):,}/{getattr(report.budget, k):,} ({100 * u:.0f}%)"
            for k, u in util.items() if u > limit]
    reason = (f"fpga {board.part}: exceeds {100 * limit:.0f}% of " + ", ".join(over)) if over else ""
    return max(util.values()), reason


def _simulate(arch: Arch, workload: Workload, mode: str, objective: str) -> dict[str, Any]:
    stats = simulate_graph(workload.graph, arch, mode=mode, name=workload.name, trace=False,
                           objective=objective).stats.total
    return {"latency_ms": stats.seconds * 1e3, "energy_uj": stats.energy_pj * 1e-6,
            "cycles": stats.cycles, "utilization": stats.utilization}


def _codesign(arch: Arch, index: int, ctx: Context,
              objective: str) -> tuple[dict[str, Any], str]:
    assert ctx.codesign is not None
    workload = ctx.workloads[index]
    if ctx.sensitivities:
        measured = best_measured_policy(workload, arch, ctx.codesign, ctx.sensitivities[index],
                                        ctx.mode, objective)
        return measured.to_dict(), measured.reason
    choice = best_uniform_policy(workload.graph, arch, ctx.codesign, ctx.mode, workload.name,
                                 objective)
    return {**choice.to_dict(), "policy": f"w{choice.w_bits}a{choice.a_bits}"}, choice.reason


def _finite(tree: Any) -> Any:
    """``tree`` with NaN and infinite numbers as ``None``."""
    if isinstance(tree, float) and not math.isfinite(tree):
        return None
    if isinstance(tree, dict):
        return {k: _finite(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [_finite(v) for v in tree]
    return tree


def evaluate_point(seq: int, point: Point, ctx: Context) -> PointResult:
    """Evaluate ``point`` (steps in the module doc). Never raises for a bad point: a
    :class:`SystolabError` becomes an infeasible result with the error as its reason."""
    t0 = time.perf_counter()
    metrics: dict[str, float] = {}
    details: dict[str, Any] = {}

    def done(reason: str = "") -> PointResult:
        for name, value in list(metrics.items()):  # never stored, reported or on a front
            if not (math.isfinite(value) and value >= 0):
                reason = reason or (f"{name} is {value}, not a finite non-negative number "
                                    "(check the arch's numeric fields)")
                del metrics[name]
        return PointResult(point, seq, not reason, reason, metrics, _finite(details),
                           time.perf_counter() - t0)

    try:
        arch = to_arch(ctx.base, point)
    except SystolabError as err:
        return done(f"arch: {err}")
    area = asic_area(arch)
    metrics["area_mm2"] = area.total_mm2
    details["area"] = area.to_dict()
    c = ctx.constraints
    if c.max_area_mm2 is not None and area.total_mm2 > c.max_area_mm2:
        return done(f"area {area.total_mm2:.3f} mm^2 > max_area_mm2 {c.max_area_mm2:g} "
                    f"({area.technology})")
    if c.fpga is not None:
        try:
            metrics["fpga_util"], reason = _fpga_check(arch, ctx)
        except SystolabError as err:
            return done(f"fpga: {err}")
        if reason:
            return done(reason)
    latency = energy = error = 0.0
    objective = objective_of(point)
    for index, workload in enumerate(ctx.workloads):
        try:
            if ctx.codesign is None:
                figures, reason = _simulate(arch, workload, ctx.mode, objective), ""
            else:
                figures, reason = _codesign(arch, index, ctx, objective)
        except SystolabError as err:
            return done(f"{workload.name}: {err}")
        details[workload.name] = figures
        if reason:
            return done(f"{workload.name}: {reason}")
        latency += figures["latency_ms"]
        energy += figures["energy_uj"]
        error += figures.get("error_pct", 0.0)
    metrics["latency_ms"], metrics["energy_uj"] = latency, energy
    if ctx.sensitivities:
        metrics["error_pct"] = error
    if c.max_latency_ms is not None and latency > c.max_latency_ms:
        return done(f"latency {latency:.4g} ms > max_latency_ms {c.max_latency_ms:g}")
    if c.max_energy_uj is not None and energy > c.max_energy_uj:
        return done(f"energy {energy:.4g} uJ > max_energy_uj {c.max_energy_uj:g}")
    return done()
