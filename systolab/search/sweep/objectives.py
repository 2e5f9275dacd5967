"""Objectives a sweep can minimize: base metrics and their products (a registry).

Every evaluated point carries the base metrics (summed over the sweep's workloads: running
each workload once): ``latency_ms``, ``energy_uj``, ``area_mm2`` (ASIC model,
:mod:`hwsim.area`) and, with an FPGA budget, ``fpga_util`` (the largest of the LUT, FF, DSP and
BRAM utilization fractions) and, in co-design with an accuracy task, ``error_pct`` (top-1
error in percent of each workload's chosen policy, summed). Products are the usual figures of
merit: energy-delay product, and delay/energy/energy-delay times area.

>>> m = {"latency_ms": 2.0, "energy_uj": 3.0, "area_mm2": 0.5}
>>> [OBJECTIVES[k].value(m) for k in ("latency_ms", "edp", "edap")]
[2.0, 6.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["BASE_METRICS", "OBJECTIVES", "Objective", "objective_vector"]

BASE_METRICS = ("latency_ms", "energy_uj", "area_mm2", "fpga_util", "error_pct")


@dataclass(frozen=True, slots=True)
class Objective:
    """A quantity to minimize, computed from a point's base metrics."""

    name: str
    unit: str
    value: Callable[[Mapping[str, float]], float]
    needs_fpga: bool = False


def _metric(name: str) -> Callable[[Mapping[str, float]], float]:
    return lambda m: m[name]


def _product(*names: str) -> Callable[[Mapping[str, float]], float]:
    def value(m: Mapping[str, float]) -> float:
        out = 1.0
        for n in names:
            out *= m[n]
        return out
    return value


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    Objective("latency_ms", "ms", _metric("latency_ms")),
    Objective("energy_uj", "uJ", _metric("energy_uj")),
    Objective("area_mm2", "mm^2", _metric("area_mm2")),
    Objective("fpga_util", "fraction", _metric("fpga_util"), needs_fpga=True),
    Objective("error_pct", "%", _metric("error_pct")),
    Objective("edp", "uJ*ms", _product("energy_uj", "latency_ms")),
    Objective("latency_area", "ms*mm^2", _product("latency_ms", "area_mm2")),
    Objective("energy_area", "uJ*mm^2", _product("energy_uj", "area_mm2")),
    Objective("edap", "uJ*ms*mm^2", _product("energy_uj", "latency_ms", "area_mm2")),
    Objective("latency_fpga", "ms", _product("latency_ms", "fpga_util"), needs_fpga=True),
)}


def objective_vector(objectives: Sequence[str], metrics: Mapping[str, float]) -> tuple[float, ...]:
    """The values of ``objectives`` (names in :data:`OBJECTIVES`) for a point's metrics."""
    return tuple(OBJECTIVES[o].value(metrics) for o in objectives)
