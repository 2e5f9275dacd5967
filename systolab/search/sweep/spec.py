"""Sweep files: YAML -> validation -> a frozen :class:`SweepSpec`. Errors name the field.

A sweep file (``configs/sweeps/edge_sweep.yaml`` is a complete example)::

    name: edge_sweep
    base: edge_int8                 # arch config name or YAML path; axes vary it
    mode: native                    # timing mode: native | scalesim
    workloads:                      # summed: a point's latency runs each one once
      - {model: resnet18, batch: 1}           # zoo name (or file.py:factory)
      - {topology: layers.csv, name: mylayers}  # SCALE-Sim topology CSV
    axes:                           # parameter: list | {values} | {min, max, step} | log2
      array: {min: 8, max: 64, log2: true}    # powers of two in [min, max]
      dataflow: [ws, os]
      buffer_kib: {values: [32, 64, 128]}
      dram_bw_gbps: {min: 6.4, max: 25.6, step: 6.4}
      clock_mhz: 500                # a scalar is a fixed value
    strategy: {kind: random, n: 100, seed: 0} # grid | random | optuna (NSGA-II), batch: 8
    objectives: [latency_ms, energy_uj, area_mm2]   # see systolab.search.sweep.objectives
    constraints:
      max_area_mm2: 4.0             # ASIC area model (area: a table name overrides the base's)
      fpga: fpga_zynq7020           # an arch config with an fpga block, or {part, family, lut,
      max_fpga_utilization: 0.9     #   ff, dsp, bram_36k}; default: the base arch's fpga block
      max_latency_ms: 50            # post-simulation limits
      max_energy_uj: 1e5
    codesign:                       # optional: per point, the best uniform-bits policy
      bits: [8, 6, 4]
      budget: {latency_ms: 5.0}     # any of latency_ms, energy_uj, weight_mib (per workload)
      keep_first_last: true         # first and last compute layers stay at 8 bits
      task: mnist                   # optional: per-layer bits chosen by measured sensitivity,
                                    #   scored by real accuracy (one budget key; objective
                                    #   error_pct); see systolab.search.sweep.codesign

Relative paths (``base``, ``topology``, ``fpga``) are resolved against the sweep file's folder
first. Parameters are listed in :data:`systolab.search.sweep.points.PARAMS`.

>>> spec = sweep_spec_from_dict({"base": "edge_int8", "workloads": [{"model": "lenet5"}],
...                              "axes": {"array": {"min": 8, "max": 32, "log2": True}}})
>>> spec.axes[0].values, spec.strategy.kind, spec.objectives
((8, 16, 32), 'grid', ('latency_ms', 'energy_uj', 'area_mm2'))
>>> sweep_spec_from_dict({"base": "edge_int8", "workloads": [{"model": "lenet5"}],
...                       "axes": {"rows": {"min": 8, "max": 4, "step": 2}}})
Traceback (most recent call last):
...
hwsim.errors.ConfigError: axes.rows.max must be a number >= min (8), not 4
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwsim.config import FpgaBoard, load_arch
from hwsim.errors import ConfigError
from hwsim.fields import Section, keys_of, read_record, shown
from hwsim.timing import MODES
from hwsim.yamlfile import build_from_yaml
from systolab.search.sweep.objectives import OBJECTIVES
from systolab.search.sweep.points import PARAMS, Value

__all__ = ["Axis", "CodesignSpec", "Constraints", "Strategy", "SweepSpec", "WorkloadSpec",
           "load_sweep_spec", "sweep_spec_from_dict"]

STRATEGIES = ("grid", "random", "optuna")
BUDGET_KEYS = ("latency_ms", "energy_uj", "weight_mib")
_MAX_AXIS_VALUES = 10_000


@dataclass(frozen=True, slots=True)
class Axis:
    """One swept parameter and its canonical values, in the order given."""

    name: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """A zoo model (``model``, ``batch``) or a SCALE-Sim topology CSV (``topology``)."""

    name: str
    model: str | None = None
    batch: int = 1
    topology: str | None = None


@dataclass(frozen=True, slots=True)
class Strategy:
    """How points are chosen: every combination, ``n`` random ones, or ``n`` NSGA-II trials
    told in batches of ``batch`` (fixed, so results do not depend on the worker count)."""

    kind: str
    n: int | None = None
    seed: int = 0
    batch: int = 8


@dataclass(frozen=True, slots=True)
class Constraints:
    max_area_mm2: float | None = None
    fpga: FpgaBoard | None = None
    max_fpga_utilization: float = 1.0
    max_latency_ms: float | None = None
    max_energy_uj: float | None = None


@dataclass(frozen=True, slots=True)
class CodesignSpec:
    """Per hardware point, a policy from ``bits`` that meets ``budget`` (per workload; keys in
    :data:`BUDGET_KEYS`): without ``task``, the most precise uniform (w_bits, a_bits) pair;
    with a task (a built-in accuracy task), the per-layer widths of least measured accuracy
    loss, scored by real accuracy (:mod:`systolab.search.sweep.codesign`)."""

    bits: tuple[int, ...]
    budget: tuple[tuple[str, float], ...]
    keep_first_last: bool = True
    task: str | None = None


@dataclass(frozen=True, slots=True)
class SweepSpec:
    name: str
    base: str  # an arch config name or a resolved YAML path
    mode: str
    workloads: tuple[WorkloadSpec, ...]
    axes: tuple[Axis, ...]
    strategy: Strategy
    objectives: tuple[str, ...]
    constraints: Constraints
    area: str | None = None  # an area table overriding the base arch's
    codesign: CodesignSpec | None = None

    @property
    def grid_size(self) -> int:
        return math.prod(len(a.values) for a in self.axes)


def _resolve(text: str, folder: Path | None) -> str:
    """A relative path that exists next to the sweep file wins; else the text as given."""
    if folder is not None and not Path(text).is_absolute() and (folder / text).exists():
        return str(folder / text)
    return text


def _number(sec: Section, key: str) -> float:
    value = sec.data[key]
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise sec.fail(key, "a finite number", value)
    return value


def _range(sec: Section) -> list[Any]:
    lo, hi = _number(sec, "min"), _number(sec, "max")
    if hi < lo:
        raise sec.fail("max", f"a number >= min ({lo})", hi)
    if sec.has("log2"):
        if not sec.boolean("log2") or sec.has("step"):
            raise sec.fail("log2", "true, and without step", sec.data["log2"])
        if lo <= 0:
            raise sec.fail("min", "a positive number for a log2 range", lo)
        first, last = math.ceil(math.log2(lo)), math.floor(math.log2(hi))
        if last < first:
            raise sec.fail("max", f"at least one power of two in [{lo}, {hi}]", hi)
        return [2**k for k in range(first, last + 1)]
    step = sec.pos_float("step") if not isinstance(sec.data.get("step"), int) else sec.pos_int("step")
    count = math.floor((hi - lo) / step + 1e-9) + 1
    if count > _MAX_AXIS_VALUES:
        raise sec.fail("step", f"large enough for at most {_MAX_AXIS_VALUES} values", step)
    values = [lo + i * step for i in range(count)]
    if all(isinstance(v, int) for v in (lo, hi, step)):
        return values
    return [round(v, 12) for v in values]


def _axis(doc: Section, name: str) -> Axis:
    where = doc.field(name)
    raw = doc.data[name]
    if name not in PARAMS:
        raise ConfigError(f"{doc.path}: unknown parameter {name!r} (expected one of: "
                          f"{', '.join(PARAMS)})")
    if isinstance(raw, dict):
        sec = Section(raw, where, ("values", "min", "max", "step", "log2"))
        if sec.has("values"):
            if len(raw) > 1:
                raise ConfigError(f"{where} must give either values or min/max, not both")
            values = raw["values"]
            if not isinstance(values, list) or not values:
                raise sec.fail("values", "a non-empty list", values)
        else:
            if not (sec.has("min") and sec.has("max")):
                raise ConfigError(f"{where} must have values, or min and max (with step or "
                                  "log2: true)")
            values = _range(sec)
    elif isinstance(raw, list):
        if not raw:
            raise doc.fail(name, "a non-empty list", raw)
        values = raw
    else:
        values = [raw]
    canonical = [PARAMS[name].check(f"{where}[{i}]", value) for i, value in enumerate(values)]
    if len(set(canonical)) != len(canonical):
        raise ConfigError(f"{where} must list distinct values, not {shown(values)}")
    return Axis(name, tuple(canonical))


def _workloads(doc: Section, folder: Path | None) -> tuple[WorkloadSpec, ...]:
    out = []
    for sec in doc.sections("workloads", ("model", "batch", "topology", "name")):
        if sec.has("model") == sec.has("topology"):
            raise ConfigError(f"{sec.path} must have exactly one of model, topology, not "
                              f"{dict(sec.data)!r}")
        if sec.has("model"):
            model = sec.string("model")
            name = sec.string("name", model if ":" not in model else model.rsplit(":", 1)[1])
            out.append(WorkloadSpec(name, model=_resolve(model, folder), batch=sec.pos_int("batch", 1)))
        else:
            if sec.has("batch"):
                raise sec.fail("batch", "absent for a topology (its layers give the shapes)",
                               sec.data["batch"])
            topo = _resolve(sec.string("topology"), folder)
            out.append(WorkloadSpec(sec.string("name", Path(topo).stem), topology=topo))
    names = [w.name for w in out]
    if len(set(names)) != len(names):
        raise doc.fail("workloads", "workloads with distinct names (set name:)", names)
    return tuple(out)


def _strategy(doc: Section) -> Strategy:
    if not doc.has("strategy"):
        return Strategy("grid")
    sec = doc.section("strategy", ("kind", "n", "seed", "batch"))
    kind = sec.choice("kind", STRATEGIES)
    if kind == "grid":
        if sec.has("n"):
            raise sec.fail("n", "absent for a grid (it runs every combination)", sec.data["n"])
        return Strategy("grid", seed=sec.nonneg_int("seed", 0))
    return Strategy(kind, sec.pos_int("n"), sec.nonneg_int("seed", 0), sec.pos_int("batch", 8))


def _board(sec: Section, folder: Path | None) -> FpgaBoard:
    raw = sec.data["fpga"]
    if isinstance(raw, str):
        try:
            board = load_arch(_resolve(raw, folder)).fpga
        except ConfigError as err:
            raise ConfigError(f"{sec.field('fpga')}: {err}") from None
        if board is None:
            raise sec.fail("fpga", "an arch config with an fpga block", raw)
        return board
    return read_record(FpgaBoard, sec.section("fpga", keys_of(FpgaBoard)))


def _constraints(doc: Section, base_fpga: FpgaBoard | None, folder: Path | None) -> Constraints:
    if not doc.has("constraints"):
        return Constraints(fpga=base_fpga)
    sec = doc.section("constraints", ("max_area_mm2", "fpga", "max_fpga_utilization",
                                      "max_latency_ms", "max_energy_uj"))
    fpga = _board(sec, folder) if sec.has("fpga") else base_fpga
    util = sec.pos_float("max_fpga_utilization", 1.0)
    if util > 1.0:
        raise sec.fail("max_fpga_utilization", "a fraction in (0, 1]", util)
    if sec.has("max_fpga_utilization") and fpga is None:
        raise sec.fail("max_fpga_utilization", "absent without an FPGA board (set fpga:)", util)
    opt = {k: sec.pos_float(k) if sec.has(k) else None
           for k in ("max_area_mm2", "max_latency_ms", "max_energy_uj")}
    return Constraints(fpga=fpga, max_fpga_utilization=util, **opt)


def _codesign(doc: Section) -> CodesignSpec | None:
    if not doc.has("codesign"):
        return None
    sec = doc.section("codesign", ("bits", "budget", "keep_first_last", "task"))
    bits = sec.data.get("bits", [8, 6, 4])
    if (not isinstance(bits, list) or not bits or len(set(bits)) != len(bits)
            or any(not isinstance(b, int) or isinstance(b, bool) or not 1 <= b <= 16 for b in bits)):
        raise sec.fail("bits", "a list of distinct integers from 1 to 16", bits)
    budget_sec = sec.section("budget", BUDGET_KEYS)
    budget = tuple((k, budget_sec.pos_float(k)) for k in BUDGET_KEYS if budget_sec.has(k))
    if not budget:
        raise sec.fail("budget", f"a mapping with at least one of {', '.join(BUDGET_KEYS)}",
                       sec.data["budget"])
    task = None
    if sec.has("task"):
        from systolab.search.tasks import TASKS  # imports torch: only accuracy co-design pays

        task = sec.choice("task", TASKS)
        if len(budget) != 1:
            raise sec.fail("budget", "one of latency_ms, energy_uj or weight_mib with a task "
                           "(the knapsack solves one budget)", sec.data["budget"])
        if len(bits) < 2:
            raise sec.fail("bits", "at least two widths with a task (there is nothing to "
                           "choose from one)", bits)
    return CodesignSpec(tuple(sorted(bits, reverse=True)), budget,
                        sec.boolean("keep_first_last", True), task)


def sweep_spec_from_dict(data: object, folder: Path | None = None) -> SweepSpec:
    """Validate one sweep document (format in the module doc); ``folder`` is where it lives."""
    doc = Section(data, "", ("name", "base", "mode", "workloads", "axes", "strategy",
                             "objectives", "constraints", "area", "codesign"))
    base = _resolve(doc.string("base"), folder)
    try:
        base_arch = load_arch(base)
    except ConfigError as err:
        raise ConfigError(f"base: {err}") from None
    axes_raw = doc.section("axes", tuple(doc.data.get("axes") or ()))
    axes = tuple(_axis(axes_raw, name) for name in axes_raw.data)
    if not axes:
        raise doc.fail("axes", "a mapping with at least one parameter", doc.data["axes"])
    constraints = _constraints(doc, base_arch.fpga, folder)
    codesign = _codesign(doc)
    measured = codesign is not None and codesign.task is not None
    objectives = doc.data.get("objectives", ["error_pct"] * measured
                              + ["latency_ms", "energy_uj", "area_mm2"])
    if (not isinstance(objectives, list) or len(objectives) < 1
            or any(not isinstance(o, str) or o not in OBJECTIVES for o in objectives)
            or len(set(objectives)) != len(objectives)):
        raise doc.fail("objectives", "a list of distinct names from "
                       + ", ".join(OBJECTIVES), objectives)
    fpga_objs = [o for o in objectives if OBJECTIVES[o].needs_fpga]
    if fpga_objs and constraints.fpga is None:
        raise doc.fail("objectives", "without fpga objectives unless an FPGA board is set "
                       "(constraints.fpga or the base arch's fpga block)", objectives)
    if "error_pct" in objectives and not measured:
        raise doc.fail("objectives", "without error_pct unless codesign has a task (accuracy "
                       "is measured only then)", objectives)
    strategy = _strategy(doc)
    spec = SweepSpec(
        name=doc.string("name", Path(base).stem),
        base=base,
        mode=doc.choice("mode", MODES, "native"),
        workloads=_workloads(doc, folder),
        axes=axes,
        strategy=strategy,
        objectives=tuple(objectives),
        constraints=constraints,
        area=_resolve(doc.string("area"), folder) if doc.has("area") else None,
        codesign=codesign,
    )
    if strategy.kind == "grid" and spec.grid_size > 1_000_000:
        raise doc.fail("strategy", f"random or optuna for a grid of {spec.grid_size:,} points "
                       "(grid allows up to 1,000,000)", "grid")
    return spec


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; errors start with the file name."""
    path = Path(path)
    return build_from_yaml(path, lambda data: sweep_spec_from_dict(data, path.parent),
                           "sweep file")
