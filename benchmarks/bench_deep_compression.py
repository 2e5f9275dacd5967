"""Deep Compression of LeNet-300-100 and LeNet-5 on MNIST, next to the published figures.

    .venv/bin/python benchmarks/bench_deep_compression.py [--steps 1000] [--rounds 5]
        [--lr 1e-3] [--eval-size 10000] [--only lenet300|lenet5] [--arch ARCH ...]

Settings are the paper's (Han, Mao, Dally, "Deep Compression", ICLR 2016, Tables 2 and 3;
keep fractions also in Han et al., "Learning both Weights and Connections", NeurIPS 2015,
Table 2 and 3): LeNet-300-100 keeps 8%, 9% and 26% of fc1, fc2, fc3, with 6-bit shared
weights; LeNet-5 keeps 66% and 12% of conv1 and conv2 (8-bit shared weights), 8% and 19% of
ip1 and ip2 (5 bits); relative indices take 5 bits in every LeNet layer. The paper's LeNet-5 is
Caffe's (20 and 50 conv filters, ip1 800 x 500, ip2 500 x 10: 431K weights); ours has 6 and 16
filters and three fc layers (120, 84, 10: 61K weights), so conv1 and conv2 take the paper's
conv fractions, fc1 (the large one) ip1's 8%, and fc2 and fc3 ip2's 19%.

Each model is the task's trained model (``mnist-lenet300``: 5 epochs; ``mnist``: 1 epoch, so
our dense LeNet-5 starts above the paper's 0.80% error), pruned in ``--rounds`` rounds to the
final fractions with ``--steps`` Adam steps at ``--lr`` after each, its weights shared by
k-means and the centroids fine-tuned ``--steps`` steps, then Huffman-coded. Errors are on the
first ``--eval-size`` MNIST test images (all 10,000 by default, as the paper). The pruned
stage's storage counts the relative indices too; the paper's 12x for pruning is a parameter
count, printed here as "kept". Last, the dense and the compressed model run on each
``--arch`` (by default ``edge_int8``, ``sparse_int8`` and ``deep_compression_int8``, which
keeps the weights Huffman-coded in DRAM): cycles, energy and the weights' size in DRAM.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch

from systolab.deep_compression import STAGES, DeepCompressionReport, deep_compression, on_hardware
from systolab.search.tasks import get_task


@dataclass(frozen=True)
class Published:
    """Deep Compression's figures for one network: top-1 error before and after (Table 1),
    parameter reduction of pruning (NeurIPS 2015, Table 1), and storage after P+Q and
    P+Q+H as a fraction of dense (Tables 2 and 3), per layer and in total."""

    error_pct: tuple[float, float]
    kept_ratio: float
    rate: dict[str, tuple[float, float, float]]  # paper layer: (weights kept %, P+Q %, P+Q+H %)
    total: tuple[float, float, float]


@dataclass(frozen=True)
class Setup:
    task: str
    keep: dict[str, float]
    bits: dict[str, int]
    index_bits: int
    paper_layer: dict[str, str]  # our layer -> the paper's layer whose figures it is set to
    published: Published


SETUPS = {
    "lenet300": Setup(
        task="mnist-lenet300",
        keep={"fc1": 0.08, "fc2": 0.09, "fc3": 0.26},
        bits={"fc1": 6, "fc2": 6, "fc3": 6},
        index_bits=5,
        paper_layer={"fc1": "ip1", "fc2": "ip2", "fc3": "ip3"},
        published=Published((1.64, 1.58), 12.0,
                            {"ip1": (8, 3.1, 2.32), "ip2": (9, 3.8, 3.04), "ip3": (26, 15.7, 12.70)},
                            (8, 3.1, 2.49)),
    ),
    "lenet5": Setup(
        task="mnist",
        keep={"conv1": 0.66, "conv2": 0.12, "fc1": 0.08, "fc2": 0.19, "fc3": 0.19},
        bits={"conv1": 8, "conv2": 8, "fc1": 5, "fc2": 5, "fc3": 5},
        index_bits=5,
        paper_layer={"conv1": "conv1", "conv2": "conv2", "fc1": "ip1", "fc2": "ip2", "fc3": "ip2"},
        published=Published((0.80, 0.74), 12.0,
                             {"conv1": (66, 78.5, 67.45), "conv2": (12, 6.0, 5.28),
                              "ip1": (8, 2.7, 2.45), "ip2": (19, 6.9, 6.13)},
                             (8, 3.05, 2.55)),
    ),
}


def run(setup: Setup, args: argparse.Namespace) -> DeepCompressionReport:
    task = get_task(setup.task, eval_size=args.eval_size)
    t0 = time.perf_counter()
    net = task.pretrained()
    t1 = time.perf_counter()
    report = deep_compression(net, task.example_input, prune=setup.keep, bits=setup.bits,
                              index_bits=dict.fromkeys(setup.keep, setup.index_bits), task=task,
                              finetune_steps=args.steps, lr=args.lr, prune_rounds=args.rounds)
    t2 = time.perf_counter()
    print(f"\n{task.model_name} on MNIST ({setup.task}; trained model in {t1 - t0:.1f} s, "
          f"compressed in {t2 - t1:.1f} s)")
    print(f"{'layer':6} {'paper':6} {'weights':>8}  {'kept %':^13}  {'P+Q % of dense':^15}  "
          f"{'P+Q+H % of dense':^16}  {'bits':>4}  {'H bits':>7}  {'fillers':>7}")
    print(f"{'':6} {'':6} {'':8}  {'ours':>6} {'paper':>6}  {'ours':>7} {'paper':>7}  "
          f"{'ours':>8} {'paper':>7}  {'w/i':>4}  {'w/i':>7}")
    for row in (*report.layers, report.total):
        paper = setup.paper_layer.get(row.name, "")
        figures = setup.published.rate.get(paper) if paper else setup.published.total
        assert figures is not None
        kept_pct, pq_pct, pqh_pct = figures
        ours = (100 * row.kept / row.weights, 100 / row.ratio("shared"), 100 / row.ratio("huffman"))
        widths = f"{row.bits}/{row.index_bits}" if row.bits is not None else ""
        coded = f"{row.huffman_bits_per_weight:.1f}/{row.huffman_bits_per_index:.1f}"
        print(f"{row.name:6} {paper:6} {row.weights:8,}  {ours[0]:6.1f} {kept_pct:6.1f}  "
              f"{ours[1]:7.2f} {pq_pct:7.2f}  {ours[2]:8.2f} {pqh_pct:7.2f}  {widths:>4}  "
              f"{coded:>7}  {row.fillers:7,}")
    total, pub = report.total, setup.published
    ratios = "  ".join(f"{stage} {total.ratio(stage):.1f}x" for stage in STAGES[1:])
    print(f"compression of the weights: kept {total.weights / total.kept:.1f}x (paper "
          f"{pub.kept_ratio:.0f}x); storage {ratios} (paper: P+Q {100 / pub.total[1]:.0f}x, "
          f"P+Q+H {100 / pub.total[2]:.0f}x)")
    e, u = report.error_pct, report.untuned_error_pct
    scored = min(task.eval_size, len(task.data.y_test))
    print(f"top-1 error on {scored:,} test images: dense {e['dense']:.2f}% -> pruned "
          f"{e['pruned']:.2f}% ({u.get('pruned', e['pruned']):.2f}% before fine-tuning) -> shared "
          f"{e['shared']:.2f}% ({u.get('shared', e['shared']):.2f}% before) -> Huffman "
          f"{e['huffman']:.2f}%; paper {pub.error_pct[0]:.2f}% -> {pub.error_pct[1]:.2f}%")
    costs = on_hardware(report, net, task.example_input, args.arch)
    for dense, small in zip(costs[::2], costs[1::2], strict=True):
        print(f"on {dense.arch}: {dense.cycles:,} -> {small.cycles:,} cycles "
              f"({dense.cycles / small.cycles:.2f}x), {dense.energy_pj / 1e6:.2f} -> "
              f"{small.energy_pj / 1e6:.2f} uJ ({dense.energy_pj / small.energy_pj:.2f}x), "
              f"weights in DRAM {dense.weight_bits / 8000:.1f} -> {small.weight_bits / 8000:.1f} kB")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000,
                        help="Adam steps after each pruning round and after sharing")
    parser.add_argument("--rounds", type=int, default=5, help="pruning rounds")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-size", type=int, default=10_000)
    parser.add_argument("--only", choices=list(SETUPS))
    parser.add_argument("--arch", action="append", default=None,
                        help="accelerators to run the dense and compressed model on "
                             "(repeatable) [default: edge_int8, sparse_int8, deep_compression_int8]")
    args = parser.parse_args()
    args.arch = args.arch or ["edge_int8", "sparse_int8", "deep_compression_int8"]
    torch.set_num_threads(1)
    print(f"Deep Compression on MNIST: {args.rounds} pruning round{'s' if args.rounds != 1 else ''}, "
          f"{args.steps} fine-tuning "
          f"steps at lr {args.lr:g} after each and after sharing")
    for name, setup in SETUPS.items():
        if args.only in (None, name):
            run(setup, args)


if __name__ == "__main__":
    main()
