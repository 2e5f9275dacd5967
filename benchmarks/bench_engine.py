"""Engine speed on synthetic programs of 10^3 .. 10^6 tiles.

Each program is one GEMM layer tiled by :func:`hwsim.programs.gemm_layer` on the edge int8
array (a few runs of identical tiles). Because identical tiles in steady state are advanced
in closed form, wall time should stay nearly flat as the tile count grows. Each size is
simulated on a fresh cache. Run: ``.venv/bin/python benchmarks/bench_engine.py``.
"""

from __future__ import annotations

import time

from hwsim.config import load_arch
from hwsim.engine import _timed_runs, simulate
from hwsim.isa import Program
from hwsim.programs import gemm_layer


def main() -> None:
    arch = load_arch("edge_int8")
    print(f"{'tiles':>10} {'runs':>5} {'cycles':>14} {'wall s':>8} {'tiles/s':>12}")
    for exp in range(3, 7):
        target = 10**exp
        # 16 output columns per tile, K = 64 (4 k-steps), M chunks of 256 rows
        n_tiles = max(1, target // 4)
        prog = Program("synthetic", (gemm_layer("gemm", 256, 64, 16 * n_tiles + 5, arch),))
        _timed_runs.cache_clear()
        t0 = time.perf_counter()
        stats = simulate(prog, arch, trace=False)
        wall = time.perf_counter() - t0
        tiles = stats.total.tiles
        runs = sum(len(layer.runs) for layer in prog.layers)
        print(f"{tiles:>10} {runs:>5} {stats.cycles:>14} {wall:>8.3f} {tiles / wall:>12.3g}")


if __name__ == "__main__":
    main()
