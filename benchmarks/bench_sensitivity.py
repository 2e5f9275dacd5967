"""The sensitivity agent against the best uniform policy, at budgets where bits matter.

    .venv/bin/python benchmarks/bench_sensitivity.py [--task digits|mnist] [--finetune 0]

Per accelerator and budget (latency on the bit-serial Stripes, energy on BitFusion; three
budgets placed between the uniform 4-, 3- and 2-bit costs, so that a uniform policy within
them has 3 bits or fewer), with the first and last layers at 8
bits for both (HAQ's setting): the best uniform width within the budget (the ``uniform`` agent
tries every width, widest first) and the sensitivity agent's answer, each with its accuracy on
the task (no fine-tuning by default), its cost as a fraction of uniform 8-bit, the accuracy
gained, and evaluations and wall time spent. The uniform frontier (accuracy and cost of every
width) is printed once per accelerator.

Target (issue 14): at three or more budgets per task, the searched policy at least 0.5 points
more accurate than the best uniform policy within the budget, or as accurate at 10% lower cost.
"""

from __future__ import annotations

import argparse
import time

import torch

from compiler.policy import LayerPolicy, Policy
from systolab.search.accuracy import task_accuracy
from systolab.search.budget import Budget, metric_value
from systolab.search.costs import CostModel
from systolab.search.loop import SearchConfig, SearchResult, run_search
from systolab.search.tasks import get_task

CASES = (("stripes", "latency"), ("bitfusion_eyeriss", "energy"))


def search(agent: str, budget: Budget, costs: CostModel, accuracy, reference: float,
           episodes: int) -> tuple[SearchResult, float]:
    t0 = time.perf_counter()
    result = run_search(SearchConfig(agent, budget, episodes), layers=costs.layers,
                        cost=costs.evaluate, accuracy=accuracy, reference_accuracy=reference,
                        baseline=costs.baseline(8))
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits", choices=("digits", "mnist"))
    parser.add_argument("--finetune", type=int, default=0, help="fine-tuning steps per policy")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = get_task(args.task)
    net = task.pretrained()
    accuracy = task_accuracy(task, net, finetune_steps=args.finetune, lr=5e-4)
    reference = task.evaluate(net)
    print(f"task {args.task} ({task.model_name}), float accuracy {100 * reference:.2f}%, "
          f"fine-tuning {args.finetune} steps per policy")
    wins = 0
    for arch, metric in CASES:
        costs = CostModel.from_model(net, task.example_input, arch, name=task.model_name)
        base = metric_value(costs.baseline(8), metric)
        names = [layer.name for layer in costs.layers]
        frontier, ratio = [], {}
        for bits in range(8, 1, -1):
            policy = Policy(LayerPolicy(8, 8), {n: LayerPolicy(bits, bits) for n in names[1:-1]})
            ratio[bits] = metric_value(costs.evaluate(policy), metric) / base
            frontier.append(f"{bits}b {100 * accuracy(policy):.2f}% {ratio[bits]:.2f}x")
        # between uniform 4 and 3 bits, between 3 and 2, and just above 2: uniform policies
        # within these budgets have 3 bits or fewer
        budgets = ((ratio[4] + ratio[3]) / 2, (ratio[3] + ratio[2]) / 2, ratio[2] * 1.02)
        print(f"\n== {arch}, {metric} budgets (uniform frontier, first/last at 8 bits: "
              f"{', '.join(frontier)})")
        print(f"  {'budget':>6} | {'best uniform':>22} | {'sensitivity':>16} | {'gain':>7} | "
              f"{'evals':>5} | {'wall s':>6}")
        for value in budgets:
            budget = Budget(metric, value)
            uniform, _ = search("uniform", budget, costs, accuracy, reference, 10)
            sens, wall = search("sensitivity", budget, costs, accuracy, reference, 200)
            answer = sens.history[-1]
            if uniform.best is None:
                left = "none within budget"
                gain = float("nan")
            else:
                u = uniform.best
                u_bits = u.to_policy().layers[names[1]].w_bits
                left = f"{u_bits}b {100 * u.accuracy:.2f}% {metric_value(u, metric) / base:.2f}x"
                gain = 100 * (answer.accuracy - u.accuracy)
                wins += gain >= 0.5
            right = f"{100 * answer.accuracy:.2f}% {metric_value(answer, metric) / base:.2f}x"
            print(f"  {value:6.2f} | {left:>22} | {right:>16} | {gain:+6.2f}p | "
                  f"{len(sens.history):5} | {wall:6.1f}")
    print(f"\nbudgets where the search is >= 0.5 points above the best uniform policy: {wins}")


if __name__ == "__main__":
    main()
