"""``systolab sweep``: design-space exploration from a sweep file, with a Pareto report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from hwsim.errors import Interrupted, SystolabError
from systolab.commands import MAX_PROCESSES, FiniteFloat

if TYPE_CHECKING:
    from rich.console import Console

    from systolab.search.sweep.runner import SweepOutcome


@click.command()
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(dir_okay=False))
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Local process pool, or Ray tasks.")
@click.option("--address", help="Ray cluster address (e.g. ray://head:10001 or auto); "
                                "default: start a local Ray instance.")
@click.option("--connect-timeout", type=FiniteFloat(min=0.1, max=3600), default=30.0,
              show_default=True, help="Seconds to wait for the Ray cluster at --address.")
@click.option("--workers", type=click.IntRange(0, MAX_PROCESSES), default=None,
              help="Worker processes (default: CPU count; 0 = in this process).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: sweeps/<spec name>).")
@click.option("--resume", is_flag=True, help="Continue the sweep stored in --out.")
@click.option("--max-points", type=click.IntRange(1, 10**9), default=None,
              help="Evaluate at most this many new points, then stop (resume later).")
@click.option("--no-progress", is_flag=True,
              help="No progress (a bar on a terminal, else a line every 10 s).")
@click.option("--no-plot", is_flag=True, help="Skip pareto.png.")
@click.option("--transfer", is_flag=True,
              help="Co-design with a task: also run every front point's policy on every front "
                   "point's hardware (HAQ's Table 1) and write transfer.csv.")
def sweep(spec_path: str, executor: str, address: str | None, connect_timeout: float,
          workers: int | None,
          out_dir: str | None, resume: bool, max_points: int | None, no_progress: bool,
          no_plot: bool, transfer: bool) -> None:
    """Explore accelerator parameters over workloads as SPEC.yaml describes; write every
    point and the Pareto front (points.csv, front.csv, sweep.json, pareto.png) to --out."""
    import os

    from rich.table import Table

    from systolab.progress import Reporter
    from systolab.search.sweep import load_sweep_spec, run_sweep, write_report
    from systolab.search.sweep.runner import STORE_NAME
    from systolab.search.sweep.session import Progress
    from systolab.tables import wide_console

    spec = load_sweep_spec(spec_path)
    if transfer and (spec.codesign is None or spec.codesign.task is None):
        raise click.UsageError("--transfer needs a co-design sweep with a task (codesign.task "
                               "in the sweep file)")
    out = Path(out_dir or Path("sweeps") / spec.name)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    with Reporter(f"sweep {spec.name}", unit="points", enabled=not no_progress) as bar:

        def progress(p: Progress) -> None:
            bar.update(p.done, p.total, f"{p.feasible:,} feasible, front {p.front}")

        try:
            outcome = run_sweep(spec, out, executor=executor, workers=n_workers,
                                address=address, resume=resume, max_points=max_points,
                                on_progress=progress, connect_timeout=connect_timeout)
        except KeyboardInterrupt as stop:
            raise Interrupted(
                f"interrupted: every finished point is stored in {out / STORE_NAME}; continue "
                f"with: systolab sweep {spec_path} --out {out} --resume") from stop
    try:
        paths = write_report(outcome, out, plot=not no_plot)
    except OSError as err:
        raise SystolabError(f"cannot write sweep report {err.filename!r}: {err.strerror}") from None
    console = wide_console()
    feasible = sum(r.feasible for r in outcome.results)
    console.print(f"{len(outcome.results)} points ({outcome.evaluated} evaluated now), "
                  f"{feasible} feasible, front {len(outcome.front)}"
                  + ("" if outcome.complete else "; stopped early: rerun with --resume"))
    first = spec.objectives[0]
    table = Table(title=f"Pareto front over {', '.join(spec.objectives)} (by {first})")
    policies = [] if spec.codesign is None else [w.name for w in spec.workloads]
    for col in ("point", *spec.objectives, *(f"policy {w}" for w in policies)):
        table.add_column(col, justify="left" if col == "point" else "right")
    from systolab.search.sweep.objectives import objective_vector

    front = sorted(outcome.front, key=lambda r: objective_vector(spec.objectives, r.metrics))
    for r in front[:20]:
        table.add_row(r.point.label,
                      *(f"{v:.4g}" for v in objective_vector(spec.objectives, r.metrics)),
                      *(str(r.details.get(w, {}).get("policy")) for w in policies))
    if front:
        console.print(table)
    if len(front) > 20:
        console.print(f"... {len(front) - 20} more in front.csv")
    reasons: dict[str, int] = {}
    for r in outcome.results:
        if not r.feasible:
            key = r.reason.split()[0].rstrip(":")  # area, fpga, latency, a workload...
            reasons[key] = reasons.get(key, 0) + 1
    for key, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"infeasible: {count} x {key} (the reasons are in points.csv)")
    if transfer and outcome.front:
        paths.append(_transfer(outcome, out, console))
    for path in paths:
        console.print(f"wrote {path}")


def _transfer(outcome: SweepOutcome, out: Path, console: Console) -> Path:
    """Print the transfer table (latency of each front point's policy on each front point's
    hardware) and write transfer.csv."""
    from rich.table import Table

    from systolab.search.sweep.transfer import transfer_table, write_transfer

    table = transfer_table(outcome)
    metric, limit = outcome.spec.codesign.budget[0]  # type: ignore[union-attr]
    view = Table(title=f"transfer: latency ms of each policy (row) on each hardware (column); "
                       f"* over {metric} <= {limit:g}; (parentheses): the hardware's own policy",
                 title_justify="left")
    view.add_column("policy of")
    view.add_column("error %", justify="right")
    for j in range(len(table.points)):
        view.add_column(f"H{j + 1}", justify="right")
    for i, row in enumerate(table.latency_ms):
        cells = []
        for j, value in enumerate(row):
            text = f"{value:.4g}" + ("" if table.holds[i][j] else "*")
            cells.append(f"({text})" if i == j else text)
        view.add_row(f"H{i + 1}", f"{table.error_pct[i]:.2f}", *cells)
    console.print(view)
    for j, r in enumerate(table.points):
        console.print(f"  H{j + 1}: {r.point.label}")
    try:
        return write_transfer(table, out / "transfer.csv")
    except OSError as err:
        raise SystolabError(f"cannot write {err.filename!r}: {err.strerror}") from None
