"""Evaluations per second of :class:`systolab.search.CostModel` on ResNet-18 (224x224).

    .venv/bin/python benchmarks/bench_costs.py [--policies 64] [--seconds 3]

Per arch (edge_int8: 8-bit int PEs; stripes: activation-serial PEs), ``--policies`` random
mixed-precision policies (bits 2..8 per layer, first and last layer at 8) are evaluated once
to warm the per-layer caches (every new (layer, bits) pair is simulated by the engine, which
dominates: shown as "warm-up"), then evaluated round-robin for ``--seconds``: the rate a
search loop sees once its caches hold the layers it visits. Target: >= 2,000 evaluations/s.
A keep-ratio policy with new kept-channel counts compiles and maps its pruned graph once
("new keep vector", shown apart).

``--table``: instead, the time of ``CostModel.table(range(1, 9))`` (HAQ's lookup table, what
``systolab costs`` computes) on ResNet-50 and edge_int8 after capture, cold, over
``--workers`` processes (default: one per CPU, started before the capture, as ``systolab
costs`` does), and in this process alone split into mapping and simulation. Target: under
2 s.
"""

from __future__ import annotations

import argparse
import os
import random
import time

from compiler.policy import LayerPolicy, Policy


def random_policies(names: list[str], n: int, seed: int) -> list[Policy]:
    rng = random.Random(seed)
    inner = names[1:-1]
    return [Policy(LayerPolicy(8, 8), {name: LayerPolicy(rng.randint(2, 8), rng.randint(2, 8))
                                       for name in inner}) for _ in range(n)]


def table_time(workers: int, model: str = "resnet50", arch: str = "edge_int8") -> None:
    """Print the cold time of the bits 1-8 cost table over ``workers`` processes, and in one
    process with mapping and simulation apart (each in a fresh process: caches are cold)."""
    import subprocess
    import sys

    for n in dict.fromkeys((workers, 1)):
        subprocess.run([sys.executable, __file__, "--table-once", str(n), model, arch], check=True)


def _table_once(workers: int, model: str, arch: str) -> None:
    import systolab.search.costs as costs
    from compiler.frontend.pytorch import trace
    from hwsim import load_arch
    from hwsim.engine import no_cyclic_gc
    from systolab.zoo import get_model

    spent = {"map": 0.0, "simulate": 0.0}

    def timed(fn, what):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[what] += time.perf_counter() - t
        return wrapper

    if workers == 1:
        costs.map_op = timed(costs.map_op, "map")
        costs.simulate_layer = timed(costs.simulate_layer, "simulate")
        helpers: int | costs.TableWorkers = 1
    else:  # started before the capture, as systolab costs does
        helpers = costs.TableWorkers(workers - 1)
    cost_model = costs.CostModel(trace(*get_model(model)), load_arch(arch), name=model)
    t0 = time.perf_counter()
    with no_cyclic_gc(freeze=True):  # (as systolab costs runs it)
        table = cost_model.table(range(1, 9), workers=helpers)
    total = time.perf_counter() - t0
    if isinstance(helpers, costs.TableWorkers):
        helpers.close()
    pairs = len(table.bits) ** 2
    split = (f" (mapping {spent['map']:.2f} s, simulation {spent['simulate']:.2f} s)"
             if workers == 1 else "")
    print(f"{model} on {arch}: table of {pairs} bit pairs x {len(table.layers)} layers, "
          f"{workers} process{'es' if workers > 1 else ''}: {total:.2f} s{split}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--table", action="store_true",
                        help="time ResNet-50's bits 1-8 cost table instead")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for --table")
    parser.add_argument("--table-once", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.table_once:
        _table_once(int(args.table_once[0]), *args.table_once[1:])
        return
    if args.table:
        table_time(args.workers)
        return
    # (imported here: spawned workers import this script, and need neither torch nor the zoo)
    from compiler.frontend.pytorch import trace
    from hwsim import load_arch
    from systolab.search.costs import CostModel
    from systolab.zoo import get_model

    graph = trace(*get_model("resnet18"))
    print(f"{'arch':10} {'policies':>8} {'warm-up s':>9} {'evals/s':>9} {'us/eval':>8} "
          f"{'new keep vector s':>17}")
    for arch_name in ("edge_int8", "stripes"):
        cost_model = CostModel(graph, load_arch(arch_name), name="resnet18")
        names = [layer.name for layer in cost_model.layers]
        policies = random_policies(names, args.policies, seed=0)
        t0 = time.perf_counter()
        for policy in policies:
            cost_model.evaluate(policy)
        warm = time.perf_counter() - t0
        count, t1 = 0, time.perf_counter()
        while time.perf_counter() - t1 < args.seconds:
            for policy in policies:
                cost_model.evaluate(policy)
            count += len(policies)
        rate = count / (time.perf_counter() - t1)
        pruned = Policy(LayerPolicy(8, 8), {names[1]: LayerPolicy(keep=0.5)})
        t2 = time.perf_counter()
        cost_model.evaluate(pruned)
        keep_s = time.perf_counter() - t2
        print(f"{arch_name:10} {len(policies):8} {warm:9.1f} {rate:9,.0f} {1e6 / rate:8.1f} "
              f"{keep_s:17.2f}")


if __name__ == "__main__":
    main()
