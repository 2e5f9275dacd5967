"""``systolab inspect MODEL``: trace a model and print its IR as a layer table."""

from __future__ import annotations

import json

import click

from compiler.passes import compile_graph
from hwsim.outfiles import write_text
from systolab.commands import BATCH
from systolab.model_loader import load_graph, model_label
from systolab.tables import layer_rows, layer_table, si, wide_console


@click.command()
@click.argument("model")
@click.option("--policy", type=click.Path(dir_okay=False), help="Compression policy (YAML/JSON).")
@click.option("--batch", type=BATCH, default=1, show_default=True)
@click.option("--all", "all_ops", is_flag=True, help="Show vector and layout ops too.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the table as JSON to this file.")
def inspect(model: str, policy: str | None, batch: int, all_ops: bool,
            json_path: str | None) -> None:
    """Trace MODEL (a zoo name or file.py:factory) and print its layers.

    Each compute layer shows its GEMM view, MACs, parameters, bits and weight density after
    the compiler's passes (batch norm folded, activations fused, pruning propagated).
    """
    graph = compile_graph(load_graph(model, batch=batch, policy=policy))
    rows = layer_rows(graph, all_ops=all_ops)
    console = wide_console()
    label = model_label(model)
    console.print(layer_table(rows, title=f"{label}: {len(graph.compute_ops())} compute layers"))
    console.print(f"total: {si(graph.total_macs, 'MAC')}, {si(graph.total_params)} parameters"
                  f" (after batch-norm folding); {'; '.join(graph.notes)}")
    if json_path:
        payload = {"model": model, "batch": batch, "total_macs": graph.total_macs,
                   "total_params": graph.total_params, "notes": graph.notes, "layers": rows}
        write_text(json_path, json.dumps(payload, indent=2))
        console.print(f"wrote {json_path}")
