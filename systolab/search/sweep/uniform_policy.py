"""Co-design in a sweep: per hardware point, the most precise uniform-bits policy in a budget.

The search is a cheap baseline over uniform policies: every ``(w_bits, a_bits)`` pair from the
spec's ``bits`` applied to all compute layers (the first and last stay at 8 bits with
``keep_first_last``, as DESIGN section 5 asks). "Best" needs an accuracy signal, which a
hardware sweep does not have; the proxy is the MAC-weighted mean operand width (more bits, less
quantization error), and ties go to the lower energy-delay product. Candidates are tried from
the most precise down and the search stops at the first precision level that meets the budget,
so a generous budget costs one evaluation.

Costs come from :class:`systolab.search.CostModel`, which equals
``simulate_graph(compile_graph(apply_policy(graph, policy)), arch)`` to the last bit and caches
per layer, so policies that share layers' bits share their simulations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.ir import Graph
from compiler.policy import LayerPolicy, Policy
from hwsim.config import Arch
from systolab.search.sweep.spec import CodesignSpec

__all__ = ["PolicyChoice", "best_uniform_policy"]


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    """The chosen uniform policy of one workload on one hardware point, or why none fits."""

    w_bits: int | None
    a_bits: int | None
    score: float  # MAC-weighted mean operand width (accuracy proxy)
    latency_ms: float
    energy_uj: float
    weight_mib: float
    reason: str = ""  # why no candidate met the budget; empty when one did

    def to_dict(self) -> dict[str, Any]:
        return {"w_bits": self.w_bits, "a_bits": self.a_bits, "score": self.score,
                "latency_ms": self.latency_ms, "energy_uj": self.energy_uj,
                "weight_mib": self.weight_mib}


def best_uniform_policy(graph: Graph, arch: Arch, spec: CodesignSpec, mode: str,
                        name: str, objective: str = "latency") -> PolicyChoice:
    """The most precise uniform policy whose cost meets ``spec.budget`` on ``arch`` (mapped
    for ``objective``)."""
    from systolab.search.costs import CostModel  # imports torch: only co-design sweeps pay it

    costs = CostModel(graph, arch, mode=mode, name=name, objective=objective)
    layers = costs.layers
    pinned = {layers[0].name, layers[-1].name} if spec.keep_first_last and layers else set()
    total_macs = sum(info.macs for info in layers) or 1

    def score(w: int, a: int) -> float:
        return sum(info.macs * ((8 + 8) if info.name in pinned else (w + a))
                   for info in layers) / (2 * total_macs)

    candidates = sorted(((score(w, a), w, a) for w in spec.bits for a in spec.bits),
                        key=lambda c: (-c[0], c[1], c[2]))
    best: PolicyChoice | None = None
    closest: tuple[float, PolicyChoice] | None = None  # (excess over budget, choice)
    for s, w, a in candidates:
        if best is not None and s < best.score:
            break  # a less precise level: the best of the first feasible level is final
        policy = Policy(LayerPolicy(w, a), {n: LayerPolicy(8, 8) for n in sorted(pinned)})
        cost = costs.evaluate(policy)
        choice = PolicyChoice(w, a, s, cost.latency_ms, cost.energy_uj, cost.weight_mib)
        values = {"latency_ms": cost.latency_ms, "energy_uj": cost.energy_uj,
                  "weight_mib": cost.weight_mib}
        if all(values[k] <= limit for k, limit in spec.budget):
            if best is None or choice.latency_ms * choice.energy_uj < best.latency_ms * best.energy_uj:
                best = choice
        elif closest is None or _excess(values, spec) < closest[0]:
            closest = (_excess(values, spec), choice)
    if best is not None:
        return best
    assert closest is not None, "there is at least one candidate"
    near = closest[1]
    limits = ", ".join(f"{k} <= {v:g}" for k, v in spec.budget)
    reason = (f"no policy from bits {list(spec.bits)} meets the budget ({limits}); closest: "
              f"w{near.w_bits}a{near.a_bits} at {near.latency_ms:.4g} ms, "
              f"{near.energy_uj:.4g} uJ, {near.weight_mib:.4g} MiB")
    return PolicyChoice(None, None, 0.0, near.latency_ms, near.energy_uj, near.weight_mib,
                        reason)


def _excess(values: dict[str, float], spec: CodesignSpec) -> float:
    """How far a cost is over the budget: the worst ratio of value to limit."""
    return max(values[k] / limit for k, limit in spec.budget)
