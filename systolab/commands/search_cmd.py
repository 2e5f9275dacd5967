"""``systolab search``: find a compression policy for a model on an accelerator under a budget.

The search itself is :func:`systolab.search.policy_search.search_policy`; this command parses
its arguments and renders what it returns. Writes, in ``--out``: ``best_policy.yaml`` (the
policy file format, for ``systolab simulate --policy``), ``report.json`` (settings, best
policy, per-layer table, comparison with uniform 8/6/4-bit, full history), ``pareto.png`` and
the checkpoint that ``--resume`` continues.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from hwsim.errors import Interrupted, SystolabError
from systolab.commands import MAX_PROCESSES, FiniteFloat, mapping_options
from systolab.search.agents import AGENTS, SCHEDULES
from systolab.search.tasks import TASKS
from systolab.tables import wide_console

if TYPE_CHECKING:
    from systolab.search.policy_search import PolicySearchReport

BUDGET_UNITS = "relative to the uniform 8-bit model (with --absolute: ms, uJ or KiB)"


def _epilog() -> str:
    """The agents and schedules, what each does and when to use it (click keeps the lines
    of a paragraph that starts with \\b as they are)."""
    agents = "\n".join(f"  {name}: {spec.doc}\n      use: {spec.use}"
                       for name, spec in AGENTS.items())
    schedules = "\n".join(f"  {name}: {s.doc}" for name, s in SCHEDULES.items())
    return f"\b\nAgents:\n{agents}\n\n\b\nDDPG schedules (--schedule):\n{schedules}"


@click.command(epilog=_epilog())
@click.argument("model", required=False)
@click.option("--arch", "arch_name", default="stripes", show_default=True,
              help="Accelerator: a shipped config name or a YAML path.")
@click.option("--agent", type=click.Choice(list(AGENTS)), default="haq", show_default=True)
@click.option("--latency", type=FiniteFloat(), help=f"Latency budget, {BUDGET_UNITS}.")
@click.option("--energy", type=FiniteFloat(), help=f"Energy budget, {BUDGET_UNITS}.")
@click.option("--size", type=FiniteFloat(), help=f"Weight-size budget, {BUDGET_UNITS}.")
@click.option("--absolute", is_flag=True, help="Budgets in ms, uJ or KiB instead of ratios.")
@click.option("--task", type=click.Choice(TASKS), help="Accuracy task (trains its model once).")
@click.option("--evaluator", help="Score function 'module:function' or 'file.py:function'.")
@click.option("--episodes", type=click.IntRange(1, 10**7),
              help="Episodes (trials) at most [default: the schedule's, else 60].")
@click.option("--schedule", type=click.Choice(list(SCHEDULES)), default="short",
              show_default=True,
              help="DDPG agents' episode count, warm-up and exploration (see below).")
@click.option("--finetune-steps", type=click.IntRange(0, 10**7), default=0, show_default=True,
              help="Fine-tuning steps per candidate (needs --task).")
@click.option("--finetune-lr", type=FiniteFloat(), default=1e-4, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--min-bits", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option("--max-bits", type=click.IntRange(1, 16), default=8, show_default=True)
@click.option("--pin/--no-pin", default=True, show_default=True,
              help="Keep the first and last layers at 8 bits (HAQ).")
@click.option("--channel-multiple", type=click.IntRange(min=1),
              help="Round kept channels to this multiple [default: the array's columns].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="search-out",
              show_default=True)
@click.option("--resume", is_flag=True, help="Continue the search checkpointed in --out.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@click.option("--threads", type=click.IntRange(1, MAX_PROCESSES), default=1, show_default=True,
              help="torch threads; small models compress and train fastest on one.")
@mapping_options
def search(model: str | None, arch_name: str, agent: str, latency: float | None,
           energy: float | None, size: float | None, absolute: bool, task: str | None,
           evaluator: str | None, episodes: int | None, schedule: str, finetune_steps: int,
           finetune_lr: float,
           seed: int, min_bits: int, max_bits: int, pin: bool, channel_multiple: int | None,
           out_dir: str, resume: bool, progress: bool, threads: int, objective: str,
           dataflow: str) -> None:
    """Search per-layer bits and/or keep ratios of MODEL (default: the task's model) with an
    agent (HAQ, AMC, joint DDPG; uniform, greedy, NSGA-II), scored by accuracy on the task and
    by latency and energy simulated on the accelerator."""
    import torch

    from systolab.plots import plot_policy_search
    from systolab.search.budget import Budget
    from systolab.search.policy_search import search_policy

    torch.set_num_threads(threads)
    budgets = {k: v for k, v in (("latency", latency), ("energy", energy), ("size", size))
               if v is not None}
    if len(budgets) > 1:
        raise click.UsageError("give at most one budget: --latency, --energy or --size")
    budget = Budget(*next(iter(budgets.items())), relative=not absolute) if budgets else None
    try:
        report = search_policy(model, arch=arch_name, agent=agent, budget=budget, task=task,
                               evaluator=evaluator, episodes=episodes, schedule=schedule,
                               finetune_steps=finetune_steps, finetune_lr=finetune_lr, seed=seed,
                               min_bits=min_bits, max_bits=max_bits, pin_first_last=pin,
                               channel_multiple=channel_multiple, out_dir=out_dir,
                               resume=resume, progress=progress, objective=objective,
                               dataflow=dataflow)
    except KeyboardInterrupt as stop:
        done = _episodes_done(Path(out_dir))
        raise Interrupted(
            f"interrupted: {str(out_dir)!r} holds the checkpoint of {done}; continue with the "
            "same command and --resume") from stop
    out = Path(out_dir)
    try:
        plot_policy_search(report, out / "pareto.png")
    except OSError as err:
        raise SystolabError(f"cannot write output file {err.filename!r}: {err.strerror}") from None
    _print(report, out)


def _episodes_done(out: Path) -> str:
    """What the checkpoint in ``out`` holds, for the message of an interrupted search."""
    import json

    from systolab.search.checkpoint import CHECKPOINT

    try:
        episode = json.loads((out / CHECKPOINT).read_text())["episode"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no finished episode (--resume starts afresh)"
    return f"{episode} finished episode{'s' if episode != 1 else ''}"


def _print(report: PolicySearchReport, out: Path) -> None:
    result = report.result
    console = wide_console()
    budget = result.budget.describe() if result.budget else "no budget"
    console.print(f"{result.config.agent} search of {report.model} on {report.arch}, {budget}: "
                  f"{len(result.history)} episodes in {result.wall_seconds:.1f} s; "
                  f"{result.cost_evaluations:,} cost evaluations "
                  f"({result.cost_evaluations_per_second:,.0f}/s); "
                  f"original {report.score} {report.format_score(result.reference_accuracy)}")
    if report.layers:
        table = Table(title="best policy per layer", title_justify="left", header_style="bold")
        for header in ("layer", "op", "w/a bits", "keep", "bound", "cycles", "ms", "energy uJ",
                       "util"):
            table.add_column(header, justify="left" if header in ("layer", "op", "bound") else "right")
        for r in report.layers:
            table.add_row(r["name"], r["op"], f"{r['w_bits']}/{r['a_bits']}", f"{r['keep']:.3f}",
                          r["bound"], f"{r['cycles']:,}", f"{r['ms']:.4f}", f"{r['energy_uj']:.3f}",
                          f"{100 * r['utilization']:.1f}%")
        console.print(table)
    else:
        console.print("no policy within the budget was found; see report.json")
    table = Table(title="comparison", title_justify="left", header_style="bold")
    for header in ("policy", report.score, "latency ms", "energy uJ", "speedup",
                   "energy saving"):
        table.add_column(header, justify="left" if header == "policy" else "right")
    for c in report.comparison:
        table.add_row(c["policy"], report.format_score(c["accuracy"]), f"{c['latency_ms']:.4f}",
                      f"{c['energy_uj']:.3f}", f"{c['speedup']:.2f}x", f"{c['energy_saving']:.2f}x")
    console.print(table)
    written = [n for n in ("best_policy.yaml", "report.json", "pareto.png") if (out / n).exists()]
    console.print(f"wrote {', '.join(str(out / n) for n in written)}")
