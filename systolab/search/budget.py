"""Resource budgets of a policy search: latency, energy or model size, absolute or relative.

A :class:`Budget` is what the user asks for (``--latency 0.6`` is 60 % of the uniform 8-bit
model's latency; with ``--absolute`` the number is in the metric's own unit). It is resolved
once against the 8-bit cost into a :class:`ResolvedBudget`, which agents and the search loop
query with the :class:`~systolab.search.costs.Cost` of a candidate policy.

>>> from types import SimpleNamespace as Cost
>>> eight_bit = Cost(seconds=2e-3, energy_pj=5e6, weight_bits=8e5)
>>> limit = Budget("latency", 0.6).resolve(eight_bit)
>>> limit.limit, limit.holds(Cost(seconds=1e-3, energy_pj=9e9, weight_bits=0))
(0.0012, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from hwsim.errors import SystolabError
from hwsim.fields import shown

__all__ = ["METRICS", "Budget", "BudgetError", "CostLike", "ResolvedBudget", "metric_value"]


class BudgetError(SystolabError):
    """A budget is malformed, or no policy the agent may propose can meet it."""


class CostLike(Protocol):
    """The fields of :class:`systolab.search.costs.Cost` that budgets read."""

    @property
    def seconds(self) -> float: ...
    @property
    def energy_pj(self) -> float: ...
    @property
    def weight_bits(self) -> float: ...


# metric -> (Cost attribute, unit of an absolute budget, display scale to that unit)
METRICS: dict[str, tuple[str, str, float]] = {
    "latency": ("seconds", "ms", 1e3),
    "energy": ("energy_pj", "uJ", 1e-6),
    "size": ("weight_bits", "KiB", 1 / 8 / 1024),
}


def metric_value(cost: CostLike, metric: str) -> float:
    """The budgeted quantity of ``cost`` in its base unit (s, pJ or bits)."""
    return float(getattr(cost, METRICS[metric][0]))


@dataclass(frozen=True, slots=True)
class Budget:
    """``value`` is a fraction of the 8-bit model's metric, or (``relative=False``) an absolute
    amount in the unit of :data:`METRICS` (ms, uJ, KiB)."""

    metric: str
    value: float
    relative: bool = True

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise BudgetError(f"budget metric must be one of {', '.join(METRICS)}, not {shown(self.metric)}")
        if not math.isfinite(self.value) or self.value <= 0:
            raise BudgetError(f"{self.metric} budget must be a positive number, not {shown(self.value)}")

    def resolve(self, baseline: CostLike) -> ResolvedBudget:
        """The absolute limit, in the metric's base unit, against the uniform 8-bit cost."""
        _, _, scale = METRICS[self.metric]
        base = metric_value(baseline, self.metric)
        limit = self.value * base if self.relative else self.value / scale
        return ResolvedBudget(self.metric, limit, base)

    def describe(self) -> str:
        _, unit, _ = METRICS[self.metric]
        return (f"{self.metric} <= {self.value:g}x 8-bit" if self.relative
                else f"{self.metric} <= {self.value:g} {unit}")

    def to_dict(self) -> dict[str, object]:
        return {"metric": self.metric, "value": self.value, "relative": self.relative}


@dataclass(frozen=True, slots=True)
class ResolvedBudget:
    """An absolute limit on one metric; ``baseline`` is the 8-bit model's value of it."""

    metric: str
    limit: float
    baseline: float

    def measure(self, cost: CostLike) -> float:
        return metric_value(cost, self.metric)

    def holds(self, cost: CostLike) -> bool:
        # A relative tolerance of 1e-9 absorbs float noise in sums of per-layer costs.
        return self.measure(cost) <= self.limit * (1 + 1e-9)

    def excess(self, cost: CostLike) -> float:
        """How far over the limit ``cost`` is, as a fraction of the limit (<= 0: within)."""
        return self.measure(cost) / self.limit - 1

    def describe(self) -> str:
        _, unit, scale = METRICS[self.metric]
        return (f"{self.metric} <= {self.limit * scale:.4g} {unit} "
                f"({self.limit / self.baseline:.2f}x 8-bit)")
