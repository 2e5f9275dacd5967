"""Tables for the command line: rows as plain records first, rich rendering second.

:func:`layer_rows` turns a compiled graph into JSON-ready dicts; :func:`layer_table` renders
them with rich. Only the CLI prints the table.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from compiler.ir import Gemm, Graph, Op

__all__ = ["layer_rows", "layer_table", "si", "wide_console"]


def wide_console() -> Console:
    """A console for tables: the terminal's width, or 160 columns when output is piped."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console


def si(value: float, unit: str = "") -> str:
    """Engineering notation: 1.81e9 -> '1.81 G'."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".rstrip()


def _row(graph: Graph, op: Op) -> dict[str, Any]:
    gemm = graph.record(op.name, Gemm) if graph.has_record(op.name, Gemm) else None
    compute = op.family == "compute"
    return {
        "name": op.name,
        "op": op.kind.value,
        "output_shape": list(op.output.shape),
        "gemm": {"M": gemm.M, "N": gemm.N, "K": gemm.K, "groups": gemm.groups} if gemm else None,
        "macs": gemm.macs if gemm else 0,
        "params": op.params,
        "w_bits": op.precision.w_bits if compute else None,
        "a_bits": op.precision.a_bits if compute else None,
        "density": op.sparsity.density if compute else None,
        "kept_out_channels": op.sparsity.kept_out_channels,
        "fused": list(op.fused),
    }


def layer_rows(graph: Graph, *, all_ops: bool = False) -> list[dict[str, Any]]:
    """One record per compute op (or per op with ``all_ops``), in execution order."""
    return [_row(graph, op) for op in graph.ops() if all_ops or op.family == "compute"]


def layer_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("layer", no_wrap=True)
    table.add_column("op", no_wrap=True)
    table.add_column("output", no_wrap=True)
    for header in ("M", "N", "K", "groups", "MACs", "params", "w/a bits", "density"):
        table.add_column(header, justify="right", no_wrap=True)
    for r in rows:
        g = r["gemm"]
        op = r["op"] + (f"+{'+'.join(r['fused'])}" if r["fused"] else "")
        table.add_row(
            r["name"], op, "x".join(map(str, r["output_shape"])),
            *((str(g["M"]), str(g["N"]), str(g["K"]), str(g["groups"])) if g else ("",) * 4),
            si(r["macs"]) if r["macs"] else "", si(r["params"]) if r["params"] else "",
            f"{r['w_bits']}/{r['a_bits']}" if r["w_bits"] is not None else "",
            f"{r['density']:.3f}" if r["density"] is not None else "",
        )
    return table


def _cycles(n: float) -> str:
    return f"{n:,.0f}"


def simulation_table(rows: list[dict[str, Any]], title: str, *, busy: bool = False) -> Table:
    """Per-layer simulation results: mapping, cycles against the roofline, energy, traffic.

    ``busy`` adds each layer's busy (stall-free) cycles beside its total: in ``scalesim``
    timing those are the cycles SCALE-Sim reports, while the total adds systolab's DRAM
    stalls."""
    table = Table(title=title, title_justify="left", header_style="bold")
    headers = [("layer", "left"), ("op", "left"), ("bits", "right"), ("dataflow", "left"),
               ("tile m x k x n", "right"), ("folds", "right"), ("cycles", "right")]
    if busy:
        headers.append(("busy (= SCALE-Sim)", "right"))
    headers += [("roofline", "right"), ("ms", "right"), ("util", "right"), ("bound", "left"),
                ("energy uJ", "right"), ("DRAM", "right")]
    for header, justify in headers:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for r in rows:
        cells = [
            r["name"], r["op"],
            f"{r['w_bits']}/{r['a_bits']}" if r["w_bits"] is not None else "",
            r["dataflow"] + (f" {r['order']}" if r["order"] else ""),
            " x ".join(map(str, r["tile"])) if r["tile"] else "",
            "x".join(map(str, r["folds"])) if r["folds"] else "",
            _cycles(r["cycles"]),
        ]
        if busy:
            cells.append(_cycles(r["busy_cycles"]))
        cells += [_cycles(r["roofline_cycles"]), f"{r['ms']:.3f}",
                  f"{100 * r['utilization']:.0f}%" if r["macs"] else "-", r["bound"],
                  f"{r['energy_uj']:.1f}", si(r["dram_bits"] / 8, "B")]
        table.add_row(*cells)
    return table
