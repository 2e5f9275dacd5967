"""Co-design with measured accuracy: per hardware point, the per-layer bits that lose the least
accuracy within the budget, and that policy's real accuracy.

Sensitivity belongs to the model and the task, not to the hardware, so it is measured once per
workload, in the parent process (:func:`measure_sensitivities`, the probes of
:class:`systolab.search.agents.SensitivityAgent`): the accuracy with every searched layer at
the widest of ``codesign.bits``, then with each layer alone at each narrower width. The
workers receive the table. Per hardware point only the costs change
(:func:`best_measured_policy`):

1. the point's per-layer saving of the budget metric for every (layer, width), from
   :class:`systolab.search.costs.CostModel` (cached per layer, so cheap);
2. the widths that minimize the summed sensitivity while saving what the budget needs: the
   multiple-choice knapsack solved exactly, with the next allocations of its Pareto front
   (:func:`~systolab.search.agents.sensitivity.solve_allocations`);
3. those policies costed whole, and the need raised by the smallest miss until some hold (a
   layer's traffic depends on its neighbours' widths, so the table's sum is not exact);
4. the top-1 accuracy of each that holds, and of the widest uniform width that does, measured
   (compress, score; cached per policy in each process, as neighbouring hardware points
   usually share them); the most accurate is the point's policy. Summed single-layer drops
   misjudge interacting layers, which is why the answer is measured, as the search agent
   does (:class:`~systolab.search.agents.SensitivityAgent`).

The first and last compute layers stay at 8 bits with ``keep_first_last`` (HAQ's setting).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from compiler.ir import Graph
from compiler.policy import LayerPolicy, Policy
from hwsim.config import Arch
from hwsim.errors import ConfigError
from systolab.search.sweep.spec import CodesignSpec

if TYPE_CHECKING:
    from systolab.search.sweep.workloads import Workload

__all__ = ["MeasuredChoice", "Sensitivities", "best_measured_policy", "measure_sensitivities",
           "pinned_layers", "policy_of"]

TIGHTEN_ROUNDS = 8
_METRIC_ATTR = {"latency_ms": "latency_ms", "energy_uj": "energy_uj", "weight_mib": "weight_mib"}


@dataclass(frozen=True, slots=True)
class Sensitivities:
    """One workload's measured sensitivities: ``layers`` searched (execution order), ``bits``
    ascending, ``drop[l][i]`` the accuracy lost with only layer ``l`` at ``bits[i]`` (0 at the
    widest), ``top`` the accuracy with every searched layer at the widest, ``reference`` the
    unquantized model's; ``pinned`` the layers kept at 8 bits."""

    task: str
    layers: tuple[str, ...]
    pinned: tuple[str, ...]
    bits: tuple[int, ...]
    drop: tuple[tuple[float, ...], ...]
    top: float
    reference: float
    evaluations: int


@dataclass(frozen=True, slots=True)
class MeasuredChoice:
    """The policy chosen for one workload on one hardware point (``bits`` per searched layer),
    its measured accuracy and cost, or why no policy meets the budget (``reason``)."""

    bits: tuple[tuple[str, int], ...]
    accuracy: float
    latency_ms: float
    energy_uj: float
    weight_mib: float
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"bits": dict(self.bits), "accuracy": self.accuracy,
                "error_pct": 100 * (1 - self.accuracy), "latency_ms": self.latency_ms,
                "energy_uj": self.energy_uj, "weight_mib": self.weight_mib,
                "policy": " ".join(str(b) for _, b in self.bits)}


def policy_of(pinned: Iterable[str], bits: Mapping[str, int]) -> Policy:
    """The policy giving each searched layer its width (weights and activations) and the
    ``pinned`` layers 8 bits."""
    layers = {name: LayerPolicy(8, 8) for name in pinned}
    layers.update({name: LayerPolicy(b, b) for name, b in bits.items()})
    return Policy(LayerPolicy(), layers)


def pinned_layers(graph: Graph, keep_first_last: bool) -> tuple[str, ...]:
    """The compute layers kept at 8 bits: the first and the last with ``keep_first_last``."""
    names = [op.name for op in graph.compute_ops()]
    return (names[0], names[-1]) if keep_first_last and len(names) > 1 else ()


@functools.cache
def _accuracy_function(task_name: str) -> Any:
    """The task's accuracy of a policy, one per process (the model loads once)."""
    from systolab.search.accuracy import task_accuracy
    from systolab.search.tasks import get_task

    task = get_task(task_name)
    return task_accuracy(task, task.pretrained())


@functools.lru_cache(maxsize=4096)
def _measured(task_name: str, bits: tuple[tuple[str, int], ...],
              pinned: tuple[str, ...]) -> float:
    return _accuracy_function(task_name)(policy_of(pinned, dict(bits)))


def measure_sensitivities(workload: Workload, spec: CodesignSpec, model_name: str | None,
                          ) -> Sensitivities:
    """Measure the probes of the module doc for ``workload`` (a zoo model, ``model_name``) on
    ``spec.task``; ``1 + layers x (widths - 1)`` accuracy evaluations."""
    from systolab.search.tasks import get_task

    assert spec.task is not None
    task = get_task(spec.task)
    if model_name != task.model_name:
        raise ConfigError(f"codesign.task: the {spec.task} task trains {task.model_name}, so "
                          f"every workload must be model {task.model_name}, not "
                          f"{model_name or 'a topology'} ({workload.name})")
    names = [op.name for op in workload.graph.compute_ops()]
    pinned = pinned_layers(workload.graph, spec.keep_first_last)
    searched = tuple(n for n in names if n not in pinned)
    if not searched:
        raise ConfigError(f"codesign: {workload.name} has no compute layer to search besides "
                          "the first and last (set keep_first_last: false)")
    bits = tuple(sorted(spec.bits))
    reference = task.evaluate(task.pretrained())
    top_bits = {n: bits[-1] for n in searched}
    top = _measured(spec.task, tuple(top_bits.items()), pinned)
    drop = []
    for name in searched:
        row = []
        for b in bits[:-1]:
            probe = {**top_bits, name: b}
            row.append(top - _measured(spec.task, tuple(probe.items()), pinned))
        drop.append((*row, 0.0))
    return Sensitivities(spec.task, searched, pinned, bits, tuple(drop), top, reference,
                         1 + len(searched) * (len(bits) - 1))


def best_measured_policy(workload: Workload, arch: Arch, spec: CodesignSpec,
                         sens: Sensitivities, mode: str, objective: str = "latency",
                         ) -> MeasuredChoice:
    """Steps 1-4 of the module doc for one workload on one hardware point."""
    from systolab.search.agents.sensitivity import CANDIDATES, solve_allocations
    from systolab.search.costs import CostModel

    (metric, limit), = spec.budget  # the spec loader allows one key with a task
    attr = _METRIC_ATTR[metric]
    costs = CostModel(workload.graph, arch, mode=mode, name=workload.name, objective=objective)
    widest = {n: sens.bits[-1] for n in sens.layers}

    def cost(bits: dict[str, int]) -> Any:
        return costs.evaluate(policy_of(sens.pinned, bits))

    def holds(bits: dict[str, int]) -> bool:
        return bool(getattr(cost(bits), attr) <= limit * (1 + 1e-9))

    top = getattr(cost(widest), attr)
    saving = [[top - getattr(cost({**widest, name: b}), attr) for b in sens.bits]
              for name in sens.layers]
    need = top - limit
    candidates: list[dict[str, int]] = []
    for _ in range(TIGHTEN_ROUNDS):
        picks = solve_allocations(sens.drop, saving, need, CANDIDATES)
        tried = [{name: sens.bits[i] for name, i in zip(sens.layers, pick, strict=True)}
                 for pick in picks]
        candidates = [bits for bits in tried if holds(bits)]
        if candidates or not tried:
            break
        need += min(getattr(cost(bits), attr) for bits in tried) - limit
    # the widest uniform width within the budget: a safety net for interacting layers
    uniform = next(({n: b for n in sens.layers} for b in reversed(sens.bits)
                    if holds({n: b for n in sens.layers})), None)
    if uniform is not None and uniform not in candidates:
        candidates.append(uniform)
    if not candidates:
        narrowest = {n: sens.bits[0] for n in sens.layers}
        c = cost(narrowest)
        return MeasuredChoice((), 0.0, c.latency_ms, c.energy_uj, c.weight_mib,
                              f"no policy from bits {list(sens.bits)} meets {metric} <= "
                              f"{limit:g}; the narrowest gives {getattr(c, attr):.4g}")
    scored = [(_measured(sens.task, tuple(bits.items()), sens.pinned), -k, bits)
              for k, bits in enumerate(candidates)]
    accuracy, _, chosen = max(scored)
    c = cost(chosen)
    return MeasuredChoice(tuple(chosen.items()), accuracy, c.latency_ms, c.energy_uj,
                          c.weight_mib)
