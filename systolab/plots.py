"""Plots of a simulation: per-layer latency split into compute and stalls, and a roofline.

Matplotlib runs headless (Agg); the functions write PNG files and return nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["plot_simulation"]


def plot_simulation(rows: list[dict[str, Any]], *, peak_macs_per_cycle: float,
                    dram_bits_per_cycle: float, title: str, path: str | Path) -> None:
    """Latency bars (busy vs stalled cycles per layer) beside a roofline with one point per
    compute layer (x: MACs per DRAM byte, y: achieved MACs per cycle)."""
    fig, (bars, roof) = plt.subplots(1, 2, figsize=(15, 5.5), width_ratios=(3, 2))
    names = [r["name"] for r in rows]
    busy = [r["busy_cycles"] for r in rows]
    stall = [r["cycles"] - r["busy_cycles"] for r in rows]
    x = range(len(rows))
    bars.bar(x, busy, label="busy (array or vector unit)", color="tab:blue")
    bars.bar(x, stall, bottom=busy, label="stalled", color="tab:red")
    bars.set_xticks(list(x), names, rotation=90, fontsize=6)
    bars.set_ylabel("cycles")
    bars.set_title("per-layer latency")
    bars.legend()

    points = [(r["macs"] / max(r["dram_bits"] / 8, 1), r["macs"] / r["cycles"])
              for r in rows if r["macs"] and r["cycles"]]
    bytes_per_cycle = dram_bits_per_cycle / 8
    if points:
        xs = [p[0] for p in points]
        lo, hi = min(xs) / 2, max(xs) * 2
        ridge = peak_macs_per_cycle / bytes_per_cycle
        grid = [lo, min(max(ridge, lo), hi), hi]
        roof.plot(grid, [min(peak_macs_per_cycle, g * bytes_per_cycle) for g in grid],
                  color="black", label=f"roofline (peak {peak_macs_per_cycle:.0f} MAC/cycle)")
        roof.scatter(xs, [p[1] for p in points], s=14, color="tab:blue", label="layers")
        roof.set_xscale("log")
        roof.set_yscale("log")
    roof.set_xlabel("operational intensity (MACs per DRAM byte)")
    roof.set_ylabel("achieved MACs per cycle")
    roof.set_title("roofline")
    roof.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
