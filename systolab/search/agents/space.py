"""The discrete search space that agents act in, and the two ways of enforcing a budget.

A :class:`Knob` is one decision: the weight bits, activation bits or keep ratio of one layer,
with its allowed values in ascending order (so "lower" means cheaper). A :class:`PolicySpace`
is an ordered list of knobs; an assignment is one value index per knob, and
:meth:`PolicySpace.policy` turns it into a :class:`~compiler.policy.Policy`. Every agent,
reinforcement-learning or not, works on index vectors; which knobs exist is data
(:func:`bit_knobs`, :func:`keep_knobs`).

Budget enforcement comes in the two forms of the papers:

- :meth:`PolicySpace.lower_after` (HAQ, Wang et al., CVPR 2019, Sec. 3.3): after the agent has
  chosen every knob, lower the knobs one notch at a time from the last layer back until the
  budget holds.
- :meth:`PolicySpace.clip_before` (AMC, He et al., ECCV 2018, Sec. 3.3 and Alg. 1): before
  each decision, cap it so that the remaining knobs at their minimum can still meet the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compiler.compression.prune import kept_channels
from compiler.policy import LayerPolicy, Policy
from systolab.search.agents.base import LayerLike, SearchContext
from systolab.search.budget import BudgetError

__all__ = ["FIELDS", "Knob", "PolicySpace", "bit_knobs", "keep_knobs", "pinned_layers"]

FIELDS = ("w_bits", "a_bits", "keep")


@dataclass(frozen=True, slots=True)
class Knob:
    """One decision: ``field`` of layer number ``layer`` (its position in the context)."""

    layer: int
    field: str
    values: tuple[float, ...]


def pinned_layers(ctx: SearchContext) -> frozenset[int]:
    """Positions of the layers held at ``ctx.pinned_bits`` (first and last by default)."""
    n = len(ctx.layers)
    return frozenset({0, n - 1}) if ctx.pin_first_last and n else frozenset()


def bit_knobs(ctx: SearchContext) -> list[Knob]:
    """A weight-bits and an activation-bits knob per unpinned layer, in layer order."""
    if not 1 <= ctx.min_bits <= ctx.max_bits:
        raise BudgetError(f"bit range must satisfy 1 <= min_bits <= max_bits, not "
                          f"{ctx.min_bits}..{ctx.max_bits}")
    values = tuple(float(b) for b in range(ctx.min_bits, ctx.max_bits + 1))
    pinned = pinned_layers(ctx)
    return [Knob(i, f, values) for i in range(len(ctx.layers)) if i not in pinned
            for f in ("w_bits", "a_bits")]


def _prunable(layer: LayerLike, is_last: bool) -> bool:
    # The last layer's outputs are the classes; a depthwise layer's outputs follow its input;
    # matmuls have no weight channels to remove.
    kind = str(getattr(layer, "kind", "")).lower()
    return not is_last and not layer.depthwise and layer.out_channels > 1 and "matmul" not in kind


def keep_knobs(ctx: SearchContext) -> list[Knob]:
    """A keep-ratio knob per prunable layer: kept channel counts in ``[min_keep, 1]`` rounded to
    ``channel_multiple`` (with :func:`compiler.compression.prune.kept_channels`, the rounding
    the compression itself applies), plus the whole layer, as exact fractions of the output
    channels."""
    knobs = []
    for i, layer in enumerate(ctx.layers):
        if not _prunable(layer, i == len(ctx.layers) - 1):
            continue
        c = layer.out_channels
        lowest = max(1, math.ceil(ctx.min_keep * c))
        rounded = {kept_channels(c, k / c, ctx.channel_multiple) for k in range(lowest, c + 1)}
        # Rounding may leave [min_keep, 1] (below, or under c at keep 1): drop those, keep c.
        counts = sorted({n for n in rounded if n >= lowest} | {c})
        knobs.append(Knob(i, "keep", tuple(n / c for n in counts)))
    return knobs


class PolicySpace:
    """Knobs over ``ctx.layers``; layers without a knob stay at ``ctx.pinned_bits``, unpruned."""

    def __init__(self, ctx: SearchContext, knobs: Sequence[Knob]) -> None:
        if not knobs:
            raise BudgetError("the model has no layer left to search: every compute layer is "
                              "pinned or cannot be compressed this way")
        self.ctx = ctx
        self.knobs = tuple(knobs)
        self.features = self._features()

    def __len__(self) -> int:
        return len(self.knobs)

    # -- assignments -------------------------------------------------------------------------

    def policy(self, idx: Sequence[int]) -> Policy:
        """The policy of one value index per knob; every layer is named explicitly."""
        settings: list[dict[str, float]] = [
            {"w_bits": self.ctx.pinned_bits, "a_bits": self.ctx.pinned_bits} for _ in self.ctx.layers]
        for knob, i in zip(self.knobs, idx, strict=True):
            settings[knob.layer][knob.field] = knob.values[i]
        layers = {}
        for layer, s in zip(self.ctx.layers, settings, strict=True):
            keep = s.get("keep")
            layers[layer.name] = LayerPolicy(int(s["w_bits"]), int(s["a_bits"]),
                                             keep if keep is not None and keep < 1 else None)
        return Policy(LayerPolicy(self.ctx.pinned_bits, self.ctx.pinned_bits), layers)

    def uniform(self, values: dict[str, float]) -> list[int]:
        """Indices putting every knob of a field in ``values`` at that value (or its nearest
        allowed one) and every other knob at its highest value."""
        return [self.nearest(k, values[knob.field]) if knob.field in values
                else len(knob.values) - 1 for k, knob in enumerate(self.knobs)]

    def nearest(self, k: int, value: float) -> int:
        """The index of knob ``k``'s allowed value closest to ``value``."""
        values = self.knobs[k].values
        return min(range(len(values)), key=lambda i: abs(values[i] - value))

    def action_index(self, k: int, action: float) -> int:
        """Map an action in [0, 1] to a value index of knob ``k`` (equal-width bins)."""
        n = len(self.knobs[k].values)
        return min(n - 1, max(0, int(action * n)))

    def index_action(self, k: int, i: int) -> float:
        """The action at the centre of value ``i``'s bin (inverse of :meth:`action_index`)."""
        return (i + 0.5) / len(self.knobs[k].values)

    # -- budgets -----------------------------------------------------------------------------

    def holds(self, idx: Sequence[int]) -> bool:
        budget = self.ctx.budget
        return budget is None or budget.holds(self.ctx.cost(self.policy(idx)))

    def check_feasible(self) -> None:
        """Raise :class:`BudgetError` unless the cheapest assignment meets the budget."""
        budget = self.ctx.budget
        if budget is None:
            return
        cheapest = self.ctx.cost(self.policy([0] * len(self.knobs)))
        if not budget.holds(cheapest):
            ratio = budget.measure(cheapest) / budget.baseline
            fields = {k.field for k in self.knobs}
            hints = ["relax the budget"]
            if fields & {"w_bits", "a_bits"}:
                hints.append("lower the minimum bits")
            if "keep" in fields:
                hints.append("lower the minimum keep ratio")
            if self.ctx.pin_first_last:
                hints.append("unpin the first/last layers")
            raise BudgetError(
                f"the budget {budget.describe()} cannot be met: even the cheapest policy "
                f"({self._lowest()}) reaches {ratio:.3f}x 8-bit; {', '.join(hints)}")

    def _lowest(self) -> str:
        """Each field at its minimum, said once if every searched layer shares it."""
        parts = []
        for f in sorted({k.field for k in self.knobs}, key=FIELDS.index):
            mins = {self.ctx.layers[k.layer].name: k.values[0] for k in self.knobs if k.field == f}
            if len(set(mins.values())) == 1:
                parts.append(f"{f} {next(iter(mins.values())):g} on every searched layer")
            else:
                parts.append(f"{f} at its minimum: " + ", ".join(f"{n} {v:.3g}"
                                                                 for n, v in mins.items()))
        return "; ".join(parts)

    def clip_before(self, chosen: Sequence[int], k: int, i: int) -> int:
        """AMC's rule: the largest index ``<= i`` for knob ``k`` such that, with knobs before
        ``k`` at ``chosen`` and every later knob at its minimum, the budget still holds.

        Costs are monotone in each knob, so a bisection finds it; index 0 always holds when
        the previous decision was clipped the same way (and :meth:`check_feasible` passed)."""
        rest = [0] * (len(self.knobs) - k - 1)
        if self.holds([*chosen[:k], i, *rest]):
            return i
        lo, hi = 0, i  # holds(lo) assumed, not holds(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.holds([*chosen[:k], mid, *rest]):
                lo = mid
            else:
                hi = mid
        return lo

    def lower_after(self, idx: Sequence[int], phases: Sequence[Sequence[Sequence[int]]]) -> list[int]:
        """HAQ's rule: while over budget, sweep the groups of each phase in order, lowering
        every knob of a group one notch and re-checking after each group; move to the next
        phase when a phase's knobs are all at their minimum.

        ``phases`` holds groups of knob numbers; :func:`from_last` builds HAQ's order (the
        last layer first, a layer's weight and activation bits together)."""
        out = list(idx)
        for groups in phases:
            while not self.holds(out):
                moved = False
                for group in groups:
                    lowered = [k for k in group if out[k] > 0]
                    for k in lowered:
                        out[k] -= 1
                    moved = moved or bool(lowered)
                    if lowered and self.holds(out):
                        return out
                if not moved:
                    break
        if not self.holds(out):
            self.check_feasible()  # raises with the explanation
        return out

    def from_last(self, fields: Sequence[str]) -> list[list[int]]:
        """Groups of the knobs of ``fields``, one group per layer, last layer first."""
        by_layer: dict[int, list[int]] = {}
        for k, knob in enumerate(self.knobs):
            if knob.field in fields:
                by_layer.setdefault(knob.layer, []).append(k)
        return [by_layer[layer] for layer in sorted(by_layer, reverse=True)]

    # -- state features ----------------------------------------------------------------------

    def _features(self) -> np.ndarray:
        """Static per-knob features, min-max normalized over the knobs to [0, 1].

        HAQ's layer embedding (Sec. 3.1): index, in/out channels, kernel, stride, feature size,
        parameters, depthwise flag, weight-or-activation flag; AMC's (Sec. 3.4) adds the layer
        type and the MACs before and after the layer. The previous action is appended per step.
        """
        macs = np.array([float(layer.macs) for layer in self.ctx.layers])
        total = max(macs.sum(), 1.0)
        rows = []
        for knob in self.knobs:
            layer = self.ctx.layers[knob.layer]
            kind = str(getattr(layer, "kind", "")).lower()
            rows.append([
                knob.layer, layer.in_channels, layer.out_channels,
                _scalar(getattr(layer, "kernel", 1)), _scalar(getattr(layer, "stride", 1)),
                _scalar(getattr(layer, "feature_size", 1)), math.log1p(layer.params),
                math.log1p(layer.macs), float(layer.depthwise), float("linear" in kind),
                float(knob.field == "w_bits"), float(knob.field == "a_bits"),
                float(knob.field == "keep"),
                macs[:knob.layer].sum() / total, macs[knob.layer + 1:].sum() / total,
            ])
        table = np.asarray(rows, dtype=np.float64)
        span = table.max(axis=0) - table.min(axis=0)
        return (table - table.min(axis=0)) / np.where(span > 0, span, 1.0)


def _scalar(value: object) -> float:
    """A kernel/stride/feature size as one number (the product of a tuple's entries)."""
    if isinstance(value, (tuple, list)):
        return float(np.prod([float(v) for v in value])) if value else 1.0
    return float(value) if isinstance(value, (int, float)) else 1.0
