"""Sweep reports: every point and the Pareto front as CSV and JSON, and a PNG plot.

Files written in the output folder (:func:`write_report`):

- ``points.csv``: one row per point (feasible or not, with the reason), parameters, base
  metrics, objectives, ``on_front``; co-design sweeps add each workload's chosen policy;
- ``front.csv``: the front's rows only, sorted by the first objective;
- ``sweep.json``: the spec summary, every point (with per-workload details) and the front ids;
- ``pareto.png``: latency vs energy of the feasible points, coloured by area (or FPGA
  utilization when area is not an objective and a board is set), the front highlighted.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hwsim.outfiles import replacing, save_figure, write_text
from systolab.search.sweep.evaluate import PointResult
from systolab.search.sweep.objectives import BASE_METRICS, OBJECTIVES, objective_vector
from systolab.search.sweep.runner import SweepOutcome

__all__ = ["plot_front", "rows", "write_report"]


def rows(outcome: SweepOutcome) -> list[dict[str, Any]]:
    """One flat record per point, in plan order (the CSV's rows)."""
    spec = outcome.spec
    names = [a.name for a in spec.axes]
    front = {r.id for r in outcome.front}
    out = []
    for r in outcome.results:
        row: dict[str, Any] = {"id": r.id, "seq": r.seq, "feasible": r.feasible,
                               "on_front": r.id in front, "reason": r.reason}
        params = r.point.to_dict()
        row.update({n: params.get(n) for n in names})
        row.update({m: r.metrics.get(m) for m in BASE_METRICS})
        if r.feasible:
            row.update(zip(spec.objectives, objective_vector(spec.objectives, r.metrics), strict=True))
        if spec.codesign is not None:
            for w in spec.workloads:
                row[f"policy_{w.name}"] = r.details.get(w.name, {}).get("policy")
        row["wall_s"] = round(r.wall_s, 4)
        out.append(row)
    return out


def _write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    fields: list[str] = []
    for rec in records:
        fields.extend(k for k in rec if k not in fields)
    with replacing(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)


def _point_json(r: PointResult) -> dict[str, Any]:
    return {"id": r.id, "seq": r.seq, "params": r.point.to_dict(), "feasible": r.feasible,
            "reason": r.reason, "metrics": r.metrics, "details": r.details, "wall_s": r.wall_s}


def write_report(outcome: SweepOutcome, out_dir: str | Path, plot: bool = True) -> list[Path]:
    """Write the files listed in the module doc; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec = outcome.spec
    records = rows(outcome)
    _write_csv(out / "points.csv", records)
    first = spec.objectives[0]
    front_rows = sorted((r for r in records if r["on_front"]), key=lambda r: r[first])
    _write_csv(out / "front.csv", front_rows)
    doc = {
        "name": spec.name, "base": spec.base, "mode": spec.mode,
        "workloads": [asdict(w) for w in spec.workloads],
        "axes": {a.name: list(a.values) for a in spec.axes},
        "strategy": asdict(spec.strategy), "objectives": list(spec.objectives),
        "objective_units": {o: OBJECTIVES[o].unit for o in spec.objectives},
        "complete": outcome.complete,
        "points": [_point_json(r) for r in outcome.results],
        "front": [r.id for r in outcome.front],
    }
    write_text(out / "sweep.json", json.dumps(doc, indent=2, default=str))
    paths = [out / "points.csv", out / "front.csv", out / "sweep.json"]
    if plot:
        paths.append(plot_front(outcome, out / "pareto.png"))
    return paths


def plot_front(outcome: SweepOutcome, path: str | Path) -> Path:
    """Latency vs energy of feasible points, coloured by area, front highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize
    from matplotlib.ticker import NullFormatter

    spec = outcome.spec
    feasible = [r for r in outcome.results if r.feasible]
    color_key = ("fpga_util" if "area_mm2" not in spec.objectives
                 and spec.constraints.fpga is not None else "area_mm2")
    fig, ax = plt.subplots(figsize=(7.5, 5.5), dpi=120)
    if feasible:
        colors = [r.metrics[color_key] for r in feasible]
        norm = Normalize(min(colors), max(colors))
        sc = ax.scatter([r.metrics["latency_ms"] for r in feasible],
                        [r.metrics["energy_uj"] for r in feasible],
                        c=colors, cmap="viridis", norm=norm, s=18,
                        alpha=0.7, linewidths=0)
        label = "area (mm$^2$)" if color_key == "area_mm2" else "FPGA utilization"
        fig.colorbar(sc, ax=ax, label=label)
        front = sorted(outcome.front, key=lambda r: r.metrics["latency_ms"])
        ax.scatter([r.metrics["latency_ms"] for r in front],
                   [r.metrics["energy_uj"] for r in front],
                   c=[r.metrics[color_key] for r in front], cmap="viridis", norm=norm, s=60,
                   edgecolors="red", linewidths=1.2, label=f"Pareto front ({len(front)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_formatter(NullFormatter())
        ax.legend(loc="best")
    infeasible = len(outcome.results) - len(feasible)
    workloads = ", ".join(w.name for w in spec.workloads)
    ax.set_title(f"{spec.name}: {len(outcome.results)} points on {workloads} "
                 f"({infeasible} infeasible)\nfront over {', '.join(spec.objectives)}",
                 fontsize=10)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("energy (uJ)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)
