"""``systolab costs``: HAQ-style per-layer cost table of a model on an accelerator.

Writes ``<model>_<arch>_costs.json`` (per compute layer: HAQ state features and (cycles,
energy) for every (w_bits, a_bits) pair) and ``<model>_<arch>_costs.npy`` (array
``[layers, max_bits, max_bits, 2]`` indexed ``[layer, w_bits - 1, a_bits - 1]``, NaN where not
measured), then prints a summary.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import click
import numpy as np

from hwsim.fields import shown
from hwsim.timing import MODES
from systolab.commands import BATCH, MAX_PROCESSES, mapping_options


def parse_bits(text: str) -> tuple[int, ...]:
    """``"2-8"`` or ``"2,4,8"`` (ranges and lists may mix: ``"2-4,8"``) as sorted bit widths."""
    widths: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if m is None:
            raise click.BadParameter(f"bits must look like 2-8 or 2,4,8, not {shown(text)}")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if not 1 <= lo <= hi <= 16:
            raise click.BadParameter(f"bit widths must lie in 1..16 and ranges go up, not {shown(part)}")
        widths.update(range(lo, hi + 1))
    return tuple(sorted(widths))


def _label(model: str) -> str:
    """File-name part for MODEL: the zoo name, or ``file_factory`` for ``path/file.py:factory``."""
    if ":" in model and model.split(":", 1)[0].endswith(".py"):
        path, factory = model.rsplit(":", 1)
        model = f"{Path(path).stem}_{factory}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model)


@click.command()
@click.argument("model")
@click.option("--arch", "arch_name", default="edge_int8", show_default=True,
              help="Accelerator: a shipped config name or a YAML path.")
@click.option("--bits", "bits_text", default="2-8", show_default=True,
              help="Bit widths for weights and activations: a range 2-8 or a list 2,4,8.")
@click.option("--batch", type=BATCH, default=1, show_default=True)
@click.option("--mode", type=click.Choice(MODES), default="native",
              show_default=True, help="Timing model.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Directory for the .json and .npy files.")
@click.option("--workers", type=click.IntRange(1, MAX_PROCESSES), default=None,
              help="Processes that share the bit pairs (this one and spawned ones); "
                   "default: one per CPU.")
@mapping_options
def costs(model: str, arch_name: str, bits_text: str, batch: int, mode: str,
          out_dir: str, workers: int | None, objective: str, dataflow: str) -> None:
    """Cycles and energy of every compute layer of MODEL (a zoo name or file.py:factory) for
    each (w_bits, a_bits) pair on an accelerator: the lookup table of hardware-aware
    quantization searches (HAQ, Wang et al., CVPR 2019)."""
    from hwsim.config import load_arch
    from hwsim.engine import no_cyclic_gc
    from systolab.model_loader import load_graph
    from systolab.progress import Reporter
    from systolab.search.costs import CostModel, TableWorkers

    bits = parse_bits(bits_text)
    arch = load_arch(arch_name)
    label = _label(model)
    processes = workers or os.cpu_count() or 1
    with contextlib.ExitStack() as stack:
        # the other processes start while the model is captured (used if the table is long)
        helpers = stack.enter_context(TableWorkers(processes - 1)) if processes > 1 else 1
        cost_model = CostModel(load_graph(model, batch=batch), arch, mode=mode, name=label,
                               objective=objective, dataflow=dataflow)
        # (this process only maps and simulates from here: what the table leaves alive, its
        # caches, is frozen out of the collector rather than walked once more)
        with Reporter(f"costs {label}", unit="bit pairs") as bar, no_cyclic_gc(freeze=True):
            table = cost_model.table(bits, on_progress=bar.update, workers=helpers)
    json_path, npy_path = table.write(Path(out_dir) / f"{label}_{arch.name}_costs")

    lo, hi = bits[0], bits[-1]
    base, low = cost_model.baseline(8 if 8 in bits else hi), cost_model.baseline(lo)
    filled = int(np.isfinite(table.array[..., 0]).sum())
    click.echo(f"{label} on {arch.name} ({mode}, mapped for {objective}, dataflow {dataflow}): "
               f"{len(table.layers)} compute layers, "
               f"bits {lo}..{hi}, {filled} (layer, w_bits, a_bits) entries")
    for name, c in ((f"uniform {8 if 8 in bits else hi}-bit", base), (f"uniform {lo}-bit", low)):
        click.echo(f"  {name:>15}: {c.cycles:,} cycles, {c.latency_ms:.3f} ms, "
                   f"{c.energy_uj:.2f} uJ, weights {c.weight_mib:.3f} MiB")
    click.echo(f"wrote {json_path}")
    click.echo(f"wrote {npy_path}")
