"""``systolab simulate``: cycles, energy and traffic of a model on an accelerator, per layer."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from hwsim.errors import SystolabError
from hwsim.outfiles import write_text
from hwsim.timing import MODES
from systolab.commands import BATCH, mapping_options
from systolab.progress import Reporter
from systolab.tables import si, simulation_table, wide_console

if TYPE_CHECKING:
    from systolab.pipeline import Simulation


@click.command()
@click.argument("model", required=False)
@click.option("--arch", "arch_name", default="edge_int8", show_default=True,
              help="Accelerator: a shipped config name or a YAML path.")
@click.option("--policy", type=click.Path(dir_okay=False), help="Compression policy (YAML/JSON).")
@click.option("--batch", type=BATCH,
              help="Batch size of MODEL's example input [default: 1].")
@click.option("--mode", type=click.Choice(MODES), default=None,
              help="Timing model (default: native; scalesim with --scalesim-config).")
@click.option("--scalesim-config", type=click.Path(dir_okay=False),
              help="SCALE-Sim .cfg: use its array instead of --arch (needs --topology).")
@click.option("--topology", type=click.Path(dir_okay=False),
              help="SCALE-Sim topology .csv (conv or GEMM rows) instead of MODEL.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write stats as JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write stats as CSV.")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False),
              help="Write a Chrome/Perfetto trace of the tile timeline.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write a PNG: latency per layer (busy vs stalled) and a roofline.")
@click.option("--strict", is_flag=True,
              help="Fail (exit 2) when an FPGA design does not fit its board.")
@click.option("--activation-data", metavar="TASK|example",
              help="Measure each layer's share of non-zero inputs on a task's test images (a "
                   "task name; the task's trained weights for the model it trains) or on the "
                   "model's example input (example), for archs that skip zero activations.")
@mapping_options
def simulate(model: str | None, arch_name: str, policy: str | None, batch: int | None,
             mode: str | None,
             scalesim_config: str | None, topology: str | None, json_path: str | None,
             csv_path: str | None, trace_path: str | None, plot_path: str | None,
             strict: bool, activation_data: str | None, objective: str, dataflow: str) -> None:
    """Simulate MODEL (a zoo name or file.py:factory) on an accelerator and print per-layer
    cycles, latency, utilization, bound, energy and DRAM traffic, with the roofline bound."""
    from systolab.pipeline import simulate_graph

    if topology or scalesim_config:
        if model or policy:
            raise click.UsageError("give either MODEL (with --policy) or --topology, not both")
        if activation_data:
            raise click.UsageError("--activation-data needs MODEL: a topology has no data path")
        if batch is not None:
            raise click.UsageError("--batch applies to MODEL, not to --topology: a SCALE-Sim "
                                   "topology's rows give the layer shapes")
        if not topology:
            raise click.UsageError("--scalesim-config needs --topology")
        from compiler.frontend.scalesim import load_scalesim_arch, load_scalesim_topology

        graph = load_scalesim_topology(topology)
        arch = load_scalesim_arch(scalesim_config) if scalesim_config else arch_name
        label = Path(topology).stem
        with Reporter(f"simulate {label}", unit="layers") as bar:
            sim = simulate_graph(graph, arch, mode=mode or ("scalesim" if scalesim_config
                                                            else "native"), name=label,
                                 trace=trace_path is not None, objective=objective,
                                 dataflow=dataflow, on_progress=bar.update)
    else:
        if not model:
            raise click.UsageError("MODEL is required (or --topology with --scalesim-config)")
        from compiler.passes import compile_graph
        from systolab.model_loader import load_graph, model_label

        t0 = time.perf_counter()
        graph = compile_graph(load_graph(model, batch=batch or 1, policy=policy))
        if activation_data:
            from compiler.compression.activations import with_input_density
            from systolab.model_loader import measured_input_density

            graph = with_input_density(graph, measured_input_density(model, activation_data,
                                                                     policy=policy))
        traced = time.perf_counter() - t0
        label = model_label(model)
        with Reporter(f"simulate {label}", unit="layers") as bar:
            sim = simulate_graph(graph, arch_name, mode=mode or "native", name=label,
                                 trace=trace_path is not None, objective=objective,
                                 dataflow=dataflow, on_progress=bar.update)
        sim.wall_seconds["trace_s"] = traced
    rows = sim.layer_rows()
    total = sim.stats.total
    console = wide_console()
    scalesim = sim.mode == "scalesim"
    console.print(simulation_table(rows, title=f"{label} on {sim.arch.name} "
                                               f"({sim.arch.description}), {sim.mode} timing",
                                   busy=scalesim))
    bound = total.roofline_cycles
    console.print(
        f"total: {total.cycles:,} cycles = {total.seconds * 1e3:.3f} ms at "
        f"{sim.arch.array.clock_mhz:g} MHz; roofline bound {bound:,.0f} cycles "
        f"({total.cycles / bound:.2f}x); utilization {100 * total.utilization:.1f}%; "
        f"{si(total.macs, 'MAC')}; energy {total.energy_pj * 1e-6:.1f} uJ; "
        f"DRAM {si((total.dram_read_bits + total.dram_write_bits) / 8, 'B')}")
    if scalesim:
        console.print(f"busy: {total.busy_cycles:,} cycles: the array's stall-free cycles, which "
                      "are what SCALE-Sim counts (the total adds DRAM stalls it does not model)")
    res = sim.stats.resources
    if res is not None:
        used = ", ".join(f"{k.upper()} {getattr(res.used, k):,}/{getattr(res.budget, k):,} "
                         f"({100 * u:.0f}%)" for k, u in res.utilization.items())
        verdict = "fits" if res.fits else "DOES NOT FIT"
        console.print(f"FPGA {res.part} ({res.kernel} PEs): {used}: {verdict}")
    stalls = ", ".join(f"{cause} {n:,}" for cause, n in total.stall_cycles if n)
    console.print(f"stalls: {stalls or 'none'}")
    notes = [f"{r['name']}: {r['sparsity']}" for r in rows if r["sparsity"]] + sim.graph.notes
    for note in notes:
        console.print(f"note: {note}")
    wall = sim.wall_seconds
    console.print("wall time: " + ", ".join(f"{k.removesuffix('_s')} {v:.3f} s"
                                             for k, v in wall.items()))
    _write_outputs(sim, rows, json_path, csv_path, trace_path, plot_path, console)
    if strict and res is not None and not res.fits:
        raise SystolabError(f"{sim.arch.name} does not fit {res.part}: "
                            + ", ".join(f"{k} {100 * u:.0f}%" for k, u in res.utilization.items()
                                        if u > 1))


def _write_outputs(sim: Simulation, rows: list[dict[str, Any]], json_path: str | None,
                   csv_path: str | None, trace_path: str | None, plot_path: str | None,
                   console: Console) -> None:
    try:
        if json_path:
            write_text(json_path, json.dumps(sim.to_dict(), indent=2, default=str))
            console.print(f"wrote {json_path}")
        if csv_path:
            write_text(csv_path, sim.stats.to_csv())
            console.print(f"wrote {csv_path}")
        if trace_path:
            sim.stats.to_perfetto(trace_path)
            console.print(f"wrote {trace_path} (open in https://ui.perfetto.dev)")
        if plot_path:
            from systolab.plots import plot_simulation

            plot_simulation(rows, peak_macs_per_cycle=sim.arch.array.peak_macs_per_cycle(8, 8),
                            dram_bits_per_cycle=sim.arch.dram_bits_per_cycle,
                            title=f"{sim.name} on {sim.arch.name}", path=plot_path)
            console.print(f"wrote {plot_path}")
    except OSError as err:
        raise SystolabError(f"cannot write output file {err.filename!r}: {err.strerror}") from None
