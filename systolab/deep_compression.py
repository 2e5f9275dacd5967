"""Deep Compression (Han, Mao, Dally, "Deep Compression: Compressing Deep Neural Networks with
Pruning, Trained Quantization and Huffman Coding", ICLR 2016), and what each stage saves.

The pipeline of :func:`deep_compression`, top to bottom (the paper's Figure 1):

1. copy the model (the caller's model is left as it was) and measure its error;
2. prune: per conv/linear layer, keep the ``keep`` fraction of weights of largest magnitude
   and fine-tune with the masks applied, in ``prune_rounds`` rounds that keep ``keep^(r/R)``
   in round r of R (Han, Pool, Tran, Dally, "Learning both Weights and Connections", NeurIPS
   2015, Section 3.3: iterative pruning and retraining finds sparser networks than one shot);
3. share weights: per layer, k-means of the kept weights into 2^``bits`` centroids, linearly
   initialized, then fine-tune the centroids (Section 3;
   :mod:`compiler.compression.sharing`);
4. Huffman-code the weight indices and the relative sparse indices (Section 4;
   :mod:`compiler.compression.huffman`), which loses nothing;
5. trace the compressed model, so that the simulator's view of it (weight bits, density,
   and the coded weights' :class:`~compiler.ir.WeightCode`) is at hand:
   :func:`on_hardware` runs it and the dense model on accelerators, where an arch with a
   ``weight_decoder`` keeps the weights coded in DRAM (:mod:`compiler.mapping.sparsity`).

Storage of a layer's weights at each stage, in bits (biases and batch-norm parameters stay
32-bit and are not counted, as in the paper's Tables 2 to 5):

- dense: ``32 * weights``;
- pruned: ``32 * stored + index_bits * stored``, where ``stored`` is the non-zero weights plus
  the filler zeros of the relative index (Section 2, Figure 2: a gap longer than the index can
  say costs an extra entry); a layer without zeros is stored dense, with no index;
- shared: ``bits * stored + index_bits * stored + 32 * 2^bits`` (the paper's Eq. 1 with the
  index added; the codebook holds 2^bits 32-bit values);
- Huffman: the Huffman-coded weight indices (a filler is a symbol of its own) plus the
  Huffman-coded relative indices plus the codebook; the code tables are not counted.

Defaults are the paper's for AlexNet: shared weights of 8 bits in conv layers and 5 in fully
connected ones (Section 3), relative indices of 8 and 5 bits (Section 2). Its LeNet tables use
5-bit indices everywhere and 6-bit weights for LeNet-300-100 (Tables 2 and 3).

>>> import torch
>>> from torch import nn
>>> _ = torch.manual_seed(0)
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
>>> report = deep_compression(model, torch.zeros(1, 64), prune={"1": 0.1, "3": 0.5},
...                           bits={"1": 4, "3": 4}, index_bits={"1": 4, "3": 4})
>>> for row in (*report.layers, report.total):
...     print(row.name, row.weights, row.kept, row.fillers, [round(row.ratio(s), 1) for s in STAGES])
1 2048 205 48 [1.0, 7.2, 25.8, 32.0]
3 320 160 0 [1.0, 1.8, 5.7, 7.6]
total 2368 365 48 [1.0, 5.1, 17.5, 22.3]
>>> report.graph.op("1").precision.w_bits, round(report.graph.op("1").sparsity.density, 3)
(4, 0.1)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from compiler.compression.huffman import code_weights
from compiler.compression.prune import prune_unstructured
from compiler.compression.sharing import (
    KMEANS_ITERATIONS,
    RELATIVE_INDEX_BITS,
    SharedWeight,
    share_weights,
)
from compiler.errors import PolicyError, closest
from compiler.frontend.pytorch import trace
from compiler.ir import Graph
from hwsim.config import Arch
from hwsim.fields import shown
from systolab.search.errors import TaskError

if TYPE_CHECKING:
    from systolab.search.tasks import Task

__all__ = ["DEFAULT_BITS", "DEFAULT_INDEX_BITS", "FLOAT_BITS", "KINDS", "STAGES",
           "DeepCompressionReport", "HardwareCost", "LayerStorage", "compressible_layers",
           "deep_compression", "layer_kind", "layer_storage", "on_hardware"]

STAGES = ("dense", "pruned", "shared", "huffman")
"""The stages whose storage is counted, in order."""

FLOAT_BITS = 32
"""A dense weight and a codebook entry: 32-bit floats, as in the paper."""

KINDS = ("conv", "fc")
"""Layer kinds, which take different default widths."""

DEFAULT_BITS = {"conv": 8, "fc": 5}
"""Shared-weight index bits: AlexNet's 8 for conv and 5 for fc layers lose no accuracy
(Deep Compression, Section 3)."""

DEFAULT_INDEX_BITS = RELATIVE_INDEX_BITS
"""Relative sparse-index bits: 8 for conv and 5 for fc layers (Deep Compression, Section 2)."""

@dataclass(frozen=True, slots=True)
class LayerStorage:
    """A layer's weights (or, for the total, a model's) and their size after each stage.

    ``bits``, ``index_bits``, ``keep`` and ``kind`` are None on a total over layers.
    """

    name: str
    kind: str | None  # "conv" or "fc"
    keep: float | None  # fraction of weights kept that was asked for
    bits: int | None  # shared-weight index bits
    index_bits: int | None  # relative-index bits (0: stored dense, no index)
    weights: int  # elements of the weight tensor
    kept: int  # non-zero weights after pruning
    fillers: int  # filler zeros of the relative index
    index_stream_bits: int  # the relative indices at index_bits each
    weight_code_bits: int  # the shared-weight indices at bits each
    codebook_bits: int  # 2^bits centroids of 32 bits
    huffman_weight_bits: int  # the shared-weight indices, Huffman-coded
    huffman_index_bits: int  # the relative indices, Huffman-coded

    @property
    def stored(self) -> int:
        """Entries stored: non-zero weights and filler zeros."""
        return self.kept + self.fillers

    @property
    def dense_bits(self) -> int:
        return FLOAT_BITS * self.weights

    @property
    def pruned_bits(self) -> int:
        return FLOAT_BITS * self.stored + self.index_stream_bits

    @property
    def shared_bits(self) -> int:
        return self.weight_code_bits + self.index_stream_bits + self.codebook_bits

    @property
    def huffman_bits(self) -> int:
        return self.huffman_weight_bits + self.huffman_index_bits + self.codebook_bits

    def bits_at(self, stage: str) -> int:
        """Storage in bits after ``stage`` (one of :data:`STAGES`)."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {shown(stage)}")
        return int(getattr(self, f"{stage}_bits"))

    def ratio(self, stage: str) -> float:
        """Compression ratio of ``stage`` against the dense 32-bit weights."""
        return self.dense_bits / max(self.bits_at(stage), 1)

    @property
    def huffman_bits_per_weight(self) -> float:
        """Average Huffman-coded weight index per stored entry (the paper's "weight bits
        P+Q+H" column)."""
        return self.huffman_weight_bits / max(self.stored, 1)

    @property
    def huffman_bits_per_index(self) -> float:
        """Average Huffman-coded relative index per stored entry ("index bits P+Q+H")."""
        return self.huffman_index_bits / max(self.stored, 1)

    @classmethod
    def total(cls, layers: tuple[LayerStorage, ...] | list[LayerStorage]) -> LayerStorage:
        """The sum over ``layers``, named "total"."""
        def add(name: str) -> int:
            return sum(int(getattr(row, name)) for row in layers)

        return cls("total", None, None, None, None, add("weights"), add("kept"), add("fillers"),
                   add("index_stream_bits"), add("weight_code_bits"), add("codebook_bits"),
                   add("huffman_weight_bits"), add("huffman_index_bits"))

    def as_dict(self) -> dict[str, Any]:
        """The fields plus stored entries, bits and ratio per stage (JSON-ready)."""
        row = asdict(self)
        row["stored"] = self.stored
        row["stage_bits"] = {stage: self.bits_at(stage) for stage in STAGES}
        row["ratio"] = {stage: self.ratio(stage) for stage in STAGES}
        return row


@dataclass(frozen=True)
class DeepCompressionReport:
    """What :func:`deep_compression` did: storage per layer, error per stage, and the result.

    ``error_pct`` holds the top-1 error (%) after each stage of :data:`STAGES` and its
    fine-tuning (Huffman coding is lossless: its error is that of sharing); ``untuned_error_pct``
    the error of "pruned" (after the last pruning round) and "shared" before their fine-tuning,
    when there is fine-tuning. Both are empty without a task. ``model`` is the compressed model
    (weight-sharing parametrizations, eval mode) and ``graph`` its trace, as the simulator
    reads it.
    """

    layers: tuple[LayerStorage, ...]
    model: nn.Module
    graph: Graph
    error_pct: Mapping[str, float] = field(default_factory=dict)
    untuned_error_pct: Mapping[str, float] = field(default_factory=dict)
    finetune_steps: int = 0
    lr: float = 0.0
    prune_rounds: int = 1

    @property
    def total(self) -> LayerStorage:
        return LayerStorage.total(self.layers)

    def as_dict(self) -> dict[str, Any]:
        """Settings, per-layer and total storage, errors and the simulator's view (JSON-ready)."""
        seen = {}
        for row in self.layers:
            op = self.graph.op(row.name) if row.name in self.graph else None
            if op is not None:
                seen[row.name] = {"w_bits": op.precision.w_bits, "density": op.sparsity.density}
        return {"finetune_steps": self.finetune_steps, "lr": self.lr,
                "prune_rounds": self.prune_rounds,
                "layers": [row.as_dict() for row in self.layers],
                "total": self.total.as_dict(), "error_pct": dict(self.error_pct),
                "untuned_error_pct": dict(self.untuned_error_pct), "traced": seen}


def compressible_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The conv and linear layers of ``model`` by qualified name, in definition order."""
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def layer_kind(layer: nn.Module) -> str:
    """"conv" for a conv layer, "fc" for a fully connected one (the paper's two kinds)."""
    return "conv" if isinstance(layer, nn.Conv2d) else "fc"


def _check_names(what: str, names: Mapping[str, Any], model: nn.Module,
                 layers: Mapping[str, nn.Module]) -> None:
    modules = dict(model.named_modules())
    for name in names:
        if name in layers:
            continue
        if name in modules:
            raise PolicyError(f"cannot {what} layer {name!r}: it is a {type(modules[name]).__name__}, "
                              "not a conv or linear layer")
        raise PolicyError(f"cannot {what} layer {name!r}: the model has no such layer"
                          f"{closest(name, layers)}")


def _keep_fractions(prune: Mapping[str, float], model: nn.Module,
                    layers: Mapping[str, nn.Module]) -> dict[str, float]:
    _check_names("prune", prune, model, layers)
    keep = dict.fromkeys(layers, 1.0)
    for name, value in prune.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise PolicyError(f"keep fraction of layer {name!r} must be a number in (0, 1], "
                              f"not {shown(value)}")
        keep[name] = float(value)
    return keep


def _is_width(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and bool(1 <= value <= 16)


def _widths(what: str, given: Mapping[str, int], defaults: Mapping[str, int], model: nn.Module,
            layers: Mapping[str, nn.Module]) -> dict[str, int]:
    for kind in KINDS:
        if not _is_width(defaults.get(kind)):
            raise PolicyError(f"default {what} of {kind} layers must be an integer from 1 to 16, "
                              f"not {shown(defaults.get(kind))}")
    _check_names(f"set the {what} of", given, model, layers)
    widths = {name: int(defaults[layer_kind(layer)]) for name, layer in layers.items()}
    for name, value in given.items():
        if not _is_width(value):
            raise PolicyError(f"{what} of layer {name!r} must be an integer from 1 to 16, "
                              f"not {shown(value)}")
        widths[name] = int(value)
    return widths


def layer_storage(name: str, layer: nn.Module, *, keep: float, index_bits: int) -> LayerStorage:
    """Storage of a layer whose weight is shared (:func:`~compiler.compression.share_weights`)
    at every stage, with a relative index of ``index_bits`` if it has zeros."""
    parametrizations = getattr(layer, "parametrizations", None)
    shared = (parametrizations["weight"][0]
              if parametrizations is not None and "weight" in parametrizations else None)
    if not isinstance(shared, SharedWeight):
        raise PolicyError(f"layer {name!r} must have shared weights (share_weights) to be sized, "
                          f"not {type(shared).__name__ if shared is not None else 'a plain weight'}")
    coded = code_weights(shared.index.numpy(), shared.kept.numpy(), shared.bits, index_bits)
    return LayerStorage(
        name, layer_kind(layer), keep, shared.bits, coded.index_bits, coded.weights, coded.kept,
        coded.fillers, coded.index_stream_bits, coded.weight_code_bits,
        FLOAT_BITS * 2**shared.bits, coded.huffman_weight_bits, coded.huffman_index_bits)


def deep_compression(model: nn.Module, example_input: torch.Tensor, *,
                     prune: Mapping[str, float] | None = None,
                     bits: Mapping[str, int] | None = None,
                     index_bits: Mapping[str, int] | None = None,
                     default_bits: Mapping[str, int] = DEFAULT_BITS,
                     default_index_bits: Mapping[str, int] = DEFAULT_INDEX_BITS,
                     task: Task | None = None, finetune_steps: int = 0, lr: float = 1e-3,
                     prune_rounds: int = 1,
                     kmeans_iterations: int = KMEANS_ITERATIONS,
                     on_progress: Callable[[int, int, str], None] | None = None,
                     ) -> DeepCompressionReport:
    """Prune, share and Huffman-code the conv and linear layers of a copy of ``model``.

    ``prune`` maps layer names to the fraction of weights kept (magnitude pruning; unnamed
    layers keep all), ``bits`` to shared-weight index bits, ``index_bits`` to relative-index
    bits; layers they do not name take ``default_bits`` and ``default_index_bits`` of their
    kind ("conv" or "fc"; the paper's AlexNet values by default). With a ``task``
    the error is measured after every stage, and each of the ``prune_rounds`` pruning rounds
    and the sharing are followed by ``finetune_steps`` Adam steps at ``lr`` on its training
    data. See the module doc for the stages and the storage they count.
    ``on_progress(steps done, steps, stage)`` is called as each pruning round, the sharing
    and the coding finish.
    """
    layers = compressible_layers(model)
    if not layers:
        raise PolicyError(f"deep compression needs conv or linear layers; {type(model).__name__} "
                          "has none")
    keep = _keep_fractions(prune or {}, model, layers)
    widths = _widths("bits", bits or {}, default_bits, model, layers)
    index_widths = _widths("index bits", index_bits or {}, default_index_bits, model, layers)
    if isinstance(finetune_steps, bool) or not isinstance(finetune_steps, int) or finetune_steps < 0:
        raise PolicyError(f"finetune_steps must be a non-negative integer, not {shown(finetune_steps)}")
    if isinstance(prune_rounds, bool) or not isinstance(prune_rounds, int) or prune_rounds < 1:
        raise PolicyError(f"prune_rounds must be a positive integer, not {shown(prune_rounds)}")
    if finetune_steps and task is None:
        raise TaskError("fine-tuning needs a task (the data to fine-tune on)")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise PolicyError(f"lr must be a positive finite number, not {shown(lr)}")

    net = copy.deepcopy(model).eval()
    compressed = compressible_layers(net)
    error: dict[str, float] = {}
    untuned: dict[str, float] = {}

    def measure() -> float:
        assert task is not None
        return 100.0 * (1.0 - task.evaluate(net))

    def finetune(stage: str) -> None:
        if task is None:
            return
        if finetune_steps:
            untuned[stage] = measure()
            task.finetune(net, finetune_steps, lr)
        error[stage] = measure()

    steps = prune_rounds + 2

    def done(step: int, stage: str) -> None:
        if on_progress is not None:
            on_progress(step, steps, stage)

    # 1. the dense model
    if task is not None:
        error["dense"] = measure()
    # 2. magnitude pruning per layer in rounds, fine-tuned with the masks applied; a round
    #    prunes the smallest of the weights the last one kept (its zeros rank lowest)
    for round_ in range(1, prune_rounds + 1):
        for name, fraction in keep.items():
            if fraction < 1:
                layer = compressed[name]
                if hasattr(layer, "weight_orig"):
                    torch_prune.remove(layer, "weight")
                prune_unstructured(layer, fraction ** (round_ / prune_rounds))
        if round_ < prune_rounds and task is not None:
            task.finetune(net, finetune_steps, lr)
        if round_ < prune_rounds:
            done(round_, f"pruning round {round_} of {prune_rounds}")
    finetune("pruned")
    done(prune_rounds, "pruned")
    # 3. weight sharing per layer (the masks become permanent), fine-tuning the centroids
    for name, layer in compressed.items():
        share_weights(layer, widths[name], index_bits=index_widths[name],
                      iterations=kmeans_iterations)
    finetune("shared")
    done(prune_rounds + 1, "shared")
    # 4. Huffman coding: lossless, so the error is that of sharing
    if "shared" in error:
        error["huffman"] = error["shared"]
    rows = tuple(layer_storage(name, layer, keep=keep[name], index_bits=index_widths[name])
                 for name, layer in compressed.items())
    # 5. the simulator's view of the result
    net.eval()
    graph = trace(net, example_input)
    done(steps, "Huffman-coded")
    return DeepCompressionReport(rows, net, graph, error, untuned, finetune_steps, float(lr),
                                 prune_rounds)


@dataclass(frozen=True, slots=True)
class HardwareCost:
    """One model simulated on one accelerator: latency, energy, the weights' size in DRAM
    (as that arch stores them) and all DRAM reads, with the per-layer notes on what the
    compression saved there."""

    arch: str
    model: str  # "dense" or "compressed"
    cycles: int
    energy_pj: float
    weight_bits: int
    dram_read_bits: int
    notes: tuple[tuple[str, str], ...] = ()  # (layer, what its sparsity and coding saved)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes": dict(self.notes)}


def on_hardware(report: DeepCompressionReport, dense: nn.Module, example_input: torch.Tensor,
                archs: Sequence[str | Arch]) -> tuple[HardwareCost, ...]:
    """The dense model and the compressed one of ``report`` simulated on each of ``archs``
    (names, paths or :class:`~hwsim.config.Arch`): dense and compressed per arch, in order.
    Float tensors are costed at the front end's default 8 bits (an int8 deployment)."""
    from compiler.passes import compile_graph
    from systolab.pipeline import simulate_graph

    was_training = dense.training
    dense.eval()
    try:
        graphs = {"dense": compile_graph(trace(dense, example_input)),
                  "compressed": compile_graph(report.graph.copy())}
    finally:
        dense.train(was_training)
    rows = []
    for arch in archs:
        for model, graph in graphs.items():
            sim = simulate_graph(graph, arch, name=model, trace=False)
            total = sim.stats.total
            notes = tuple((p.op.name, p.sparsity.note) for p in sim.mapped.plans
                          if p.sparsity is not None and p.sparsity.note)
            rows.append(HardwareCost(sim.arch.name, model, total.cycles, total.energy_pj,
                                     sum(layer.weight_bits for layer in sim.mapped.program.layers),
                                     total.dram_read_bits, notes))
    return tuple(rows)
