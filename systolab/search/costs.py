"""The hardware cost of a compression policy: latency, energy and weight size on an accelerator.

:class:`CostModel` answers, for a :class:`~compiler.policy.Policy`, exactly what the full path
``simulate_graph(compile_graph(apply_policy(graph, policy)), arch)`` reports (cycles, seconds,
energy) plus the stored weight bits, but fast enough to sit inside a search loop, as HAQ's
hardware feedback does (Wang et al., "HAQ: Hardware-Aware Automated Quantization with Mixed
Precision", CVPR 2019, section 3.4).

Why it can be fast and still exact: the engine runs layers one after another, each from its own
instructions (:mod:`hwsim.engine`), so a run's totals are sums of per-layer stats. A policy's
keep ratios decide the shapes (channel pruning narrows tensors and consumers' K, see
:func:`compiler.passes.propagate_channel_pruning`): the compiled graph is built once per distinct
vector of kept channel counts. Its bits then decide each layer's program: a compute layer's
depends on its own (w_bits, a_bits) and on the stored widths of its inputs and output, a vector
or layout op's on those widths alone (a tensor is stored at the width its consumers read it at:
:func:`compiler.mapping.codegen.tensor_bits`). Per-layer results are cached on exactly those
keys; a miss maps the missing layers of the bit-applied graph with
:func:`compiler.mapping.map_op` (what :func:`~compiler.mapping.map_model` does per op) and
simulates them with :func:`hwsim.engine.simulate_layer`. Totals are summed in
program order, component by component, as :attr:`hwsim.stats.RunStats.total` does, so the floats
agree to the last bit.

>>> from compiler.frontend.pytorch import trace
>>> from systolab.zoo import get_model
>>> from compiler.policy import LayerPolicy, Policy
>>> costs = CostModel(trace(*get_model("digits_cnn")), "edge_int8")
>>> [layer.name for layer in costs.layers]
['conv1', 'conv2', 'fc1', 'fc2']
>>> p = Policy(LayerPolicy(4, 4), {"conv1": LayerPolicy(keep=0.5)})
>>> costs.evaluate(p).weight_bits < costs.baseline(8).weight_bits
True
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from compiler.errors import MappingError
from compiler.ir import COMPUTE_OPS, CONV_OPS, Gemm, Graph, Op, OpKind
from compiler.mapping import map_op
from compiler.mapping.codegen import DEFAULT_BITS, has_layer, read_precision, tensor_bits
from compiler.mapping.tiling import check_objective
from compiler.passes import compile_graph
from compiler.policy import LayerPolicy, Policy, apply_policy
from hwsim.config import Arch, load_arch
from hwsim.engine import no_cyclic_gc, simulate_layer
from hwsim.errors import ProgramError, SystolabError
from hwsim.fields import shown
from hwsim.isa import Program, Run
from hwsim.outfiles import replacing, write_text
from hwsim.stats import LayerStats
from hwsim.timing import check_mode
from systolab.search.workers import digest, pack, spawn_pool, unpacked

if TYPE_CHECKING:  # a graph from ONNX or a topology needs no torch; from_model imports it
    import torch
    from torch import nn

__all__ = ["Cost", "CostModel", "CostTable", "LayerInfo", "TableWorkers"]


@dataclass(frozen=True, slots=True)
class Cost:
    """Hardware cost of one compressed model: whole-run totals."""

    cycles: int
    seconds: float
    energy_pj: float
    weight_bits: int  # stored weights, packed at their bit width, pruned channels not stored
    macs: int

    @property
    def latency_ms(self) -> float:
        return self.seconds * 1e3

    @property
    def energy_uj(self) -> float:
        return self.energy_pj * 1e-6

    @property
    def weight_mib(self) -> float:
        return self.weight_bits / 8 / 2**20


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One compute layer of the dense model: HAQ's per-layer state features (Wang et al., CVPR
    2019, section 3.2: index, channels, kernel, stride, feature size, parameters, depthwise
    flag) plus its GEMM view. Linear and matmul layers have kernel (1, 1), stride 1 and
    feature size 1; for them ``in_channels``/``out_channels`` are the GEMM's K and N."""

    index: int
    name: str
    kind: str  # an OpKind value: conv2d, depthwise_conv2d, grouped_conv2d, linear, matmul
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: int
    feature_size: int  # input height
    params: int
    macs: int
    depthwise: bool
    gemm: Gemm

    @property
    def prunable(self) -> bool:
        """Whether a policy may give this layer a keep ratio (conv and linear layers)."""
        return self.kind != OpKind.MATMUL.value


@dataclass(frozen=True)
class CostTable:
    """Per-layer cost of every (w_bits, a_bits) pair on the dense model, compute layers only.

    ``array[layer, w_bits - 1, a_bits - 1] = (cycles, energy_pj)``, shape ``[layers, max_bits,
    max_bits, 2]`` as HAQ's lookup table; pairs not measured (or that the PE cannot run) are NaN.
    """

    model: str
    arch: str
    mode: str
    bits: tuple[int, ...]
    layers: tuple[LayerInfo, ...]
    array: np.ndarray = field(repr=False)
    objective: str = "latency"  # the mapper's
    dataflows: tuple[str, ...] = ()  # those it could choose from

    def write(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``<stem>.json`` (:meth:`to_dict`) and ``<stem>.npy`` (:attr:`array`)."""
        path = Path(stem)
        json_path, npy_path = path.with_name(path.name + ".json"), path.with_name(path.name + ".npy")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(json_path, json.dumps(self.to_dict(), indent=2))
            with replacing(npy_path) as fh:
                np.save(fh, self.array)
        except OSError as err:
            raise SystolabError(f"cannot write output file {err.filename!r}: "
                                f"{err.strerror}") from None
        return json_path, npy_path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per layer, ``costs["w4a8"] = {"cycles": ..., "energy_pj": ...}``."""
        rows = []
        for info in self.layers:
            costs: dict[str, dict[str, float] | None] = {}
            for w in self.bits:
                for a in self.bits:
                    cycles, energy = self.array[info.index, w - 1, a - 1]
                    costs[f"w{w}a{a}"] = None if math.isnan(cycles) else {
                        "cycles": int(cycles), "energy_pj": float(energy)}
            rows.append({"index": info.index, "name": info.name, "kind": info.kind,
                         "in_channels": info.in_channels, "out_channels": info.out_channels,
                         "kernel": list(info.kernel), "stride": info.stride,
                         "feature_size": info.feature_size, "params": info.params,
                         "macs": info.macs, "depthwise": info.depthwise, "costs": costs})
        return {"model": self.model, "arch": self.arch, "mode": self.mode,
                "objective": self.objective, "dataflows": list(self.dataflows),
                "bits": list(self.bits), "layers": rows}


_MAX_STRUCTURES = 512
"""Compiled pruned graphs kept at once (each with its per-layer caches); a channel-pruning
search visits many keep vectors, and memory must stay bounded."""

SPREAD_S = 1.0
"""A cost table spreads over worker processes when it would take longer than this in one
(a spawned worker takes about a quarter of a second to start)."""

_Values = tuple[int, float, float, float, float, float, float, int, int]
"""Per-layer cache entry: cycles, seconds, energy (mac, sram, dram, vector, static) in pJ, MACs,
weight bits."""


@dataclass(slots=True)
class _Entry:
    """One layer of a structure's program and the cache of its results by bits key."""

    op: int  # position in the structure's op order
    compute: int  # index among compute layers, -1 for vector and layout ops
    inputs: tuple[int, ...]  # positions of the op's producers
    cache: dict[tuple[int, ...], _Values] = field(default_factory=dict)


@dataclass(slots=True)
class _Structure:
    """The compiled graph for one vector of kept channel counts and how to key its layers."""

    graph: Graph  # compiled, precisions as in the model
    names: tuple[str, ...]  # its ops in order
    # How each op's storage width is found (codegen.tensor_bits): per op in order, what each
    # consumer reads it at: (0 or 1, compute index) for a compute consumer's w_bits or a_bits,
    # (-1, op position) for another op, which reads at its own output's width.
    width_plan: tuple[tuple[tuple[int, int], ...], ...]
    entries: tuple[_Entry, ...]


class CostModel:
    """Latency, energy and weight size of ``graph`` compressed by a policy, on ``arch``.

    ``graph`` is a traced model (:func:`compiler.frontend.trace`), compiled or not, with the
    batch it was traced with; policies apply to its compute layers by name. ``arch`` is an
    :class:`Arch`, a shipped config name or a YAML path; ``mode`` the engine's timing mode;
    ``objective`` what the mapper minimizes per layer, ``dataflow`` one it is restricted to
    (``"auto"``: any the arch has), as in :func:`systolab.pipeline.simulate_graph`.
    """

    def __init__(self, graph: Graph, arch: Arch | str | Path, *, mode: str = "native",
                 name: str = "model", objective: str = "latency",
                 dataflow: str = "auto") -> None:
        check_mode(mode)
        self.objective = check_objective(objective)
        self.arch = (arch if isinstance(arch, Arch) else load_arch(arch)).with_dataflow(dataflow)
        self.mode = mode
        self.name = name
        self._source = graph
        self._dense = dense = compile_graph(graph)
        ops = dense.compute_ops()
        self.layers: tuple[LayerInfo, ...] = tuple(
            _layer_info(i, op, dense.record(op.name, Gemm)) for i, op in enumerate(ops))
        self._names = tuple(op.name for op in ops)
        self._name_set = frozenset(self._names)
        self._bits = tuple((op.precision.w_bits, op.precision.a_bits) for op in ops)
        self._channels = tuple((op.out_channels, op.sparsity.kept_out_channels or op.out_channels)
                               for op in ops)
        self._structures: dict[tuple[int | None, ...], _Structure] = {}

    @classmethod
    def from_model(cls, model: nn.Module, example_input: torch.Tensor, arch: Arch | str | Path,
                   *, mode: str = "native", name: str | None = None,
                   objective: str = "latency", dataflow: str = "auto") -> CostModel:
        """Trace ``model`` (with the batch of ``example_input``) and build its cost model."""
        from compiler.frontend.pytorch import trace

        return cls(trace(model, example_input), arch, mode=mode, name=name or type(model).__name__,
                   objective=objective, dataflow=dataflow)

    # -- public API ---------------------------------------------------------------------------
    def evaluate(self, policy: Policy) -> Cost:
        """The cost of the model compressed by ``policy``; equal, to the last bit, to the totals
        of ``simulate_graph(compile_graph(apply_policy(graph, policy)), arch, mode=mode,
        objective=objective, dataflow=dataflow)``."""
        bits, kept = self._resolve(policy)
        structure = self._structures.get(kept)
        if structure is None:
            structure = self._structure(kept, policy)
        values = self._lookup(structure, bits)
        if values is None:
            self._fill(structure, bits)
            values = self._lookup(structure, bits)
            assert values is not None, "a filled cache must answer"
        return _total(values)

    def baseline(self, bits: int = 8) -> Cost:
        """The cost of the uniform ``bits``-bit policy, unpruned: budgets are relative to it."""
        return self.evaluate(Policy(LayerPolicy(bits, bits)))

    def table(self, bits: Iterable[int] = range(2, 9),
              on_progress: Callable[[int, int], None] | None = None,
              workers: int | TableWorkers = 1) -> CostTable:
        """Per-layer (cycles, energy) of every (w_bits, a_bits) pair in ``bits`` on the dense
        model, each with every layer at that pair (HAQ's lookup table; a layer's traffic also
        depends on its neighbours' widths). Pairs the PE cannot run are left NaN.
        ``on_progress(pairs done, pairs)`` is called after each pair. ``workers`` > 1 spreads
        the pairs over this process and ``workers - 1`` spawned ones, or over the processes
        of a :class:`TableWorkers` started ahead (the same numbers; the per-layer results all
        land in this model's caches)."""
        widths = tuple(sorted(set(bits)))
        if not widths or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in widths):
            raise ProgramError(f"bits must be positive integers, not {shown(list(bits))}")
        if not isinstance(workers, TableWorkers) and (
                isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ProgramError(f"workers must be a positive integer or TableWorkers, not "
                               f"{shown(workers)}")
        top = widths[-1]
        array = np.full((len(self.layers), top, top, 2), np.nan)
        dense: tuple[int | None, ...] = (None,) * len(self.layers)
        structure = self._structures.get(dense) or self._structure(dense, Policy())
        pairs = [(w, a) for w in widths for a in widths]
        with no_cyclic_gc():  # (the mapper and the engine make no reference cycles)
            runnable = self._fill_pairs(structure, pairs, workers, on_progress)
        for w, a in runnable:
            uniform = ((w, a),) * len(self.layers)
            for entry, key in zip(structure.entries, self._keys(structure, uniform),
                                  strict=True):
                if entry.compute >= 0:
                    v = entry.cache[key]
                    array[entry.compute, w - 1, a - 1] = (v[0], v[2] + v[3] + v[4] + v[5] + v[6])
        return CostTable(self.name, self.arch.name, self.mode, widths, self.layers, array,
                         self.objective, self.arch.array.dataflows)

    def _fill_pairs(self, structure: _Structure, pairs: list[tuple[int, int]],
                    workers: int | TableWorkers,
                    on_progress: Callable[[int, int], None] | None) -> list[tuple[int, int]]:
        """Fill the caches of ``structure`` at every uniform pair; the pairs the PE can run.
        Worker processes take pairs from the front and this process from the back until
        they meet (the pairs' costs differ: neither side waits for a fixed share). Workers
        started ahead (:class:`TableWorkers`) start at once; else the last pair is filled
        here first, and workers are spawned only if the rest would take longer than
        :data:`SPREAD_S` at its pace."""
        done: list[tuple[int, int]] = []
        runnable: set[tuple[int, int]] = set()

        def finished(pair: tuple[int, int], ok: bool) -> None:
            done.append(pair)
            if ok:
                runnable.add(pair)
            if on_progress is not None:
                on_progress(len(done), len(pairs))

        rest = pairs  # (workers started ahead take pairs at once)
        if not isinstance(workers, TableWorkers):
            start = time.perf_counter()
            finished(pairs[-1], self._fill_uniform(structure, pairs[-1]))
            rest = pairs[:-1]
            if workers == 1 or not rest or (time.perf_counter() - start) * len(rest) < SPREAD_S:
                for pair in rest:
                    finished(pair, self._fill_uniform(structure, pair))
                return [p for p in pairs if p in runnable]
        job = copy.copy(self)  # what a worker needs: the dense structure, not the pruned ones
        job._structures = {(None,) * len(self.layers): structure}
        blob = pack(job)  # (with every task, not to the initializer: see spawn_pool)
        name = digest(blob)
        helpers = workers if isinstance(workers, TableWorkers) else TableWorkers(workers - 1)
        pool = helpers.pool
        try:
            theirs = {pool.submit(_table_pair, name, blob, pair): pair for pair in rest}
            queued = list(theirs)

            def collect(futures: Iterable[Future[_Filled]]) -> None:
                for future in futures:
                    filled = future.result()
                    if filled is not None:
                        for entry, (key, values) in zip(structure.entries, filled, strict=True):
                            entry.cache[key] = values
                    finished(theirs.pop(future), filled is not None)

            # The last pair not started is this process's: one a worker cannot be given back
            # (the pool hands each worker one ahead) is filled here too, its copy ignored.
            while queued and (queued[-1].cancel() or sum(
                    not f.done() for f in theirs) > helpers.processes):
                pair = theirs.pop(queued.pop())
                finished(pair, self._fill_uniform(structure, pair))
                collect([f for f in theirs if f.done()])
            collect(as_completed(list(theirs)))
        finally:
            if helpers is not workers:
                helpers.close()
        return [p for p in pairs if p in runnable]

    def _fill_uniform(self, structure: _Structure, pair: tuple[int, int]) -> bool:
        """Fill the caches at every layer at ``pair``; False if the PE cannot run it."""
        try:
            self._fill(structure, (pair,) * len(self.layers))
        except SystolabError:
            return False
        return True

    # -- policy resolution --------------------------------------------------------------------
    def _resolve(self, policy: Policy) -> tuple[tuple[tuple[int, int], ...], tuple[int | None, ...]]:
        """Per compute layer: (w_bits, a_bits) and kept output channels, as apply_policy reads
        the policy (None: the layer keeps what the model has)."""
        layers = policy.layers
        if layers and not self._name_set.issuperset(layers):
            apply_policy(self._source, policy)  # raises PolicyError naming the unknown layer
        dw, da = policy.default.w_bits, policy.default.a_bits
        bits: list[tuple[int, int]] = []
        kept: list[int | None] = []
        for c, name in enumerate(self._names):
            bw, ba = self._bits[c]
            lp = layers.get(name)
            if lp is None:
                bits.append((dw or bw, da or ba))
                kept.append(None)
                continue
            bits.append((lp.w_bits or dw or bw, lp.a_bits or da or ba))
            if lp.keep is None:
                kept.append(None)
            else:  # the rounding of compiler.policy.apply_policy
                out, was = self._channels[c]
                kept.append(min(max(1, math.floor(lp.keep * out + 0.5)), was))
        return tuple(bits), tuple(kept)

    # -- structures and per-layer caches ------------------------------------------------------
    def _structure(self, kept: tuple[int | None, ...], policy: Policy) -> _Structure:
        """Compile the graph pruned as ``policy`` says (its keep ratios give ``kept``)."""
        keeps = {name: LayerPolicy(keep=policy.layers[name].keep)
                 for name, k in zip(self._names, kept, strict=True) if k is not None}
        graph = compile_graph(apply_policy(self._source, Policy(layers=keeps))) if keeps \
            else self._dense
        ops = list(graph.ops())
        index = {op.name: i for i, op in enumerate(ops)}
        compute = {name: c for c, name in enumerate(self._names)}
        plan: list[tuple[tuple[int, int], ...]] = []
        for op in ops:
            reads = []
            for c in graph.consumers(op.name):
                field = read_precision(graph.op(c), graph.inputs_of(c).index(op.name))
                reads.append((-1, index[c]) if field is None
                             else (0 if field == "w_bits" else 1, compute[c]))
            plan.append(tuple(reads))
        # (mapped when first filled: an op is a layer or not whatever its bits)
        entries = tuple(
            _Entry(i, compute.get(op.name, -1) if op.kind in COMPUTE_OPS else -1,
                   tuple(index[q] for q in graph.inputs_of(op.name)))
            for i, op in enumerate(ops) if has_layer(op))
        if not entries:
            raise MappingError(f"model {self.name!r} has no op that does work on the "
                               "accelerator")
        structure = _Structure(graph, tuple(op.name for op in ops), tuple(plan), entries)
        if len(self._structures) >= _MAX_STRUCTURES:  # forget the oldest pruned shapes
            del self._structures[next(iter(self._structures))]
        self._structures[kept] = structure
        return structure

    @staticmethod
    def _widths(structure: _Structure, bits: Sequence[tuple[int, int]]) -> list[int]:
        """Storage width of every op's output (:func:`compiler.mapping.codegen.tensor_bits`):
        the widest its consumers read it at, consumers first."""
        widths = [DEFAULT_BITS] * len(structure.width_plan)
        for i in range(len(structure.width_plan) - 1, -1, -1):
            reads = structure.width_plan[i]
            if reads:
                widths[i] = max(widths[ref] if which < 0 else bits[ref][which]
                                for which, ref in reads)
        return widths

    def _keys(self, structure: _Structure,
              bits: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
        """Per entry, everything its program depends on: a compute layer's own bits and the
        stored widths of its inputs and output; a vector or layout op's widths."""
        widths = self._widths(structure, bits)
        return [(*(bits[e.compute] if e.compute >= 0 else ()), widths[e.op],
                 *[widths[p] for p in e.inputs]) for e in structure.entries]

    def _lookup(self, structure: _Structure,
                bits: Sequence[tuple[int, int]]) -> list[_Values] | None:
        values = []
        for entry, key in zip(structure.entries, self._keys(structure, bits), strict=True):
            v = entry.cache.get(key)
            if v is None:
                return None
            values.append(v)
        return values

    def _fill(self, structure: _Structure, bits: Sequence[tuple[int, int]]) -> None:
        """Map the layers at ``bits`` whose results are not cached (the full compiler path,
        op by op: a layer depends on the rest of the graph only through the stored widths
        its key holds) and simulate them."""
        keys = self._keys(structure, bits)
        todo = [(entry, key) for entry, key in zip(structure.entries, keys, strict=True)
                if key not in entry.cache]
        if not todo:
            return
        graph = structure.graph.copy()
        for name, (w, a) in zip(self._names, bits, strict=True):
            op = graph.op(name)
            graph.replace_op(op.replace(precision=type(op.precision)(w, a)))
        widths = tensor_bits(graph)
        layers = []
        for entry, _ in todo:
            mapped = map_op(graph, graph.op(structure.names[entry.op]), self.arch, widths,
                            self.mode, self.objective)
            assert mapped is not None, "an op that costs something does at any precision"
            layers.append(mapped[1])
        Program(self.name, tuple(layers)).validate(self.arch, capacity=self.mode != "scalesim")
        same: dict[tuple[Run, ...], LayerStats] = {}  # a layer's stats are its runs' (repeats)
        for (entry, key), layer in zip(todo, layers, strict=True):
            stats = same.get(layer.runs)
            if stats is None:
                stats = same[layer.runs] = simulate_layer(layer, self.arch, self.mode,
                                                          trace=False)[0]
            e = stats.energy
            entry.cache[key] = (stats.cycles, stats.seconds, e.mac_pj, e.sram_pj, e.dram_pj,
                                e.vector_pj, e.static_pj, stats.macs, layer.weight_bits)


def _total(values: list[_Values]) -> Cost:
    """Sum layers in program order, each energy component apart, as RunStats.total does."""
    cycles = macs = weight_bits = 0
    seconds = mac = sram = dram = vector = static = 0.0
    for v in values:
        cycles += v[0]
        seconds += v[1]
        mac += v[2]
        sram += v[3]
        dram += v[4]
        vector += v[5]
        static += v[6]
        macs += v[7]
        weight_bits += v[8]
    return Cost(cycles, seconds, mac + sram + dram + vector + static, weight_bits, macs)


def _layer_info(index: int, op: Op, gemm: Gemm) -> LayerInfo:
    if op.kind in CONV_OPS:
        x = op.inputs[0].shape
        kh, kw = op.attrs["kernel"]
        return LayerInfo(index, op.name, op.kind.value, x[1], op.out_channels, (kh, kw),
                         int(op.attrs["stride"][0]), x[2], op.params, gemm.macs,
                         op.kind is OpKind.DEPTHWISE_CONV2D, gemm)
    return LayerInfo(index, op.name, op.kind.value, gemm.K, gemm.N, (1, 1), 1, 1, op.params,
                     gemm.macs, False, gemm)


class TableWorkers:
    """Worker processes for :meth:`CostModel.table`, started ahead: a spawned process takes
    about a quarter of a second to start, which a caller hides by starting them before other
    work (``systolab costs`` does, before it captures the model). Used by any number of
    tables; :meth:`close` them (or use as a context manager)."""

    def __init__(self, processes: int) -> None:
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ProgramError(f"processes must be a positive integer, not {shown(processes)}")
        self.processes = processes
        self.pool = spawn_pool(processes)
        for _ in range(processes):  # (each starts now and imports what a table needs)
            self.pool.submit(_warm_up)

    def close(self) -> None:
        """Cancel what is pending and wait for the processes to finish their task and exit
        (left to exit on their own, they race the interpreter's exit in CPython 3.11's
        ``concurrent.futures``, which then prints an ignored OSError)."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TableWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _warm_up() -> None:
    """A task that makes a new worker import this module (by unpickling it) and no more."""


_Filled = list[tuple[tuple[int, ...], _Values]] | None  # per entry, (key, values) at a pair


def _table_pair(name: str, blob: bytes, pair: tuple[int, int]) -> _Filled:
    """In a table worker: per entry of the dense structure, its key and values at ``pair``
    (every layer at ``pair``); None if the PE cannot run it."""
    model: CostModel = unpacked(name, blob)
    structure = next(iter(model._structures.values()))
    with no_cyclic_gc(freeze=True):  # (a worker does nothing else: its caches stay frozen)
        if not model._fill_uniform(structure, pair):
            return None
    keys = model._keys(structure, (pair,) * len(model.layers))
    return [(key, entry.cache[key]) for entry, key in zip(structure.entries, keys, strict=True)]
