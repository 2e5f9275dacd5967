"""HAQ search for LeNet-5 on MNIST on a bit-serial (Stripes) and a BitFusion accelerator.

Prints, per search: latency and energy of the found policy relative to uniform 8-bit, accuracy
(after a final fine-tune of the found policy and of uniform 8-bit alike, on the full 10,000-image
test set) and its drop, search wall time and policy cost evaluations per second; then HAQ's
transfer table (each search's best policy on every accelerator, as in Wang et al., CVPR 2019,
Table 4) and the cost-evaluation throughput on ResNet-18.

Targets (issue 6): >= 1.4x lower latency on the bit-serial config and >= 1.5x lower energy on
the BitFusion config than uniform 8-bit, within 1 point of accuracy; >= 2,000 policy cost
evaluations per second on ResNet-18.

Run: ``.venv/bin/python benchmarks/bench_search.py`` (about 1.5 minutes on 2 CPU cores; the
first run also trains LeNet-5, about 30 s). ``--episodes`` and ``--quick`` trade quality for
time.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass

import torch

from compiler.policy import LayerPolicy, Policy
from systolab.search.accuracy import task_accuracy
from systolab.search.budget import Budget
from systolab.search.costs import CostModel
from systolab.search.loop import SearchConfig, SearchResult, run_search
from systolab.search.tasks import get_task
from systolab.zoo import get_model

ARCHS = ("stripes", "bitfusion_eyeriss", "loom", "edge_int8")


@dataclass(frozen=True)
class Case:
    """One search: where, under which budget, with which HAQ settings."""

    label: str
    arch: str
    budget: Budget
    pin: bool
    batch: int  # the batch the cost model simulates (accuracy does not depend on it)


CASES = (
    # HAQ's own setting: first and last layers at 8 bits, one image per inference.
    Case("stripes, HAQ pins, batch 1", "stripes", Budget("latency", 0.7), True, 1),
    Case("bitfusion, HAQ pins, batch 1", "bitfusion_eyeriss", Budget("energy", 0.65), True, 1),
)


def ceiling(costs: CostModel, pin: bool, min_bits: int) -> tuple[float, float]:
    """Latency and energy gain of the cheapest policy the search may propose."""
    names = [layer.name for layer in costs.layers]
    low = LayerPolicy(min_bits, min_bits)
    policy = Policy(LayerPolicy(8, 8), {n: low for n in (names[1:-1] if pin else names)})
    base, cheap = costs.baseline(8), costs.evaluate(policy)
    return base.seconds / cheap.seconds, base.energy_pj / cheap.energy_pj


@dataclass(frozen=True)
class Run:
    """One finished search and its figures."""

    case: Case
    result: SearchResult
    wall_s: float
    best: Policy
    latency_x: float
    energy_x: float
    acc_float: float
    acc_8: float
    acc_best: float
    ceiling: tuple[float, float]


def run_case(case: Case, episodes: int, finetune: int, final_finetune: int, seed: int) -> Run:
    search_task, full_task = get_task("mnist", eval_size=2000), get_task("mnist")
    net = full_task.pretrained()
    _, example = get_model("lenet5", batch=case.batch)
    costs = CostModel.from_model(net, example, case.arch, name="lenet5")
    # Candidates are scored on 2,000 test images with a short fine-tune; the winner and uniform
    # 8-bit are then fine-tuned alike and scored on all 10,000 (HAQ, Sec. 4, does the same).
    accuracy = task_accuracy(search_task, net, finetune_steps=finetune, lr=5e-4)
    config = SearchConfig("haq", case.budget, episodes, seed, pin_first_last=case.pin)
    t0 = time.perf_counter()
    result = run_search(config, layers=costs.layers, cost=costs.evaluate, accuracy=accuracy,
                        reference_accuracy=search_task.evaluate(net), baseline=costs.baseline(8))
    wall = time.perf_counter() - t0
    assert result.best is not None, "HAQ always proposes policies within the budget"
    final = task_accuracy(full_task, net, finetune_steps=final_finetune, lr=5e-4)
    best = result.best.to_policy()
    base, found = costs.baseline(8), costs.evaluate(best)
    return Run(case, result, wall, best, base.seconds / found.seconds,
               base.energy_pj / found.energy_pj, full_task.evaluate(net),
               final(Policy(LayerPolicy(8, 8))), final(best), ceiling(costs, case.pin, config.min_bits))


def report(run: Run) -> None:
    result = run.result
    budget = result.budget.describe() if result.budget else "no budget"
    print(f"\n== HAQ on {run.case.label} ({budget})")
    print(f"  latency  {run.latency_x:.2f}x lower than uniform 8-bit "
          f"(ceiling with every searched layer at 2 bits: {run.ceiling[0]:.2f}x)")
    print(f"  energy   {run.energy_x:.2f}x lower than uniform 8-bit (ceiling {run.ceiling[1]:.2f}x)")
    print(f"  accuracy {100 * run.acc_best:.2f}% vs uniform 8-bit {100 * run.acc_8:.2f}% (drop "
          f"{100 * (run.acc_8 - run.acc_best):+.2f} points; float model {100 * run.acc_float:.2f}%)")
    print(f"  search   {len(result.history)} episodes in {run.wall_s:.1f} s; "
          f"{result.cost_evaluations:,} cost evaluations, {result.cost_evaluations_per_second:,.0f}/s")
    bits = {n: f"{lp.w_bits}/{lp.a_bits}" for n, lp in run.best.layers.items()}
    print(f"  policy   (w/a bits) {bits}")


def transfer(runs: list[Run]) -> None:
    """HAQ's Table 4 idea: a policy specialized for one accelerator, run on the others."""
    net, x = get_model("lenet5")
    models = {arch: CostModel.from_model(net, x, arch) for arch in ARCHS}
    print("\n== transfer (batch 1): latency / energy gain over uniform 8-bit on each accelerator")
    print(f"  {'policy found on':34s}" + "".join(f"{a:>22s}" for a in ARCHS))
    for run in runs:
        cells = []
        for arch in ARCHS:
            base, c = models[arch].baseline(8), models[arch].evaluate(run.best)
            cells.append(f"{base.seconds / c.seconds:.2f}x / {base.energy_pj / c.energy_pj:.2f}x")
        print(f"  {run.case.label:34s}" + "".join(f"{c:>22s}" for c in cells))


def throughput(evaluations: int, seed: int) -> None:
    """Policy cost evaluations per second on ResNet-18: random HAQ policies (first/last at 8
    bits, others 2..8), cold (caches filling) and warm."""
    net, x = get_model("resnet18")
    t0 = time.perf_counter()
    costs = CostModel.from_model(net, x, "stripes", name="resnet18")
    build = time.perf_counter() - t0
    names = [layer.name for layer in costs.layers]
    rng = random.Random(seed)

    def policy() -> Policy:
        return Policy(LayerPolicy(8, 8), {n: LayerPolicy(rng.randint(2, 8), rng.randint(2, 8))
                                          for n in names[1:-1]})

    for label, n in (("cold", evaluations // 4), ("warm", evaluations)):
        batch = [policy() for _ in range(n)]
        t0 = time.perf_counter()
        for p in batch:
            costs.evaluate(p)
        dt = time.perf_counter() - t0
        print(f"  {label}: {n:,} evaluations in {dt:.2f} s = {n / dt:,.0f}/s "
              f"({1e3 * dt / n:.3f} ms each)")
    print(f"  (cost model built in {build:.1f} s: {len(names)} compute layers)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--finetune-steps", type=int, default=30, help="per candidate")
    parser.add_argument("--final-finetune", type=int, default=300, help="for the best policy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="10 episodes, short fine-tunes")
    args = parser.parse_args()
    if args.quick:
        args.episodes, args.finetune_steps, args.final_finetune = 10, 10, 50
    torch.set_num_threads(1)  # small models: threads only add contention
    runs = [run_case(case, args.episodes, args.finetune_steps, args.final_finetune, args.seed)
            for case in CASES]
    for run in runs:
        report(run)
    transfer(runs)
    print("\n== ResNet-18 policy cost evaluations (stripes)")
    throughput(4000, args.seed)


if __name__ == "__main__":
    main()
