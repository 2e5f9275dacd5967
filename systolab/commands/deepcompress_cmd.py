"""``systolab deepcompress``: Deep Compression (Han, Mao, Dally, ICLR 2016) of a model, with the
storage each stage saves per layer and, with a task, the error after each stage.

The work is :func:`systolab.deep_compression.deep_compression`; this command parses its
arguments and renders the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click
from rich.table import Table

from hwsim.fields import shown
from hwsim.outfiles import write_text
from systolab.commands import MAX_PROCESSES, FiniteFloat
from systolab.search.tasks import TASKS
from systolab.tables import wide_console

if TYPE_CHECKING:
    from systolab.deep_compression import DeepCompressionReport, HardwareCost

T = TypeVar("T")
DEFAULT_STEPS = 1000  # Adam steps per fine-tuning with a task: 1.3 epochs of MNIST at batch 64


def parse_assignments(option: str, values: tuple[str, ...], kind: Callable[[str], T]
                      ) -> dict[str, T]:
    """``("fc1=0.08", "conv1=0.5")`` as ``{"fc1": 0.08, "conv1": 0.5}``; the range of each value
    is checked by the API, which names the layer."""
    parsed: dict[str, T] = {}
    example = "fc1=0.08" if kind is float else "fc1=5"
    for text in values:
        layer, sep, value = text.partition("=")
        layer, value = layer.strip(), value.strip()
        try:
            number = kind(value)
        except ValueError:
            number = None
        if not sep or not layer or number is None:
            what = "FRACTION" if kind is float else "BITS"
            raise click.BadParameter(f"must look like LAYER={what}, e.g. {example}, not {shown(text)}",
                                     param_hint=option)
        if layer in parsed:
            raise click.BadParameter(f"names layer {layer!r} twice", param_hint=option)
        parsed[layer] = number
    return parsed


@click.command()
@click.argument("model", required=False)
@click.option("--task", type=click.Choice(TASKS),
              help="Accuracy task: its model (MODEL may be left out) is trained once and "
                   "cached, then fine-tuned and scored after each stage.")
@click.option("--keep", "keep", multiple=True, metavar="LAYER=FRACTION",
              help="Fraction of a layer's weights kept by magnitude pruning (repeatable); "
                   "other layers keep all.")
@click.option("--bits", "bits", multiple=True, metavar="LAYER=BITS",
              help="Shared-weight index bits of a layer: 2^BITS centroids (repeatable).")
@click.option("--index-bits", "index_bits", multiple=True, metavar="LAYER=BITS",
              help="Relative sparse-index bits of a layer (repeatable).")
@click.option("--conv-bits", type=click.IntRange(1, 16), default=8, show_default=True,
              help="Shared-weight bits of conv layers not named by --bits (the paper's AlexNet).")
@click.option("--fc-bits", type=click.IntRange(1, 16), default=5, show_default=True,
              help="Shared-weight bits of fully connected layers not named by --bits.")
@click.option("--conv-index-bits", type=click.IntRange(1, 16), default=8, show_default=True,
              help="Relative-index bits of conv layers not named by --index-bits.")
@click.option("--fc-index-bits", type=click.IntRange(1, 16), default=5, show_default=True,
              help="Relative-index bits of fully connected layers not named by --index-bits.")
@click.option("--finetune-steps", type=click.IntRange(0, 10**7),
              help=f"Adam steps after each pruning round and after sharing (needs --task) "
                   f"[default: {DEFAULT_STEPS} with --task].")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=1e-3, show_default=True,
              help="Fine-tuning learning rate.")
@click.option("--prune-rounds", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Prune in rounds, fine-tuning after each (Han et al., NeurIPS 2015).")
@click.option("--eval-size", type=click.IntRange(1, 10**9),
              help="Test images scored [default: the task's].")
@click.option("--arch", "archs", multiple=True, metavar="ARCH",
              help="Also simulate the dense and the compressed model on this accelerator "
                   "(a shipped name or a YAML path; repeatable). One with a weight_decoder, "
                   "e.g. deep_compression_int8, keeps the weights coded in DRAM.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the report as JSON to this file.")
@click.option("--threads", type=click.IntRange(1, MAX_PROCESSES), default=1, show_default=True,
              help="torch threads; small models train fastest on one.")
def deepcompress(model: str | None, task: str | None, keep: tuple[str, ...], bits: tuple[str, ...],
                 index_bits: tuple[str, ...], conv_bits: int, fc_bits: int, conv_index_bits: int,
                 fc_index_bits: int, finetune_steps: int | None, lr: float, prune_rounds: int,
                 eval_size: int | None, archs: tuple[str, ...], json_path: str | None,
                 threads: int) -> None:
    """Prune, share weights and Huffman-code MODEL (a zoo name or file.py:factory; default: the
    task's model), Deep Compression's three stages (Han, Mao, Dally, ICLR 2016), and print per
    layer the storage after each stage and its compression ratio, and with --task the top-1
    error after each stage; with --arch, the latency, energy and DRAM traffic of the dense and
    the compressed model on each accelerator."""
    import torch

    from hwsim.config import load_arch
    from systolab.deep_compression import deep_compression, on_hardware
    from systolab.model_loader import load_model, model_label
    from systolab.progress import Reporter
    from systolab.search.errors import TaskError
    from systolab.search.tasks import get_task

    torch.set_num_threads(threads)
    hardware = [load_arch(a) for a in archs]  # (a bad name fails before any work)
    keep_map = parse_assignments("--keep", keep, float)
    bits_map = parse_assignments("--bits", bits, int)
    index_map = parse_assignments("--index-bits", index_bits, int)
    if task is None:
        if model is None:
            raise click.UsageError("give a MODEL or a --task")
        if finetune_steps:
            raise click.UsageError("--finetune-steps needs --task (the data to fine-tune on)")
        if eval_size is not None:
            raise click.UsageError("--eval-size needs --task")
        net, example = load_model(model)
        label, steps, chosen = model_label(model), 0, None
    else:
        chosen = get_task(task, eval_size=eval_size)
        if model is not None and model != chosen.model_name:
            raise TaskError(f"the {task} task trains {chosen.model_name}, not {shown(model)}: "
                            f"leave the model out or give {chosen.model_name}")
        net, example = chosen.pretrained(), chosen.example_input
        label = chosen.model_name
        steps = DEFAULT_STEPS if finetune_steps is None else finetune_steps
    with Reporter(f"deepcompress {label}", unit="stages") as bar:
        report = deep_compression(
            net, example, prune=keep_map, bits=bits_map, index_bits=index_map,
            default_bits={"conv": conv_bits, "fc": fc_bits},
            default_index_bits={"conv": conv_index_bits, "fc": fc_index_bits},
            task=chosen, finetune_steps=steps, lr=lr, prune_rounds=prune_rounds,
            on_progress=lambda done, total, stage: bar.update(done, total, stage))
    # test images scored: the task's eval_size, or all of them when it has fewer
    scored = min(chosen.eval_size, len(chosen.data.y_test)) if chosen is not None else None
    _print(report, label, task, scored)
    costs = on_hardware(report, net, example, hardware) if hardware else ()
    if costs:
        _print_hardware(costs)
    if json_path:
        payload = {"model": label, "task": task, "test_images": scored, **report.as_dict(),
                   "hardware": [row.as_dict() for row in costs]}
        write_text(json_path, json.dumps(payload, indent=2))
        wide_console().print(f"wrote {json_path}")


def _kb(bits: int) -> str:
    """Bits as kB (1,000 bytes), the unit of the paper's Table 1."""
    return f"{bits / 8000:,.1f}"


def _print(report: DeepCompressionReport, label: str, task: str | None,
           eval_size: int | None) -> None:
    console = wide_console()
    tuning = ""
    if report.finetune_steps:
        rounds = (f"each of {report.prune_rounds} pruning rounds" if report.prune_rounds > 1
                  else "pruning")
        tuning = (f"; {report.finetune_steps} fine-tuning steps at lr {report.lr:g} after {rounds} "
                  "and after sharing")
    table = Table(title=f"deep compression of {label}{tuning}", title_justify="left",
                  header_style="bold")
    headers = ("layer", "weights", "kept", "fillers", "bits w/i", "dense kB", "pruned kB",
               "shared kB", "Huffman kB", "H bits w/i", "P", "P+Q", "P+Q+H", "traced")
    for header in headers:
        table.add_column(header, justify="left" if header == "layer" else "right", no_wrap=True)
    total = report.total
    for row in (*report.layers, total):
        is_total = row is total
        op = report.graph.op(row.name) if not is_total and row.name in report.graph else None
        table.add_row(
            row.name, f"{row.weights:,}", f"{100 * row.kept / row.weights:.1f}%",
            f"{row.fillers:,}", "" if is_total else f"{row.bits}/{row.index_bits or '-'}",
            _kb(row.dense_bits), _kb(row.pruned_bits), _kb(row.shared_bits), _kb(row.huffman_bits),
            f"{row.huffman_bits_per_weight:.1f}/{row.huffman_bits_per_index:.1f}",
            *(f"{row.ratio(stage):.1f}x" for stage in ("pruned", "shared", "huffman")),
            f"{op.precision.w_bits}/{op.sparsity.density:.3f}" if op is not None else "",
            end_section=row is report.layers[-1],
        )
    console.print(table)
    if report.error_pct:
        e, u = report.error_pct, report.untuned_error_pct

        def before(stage: str) -> str:
            return f" ({u[stage]:.2f}% before fine-tuning)" if stage in u else ""

        console.print(f"top-1 error on {task} ({eval_size:,} test images): dense "
                      f"{e['dense']:.2f}%, pruned {e['pruned']:.2f}%{before('pruned')}, shared "
                      f"{e['shared']:.2f}%{before('shared')}, Huffman {e['huffman']:.2f}% "
                      "(lossless)", soft_wrap=True)
    console.print(f"weights: {_kb(total.dense_bits)} kB dense -> {_kb(total.huffman_bits)} kB, "
                  f"{total.ratio('huffman'):.1f}x (biases and batch norms stay 32-bit, not "
                  "counted). bits w/i: shared-weight and relative-index bits (- stored dense); "
                  "H bits w/i: their Huffman-coded averages; traced: weight bits/density the "
                  "simulator reads", soft_wrap=True)


def _print_hardware(costs: tuple[HardwareCost, ...]) -> None:
    """Dense and compressed model per arch, the compressed one's gains against the dense."""
    console = wide_console()
    table = Table(title="on hardware (int8 activations; weights as each arch stores them)",
                  title_justify="left", header_style="bold")
    for header in ("arch", "model", "cycles", "energy uJ", "weights kB", "DRAM reads kB",
                   "speed-up", "energy saved"):
        table.add_column(header, justify="left" if header in ("arch", "model") else "right",
                         no_wrap=True)
    dense = {}
    for row in costs:
        if row.model == "dense":
            dense[row.arch] = row
        base = dense[row.arch]
        compressed = row.model != "dense"
        table.add_row(row.arch, row.model, f"{row.cycles:,}", f"{row.energy_pj / 1e6:,.2f}",
                      _kb(row.weight_bits), _kb(row.dram_read_bits),
                      f"{base.cycles / row.cycles:.2f}x" if compressed else "",
                      f"{base.energy_pj / row.energy_pj:.2f}x" if compressed else "",
                      end_section=compressed)
    console.print(table)
    for row in costs:
        if row.model != "dense":
            for layer, note in row.notes:
                console.print(f"{row.arch} {layer}: {note}", soft_wrap=True, highlight=False)
