"""Engine speed on synthetic programs.

Table 1: one weight-stationary GEMM layer on the edge int8 array (M = 256, K = 64 in four
k steps, N = 16 x tiles + 5: a run of full tiles and a run of edge tiles), 10^3 .. 10^6
tiles. Identical tiles in steady state are advanced in closed form, so wall time should stay
nearly flat as the tile count grows.

Table 2: runs with long periods, as a compiler's loop nests produce them: a ``Kt``-step
reduction with a k-edge tile (full/edge variants, windows) and weights reused by ``Mb`` m
blocks, so a period is ``Kt`` or ``Mb x Kt`` iterations. A "network" is 20 layers of 4 such
runs (distinct shapes, so nothing is cached), shaped like ResNet-18's convolutions on a
32 x 32 array. Each program is simulated on a fresh cache.

Wall time is what a user waits; CPU time (``cpu s``) is the figure to compare on a shared
machine.

Run: ``.venv/bin/python benchmarks/bench_engine.py``.
"""

from __future__ import annotations

import time

from hwsim.config import load_arch
from hwsim.engine import clear_cache, simulate
from hwsim.isa import Compute, Layer, Load, Program, Run, Store


def gemm_runs(m: int, k: int, Kt: int, n: int, n_edge: int, blocks: int) -> tuple[Run, ...]:
    """Output column blocks of ``n`` (``blocks`` of them) and one of ``n_edge``; per block,
    ``Kt`` reduction steps, each loading its weight and input tiles; one store per block."""
    def run(width: int, count: int) -> Run:
        body = (Load("weight", k * width * 8), Load("input", m * k * 8),
                Compute("ws", m, k, width, deps=(0, 1)), Store(m * width * 8, every=Kt, deps=(2,)))
        return Run(body, count * Kt)
    return run(n, blocks), run(n_edge, 1)


def k_edge_run(m: int, n: int, k: int, k_edge: int, Kt: int, Mb: int, tiles: int) -> Run:
    """``tiles`` output column blocks; per block, order (k, m): the weight tile of each k step
    is loaded once for ``Mb`` m blocks when there is no k edge (``k_edge == k``); with an edge,
    loads and computes come in full/edge variants with windows."""
    if k_edge == k:
        P = Kt * Mb
        body: tuple = (Load("weight", k * n * 8, every=Mb), Load("input", m * k * 8),
                       Compute("ws", m, k, n, deps=(0, 1)),
                       Store(m * n * 8, every=P, window=((Kt - 1) * Mb, P), deps=(2,)))
        return Run(body, P * tiles)
    full, edge = (0, Kt - 1), (Kt - 1, Kt)
    body = (Load("weight", k * n * 8, every=Kt, window=full),
            Load("weight", k_edge * n * 8, every=Kt, window=edge),
            Load("input", m * k * 8, every=Kt, window=full),
            Load("input", m * k_edge * 8, every=Kt, window=edge),
            Compute("ws", m, k, n, every=Kt, window=full, deps=(0, 2)),
            Compute("ws", m, k_edge, n, every=Kt, window=edge, deps=(1, 3)),
            Store(m * n * 8, every=Kt, deps=(5,)))
    return Run(body, Kt * Mb * tiles)


def network(arch_rows: int) -> Program:
    """20 layers x 4 runs: K = 9 x channels split into k tiles of the array height."""
    layers = []
    for li in range(20):
        ch = (64, 128, 256, 512)[li // 5]
        K = 9 * ch + li  # + li: distinct shapes, and a k edge on most layers
        Kt, k_edge = -(-K // arch_rows), K % arch_rows or arch_rows
        runs = (k_edge_run(64, arch_rows, arch_rows, k_edge, Kt, 1, 40),
                k_edge_run(17, arch_rows, arch_rows, k_edge, Kt, 1, 40),
                k_edge_run(64, arch_rows, arch_rows, arch_rows, min(Kt, 36), 6, 30),
                k_edge_run(64, 5, arch_rows, k_edge, Kt, 1, 3))
        layers.append(Layer(f"conv{li}", runs))
    return Program("net", tuple(layers))


def timed(prog: Program, arch_name: str) -> tuple[int, float, float]:
    """(cycles, wall s, CPU s) of simulating ``prog`` on a cold cache."""
    arch = load_arch(arch_name)
    clear_cache()
    t0, c0 = time.perf_counter(), time.process_time()
    stats = simulate(prog, arch, trace=False)
    return stats.cycles, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    print(f"{'tiles':>10} {'runs':>5} {'cycles':>14} {'wall s':>8} {'cpu s':>8} {'tiles/s':>12}")
    for exp in range(3, 7):
        target = 10**exp
        # 16 output columns per tile, K = 64 (4 k-steps), M chunks of 256 rows
        n_tiles = max(1, target // 4)
        prog = Program("synthetic", (Layer("gemm", gemm_runs(256, 16, 4, 16, 5, n_tiles)),))
        cycles, wall, cpu = timed(prog, "edge_int8")
        tiles = prog.tiles
        runs = sum(len(layer.runs) for layer in prog.layers)
        print(f"{tiles:>10} {runs:>5} {cycles:>14} {wall:>8.3f} {cpu:>8.3f} {tiles / wall:>12.3g}")
    print()
    print(f"{'network':>22} {'runs':>5} {'max period':>10} {'tiles':>10} {'cycles':>12} "
          f"{'wall s':>8} {'cpu s':>8}")
    for arch_name, rows in (("fpga_zcu102", 32), ("fpga_zynq7020", 8)):
        prog = network(rows)
        runs = [r for layer in prog.layers for r in layer.runs]
        cycles, wall, cpu = timed(prog, arch_name)
        print(f"{arch_name + ' (long periods)':>22} {len(runs):>5} "
              f"{max(r.period for r in runs):>10} {prog.tiles:>10} {cycles:>12} {wall:>8.2f} "
              f"{cpu:>8.2f}")


if __name__ == "__main__":
    main()
