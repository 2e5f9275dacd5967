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
   the model's cost exactly: solutions are costed as a whole, and while none meets the budget
   the need is raised by the smallest miss and the knapsack solved again. Summed single-layer
   drops also misjudge layers that interact (two layers at 2 bits can lose far more than
   their drops add up to), so the :data:`CANDIDATES` least sensitive allocations that meet
   the budget, and the widest uniform width that does, are measured with real accuracy; the
   most accurate of them is the last proposal, the answer.

Compared with DDPG (HAQ) it needs no exploration: a handful of evaluations per layer, one
solve per budget, and a few more to verify.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from systolab.search.agents.base import Proposal, SearchContext
from systolab.search.agents.space import PolicySpace, bit_knobs, keep_knobs
from systolab.search.budget import BudgetError, CostLike

__all__ = ["CANDIDATES", "SensitivityAgent", "solve_allocation", "solve_allocations"]

KEEP_PROBES = 6  # keep ratios measured per layer, spread over its allowed values
MAX_STATES = 200_000  # partial choices kept per layer (a bound never reached in practice)
TIGHTEN_ROUNDS = 8
CANDIDATES = 4  # allocations of the knapsack's front measured before answering


def _spread(values: Sequence[float], count: int) -> list[float | None]:
    """At most ``count`` of ``values`` (ascending), evenly spread, the largest always kept."""
    if len(values) <= count:
        return list(values)
    step = (len(values) - 1) / (count - 1)
    return [values[round(i * step)] for i in range(count)]


def solve_allocation(sensitivity: Sequence[Sequence[float]], saving: Sequence[Sequence[float]],
                     need: float) -> list[int] | None:
    """Per layer, the option index minimizing ``sum(sensitivity[l][i])`` subject to
    ``sum(saving[l][i]) >= need``; ``None`` if no choice saves enough. Ties go to the larger
    saving, then to the earlier options (:func:`solve_allocations`' first).

    >>> solve_allocation([[0, 1, 3], [0, 2, 5]], [[0, 2, 4], [0, 3, 4]], 5)
    [1, 1]
    """
    best = solve_allocations(sensitivity, saving, need, 1)
    return best[0] if best else None


def solve_allocations(sensitivity: Sequence[Sequence[float]], saving: Sequence[Sequence[float]],
                      need: float, count: int) -> list[list[int]]:
    """Up to ``count`` allocations that save at least ``need``, least summed sensitivity first:
    the first is the exact optimum, the others the next points of the Pareto front of
    (sensitivity, saving) that still save enough.

    Dynamic programming over layers that keeps, after each layer, only the partial choices no
    other beats on both summed sensitivity and summed saving: a dominated partial choice cannot
    lead to a better whole one, so the result is exact. (Should the kept front ever exceed
    :data:`MAX_STATES`, it is thinned evenly, and the result is then the best of those kept.)

    >>> solve_allocations([[0, 1, 3], [0, 2, 5]], [[0, 2, 4], [0, 3, 4]], 5, 3)
    [[1, 1], [2, 1]]
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
    feasible.sort(key=lambda e: (e[0], -e[1], e[2]))
    return [list(e[2]) for e in feasible[:count]]


Setting = tuple[int | None, float | None]  # one layer's (bits, keep); None: not searched


class SensitivityAgent:
    """See the module doc: measure per-layer sensitivities, then solve the budget exactly.

    ``fields`` says what is searched: ``("bits",)`` (one width per layer for weights and
    activations), ``("keep",)`` (output-channel keep ratios) or both. With both, a layer's
    sensitivity to a (width, keep) pair is taken as the sum of its two measured sensitivities
    (one probe per width and one per keep ratio, not per pair); its saving is measured for the
    pair itself, which costs only simulator time."""

    name = "sensitivity"

    def __init__(self, ctx: SearchContext, fields: Sequence[str] = ("bits",)) -> None:
        if ctx.budget is None:
            raise BudgetError("the sensitivity agent needs a budget: give --latency, --energy "
                              "or --size")
        self.ctx = ctx
        knobs = [*(bit_knobs(ctx) if "bits" in fields else []),
                 *(keep_knobs(ctx) if "keep" in fields else [])]
        self.space = PolicySpace(ctx, knobs)
        self.space.check_feasible()
        by_layer: dict[int, list[int]] = {}
        for k, knob in enumerate(self.space.knobs):
            by_layer.setdefault(knob.layer, []).append(k)
        self.groups = [by_layer[layer] for layer in sorted(by_layer)]  # knob indices, per layer
        self.widths = list(range(ctx.min_bits, ctx.max_bits + 1))
        self.bits: list[list[int | None]] = []  # per group: the widths it may take
        self.keeps: list[list[float | None]] = []  # per group: the keep ratios it may take
        for group in self.groups:
            fields_here = {self.space.knobs[k].field for k in group}
            keep = next((self.space.knobs[k] for k in group if self.space.knobs[k].field == "keep"),
                        None)
            self.bits.append(list(self.widths) if "w_bits" in fields_here else [None])
            self.keeps.append(_spread(keep.values, KEEP_PROBES) if keep is not None else [None])
        # probe 0: the top setting; then each lower width and each lower keep, one layer at a time
        self.probes: list[tuple[int, Setting] | None] = [None]
        for g in range(len(self.groups)):
            self.probes += [(g, (b, None)) for b in self.bits[g][:-1] if b is not None]
            self.probes += [(g, (None, k)) for k in self.keeps[g][:-1] if k is not None]
        self.accuracy: list[float] = []  # the probes', then the candidates'
        self.finished = False
        self._candidates: list[list[Setting]] | None = None

    def _top(self, g: int) -> Setting:
        return self.bits[g][-1], self.keeps[g][-1]

    def _assignment(self, settings: Sequence[Setting]) -> list[int]:
        idx = [0] * len(self.space)
        for g, (group, (bits, keep)) in enumerate(zip(self.groups, settings, strict=True)):
            top_bits, top_keep = self._top(g)
            for k in group:
                field = self.space.knobs[k].field
                value = (keep if keep is not None else top_keep) if field == "keep" else \
                    (bits if bits is not None else top_bits)
                idx[k] = self.space.nearest(k, float(value))  # type: ignore[arg-type]
        return idx

    def _probe(self, probe: tuple[int, Setting] | None) -> list[int]:
        settings = [self._top(g) for g in range(len(self.groups))]
        if probe is not None:
            settings[probe[0]] = probe[1]
        return self._assignment(settings)

    def _options(self, g: int) -> list[Setting]:
        return [(b, k) for b in self.bits[g] for k in self.keeps[g]]

    def propose(self) -> Proposal | None:
        if self.finished:
            return None
        n = len(self.accuracy)
        if n < len(self.probes):
            return Proposal(self.space.policy(self._probe(self.probes[n])), {"probe": n})
        if self._candidates is None:  # a function of the probes: recomputed after a resume
            self._candidates = self.candidates()
        c = n - len(self.probes)
        if c < len(self._candidates):
            return Proposal(self.space.policy(self._assignment(self._candidates[c])),
                            {"probe": n})
        measured = self.accuracy[len(self.probes):]
        best = max(range(len(measured)), key=lambda i: (measured[i], -i))
        return Proposal(self.space.policy(self._assignment(self._candidates[best])),
                        {"probe": None})

    def _measure(self, idx: list[int]) -> float:
        budget = self.ctx.budget
        assert budget is not None
        return budget.measure(self.ctx.cost(self.space.policy(idx)))

    def tables(self) -> tuple[float, list[list[float]], list[list[float]]]:
        """The budget metric at the top setting, and per layer and option (:meth:`_options`)
        the sensitivity (from the probes' accuracy) and the saving of the metric."""
        a0 = self.accuracy[0]
        drop: dict[tuple[int, Setting], float] = {}
        for n, probe in enumerate(self.probes[1:], start=1):
            assert probe is not None
            drop[probe] = a0 - self.accuracy[n]
        top = self._measure(self._probe(None))
        sens, saving = [], []
        for g in range(len(self.groups)):
            top_bits, top_keep = self._top(g)
            options = self._options(g)
            sens.append([drop.get((g, (b, None)), 0.0) if b != top_bits else 0.0
                         for b, _ in options])
            for i, (_, k) in enumerate(options):
                if k != top_keep:
                    sens[-1][i] += drop[(g, (None, k))]
            saving.append([top - self._measure(self._probe((g, o))) for o in options])
        return top, sens, saving

    def solve(self) -> list[Setting]:
        """The least sensitive setting per searched layer that meets the budget as a whole
        (module doc, steps 2 and 3)."""
        return self.candidates()[0]

    def candidates(self) -> list[list[Setting]]:
        """The settings measured before answering (module doc, step 3): up to
        :data:`CANDIDATES` allocations of the knapsack that meet the budget as a whole, least
        sensitive first, then the widest uniform setting that meets it, without repeats."""
        budget = self.ctx.budget
        assert budget is not None
        top, sens, saving = self.tables()
        need = top - budget.limit
        found: list[list[Setting]] = []
        for _ in range(TIGHTEN_ROUNDS):
            choices = solve_allocations(sens, saving, need, CANDIDATES)
            misses = []
            for choice in choices:
                settings = [self._options(g)[i] for g, i in enumerate(choice)]
                whole = self._measure(self._assignment(settings))
                if whole <= budget.limit * (1 + 1e-9):
                    found.append(settings)
                else:
                    misses.append(whole - budget.limit)
            if found or not choices:
                break
            need += min(misses)  # the table overstated the saving by at least this much
        uniform = self._widest_uniform()
        if uniform is not None and uniform not in found:
            found.append(uniform)
        if not found:  # the cheapest setting, which check_feasible has shown to hold
            found.append([(self.bits[g][0], self.keeps[g][0]) for g in range(len(self.groups))])
        return found

    def _widest_uniform(self) -> list[Setting] | None:
        """Every searched layer at one width (the widest that meets the budget), keeps at
        the top: HAQ's fixed-precision baseline, measured as a safety net."""
        budget = self.ctx.budget
        assert budget is not None
        if any(b is None for bits in self.bits for b in bits):
            return None  # keep ratios only: no width to make uniform
        for width in reversed(self.widths):
            settings: list[Setting] = [(width, self._top(g)[1]) for g in range(len(self.groups))]
            if self._measure(self._assignment(settings)) <= budget.limit * (1 + 1e-9):
                return settings
        return None

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
