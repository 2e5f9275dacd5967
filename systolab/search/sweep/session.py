"""One run of a sweep: the store it writes to, the executor it evaluates on, and the live
counts (progress, feasible points, the front so far) that the planned and the optuna
strategies both update."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from systolab.search.pareto import ParetoFront
from systolab.search.sweep.evaluate import PointResult
from systolab.search.sweep.executors import Executor
from systolab.search.sweep.objectives import objective_vector
from systolab.search.sweep.points import Point
from systolab.search.sweep.spec import SweepSpec
from systolab.search.sweep.store import SweepStore

__all__ = ["Progress", "Session"]


@dataclass(frozen=True, slots=True)
class Progress:
    """Counts after each finished point (for a progress bar)."""

    done: int
    total: int
    feasible: int
    front: int


class Session:
    """State of one run: the store, the executor, live counts and the callback."""

    def __init__(self, spec: SweepSpec, store: SweepStore, executor: Executor, total: int,
                 on_progress: Callable[[Progress], None] | None, max_points: int | None) -> None:
        self.spec, self.store, self.executor = spec, store, executor
        self.total, self.on_progress, self.max_points = total, on_progress, max_points
        self.front = ParetoFront()
        self.done = self.feasible = self.evaluated = 0

    def count(self, result: PointResult) -> None:
        self.done += 1
        if result.feasible:
            self.feasible += 1
            self.front.add(result.id, objective_vector(self.spec.objectives, result.metrics))
        if self.on_progress is not None:
            self.on_progress(Progress(self.done, self.total, self.feasible, len(self.front)))

    @property
    def budget_left(self) -> int | None:
        return None if self.max_points is None else self.max_points - self.evaluated

    def evaluate(self, tasks: list[tuple[int, Point]]) -> dict[str, PointResult]:
        """Evaluate ``tasks`` (at most the remaining budget), storing each as it finishes."""
        left = self.budget_left
        if left is not None:
            tasks = tasks[:max(left, 0)]
        out = {}
        if tasks:
            for result in self.executor.run(tasks):
                self.store.add(result)
                self.evaluated += 1
                self.count(result)
                out[result.id] = result
        return out
