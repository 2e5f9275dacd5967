"""Wall time of simulating whole networks: ResNet-18 and ResNet-50 at 224x224 on 8x8, 32x32
and 128x128 int8 arrays (edge_int8 with the array resized), cold caches.

    .venv/bin/python benchmarks/bench_simulate.py

Tracing (torch.fx plus the passes) is shown separately from mapping and simulation, which is
the part a search loop repeats. Targets: ResNet-18 on 32x32 under 0.5 s, ResNet-50 on 8x8
under 5 s. For scale: SCALE-Sim takes over 10 minutes for ResNet-18 on 32x32, ZigZag about
90 s.
"""

from __future__ import annotations

import time
from dataclasses import replace

from compiler.frontend.pytorch import trace
from compiler.mapping import map_model
from compiler.passes import compile_graph
from hwsim import load_arch, simulate
from systolab.zoo import get_model


def main() -> None:
    base = load_arch("edge_int8")
    print(f"{'model':10} {'array':>8} {'trace s':>8} {'map s':>7} {'sim s':>7} "
          f"{'cycles':>12} {'layers':>6} {'tiles':>10}")
    for name in ("resnet18", "resnet50"):
        t0 = time.perf_counter()
        graph = compile_graph(trace(*get_model(name)))
        t_trace = time.perf_counter() - t0
        for size in (8, 32, 128):
            arch = replace(base, name=f"int8_{size}x{size}",
                           array=replace(base.array, rows=size, cols=size))
            t1 = time.perf_counter()
            mapped = map_model(graph, arch, name)
            t2 = time.perf_counter()
            stats = simulate(mapped.program, arch, trace=False)
            t3 = time.perf_counter()
            print(f"{name:10} {size:>3}x{size:<4} {t_trace:8.3f} {t2 - t1:7.3f} {t3 - t2:7.3f} "
                  f"{stats.cycles:12,} {len(stats.layers):6} {mapped.program.tiles:10,}")


if __name__ == "__main__":
    main()
