"""Fast baselines: uniform bits, greedy by per-layer sensitivity, and NSGA-II.

- :class:`UniformAgent` tries every searched layer at the same bit width, widest first, skipping
  widths over the budget (the "fixed precision" baseline of HAQ, Wang et al., CVPR 2019, Sec. 4).
- :class:`GreedyAgent` measures each layer's sensitivity (accuracy with only that layer at
  ``probe_bits``), then lowers the least sensitive layers first until the budget holds: the
  per-layer sensitivity analysis that HAQ and AMC (He et al., ECCV 2018) compare against.
- :class:`NSGA2Agent` searches bits with NSGA-II (Deb, Pratap, Agarwal, Meyarivan, "A fast and
  elitist multiobjective genetic algorithm: NSGA-II", IEEE TEVC 2002) through optuna's
  ``NSGAIISampler``, maximizing accuracy and minimizing latency and energy; a budget becomes
  the sampler's constraint (Deb's constrained domination), not a hard limit.
"""

from __future__ import annotations

import warnings
from typing import Any

from systolab.search.agents.base import Proposal, SearchContext
from systolab.search.agents.space import PolicySpace, bit_knobs
from systolab.search.budget import BudgetError, CostLike
from systolab.search.checkpoint import CheckpointError

__all__ = ["GreedyAgent", "NSGA2Agent", "UniformAgent"]


def _bits(bits: float) -> dict[str, float]:
    return {"w_bits": bits, "a_bits": bits}


class UniformAgent:
    """Every searched layer at one width, from ``max_bits`` down; over-budget widths skipped."""

    name = "uniform"

    def __init__(self, ctx: SearchContext) -> None:
        self.space = PolicySpace(ctx, bit_knobs(ctx))
        self.space.check_feasible()
        widths = range(ctx.max_bits, ctx.min_bits - 1, -1)
        self.candidates = [b for b in widths if self.space.holds(self.space.uniform(_bits(b)))]
        self.next = 0

    def propose(self) -> Proposal | None:
        if self.next >= len(self.candidates):
            return None
        bits = self.candidates[self.next]
        self.next += 1
        return Proposal(self.space.policy(self.space.uniform(_bits(bits))), {"bits": bits})

    def observe(self, proposal: Proposal, accuracy: float, cost: CostLike, reward: float) -> None:
        """Nothing to learn: the candidates are fixed."""

    def state_dict(self) -> dict[str, Any]:
        return {"next": self.next}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.next = state["next"]


class GreedyAgent:
    """Probe each layer at ``probe_bits`` (default ``min_bits + 2``), then lower bits of the
    least sensitive layers first, one bit at a time, first down to ``probe_bits`` and then to
    ``min_bits``, until the budget holds; the last proposal is that policy."""

    name = "greedy"

    def __init__(self, ctx: SearchContext, probe_bits: int | None = None) -> None:
        if ctx.budget is None:
            raise BudgetError("the greedy agent needs a budget: give --latency, --energy or --size")
        self.space = PolicySpace(ctx, bit_knobs(ctx))
        self.space.check_feasible()
        self.probe_bits = min(ctx.max_bits, probe_bits or ctx.min_bits + 2)
        self.layers = self.space.from_last(("w_bits", "a_bits"))[::-1]  # knob groups, first layer first
        self.probe_accuracy: list[float] = []
        self.finished = False

    def propose(self) -> Proposal | None:
        if self.finished:
            return None
        top = self.space.uniform({})
        p = len(self.probe_accuracy)
        if p < len(self.layers):
            for k in self.layers[p]:
                top[k] = self.space.nearest(k, self.probe_bits)
            return Proposal(self.space.policy(top), {"probe": p})
        return Proposal(self.space.policy(self._lowered(top)), {"probe": None})

    def _lowered(self, idx: list[int]) -> list[int]:
        # Least sensitive = highest accuracy when probed alone; ties keep layer order.
        order = sorted(range(len(self.layers)), key=lambda g: -self.probe_accuracy[g])
        for floor in (self.probe_bits, self.space.ctx.min_bits):
            for g in order:
                above = [k for k in self.layers[g] if idx[k] > self.space.nearest(k, floor)]
                while above and not self.space.holds(idx):
                    for k in above:
                        idx[k] -= 1
                    above = [k for k in above if idx[k] > self.space.nearest(k, floor)]
                if self.space.holds(idx):
                    return idx
        self.space.check_feasible()
        return idx

    def observe(self, proposal: Proposal, accuracy: float, cost: CostLike, reward: float) -> None:
        if proposal.data["probe"] is None:
            self.finished = True
        else:
            self.probe_accuracy.append(accuracy)

    def state_dict(self) -> dict[str, Any]:
        return {"probe_accuracy": list(self.probe_accuracy), "finished": self.finished}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.probe_accuracy = list(state["probe_accuracy"])
        self.finished = state["finished"]


def _budget_constraint(trial: Any) -> list[float]:
    """optuna constraint: the budget excess (feasible when <= 0)."""
    return [float(trial.user_attrs.get("budget_excess", 0.0))]


class NSGA2Agent:
    """Bits per searched layer by NSGA-II; objectives (accuracy, latency, energy)."""

    name = "nsga2"

    def __init__(self, ctx: SearchContext, population: int | None = None) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.ctx = ctx
        self.space = PolicySpace(ctx, bit_knobs(ctx))
        size = population or max(4, min(50, ctx.episodes // 4))
        with warnings.catch_warnings():  # constraints_func is marked experimental in optuna
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.NSGAIISampler(
                population_size=size, seed=ctx.seed,
                constraints_func=_budget_constraint if ctx.budget is not None else None)
        self.study = optuna.create_study(directions=["maximize", "minimize", "minimize"],
                                         sampler=sampler)
        self._pending: Any = None
        self._told: list[tuple[list[int], list[float], float | None]] = []

    def _param(self, k: int) -> str:
        knob = self.space.knobs[k]
        return f"{self.ctx.layers[knob.layer].name}.{knob.field}"

    def _ask(self) -> tuple[Any, list[int]]:
        trial = self.study.ask()
        return trial, [trial.suggest_int(self._param(k), 0, len(knob.values) - 1)
                       for k, knob in enumerate(self.space.knobs)]

    def _tell(self, trial: Any, idx: list[int], values: list[float], excess: float | None) -> None:
        if excess is not None:
            trial.set_user_attr("budget_excess", excess)
        self.study.tell(trial, values)
        self._told.append((idx, values, excess))

    def propose(self) -> Proposal:
        trial, idx = self._ask()
        self._pending = (trial, idx)
        return Proposal(self.space.policy(idx), {"trial": trial.number})

    def observe(self, proposal: Proposal, accuracy: float, cost: CostLike, reward: float) -> None:
        (trial, idx), self._pending = self._pending, None
        excess = self.ctx.budget.excess(cost) if self.ctx.budget is not None else None
        self._tell(trial, idx, [accuracy, cost.seconds, cost.energy_pj], excess)

    def state_dict(self) -> dict[str, Any]:
        # The study is not pickled (optuna's samplers hold locks): it is the seeded sampler
        # plus the trials told so far, so replaying them rebuilds it, random state included.
        return {"told": [list(t) for t in self._told]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for idx, values, excess in state["told"]:
            trial, asked = self._ask()
            if asked != list(idx):
                raise CheckpointError(f"cannot resume the nsga2 search: replayed trial {trial.number} "
                                  f"proposes {asked}, the checkpoint recorded {idx}")
            self._tell(trial, asked, list(values), excess)
