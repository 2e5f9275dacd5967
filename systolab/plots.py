"""Plots: a simulation's per-layer latency and roofline, a policy search's accuracy against
latency.

Matplotlib runs headless (Agg); the functions write PNG files and return nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from hwsim.outfiles import save_figure

if TYPE_CHECKING:
    from systolab.search.policy_search import PolicySearchReport

__all__ = ["plot_policy_search", "plot_simulation"]


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
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def plot_policy_search(report: PolicySearchReport, path: str | Path) -> None:
    """Accuracy against latency for every evaluated policy, energy as colour; the Pareto front
    circled and joined, the best policy starred, the uniform baselines and a latency budget
    marked."""
    result = report.result
    scale = 100.0 if report.score == "accuracy" else 1.0  # accuracy in percent; scores as they are
    fig, ax = plt.subplots(figsize=(7.5, 5))
    h = result.history
    points = ax.scatter([r.latency_ms for r in h], [scale * r.accuracy for r in h],
                        c=[r.energy_pj * 1e-6 for r in h], cmap="viridis", s=18, alpha=0.8)
    fig.colorbar(points, ax=ax, label="energy (uJ)")
    ax.plot([r.latency_ms for r in result.pareto], [scale * r.accuracy for r in result.pareto], "o",
            color="tab:red", mfc="none", ms=9, label="Pareto front (accuracy, latency, energy)")
    steps, top = [], -1.0  # the accuracy-latency front as a staircase
    for r in sorted(h, key=lambda r: (r.seconds, -r.accuracy)):
        if r.accuracy > top:
            steps.append(r)
            top = r.accuracy
    ax.step([r.latency_ms for r in steps], [scale * r.accuracy for r in steps], where="post",
            color="tab:red", lw=1, alpha=0.6)
    if result.best is not None:
        ax.plot(result.best.latency_ms, scale * result.best.accuracy, "*", color="gold", ms=16,
                mec="black", label="best within budget")
    for c in report.comparison:
        if c["policy"].startswith("uniform"):
            ax.plot(c["latency_ms"], scale * c["accuracy"], "s", color="gray")
            ax.annotate(c["policy"].removeprefix("uniform "), (c["latency_ms"], scale * c["accuracy"]),
                        textcoords="offset points", xytext=(4, 4), fontsize=8)
    if result.budget is not None and result.budget.metric == "latency":
        ax.axvline(result.budget.limit * 1e3, ls="--", color="gray", label="latency budget")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (%)" if report.score == "accuracy" else report.score)
    ax.set_title(f"{report.model} on {report.arch}: {result.config.agent}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
