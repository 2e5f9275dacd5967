"""Design-space exploration: sweep accelerator parameters over workloads, keep the Pareto front.

A sweep file (:mod:`systolab.search.sweep.spec`) names a base accelerator, axes of parameters
(:data:`systolab.search.sweep.points.PARAMS`), workloads, a strategy (grid, random, optuna NSGA-II),
objectives (:mod:`systolab.search.sweep.objectives`), constraints (ASIC area, FPGA budgets, latency,
energy) and optionally a co-design policy search. :func:`run_sweep` evaluates points on a
process pool or a Ray cluster (:mod:`systolab.search.sweep.executors`), streams them to a SQLite store
(:mod:`systolab.search.sweep.store`) so interrupted sweeps resume, and returns the results and the
front; :func:`write_report` writes CSV, JSON and a PNG.

>>> from systolab.search.sweep import load_sweep_spec, run_sweep, write_report
>>> spec = load_sweep_spec("configs/sweeps/edge_sweep.yaml")       # doctest: +SKIP
>>> outcome = run_sweep(spec, "sweep_out", workers=2)              # doctest: +SKIP
>>> write_report(outcome, "sweep_out")                             # doctest: +SKIP
"""

from systolab.search.sweep.evaluate import Context, PointResult, evaluate_point
from systolab.search.sweep.objectives import OBJECTIVES
from systolab.search.sweep.points import PARAMS, Point, to_arch
from systolab.search.sweep.report import write_report
from systolab.search.sweep.runner import SweepOutcome, build_context, plan_points, run_sweep
from systolab.search.sweep.session import Progress
from systolab.search.sweep.spec import SweepSpec, load_sweep_spec, sweep_spec_from_dict
from systolab.search.sweep.store import StoreError, SweepStore

__all__ = [
    "OBJECTIVES",
    "PARAMS",
    "Context",
    "Point",
    "PointResult",
    "Progress",
    "StoreError",
    "SweepOutcome",
    "SweepSpec",
    "SweepStore",
    "build_context",
    "evaluate_point",
    "load_sweep_spec",
    "plan_points",
    "run_sweep",
    "sweep_spec_from_dict",
    "to_arch",
    "write_report",
]
