"""``systolab search``: find a compression policy for a model on an accelerator under a budget.

Writes, in ``--out``: ``best_policy.yaml`` (the policy file format, for ``systolab simulate
--policy``), ``report.json`` (settings, best policy, per-layer table, comparison with uniform
8/6/4-bit, full history), ``pareto.png`` and the checkpoint that ``--resume`` continues.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml
from rich.table import Table

from hwsim.errors import SystolabError
from systolab.search.agents import AGENTS
from systolab.tables import wide_console

BUDGET_UNITS = "relative to the uniform 8-bit model (with --absolute: ms, uJ or KiB)"
TASK_NAMES = ("digits", "mnist")


@click.command()
@click.argument("model", required=False)
@click.option("--arch", "arch_name", default="stripes", show_default=True,
              help="Accelerator: a shipped config name or a YAML path.")
@click.option("--agent", type=click.Choice(list(AGENTS)), default="haq", show_default=True)
@click.option("--latency", type=float, help=f"Latency budget, {BUDGET_UNITS}.")
@click.option("--energy", type=float, help=f"Energy budget, {BUDGET_UNITS}.")
@click.option("--size", type=float, help=f"Weight-size budget, {BUDGET_UNITS}.")
@click.option("--absolute", is_flag=True, help="Budgets in ms, uJ or KiB instead of ratios.")
@click.option("--task", type=click.Choice(TASK_NAMES), help="Accuracy task (trains its model once).")
@click.option("--evaluator", help="Score function 'module:function' or 'file.py:function'.")
@click.option("--episodes", type=click.IntRange(min=1), default=60, show_default=True)
@click.option("--finetune-steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Fine-tuning steps per candidate (needs --task).")
@click.option("--finetune-lr", type=float, default=1e-4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
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
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch threads; small models compress and train fastest on one.")
def search(model: str | None, arch_name: str, agent: str, latency: float | None,
           energy: float | None, size: float | None, absolute: bool, task: str | None,
           evaluator: str | None, episodes: int, finetune_steps: int, finetune_lr: float,
           seed: int, min_bits: int, max_bits: int, pin: bool, channel_multiple: int | None,
           out_dir: str, resume: bool, progress: bool, threads: int) -> None:
    """Search per-layer bits and/or keep ratios of MODEL (default: the task's model) with an
    agent (HAQ, AMC, joint DDPG; uniform, greedy, NSGA-II), scored by accuracy on the task and
    by latency and energy simulated on the accelerator."""
    import torch

    from systolab.search.budget import Budget
    from systolab.search.costs import CostModel
    from systolab.search.loop import SearchConfig, run_search

    torch.set_num_threads(threads)

    budgets = {k: v for k, v in (("latency", latency), ("energy", energy), ("size", size))
               if v is not None}
    if len(budgets) > 1:
        raise click.UsageError("give at most one budget: --latency, --energy or --size")
    if agent in ("haq", "amc", "joint", "greedy") and not budgets:
        raise click.UsageError(f"the {agent} agent needs a budget: --latency, --energy or --size")
    budget = Budget(*next(iter(budgets.items())), relative=not absolute) if budgets else None
    net, example, score, make_accuracy, label = _setup(model, task, evaluator, finetune_steps,
                                                       finetune_lr)
    costs = CostModel.from_model(net, example, arch_name, name=label)
    multiple = channel_multiple or costs.arch.array.cols
    accuracy = make_accuracy(multiple)
    config = SearchConfig(agent, budget, episodes, seed, min_bits, max_bits, pin, multiple)
    result = run_search(config, layers=costs.layers, cost=costs.evaluate, accuracy=accuracy,
                        reference_accuracy=score(net), baseline=costs.baseline(8),
                        out_dir=out_dir, resume=resume, progress=progress)

    from compiler.frontend.pytorch import trace
    from compiler.passes import compile_graph
    from compiler.policy import LayerPolicy, Policy
    from systolab.pipeline import simulate_graph

    base = costs.baseline(8)
    comparison = []
    for bits in (8, 6, 4):
        uniform = Policy(LayerPolicy(bits, bits))
        c = costs.evaluate(uniform)
        comparison.append({"policy": f"uniform {bits}-bit", "accuracy": accuracy(uniform),
                           "latency_ms": c.latency_ms, "energy_uj": c.energy_uj,
                           "speedup": base.seconds / c.seconds,
                           "energy_saving": base.energy_pj / c.energy_pj})
    rows: list[dict[str, Any]] = []
    best = result.best
    if best is not None:
        policy = best.to_policy()
        sim = simulate_graph(compile_graph(trace(net, example, policy=policy)), costs.arch,
                             name=label)
        keeps = {n: lp.keep for n, lp in policy.layers.items()}
        rows = [{**{k: r[k] for k in ("name", "op", "w_bits", "a_bits", "bound", "cycles", "ms",
                                      "energy_uj", "utilization")}, "keep": keeps.get(r["name"]) or 1.0}
                for r in sim.layer_rows() if r["w_bits"] is not None]
        comparison.insert(0, {"policy": f"searched ({agent})", "accuracy": best.accuracy,
                              "latency_ms": best.latency_ms, "energy_uj": best.energy_pj * 1e-6,
                              "speedup": base.seconds / best.seconds,
                              "energy_saving": base.energy_pj / best.energy_pj})
    _write(Path(out_dir), result, rows, comparison, label, costs.arch.name)
    _print(result, rows, comparison, label, costs.arch.name, Path(out_dir))


def _setup(model: str | None, task_name: str | None, evaluator: str | None, finetune_steps: int,
           lr: float) -> tuple[Any, Any, Callable[[Any], float],
                                                     Callable[[int], Callable[[Any], float]], str]:
    """Model, example input, score function, accuracy-function factory and label."""
    from systolab.search.accuracy import compressed_model, task_accuracy
    from systolab.search.tasks import get_task, load_evaluator
    from systolab.zoo import MODELS

    score = load_evaluator(evaluator) if evaluator else None
    if task_name is None and score is None:
        by_model = {get_task(t).model_name: t for t in TASK_NAMES}
        if model is not None and model not in by_model:
            raise click.UsageError(f"no built-in task trains {model!r}: give --evaluator "
                                   "module:function (or --task)")
        task_name = by_model.get(model or "", "digits")
    if task_name is not None:
        task = get_task(task_name)
        if model is not None and model != task.model_name:
            raise click.UsageError(f"the {task_name} task trains {task.model_name}, not {model!r}: "
                                   f"leave MODEL out or give {task.model_name}")
        net = task.pretrained()
        scorer = score or task.evaluate
        return (net, task.example_input, scorer,
                lambda m: task_accuracy(task, net, finetune_steps=finetune_steps, lr=lr,
                                        channel_multiple=m, score=score),
                task.model_name)
    if finetune_steps:
        raise click.UsageError("--finetune-steps needs --task (the data to fine-tune on)")
    if model is None:
        raise click.UsageError("MODEL is required with --evaluator and no --task")
    from systolab.model_loader import load_model

    net, example = load_model(model)
    assert score is not None
    user_score = score

    def factory(m: int) -> Callable[[Any], float]:
        return lambda policy: user_score(compressed_model(net, example, policy, calibration=example,
                                                          channel_multiple=m))

    return net, example, user_score, factory, model if model in MODELS else Path(model).name


def _write(out: Path, result: Any, rows: list[dict[str, Any]], comparison: list[dict[str, Any]],
           label: str, arch: str) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        if result.best is not None:
            (out / "best_policy.yaml").write_text(
                f"# {result.config.agent} search of {label} on {arch}: accuracy "
                f"{result.best.accuracy:.4f}, {result.best.latency_ms:.4f} ms, "
                f"{result.best.energy_pj * 1e-6:.3f} uJ\n" + yaml.safe_dump(result.best.policy,
                                                                              sort_keys=False))
        report = {"model": label, "arch": arch, **result.to_dict(), "layers": rows,
                  "comparison": comparison}
        (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
        _plot_pareto(result, comparison, title=f"{label} on {arch}: {result.config.agent}",
                    path=out / "pareto.png")
    except OSError as err:
        raise SystolabError(f"cannot write output file {err.filename!r}: {err.strerror}") from None


def _print(result: Any, rows: list[dict[str, Any]], comparison: list[dict[str, Any]], label: str,
           arch: str, out: Path) -> None:
    console = wide_console()
    budget = result.budget.describe() if result.budget else "no budget"
    console.print(f"{result.config.agent} search of {label} on {arch}, {budget}: "
                  f"{len(result.history)} episodes in {result.wall_seconds:.1f} s; "
                  f"{result.cost_evaluations:,} cost evaluations "
                  f"({result.cost_evaluations_per_second:,.0f}/s); "
                  f"original accuracy {100 * result.reference_accuracy:.2f}%")
    if rows:
        table = Table(title="best policy per layer", title_justify="left", header_style="bold")
        for header in ("layer", "op", "w/a bits", "keep", "bound", "cycles", "ms", "energy uJ",
                       "util"):
            table.add_column(header, justify="left" if header in ("layer", "op", "bound") else "right")
        for r in rows:
            table.add_row(r["name"], r["op"], f"{r['w_bits']}/{r['a_bits']}", f"{r['keep']:.3f}",
                          r["bound"], f"{r['cycles']:,}", f"{r['ms']:.4f}", f"{r['energy_uj']:.3f}",
                          f"{100 * r['utilization']:.1f}%")
        console.print(table)
    else:
        console.print("no policy within the budget was found; see report.json")
    table = Table(title="comparison", title_justify="left", header_style="bold")
    for header in ("policy", "accuracy", "latency ms", "energy uJ", "speedup", "energy saving"):
        table.add_column(header, justify="left" if header == "policy" else "right")
    for c in comparison:
        table.add_row(c["policy"], f"{100 * c['accuracy']:.2f}%", f"{c['latency_ms']:.4f}",
                      f"{c['energy_uj']:.3f}", f"{c['speedup']:.2f}x", f"{c['energy_saving']:.2f}x")
    console.print(table)
    written = [n for n in ("best_policy.yaml", "report.json", "pareto.png") if (out / n).exists()]
    console.print(f"wrote {', '.join(str(out / n) for n in written)}")


def _plot_pareto(result: Any, comparison: list[dict[str, Any]], *, title: str, path: Path) -> None:
    """Accuracy against latency for every evaluated policy, energy as colour; the Pareto front
    joined, the best policy starred, the uniform baselines and a latency budget marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    h = result.history
    points = ax.scatter([r.latency_ms for r in h], [100 * r.accuracy for r in h],
                        c=[r.energy_pj * 1e-6 for r in h], cmap="viridis", s=18, alpha=0.8)
    fig.colorbar(points, ax=ax, label="energy (uJ)")
    ax.plot([r.latency_ms for r in result.pareto], [100 * r.accuracy for r in result.pareto], "o",
            color="tab:red", mfc="none", ms=9, label="Pareto front (accuracy, latency, energy)")
    steps, top = [], -1.0  # the accuracy-latency front as a staircase
    for r in sorted(h, key=lambda r: (r.seconds, -r.accuracy)):
        if r.accuracy > top:
            steps.append(r)
            top = r.accuracy
    ax.step([r.latency_ms for r in steps], [100 * r.accuracy for r in steps], where="post",
            color="tab:red", lw=1, alpha=0.6)
    if result.best is not None:
        ax.plot(result.best.latency_ms, 100 * result.best.accuracy, "*", color="gold", ms=16,
                mec="black", label="best within budget")
    for c in comparison:
        if c["policy"].startswith("uniform"):
            ax.plot(c["latency_ms"], 100 * c["accuracy"], "s", color="gray")
            ax.annotate(c["policy"].removeprefix("uniform "), (c["latency_ms"], 100 * c["accuracy"]),
                        textcoords="offset points", xytext=(4, 4), fontsize=8)
    if result.budget is not None and result.budget.metric == "latency":
        ax.axvline(result.budget.limit * 1e3, ls="--", color="gray", label="latency budget")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
