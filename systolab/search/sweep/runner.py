"""Run a sweep: plan points, evaluate the unfinished ones, stream results to the store.

The pipeline, top to bottom (:func:`run_sweep`):

1. build the :class:`Context`: base arch, workloads traced once, area and FPGA tables and,
   for co-design with an accuracy task, each workload's sensitivities, measured once;
2. open the store in ``out_dir`` and bind it to the sweep's fingerprint (resume check);
3. plan points (grid: every combination; random: ``n`` distinct combinations drawn with the
   seed) and evaluate those the store does not have, points that differ only in clock, DRAM
   or vector lanes one after another (they share per-layer schedules in a worker's caches);
   or, for optuna, ask NSGA-II for batches of trials and tell it the results in trial order;
4. write each result to the store as it finishes and report progress;
5. return the sweep's results in plan order and its Pareto front.

The plan and the optuna trial sequence depend only on the spec and the seed, and results are
pure functions of their point, so any executor, worker count or interruption gives the same
results and front.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hwsim.config import load_arch
from hwsim.resources import load_pe_resources
from hwsim.tables import load_area_table
from systolab.search.lock import exclusive
from systolab.search.pareto import pareto_front
from systolab.search.sweep.codesign import Sensitivities, measure_sensitivities
from systolab.search.sweep.evaluate import Context, PointResult
from systolab.search.sweep.executors import CONNECT_TIMEOUT_S, make_executor
from systolab.search.sweep.objectives import objective_vector
from systolab.search.sweep.optuna_search import run_optuna
from systolab.search.sweep.points import Point, locality_key
from systolab.search.sweep.session import Progress, Session
from systolab.search.sweep.spec import SweepSpec
from systolab.search.sweep.store import SweepStore
from systolab.search.sweep.workloads import load_workload
from systolab.search.workers import pack

__all__ = ["SweepOutcome", "build_context", "plan_points", "run_sweep"]

log = logging.getLogger(__name__)

STORE_NAME = "sweep.sqlite"


@dataclass(frozen=True)
class SweepOutcome:
    spec: SweepSpec
    results: list[PointResult]  # the sweep's points in plan order (finished ones)
    front: list[PointResult]  # the non-dominated feasible results, in plan order
    evaluated: int  # points evaluated by this run (the rest came from the store)
    complete: bool  # False when stopped by ``max_points``
    store: Path


def build_context(spec: SweepSpec) -> Context:
    """Load everything workers need, tracing each workload once."""
    needs_fpga = spec.constraints.fpga is not None
    base = load_arch(spec.base)
    if spec.area is not None:  # the sweep's technology overrides the base arch's
        base = replace(base, area=load_area_table(spec.area))
    workloads = tuple(load_workload(w) for w in spec.workloads)
    sensitivities: tuple[Sensitivities, ...] = ()
    if spec.codesign is not None and spec.codesign.task is not None:
        # measured once, here: they depend on the model and the task, not on the hardware
        sensitivities = tuple(measure_sensitivities(w, spec.codesign, ws.model)
                              for w, ws in zip(workloads, spec.workloads, strict=True))
    return Context(
        base=base,
        workloads=workloads,
        constraints=spec.constraints,
        pe_resources=load_pe_resources() if needs_fpga else None,
        mode=spec.mode,
        codesign=spec.codesign,
        sensitivities=sensitivities,
    )


def _fingerprint(spec: SweepSpec, ctx: Context) -> str:
    key = repr((ctx.base, spec.workloads, spec.constraints, spec.codesign, spec.mode))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def plan_points(spec: SweepSpec) -> list[Point]:
    """The points of a grid or random sweep, in plan order (deterministic in the seed)."""
    names = [a.name for a in spec.axes]
    sizes = [len(a.values) for a in spec.axes]
    if spec.strategy.kind == "grid":
        combos: Iterator[tuple[int, ...]] = itertools.product(*(range(n) for n in sizes))
        picks = list(combos)
    else:
        total = spec.grid_size
        n = min(spec.strategy.n or total, total)
        picks = [_decode(i, sizes) for i in random.Random(spec.strategy.seed).sample(range(total), n)]
    return [Point.of({name: spec.axes[k].values[i] for k, (name, i) in
                      enumerate(zip(names, pick, strict=True))}) for pick in picks]


def _decode(index: int, sizes: Sequence[int]) -> tuple[int, ...]:
    """Mixed-radix digits of ``index`` (last axis fastest, as itertools.product)."""
    digits = []
    for n in reversed(sizes):
        index, d = divmod(index, n)
        digits.append(d)
    return tuple(reversed(digits))


def run_sweep(spec: SweepSpec, out_dir: str | Path, *, executor: str = "local",
              workers: int = 1, address: str | None = None, resume: bool = False,
              max_points: int | None = None,
              on_progress: Callable[[Progress], None] | None = None,
              connect_timeout: float = CONNECT_TIMEOUT_S) -> SweepOutcome:
    """Run ``spec`` (steps in the module doc), storing results in ``out_dir/sweep.sqlite``.

    ``max_points`` stops after evaluating that many new points (the rest can be resumed).
    ``connect_timeout`` bounds the wait for a Ray cluster at ``address``.
    """
    ctx = build_context(spec)
    with exclusive(out_dir, "sweep"), SweepStore(Path(out_dir) / STORE_NAME) as store:
        store.claim(_fingerprint(spec, ctx), resume)
        n_total = (spec.strategy.n or 0) if spec.strategy.kind == "optuna" else len(plan_points(spec))
        ex = make_executor(executor, pack(ctx), workers, address, connect_timeout)
        runner = Session(spec, store, ex, n_total, on_progress, max_points)
        try:
            if spec.strategy.kind == "optuna":
                ids, complete = run_optuna(spec, runner)
            else:
                ids, complete = _run_planned(runner)
        finally:
            ex.close()
        results = [r for r in (store.get(i) for i in ids) if r is not None]
    feasible = [r for r in results if r.feasible]
    front_idx = pareto_front([objective_vector(spec.objectives, r.metrics) for r in feasible])
    return SweepOutcome(spec, results, [feasible[i] for i in front_idx], runner.evaluated,
                        complete, Path(out_dir) / STORE_NAME)


def _run_planned(run: Session) -> tuple[list[str], bool]:
    points = plan_points(run.spec)
    done = run.store.done_ids()
    for point in points:
        if point.id in done:
            stored = run.store.get(point.id)
            assert stored is not None
            run.count(stored)
    todo = [(seq, p) for seq, p in enumerate(points) if p.id not in done]
    # evaluated in an order that lets workers share work; stored and reported in plan order
    run.evaluate(sorted(todo, key=lambda task: locality_key(task[1])))
    return [p.id for p in points], run.evaluated == len(todo)
