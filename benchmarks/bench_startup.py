"""Whole-process wall times of the commands a user waits for, best of ``--repeat`` runs.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 5]

Each command runs as a fresh process (``python -m systolab.cli ...``), so interpreter start,
imports and output are included, as a user sees them. Targets (issue 16): ``systolab --help``
within 3x of ``python -c "import numpy"``; a SCALE-Sim ResNet-18 topology on a 32x32 array
(``configs/topologies/resnet18.csv``) under 0.5 s. ``simulate resnet18`` is shown for scale:
it imports torch and captures the model.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALESIM_CFG = """[general]
run_name = bench

[architecture_presets]
ArrayHeight: 32
ArrayWidth: 32
IfmapSramSzkB: 64
FilterSramSzkB: 64
OfmapSramSzkB: 64
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: 10
Dataflow: os
MemoryBanks: 1
"""


def best_of(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "systolab.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "os32.cfg"
        cfg.write_text(SCALESIM_CFG)
        topology = str(ROOT / "configs" / "topologies" / "resnet18.csv")
        cases = [
            ("python -c 'import numpy'", [sys.executable, "-c", "import numpy"]),
            ("systolab --help", [*cli, "--help"]),
            ("systolab simulate --help", [*cli, "simulate", "--help"]),
            ("SCALE-Sim ResNet-18, 32x32 OS", [*cli, "simulate", "--scalesim-config", str(cfg),
                                               "--topology", topology]),
            ("systolab simulate resnet18", [*cli, "simulate", "resnet18"]),
        ]
        print(f"{'command':32} {'best s':>7}")
        numpy_s = None
        for label, argv in cases:
            seconds = best_of(argv, args.repeat)
            numpy_s = numpy_s or seconds
            print(f"{label:32} {seconds:7.3f}   ({seconds / numpy_s:.1f}x import numpy)")


if __name__ == "__main__":
    main()
