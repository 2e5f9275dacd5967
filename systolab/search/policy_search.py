"""A compression-policy search as one call: what ``systolab search`` runs, from Python.

:func:`search_policy` goes, top to bottom:

1. the model and how its accuracy is measured: a built-in task (which trains its model once
   and fine-tunes candidates on its data) or the user's model and evaluator;
2. the hardware cost model of that model on the accelerator (:class:`CostModel`), and the
   budget, resolved against the uniform 8-bit policy;
3. the search loop (:func:`~systolab.search.loop.run_search`), checkpointed in ``out_dir``;
4. the comparison a user asks for first: the best policy beside uniform 8, 6 and 4 bits;
5. the best policy's per-layer table, through the full pipeline;
6. ``best_policy.yaml`` (a policy file for ``systolab simulate --policy``) and ``report.json``
   in ``out_dir``.

Plots are rendering and live in :mod:`systolab.plots` (``plot_policy_search``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from compiler.frontend.pytorch import trace
from compiler.passes import compile_graph
from compiler.policy import LayerPolicy, Policy
from hwsim.config import Arch
from hwsim.errors import SystolabError
from hwsim.fields import shown
from hwsim.outfiles import write_text
from systolab.model_loader import load_model, model_label
from systolab.pipeline import simulate_graph
from systolab.search.accuracy import compressed_model, task_accuracy
from systolab.search.agents import DDPG_AGENTS, agent_spec, get_schedule
from systolab.search.budget import METRICS, Budget, BudgetError
from systolab.search.costs import CostModel
from systolab.search.loop import SearchConfig, SearchResult, run_search
from systolab.search.tasks import TASKS, get_task, load_evaluator

__all__ = ["COMPARED_BITS", "PolicySearchReport", "SearchSetupError", "search_policy"]

COMPARED_BITS = (8, 6, 4)
"""The uniform policies every report compares the searched one with."""


class SearchSetupError(SystolabError):
    """The model, task and evaluator of a search do not fit together."""


@dataclass(frozen=True)
class _Problem:
    """The model under search, its example input, its score function, a factory of accuracy
    functions (by the channel multiple pruning rounds to) and its label."""

    net: nn.Module
    example: Any
    score: Callable[[nn.Module], float]
    accuracy: Callable[[int], Callable[[Policy], float]]
    label: str
    score_name: str = "accuracy"  # a task's accuracy (a fraction), or the evaluator's name


def _problem(model: str | None, task_name: str | None, evaluator: str | None,
             finetune_steps: int, lr: float) -> _Problem:
    score = load_evaluator(evaluator) if evaluator else None
    if task_name is None and score is None:
        by_model = {get_task(t).model_name: t for t in TASKS}
        if model is not None and model not in by_model:
            raise SearchSetupError(f"no built-in task trains {model!r}: give an evaluator "
                                   "(--evaluator module:function) or a task")
        task_name = by_model.get(model or "", "digits")
    if task_name is not None:
        task = get_task(task_name)
        if model is not None and model != task.model_name:
            raise SearchSetupError(f"the {task_name} task trains {task.model_name}, not {shown(model)}: "
                                   f"leave the model out or give {task.model_name}")
        net = task.pretrained()
        return _Problem(net, task.example_input, score or task.evaluate,
                        lambda m: task_accuracy(task, net, finetune_steps=finetune_steps, lr=lr,
                                                channel_multiple=m, score=score),
                        task.model_name, _score_name(evaluator))
    if finetune_steps:
        raise SearchSetupError("fine-tuning needs a task (the data to fine-tune on)")
    if model is None:
        raise SearchSetupError("a model is required with an evaluator and no task")
    assert score is not None
    user_score = score
    net, example = load_model(model)

    def factory(m: int) -> Callable[[Policy], float]:
        return lambda policy: user_score(compressed_model(net, example, policy, calibration=example,
                                                          channel_multiple=m))

    return _Problem(net, example, user_score, factory, model_label(model),
                    _score_name(evaluator))


def _score_name(evaluator: str | None) -> str:
    """``accuracy`` for a task's own score; an evaluator by its file's name and function."""
    if evaluator is None:
        return "accuracy"
    target, _, function = evaluator.rpartition(":")
    return f"{Path(target).name if target.endswith('.py') else target}:{function}"


@dataclass(frozen=True)
class PolicySearchReport:
    """A finished (or resumed) search and what a user reads of it: the best policy's layers
    (``layers``: one row per compute layer) and its comparison with uniform policies."""

    model: str
    arch: str
    result: SearchResult
    layers: tuple[dict[str, Any], ...]
    comparison: tuple[dict[str, Any], ...]
    score: str = "accuracy"  # what ``accuracy`` holds: a task's accuracy, or an evaluator's score

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "arch": self.arch, "score": self.score,
                **self.result.to_dict(), "layers": list(self.layers),
                "comparison": list(self.comparison)}

    def format_score(self, value: float) -> str:
        """A score as a user reads it: an accuracy in percent, any other score as it is (a
        user evaluator's -0.00037 is not -0.04%)."""
        return f"{100 * value:.2f}%" if self.score == "accuracy" else f"{value:.6g}"

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``best_policy.yaml`` (when a policy was found) and ``report.json``."""
        out = Path(out_dir)
        written = []
        best = self.result.best
        try:
            out.mkdir(parents=True, exist_ok=True)
            if best is not None:
                path = out / "best_policy.yaml"
                write_text(path,
                    f"# {self.result.config.agent} search of {self.model} on {self.arch}: "
                    f"{self.score} {best.accuracy:.6g}, {best.latency_ms:.4f} ms, "
                    f"{best.energy_pj * 1e-6:.3f} uJ\n"
                    + yaml.safe_dump(best.policy, sort_keys=False))
                written.append(path)
            path = out / "report.json"
            write_text(path, json.dumps(self.to_dict(), indent=1, default=str))
            written.append(path)
        except OSError as err:
            raise SystolabError(f"cannot write output file {err.filename!r}: "
                                f"{err.strerror}") from None
        return written


def search_policy(model: str | None = None, *, arch: Arch | str | Path = "stripes",
                  agent: str = "haq", budget: Budget | None = None, task: str | None = None,
                  evaluator: str | None = None, episodes: int | None = None,
                  schedule: str = "short", finetune_steps: int = 0,
                  finetune_lr: float = 1e-4, seed: int = 0, min_bits: int = 2, max_bits: int = 8,
                  pin_first_last: bool = True, channel_multiple: int | None = None,
                  out_dir: str | Path | None = "search-out", resume: bool = False,
                  progress: bool = False, objective: str = "latency",
                  dataflow: str = "auto") -> PolicySearchReport:
    """Search per-layer bits and/or keep ratios of ``model`` (a zoo name or ``file.py:factory``;
    default: the task's model) with ``agent`` under ``budget`` (the steps in the module doc).

    ``task`` is a built-in accuracy task (:data:`~systolab.search.tasks.TASKS`); ``evaluator``
    a ``module:function`` scoring a compressed model (with a task, it replaces the task's
    score). ``channel_multiple`` (default: the array's columns) rounds kept channels. With
    ``out_dir`` the search is checkpointed after every episode and ``resume`` continues it.
    Every policy is costed with the mapper minimizing ``objective`` per layer, on ``dataflow``
    (``"auto"``: any the arch has). ``schedule`` is the DDPG agents' exploration schedule
    (:data:`~systolab.search.agents.ddpg_agent.SCHEDULES`: ``"haq"`` and ``"amc"`` are the
    published ones); ``episodes`` defaults to the schedule's published count, else 60.
    """
    chosen = get_schedule(schedule)
    if schedule != "short" and agent not in DDPG_AGENTS:
        raise SearchSetupError(f"schedule {schedule!r} (--schedule) is for the DDPG agents "
                               f"({', '.join(DDPG_AGENTS)}), not {agent}")
    episodes = episodes or chosen.episodes or 60
    if agent_spec(agent).needs_budget and budget is None:
        raise BudgetError(f"the {agent} agent needs a budget: latency, energy or size")
    if budget is not None and budget.relative and budget.value > 1 and max_bits <= 8:
        _, unit, _ = METRICS[budget.metric]
        raise BudgetError(f"{budget.metric} budget must be at most 1 as a fraction of the "
                          f"uniform 8-bit model, not {budget.value:g}: with bits up to "
                          f"{max_bits} a looser budget never binds (for {unit}, add --absolute)")
    if isinstance(finetune_lr, bool) or not isinstance(finetune_lr, int | float) \
            or not math.isfinite(finetune_lr) or finetune_lr <= 0:
        raise SearchSetupError(f"finetune_lr (--finetune-lr) must be a positive number, not "
                               f"{finetune_lr!r}")
    problem = _problem(model, task, evaluator, finetune_steps, finetune_lr)
    costs = CostModel.from_model(problem.net, problem.example, arch, name=problem.label,
                                 objective=objective, dataflow=dataflow)
    multiple = channel_multiple or costs.arch.array.cols
    accuracy = problem.accuracy(multiple)
    config = SearchConfig(agent, budget, episodes, seed, min_bits, max_bits, pin_first_last,
                          multiple, objective=objective, dataflow=dataflow, schedule=schedule)
    base = costs.baseline(8)
    result = run_search(config, layers=costs.layers, cost=costs.evaluate, accuracy=accuracy,
                        reference_accuracy=problem.score(problem.net), baseline=base,
                        out_dir=out_dir,
                        resume=resume, progress=progress)

    def compared(label: str, acc: float, seconds: float, energy_pj: float) -> dict[str, Any]:
        return {"policy": label, "accuracy": acc, "latency_ms": seconds * 1e3,
                "energy_uj": energy_pj * 1e-6, "speedup": base.seconds / seconds,
                "energy_saving": base.energy_pj / energy_pj}

    comparison = []
    for bits in COMPARED_BITS:
        uniform = Policy(LayerPolicy(bits, bits))
        c = costs.evaluate(uniform)
        comparison.append(compared(f"uniform {bits}-bit", accuracy(uniform), c.seconds,
                                   c.energy_pj))
    layers: list[dict[str, Any]] = []
    best = result.best
    if best is not None:
        policy = best.to_policy()
        sim = simulate_graph(compile_graph(trace(problem.net, problem.example, policy=policy)),
                             costs.arch, name=problem.label, trace=False,
                             objective=objective)
        keeps = {n: lp.keep for n, lp in policy.layers.items()}
        layers = [{**{k: r[k] for k in ("name", "op", "w_bits", "a_bits", "bound", "cycles", "ms",
                                        "energy_uj", "utilization")},
                   "keep": keeps.get(r["name"]) or 1.0}
                  for r in sim.layer_rows() if r["w_bits"] is not None]
        comparison.insert(0, compared(f"searched ({agent})", best.accuracy, best.seconds,
                                      best.energy_pj))
    report = PolicySearchReport(problem.label, costs.arch.name, result, tuple(layers),
                                tuple(comparison), problem.score_name)
    if out_dir is not None:
        report.write(out_dir)
    return report
