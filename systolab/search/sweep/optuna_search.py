"""The ``optuna`` strategy: NSGA-II over the sweep's axes, asked and told in fixed batches.

Each batch asks ``strategy.batch`` trials, evaluates the points not already known (in the
store from an earlier run, or earlier in this one), then tells every trial its objective
values in trial order; an infeasible point's trial is told as failed, so NSGA-II never breeds
from it. Because the batch size is fixed by the spec and tells happen in trial order, the trial
sequence depends only on the seed, not on the executor, the worker count or completion order;
a resumed run replays the same trials, answering finished ones from the store.
"""

from __future__ import annotations

from systolab.search.sweep.evaluate import PointResult
from systolab.search.sweep.objectives import objective_vector
from systolab.search.sweep.points import Point
from systolab.search.sweep.session import Session
from systolab.search.sweep.spec import SweepSpec

__all__ = ["run_optuna"]


def run_optuna(spec: SweepSpec, run: Session) -> tuple[list[str], bool]:
    """Run ``spec.strategy.n`` trials; returns the distinct point ids in first-trial order
    and whether every trial was told (False when ``max_points`` stopped the run)."""
    import optuna
    from optuna.distributions import BaseDistribution, CategoricalDistribution
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        directions=["minimize"] * len(spec.objectives),
        sampler=optuna.samplers.NSGAIISampler(seed=spec.strategy.seed),
    )
    dists: dict[str, BaseDistribution] = {a.name: CategoricalDistribution(list(a.values)) for a in spec.axes}
    n, batch = spec.strategy.n or 0, spec.strategy.batch
    known: dict[str, PointResult] = {}
    order: list[str] = []
    while len(study.trials) < n:
        trials = [study.ask(dists) for _ in range(min(batch, n - len(study.trials)))]
        points = [Point.of(t.params) for t in trials]
        todo: list[tuple[int, Point]] = []
        for trial, point in zip(trials, points, strict=True):
            if point.id in known or any(p.id == point.id for _, p in todo):
                continue
            stored = run.store.get(point.id)
            if stored is not None:
                known[point.id] = stored
            else:
                todo.append((trial.number, point))
        known.update(run.evaluate(todo))
        if any(p.id not in known for _, p in todo):
            return order, False  # stopped by max_points: these trials stay untold
        for trial, point in zip(trials, points, strict=True):
            result = known[point.id]
            if point.id not in order:
                order.append(point.id)
                if not any(p.id == point.id for _, p in todo):
                    run.count(result)  # from the store: count it for progress once
            if result.feasible:
                study.tell(trial, list(objective_vector(spec.objectives, result.metrics)))
            else:
                study.tell(trial, state=TrialState.FAIL)
    return order, True
