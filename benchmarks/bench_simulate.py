"""Wall time of simulating whole networks, cold caches (every per-layer cache cleared first).

    .venv/bin/python benchmarks/bench_simulate.py

First table: ResNet-18 and ResNet-50 at 224x224 on 8x8, 32x32 and 128x128 int8 arrays
(edge_int8 with the array resized). Second table: both networks on every shipped config, the
way ``systolab simulate`` runs them (mapper search for latency, then simulation, no trace).
Capture (torch.fx on meta tensors, plus the passes) is shown apart from mapping and
simulation, which is the part a search loop repeats.

Targets (issue 16): ResNet-50 on edge_int8 under 0.2 s and ResNet-18 on every shipped config
under 0.1 s, mapper search included. For scale: SCALE-Sim takes over 10 minutes for ResNet-18
on 32x32, ZigZag about 90 s.
"""

from __future__ import annotations

import time
from dataclasses import replace

from compiler.frontend.pytorch import trace
from compiler.ir import Graph
from compiler.mapping import map_model
from compiler.mapping.tiling import clear_caches
from compiler.passes import compile_graph
from hwsim import Arch, RunStats, load_arch, shipped_configs, simulate
from hwsim.engine import clear_cache
from systolab.zoo import get_model


def cold_run(graph: Graph, arch: Arch, name: str) -> tuple[float, float, RunStats, int]:
    """(map s, simulate s, stats, tiles) of one model on one arch, every cache cleared first."""
    clear_caches()
    clear_cache()
    t1 = time.perf_counter()
    mapped = map_model(graph, arch, name)
    t2 = time.perf_counter()
    stats = simulate(mapped.program, arch, trace=False)
    return t2 - t1, time.perf_counter() - t2, stats, mapped.program.tiles


def main() -> None:
    base = load_arch("edge_int8")
    graphs = {}
    print(f"{'model':10} {'array':>8} {'trace s':>8} {'map s':>7} {'sim s':>7} "
          f"{'cycles':>12} {'layers':>6} {'tiles':>10}")
    for name in ("resnet18", "resnet50"):
        t0 = time.perf_counter()
        graphs[name] = graph = compile_graph(trace(*get_model(name)))
        t_trace = time.perf_counter() - t0
        for size in (8, 32, 128):
            arch = replace(base, name=f"int8_{size}x{size}",
                           array=replace(base.array, rows=size, cols=size))
            t_map, t_sim, stats, tiles = cold_run(graph, arch, name)
            print(f"{name:10} {size:>3}x{size:<4} {t_trace:8.3f} {t_map:7.3f} {t_sim:7.3f} "
                  f"{stats.cycles:12,} {len(stats.layers):6} {tiles:10,}")

    print(f"\n{'model':10} {'config':22} {'map s':>7} {'sim s':>7} {'total s':>7} {'cycles':>12}")
    for name, graph in graphs.items():
        for config in shipped_configs():
            t_map, t_sim, stats, _ = cold_run(graph, load_arch(config), name)
            print(f"{name:10} {config:22} {t_map:7.3f} {t_sim:7.3f} {t_map + t_sim:7.3f} "
                  f"{stats.cycles:12,}")


if __name__ == "__main__":
    main()
