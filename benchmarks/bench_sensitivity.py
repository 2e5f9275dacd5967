"""Policy searches against the best uniform policy, at budgets where bits matter.

    .venv/bin/python benchmarks/bench_sensitivity.py [--task digits|mnist|mnist-resnet8]
        [--agents sensitivity,greedy,nsga2,haq] [--schedule haq] [--finetune 0] [--plot F.png]
        [--band B] [--nsga2-trials 100]

Per accelerator and budget (latency on the bit-serial Stripes, energy on BitFusion), with the
first and last layers at 8 bits for every searched policy (HAQ's setting):

- three tight budgets, placed between the uniform 4-, 3- and 2-bit costs, so that a uniform
  policy within them has 3 bits or fewer (``--band 3``: all three between the uniform 3- and
  4-bit costs, for a network such as ResNet-8 that collapses at 2 bits);
- HAQ's headline budget (Wang et al., CVPR 2019): 1/1.5 of uniform 8-bit latency on the
  bit-serial array, 1/1.9 of its energy on BitFusion.

For each: the best uniform width within the budget (the ``uniform`` agent tries every width,
widest first) and each agent's answer, with its accuracy on the task (no fine-tuning by
default), its cost as a fraction of uniform 8-bit, the accuracy gained over the best uniform
policy, the accuracy evaluations it ran (each compresses the model and scores it) and its wall
time. The uniform frontier (accuracy and cost of every width) is printed once per accelerator
and, with ``--plot``, drawn with every agent's answers (accuracy against cost).

``haq`` is the DDPG agent at ``--schedule`` (default ``haq``: 600 episodes, HAQ's published
settings); ``nsga2`` runs 100 trials and answers with its best policy within the budget.

Targets (issue 14): at three or more budgets per task, the searched policy at least 0.5 points
more accurate than the best uniform policy within the budget, or as accurate at 10% or more
lower cost; at the headline budgets, within 1 point of uniform 8-bit.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from compiler.policy import LayerPolicy, Policy
from systolab.search.accuracy import task_accuracy
from systolab.search.budget import Budget, metric_value
from systolab.search.costs import CostModel
from systolab.search.loop import SearchConfig, run_search
from systolab.search.tasks import TASKS, get_task

CASES = (("stripes", "latency", 1.5), ("bitfusion_eyeriss", "energy", 1.9))
EPISODES = {"sensitivity": 200, "greedy": 400, "nsga2": 100, "uniform": 10}
MARKERS = {"sensitivity": "o", "greedy": "s", "nsga2": "^", "haq": "D"}


@dataclass
class Answer:
    """One agent's policy within one budget."""

    agent: str
    budget: float
    accuracy: float | None  # None: nothing within the budget
    ratio: float | None
    evaluations: int
    wall_s: float


class Counted:
    """The task's accuracy function, counting the evaluations it runs."""

    def __init__(self, accuracy: Callable[[Policy], float]) -> None:
        self.accuracy, self.calls = accuracy, 0

    def __call__(self, policy: Policy) -> float:
        self.calls += 1
        return self.accuracy(policy)


def search(agent: str, metric: str, value: float, costs: CostModel, accuracy: Counted,
           reference: float, base: float, schedule: str) -> Answer:
    episodes = EPISODES.get(agent, 0)
    config = SearchConfig(agent, Budget(metric, value), episodes, schedule="short")
    if agent == "haq":
        from systolab.search.agents import get_schedule

        episodes = get_schedule(schedule).episodes or 60
        config = SearchConfig(agent, Budget(metric, value), episodes, schedule=schedule)
    calls, t0 = accuracy.calls, time.perf_counter()
    result = run_search(config, layers=costs.layers, cost=costs.evaluate, accuracy=accuracy,
                        reference_accuracy=reference, baseline=costs.baseline(8))
    wall = time.perf_counter() - t0
    best = result.best
    if agent == "sensitivity" and result.history:  # its answer is its last proposal
        best = result.history[-1]
    if best is None or not best.feasible:
        return Answer(agent, value, None, None, accuracy.calls - calls, wall)
    return Answer(agent, value, best.accuracy, metric_value(best, metric) / base,
                  accuracy.calls - calls, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits", choices=TASKS)
    parser.add_argument("--agents", default="sensitivity,greedy,nsga2,haq",
                        help="comma-separated agents to compare with the best uniform policy")
    parser.add_argument("--schedule", default="haq", help="the haq agent's DDPG schedule")
    parser.add_argument("--finetune", type=int, default=0, help="fine-tuning steps per policy")
    parser.add_argument("--plot", help="write accuracy against cost, per accelerator, here")
    parser.add_argument("--band", type=int, choices=range(2, 8), metavar="B",
                        help="place the three tight budgets at 1/4, 1/2 and 3/4 of the way from "
                             "uniform B-bit to uniform (B+1)-bit cost (uniform policies within "
                             "them have B bits): for networks that collapse below B bits")
    parser.add_argument("--nsga2-trials", type=int, default=EPISODES["nsga2"])
    args = parser.parse_args()
    EPISODES["nsga2"] = args.nsga2_trials
    agents = [a for a in args.agents.split(",") if a]
    torch.set_num_threads(1)
    task = get_task(args.task)
    net = task.pretrained()
    accuracy = Counted(task_accuracy(task, net, finetune_steps=args.finetune, lr=5e-4))
    reference = task.evaluate(net)
    print(f"task {args.task} ({task.model_name}), float accuracy {100 * reference:.2f}%, "
          f"fine-tuning {args.finetune} steps per policy; agents {', '.join(agents)} "
          f"(haq at schedule {args.schedule})")
    wins = {a: 0 for a in agents}
    headline: list[str] = []
    panels = []
    for arch, metric, factor in CASES:
        costs = CostModel.from_model(net, task.example_input, arch, name=task.model_name)
        base = metric_value(costs.baseline(8), metric)
        names = [layer.name for layer in costs.layers]
        acc8 = accuracy(Policy(LayerPolicy(8, 8)))
        frontier: dict[int, tuple[float, float]] = {}
        for bits in range(8, 1, -1):
            policy = Policy(LayerPolicy(8, 8), {n: LayerPolicy(bits, bits) for n in names[1:-1]})
            frontier[bits] = (accuracy(policy),
                              metric_value(costs.evaluate(policy), metric) / base)
        ratio = {b: r for b, (_, r) in frontier.items()}
        # between uniform 4 and 3 bits, between 3 and 2, and just above 2: uniform policies
        # within these budgets have 3 bits or fewer
        tight = ((ratio[4] + ratio[3]) / 2, (ratio[3] + ratio[2]) / 2, ratio[2] * 1.02)
        if args.band is not None:
            lo, hi = ratio[args.band], ratio[args.band + 1]
            tight = tuple(lo + f * (hi - lo) for f in (0.75, 0.5, 0.25))
        budgets = (*tight, 1 / factor)
        shown = ", ".join(f"{b}b {100 * a:.2f}% {r:.2f}x" for b, (a, r) in frontier.items())
        print(f"\n== {arch}, {metric}; uniform 8-bit everywhere {100 * acc8:.2f}%; uniform "
              f"frontier (first/last at 8 bits): {shown}")
        header = f"  {'budget':>7} | {'best uniform':>19}"
        for a in agents:
            header += f" | {a + ' (gain, evals, s)':>34}"
        print(header)
        answers: list[Answer] = []
        for value in budgets:
            uniform = search("uniform", metric, value, costs, accuracy, reference, base,
                             args.schedule)
            label = f"{value:.3f}" + ("*" if value == budgets[-1] else "")
            row = f"  {label:>7} | "
            if uniform.accuracy is None:
                row += f"{'none within budget':>19}"
            else:
                bits = max(b for b, r in ratio.items() if r <= value + 1e-12)
                row += f"{f'{bits}b {100 * uniform.accuracy:.2f}% {uniform.ratio:.2f}x':>19}"
            for a in agents:
                ans = search(a, metric, value, costs, accuracy, reference, base, args.schedule)
                answers.append(ans)
                if ans.accuracy is None:
                    cell = f"none ({ans.evaluations}, {ans.wall_s:.0f})"
                else:
                    gain = (float("nan") if uniform.accuracy is None
                            else 100 * (ans.accuracy - uniform.accuracy))
                    cheaper = (uniform.accuracy is not None and ans.ratio is not None
                               and uniform.ratio is not None
                               and ans.accuracy >= uniform.accuracy
                               and ans.ratio <= 0.9 * uniform.ratio)
                    if value != budgets[-1] and (gain >= 0.5 or cheaper):
                        wins[a] += 1
                    cell = (f"{100 * ans.accuracy:.2f}% {ans.ratio:.2f}x ({gain:+.2f}p, "
                            f"{ans.evaluations}, {ans.wall_s:.0f})")
                    if value == budgets[-1]:
                        ok = 100 * (acc8 - ans.accuracy) <= 1.0
                        headline.append(f"{a} on {arch}: {factor}x lower {metric} at "
                                        f"{100 * ans.accuracy:.2f}% vs 8-bit {100 * acc8:.2f}% "
                                        f"({'within' if ok else 'NOT within'} 1 point)")
                row += f" | {cell:>34}"
            print(row)
        panels.append((arch, metric, frontier, budgets, answers, acc8))
    print("\n* HAQ's headline budget")
    for a in agents:
        print(f"budgets (of {3 * len(CASES)} tight ones) where {a} is >= 0.5 points above the "
              f"best uniform policy, or as accurate at >= 10% lower cost: {wins[a]}")
    for line in headline:
        print(line)
    if args.plot:
        plot(panels, args.plot, f"{args.task} ({task.model_name})")
        print(f"wrote {args.plot}")


def plot(panels: list, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5))
    for ax, (arch, metric, frontier, budgets, answers, acc8) in zip(axes, panels, strict=True):
        bits = sorted(frontier)
        ax.plot([frontier[b][1] for b in bits], [100 * frontier[b][0] for b in bits], "k.-",
                label="uniform (first/last 8-bit)")
        for b in bits:
            ax.annotate(f"{b}b", (frontier[b][1], 100 * frontier[b][0]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
        for value in budgets:
            ax.axvline(value, color="0.8", linestyle="--", linewidth=0.8)
        ax.axhline(100 * acc8 - 1, color="tab:red", linestyle=":", linewidth=0.8,
                   label="8-bit accuracy - 1 point")
        for agent in dict.fromkeys(a.agent for a in answers):
            pts = [(a.ratio, 100 * a.accuracy) for a in answers
                   if a.agent == agent and a.accuracy is not None]
            if pts:
                ax.scatter(*zip(*pts, strict=True), marker=MARKERS.get(agent, "x"), label=agent)
        ax.set_xlabel(f"{metric} / uniform 8-bit")
        ax.set_ylabel("accuracy %")
        ax.set_title(f"{title} on {arch}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
