"""Measure each layer's sensitivity once, then solve the bit allocation under the budget exactly.

The approach of HAWQ-V2/V3 (Dong et al., NeurIPS 2020; Yao et al., ICML 2021), with measured
accuracy instead of a Hessian trace:

1. **Measure.** With every searched layer at ``max_bits``, the accuracy ``a0``; then, for each
   searched layer ``l`` and width ``b`` below ``max_bits``, the accuracy with only ``l`` at
   ``b`` (weights and activations): its sensitivity is ``s[l][b] = a0 - acc``. That is one
   proposal each, ``1 + layers * (widths - 1)`` in all, measured by the search loop with real
   accuracy like any other proposal.
2. **Solve.** The saving of ``l`` at ``b`` is the budget metric of the all-``max_bits`` model
   less that of the model with only ``l`` at ``b``: the simulator's per-layer table. Choosing
   one width per layer to minimize the summed sensitivity while saving at least what the
   budget needs is a multiple-choice knapsack, solved exactly by dynamic programming over
   layers (:func:`solve_allocation`).
3. **Verify.** A layer's traffic depends on its neighbours' widths, so the table's sum is not
   the model's cost exactly: the solution is costed as a whole, and while it misses the budget
   the need is raised by the miss and the knapsack solved again. The verified allocation is
   the last proposal; its accuracy is measured like every other.

Compared with DDPG (HAQ) it needs no exploration: a handful of evaluations per layer, and one
solve per budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from systolab.search.agents.base import Proposal, SearchContext
from systolab.search.agents.space import PolicySpace, bit_knobs
from systolab.search.budget import BudgetError, CostLike

__all__ = ["SensitivityAgent", "solve_allocation"]

MAX_STATES = 200_000  # partial choices kept per layer (a bound never reached in practice)
TIGHTEN_ROUNDS = 8


def solve_allocation(sensitivity: Sequence[Sequence[float]], saving: Sequence[Sequence[float]],
                     need: float) -> list[int] | None:
    """Per layer, the option index minimizing ``sum(sensitivity[l][i])`` subject to
    ``sum(saving[l][i]) >= need``; ``None`` if no choice saves enough. Ties go to the larger
    saving, then to the earlier options.

    Dynamic programming over layers that keeps, after each layer, only the partial choices no
    other beats on both summed sensitivity and summed saving: a dominated partial choice cannot
    lead to a better whole one, so the result is exact. (Should the kept front ever exceed
    :data:`MAX_STATES`, it is thinned evenly, and the result is then the best of those kept.)

    >>> solve_allocation([[0, 1, 3], [0, 2, 5]], [[0, 2, 4], [0, 3, 4]], 5)
    [1, 1]
    """
    states: list[tuple[float, float, tuple[int, ...]]] = [(0.0, 0.0, ())]
    for s_row, v_row in zip(sensitivity, saving, strict=True):
        merged = sorted(((s + si, v + vi, (*choice, i)) for s, v, choice in states
                         for i, (si, vi) in enumerate(zip(s_row, v_row, strict=True))),
                        key=lambda e: (-e[1], e[0], e[2]))
        states, lowest = [], math.inf
        for entry in merged:  # saving descending: keep what is less sensitive than all above
            if entry[0] < lowest:
                states.append(entry)
                lowest = entry[0]
        if len(states) > MAX_STATES:
            stride = len(states) / MAX_STATES
            states = [states[int(k * stride)] for k in range(MAX_STATES)]
    feasible = [e for e in states if e[1] >= need - 1e-9 * max(abs(need), 1.0)]
    if not feasible:
        return None
    return list(min(feasible, key=lambda e: (e[0], -e[1], e[2]))[2])


class SensitivityAgent:
    """See the module doc: measure per-layer sensitivities, then solve the budget exactly."""

    name = "sensitivity"

    def __init__(self, ctx: SearchContext) -> None:
        if ctx.budget is None:
            raise BudgetError("the sensitivity agent needs a budget: give --latency, --energy "
                              "or --size")
        self.ctx = ctx
        self.space = PolicySpace(ctx, bit_knobs(ctx))
        self.space.check_feasible()
        self.groups = self.space.from_last(("w_bits", "a_bits"))[::-1]  # first layer first
        self.widths = list(range(ctx.min_bits, ctx.max_bits + 1))
        # probe 0: all at max_bits; then (group, width) for every width below max_bits
        self.probes: list[tuple[int, int] | None] = [None] + [
            (g, b) for g in range(len(self.groups)) for b in self.widths[:-1]]
        self.accuracy: list[float] = []
        self.finished = False

    def _assignment(self, widths: Sequence[int]) -> list[int]:
        idx = [0] * len(self.space)
        for group, bits in zip(self.groups, widths, strict=True):
            for k in group:
                idx[k] = self.space.nearest(k, bits)
        return idx

    def _probe(self, probe: tuple[int, int] | None) -> list[int]:
        widths = [self.widths[-1]] * len(self.groups)
        if probe is not None:
            widths[probe[0]] = probe[1]
        return self._assignment(widths)

    def propose(self) -> Proposal | None:
        if self.finished:
            return None
        n = len(self.accuracy)
        if n < len(self.probes):
            return Proposal(self.space.policy(self._probe(self.probes[n])), {"probe": n})
        return Proposal(self.space.policy(self._assignment(self.solve())), {"probe": None})

    def tables(self) -> tuple[float, list[list[float]], list[list[float]]]:
        """The budget metric with every searched layer at ``max_bits``, and per layer group
        and width the sensitivity and the saving of the metric against that, from the
        probes."""
        budget = self.ctx.budget
        assert budget is not None
        top = budget.measure(self.ctx.cost(self.space.policy(self._probe(None))))
        a0 = self.accuracy[0]
        sens = [[0.0] * len(self.widths) for _ in self.groups]
        saving = [[0.0] * len(self.widths) for _ in self.groups]
        for n, probe in enumerate(self.probes[1:], start=1):
            assert probe is not None
            g, b = probe
            i = self.widths.index(b)
            sens[g][i] = a0 - self.accuracy[n]
            saving[g][i] = top - budget.measure(self.ctx.cost(self.space.policy(self._probe(probe))))
        return top, sens, saving

    def solve(self) -> list[int]:
        """The widths per searched layer (module doc, steps 2 and 3)."""
        budget = self.ctx.budget
        assert budget is not None
        top, sens, saving = self.tables()
        need = top - budget.limit
        for _ in range(TIGHTEN_ROUNDS):
            choice = solve_allocation(sens, saving, need)
            if choice is None:
                break
            widths = [self.widths[i] for i in choice]
            whole = budget.measure(self.ctx.cost(self.space.policy(self._assignment(widths))))
            if whole <= budget.limit * (1 + 1e-9):
                return widths
            need += whole - budget.limit  # the table overstated the saving by this much
        # no allocation of the table is feasible: the cheapest one, which check_feasible has
        # shown to hold
        return [self.widths[0]] * len(self.groups)

    def observe(self, proposal: Proposal, accuracy: float, cost: CostLike, reward: float) -> None:
        if proposal.data["probe"] is None:
            self.finished = True
        else:
            self.accuracy.append(accuracy)

    def state_dict(self) -> dict[str, Any]:
        return {"accuracy": list(self.accuracy), "finished": self.finished}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.accuracy = list(state["accuracy"])
        self.finished = state["finished"]
