"""The dataflow-graph IR: one op vocabulary, immutable op payloads, a typed graph.

Every model enters the compiler through this module. A node's payload is an :class:`Op`, a
frozen record named by the PyTorch qualified name of the layer it came from (``layer1.0.conv1``),
so that policies and reports speak the user's names. Passes never mutate an ``Op``; they
replace it (``dataclasses.replace``) through :class:`Graph`'s typed methods.

Analyses attach typed records to nodes, keyed by the record's class: for example
``graph.set_record("fc", Gemm(M=1, N=1000, K=512))`` and ``graph.record("fc", Gemm)``. The one
record every later stage relies on is :class:`Gemm`, the GEMM view of a compute op, attached
by ``compiler.passes.lower_to_gemm``.

>>> g = Graph()
>>> x = g.add_op(Op("x", OpKind.INPUT, (), TensorSpec((1, 16))))
>>> fc = g.add_op(Op("fc", OpKind.LINEAR, (TensorSpec((1, 16)),), TensorSpec((1, 4)),
...                  weight=TensorSpec((4, 16))), inputs=["x"])
>>> g.op("fc").params
64
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

import networkx as nx

from compiler.errors import IRError
from hwsim.fields import shown

__all__ = [
    "COMPUTE_OPS",
    "LAYOUT_OPS",
    "MAX_BITS",
    "VECTOR_OPS",
    "Gemm",
    "Graph",
    "Op",
    "OpKind",
    "Precision",
    "Sparsity",
    "TensorSpec",
    "WeightCode",
    "conv_kind",
    "verify",
]

MAX_BITS = 16
MAX_NM_GROUP = 32  # the largest M of an N:M pattern (hardware uses 4 or 8)
"""Widest operand the hardware models accept (BitFusion composes 16-bit from 8-bit passes)."""


class OpKind(enum.Enum):
    """Every op the compiler knows. Families below say where each op runs."""

    # Compute: GEMM-shaped work that runs on the systolic array.
    CONV2D = "conv2d"
    DEPTHWISE_CONV2D = "depthwise_conv2d"  # groups == in_channels == out_channels / multiplier
    GROUPED_CONV2D = "grouped_conv2d"  # 1 < groups < in_channels
    LINEAR = "linear"
    MATMUL = "matmul"  # both operands are activations (attention); batched over leading dims

    # Vector: elementwise or reduction work on the vector unit.
    MAXPOOL2D = "maxpool2d"
    AVGPOOL2D = "avgpool2d"  # adaptive pooling is lowered to a fixed kernel by the front end
    ACTIVATION = "activation"  # attrs["fn"] in ACTIVATION_FNS
    ADD = "add"
    MUL = "mul"
    SOFTMAX = "softmax"
    BATCHNORM = "batchnorm"  # folded into the producing conv/linear when it can be
    LAYERNORM = "layernorm"
    UPSAMPLE = "upsample"  # attrs["mode"]: "nearest" or "bilinear" spatial resizing
    COL2IM = "col2im"  # overlapping-tile accumulation of a transposed convolution's GEMM

    # Layout: data movement only (or nothing at all).
    INPUT = "input"
    OUTPUT = "output"
    CONSTANT = "constant"  # a parameter used as a tensor (class token, position embedding)
    RESHAPE = "reshape"  # view, reshape, flatten
    PERMUTE = "permute"  # permute, transpose
    SLICE = "slice"  # indexing and slicing
    EXPAND = "expand"  # broadcast views
    CONCAT = "concat"
    EMBEDDING = "embedding"  # a gather from a table: costs the rows it reads
    IDENTITY = "identity"  # dropout and friends; removed by compiler.passes.remove_noops


COMPUTE_OPS = frozenset(
    {OpKind.CONV2D, OpKind.DEPTHWISE_CONV2D, OpKind.GROUPED_CONV2D, OpKind.LINEAR, OpKind.MATMUL}
)
VECTOR_OPS = frozenset(
    {
        OpKind.MAXPOOL2D,
        OpKind.AVGPOOL2D,
        OpKind.ACTIVATION,
        OpKind.ADD,
        OpKind.MUL,
        OpKind.SOFTMAX,
        OpKind.BATCHNORM,
        OpKind.LAYERNORM,
        OpKind.UPSAMPLE,
        OpKind.COL2IM,
    }
)
LAYOUT_OPS = frozenset(OpKind) - COMPUTE_OPS - VECTOR_OPS
CONV_OPS = frozenset({OpKind.CONV2D, OpKind.DEPTHWISE_CONV2D, OpKind.GROUPED_CONV2D})
ACTIVATION_FNS = frozenset({"relu", "relu6", "gelu", "silu", "hardswish", "sigmoid"})


_FEATURES_LAST = frozenset({OpKind.LINEAR, OpKind.MATMUL})


def conv_kind(groups: int, in_channels: int, out_channels: int) -> OpKind:
    """Which convolution a front end's conv is: plain, depthwise (one group per input channel,
    a whole multiple of outputs each) or grouped."""
    if groups == 1:
        return OpKind.CONV2D
    if groups == in_channels and out_channels % in_channels == 0:
        return OpKind.DEPTHWISE_CONV2D
    return OpKind.GROUPED_CONV2D


# Sizes beyond any workload, so that a typo (``--batch 10**12``, a 10^9 x 10^9 topology row)
# is refused at once instead of being mapped for minutes.
MAX_TENSOR_ELEMENTS = 2**48
MAX_FEATURE_SIDE = 65_536


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """Shape and dtype of one tensor (NCHW for images, [..., features] for sequences)."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True, slots=True)
class Precision:
    """Operand bit widths: weights (or the second matmul operand) and activations."""

    w_bits: int = 8
    a_bits: int = 8

    def __post_init__(self) -> None:
        for name in ("w_bits", "a_bits"):
            bits = getattr(self, name)
            if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= MAX_BITS:
                raise IRError(f"{name} must be an integer from 1 to {MAX_BITS}, not {shown(bits)}")


@dataclass(frozen=True, slots=True)
class Sparsity:
    """Weight and input sparsity of a compute op.

    ``density`` is the fraction of non-zero weights that remain (1.0 = dense) after
    structured pruning is applied; ``kept_out_channels`` is the number of output channels that
    are not entirely zero (``None`` = all); ``pattern`` says how the zeros lie: "dense",
    "unstructured" (scattered zeros) or "channel" (whole output channels removed).
    ``input_density`` is the fraction of the op's input activations that are non-zero, as
    measured on data (:func:`compiler.compression.activations.measure_input_density`; 1.0 when
    not measured): ReLU networks feed most layers a third to a half zeros. ``nm`` is ``(N,
    M)`` when every group of ``M`` consecutive weights along the reduction (input channels) has
    at most ``N`` non-zeros (N:M structured sparsity, e.g. 2:4).
    """

    density: float = 1.0
    kept_out_channels: int | None = None
    pattern: str = "dense"
    input_density: float = 1.0
    nm: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.density <= 1.0:
            raise IRError(f"density must be in (0, 1], not {shown(self.density)}")
        if not 0.0 < self.input_density <= 1.0:
            raise IRError(f"input_density must be in (0, 1], not {shown(self.input_density)}")
        if self.nm is not None:
            n, m = self.nm
            if not (isinstance(n, int) and isinstance(m, int) and 0 <= n < m <= MAX_NM_GROUP):
                raise IRError(f"nm must be (N, M) with 0 <= N < M <= {MAX_NM_GROUP}, not "
                              f"{shown(self.nm)}")
        if self.kept_out_channels is not None and self.kept_out_channels < 1:
            raise IRError(
                f"kept_out_channels must be a positive integer, not {shown(self.kept_out_channels)}"
            )
        if self.pattern not in ("dense", "unstructured", "channel"):
            raise IRError(
                f"pattern must be 'dense', 'unstructured' or 'channel', not {shown(self.pattern)}"
            )


@dataclass(frozen=True, slots=True)
class WeightCode:
    """How a weight-shared layer stores its weights, as Deep Compression does (Han, Mao,
    Dally, ICLR 2016, Sections 2 to 4; :mod:`compiler.compression.huffman`): a codebook of
    ``2^bits`` shared values and, per stored entry (a kept weight, or a filler zero of the
    relative index), a ``bits``-wide index into it and a ``relative_bits``-wide count of the
    zeros before it (``relative_bits`` 0: stored dense, no index).

    ``entries`` is the number of stored entries per position of the dense weight tensor (the
    density plus the fillers' share; 1.0 when stored dense); ``huffman_bits`` the size of both
    streams Huffman-coded, per position of the dense tensor. Per-position averages let a tile
    of the tensor be sized without the tensor.
    """

    bits: int
    entries: float = 1.0
    relative_bits: int = 0
    huffman_bits: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not 1 <= self.bits <= 16:
            raise IRError(f"weight code bits must be an integer from 1 to 16, not {shown(self.bits)}")
        if isinstance(self.relative_bits, bool) or not isinstance(self.relative_bits, int) \
                or not 0 <= self.relative_bits <= 16:
            raise IRError("weight code relative_bits must be an integer from 0 to 16, not "
                          f"{shown(self.relative_bits)}")
        if not (isinstance(self.entries, (int, float)) and 0.0 < self.entries <= 1.0 + 1e-9):
            raise IRError(f"weight code entries must be in (0, 1] per weight, not {shown(self.entries)}")
        if not (isinstance(self.huffman_bits, (int, float)) and math.isfinite(self.huffman_bits)
                and self.huffman_bits >= 0):
            raise IRError("weight code huffman_bits must be a non-negative number, not "
                          f"{shown(self.huffman_bits)}")

    @property
    def fixed_bits(self) -> float:
        """Both streams at fixed width (index and relative index), per dense position."""
        return self.entries * (self.bits + self.relative_bits)


@dataclass(frozen=True, slots=True)
class Gemm:
    """GEMM view of a compute op: ``groups`` independent (M x K) @ (K x N) products.

    Conv: M = batch * out_h * out_w, N = out_channels / groups, K = in_channels / groups * kh * kw.
    Linear: M = product of leading dims, N = out_features, K = in_features.
    Matmul: groups = product of batch dims, M, N, K from the last two dims.
    """

    M: int
    N: int
    K: int
    groups: int = 1

    @property
    def macs(self) -> int:
        return self.M * self.N * self.K * self.groups


def _frozen_attrs(attrs: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(attrs or {}))


@dataclass(frozen=True, slots=True)
class Op:
    """One node of the IR. ``name`` is the PyTorch qualified name; ``source`` says where the op
    came from (module type or function) for error messages."""

    name: str
    kind: OpKind
    inputs: tuple[TensorSpec, ...]
    output: TensorSpec
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    weight: TensorSpec | None = None
    has_bias: bool = False
    precision: Precision = Precision()
    sparsity: Sparsity = Sparsity()
    weight_code: WeightCode | None = None  # weight sharing (Deep Compression)
    fused: tuple[str, ...] = ()  # vector ops absorbed into this op, e.g. ("batchnorm", "relu")
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.attrs, MappingProxyType):
            object.__setattr__(self, "attrs", _frozen_attrs(self.attrs))
        for role, spec in (("output", self.output), ("weight", self.weight),
                           *(("input", t) for t in self.inputs)):
            if spec is not None and spec.numel > MAX_TENSOR_ELEMENTS:
                raise IRError(f"{self.kind.value} {self.name!r}: its {role} {shown(spec.shape)} holds "
                              f"{spec.numel:.3g} elements, more than {MAX_TENSOR_ELEMENTS:.3g} "
                              "(2^48, 256 TiB at a byte each: beyond any memory); reduce the "
                              "batch or the input size")
        spatial = self.output.shape[2:] if len(self.output.shape) == 4 else ()
        if self.kind in COMPUTE_OPS and spatial and max(spatial) > MAX_FEATURE_SIDE:
            raise IRError(f"{self.kind.value} {self.name!r}: its output feature map "
                          f"{shown(spatial)} is larger than {MAX_FEATURE_SIDE:,} on a side "
                          "(4.3 gigapixels, beyond any image a network is run on whole)")

    @property
    def family(self) -> str:
        """'compute', 'vector' or 'layout'."""
        if self.kind in COMPUTE_OPS:
            return "compute"
        return "vector" if self.kind in VECTOR_OPS else "layout"

    @property
    def params(self) -> int:
        """Trainable parameters this op owns (weights, bias, norm affine terms)."""
        n = self.weight.numel if self.weight is not None else 0
        if self.kind is OpKind.CONSTANT:  # a parameter used as data (class token, positions)
            n += self.output.numel
        if self.has_bias:
            n += self.output.shape[-1] if self.kind is OpKind.LINEAR else self.out_channels
        if self.kind in (OpKind.BATCHNORM, OpKind.LAYERNORM) and self.attrs.get("affine", True):
            n += 2 * int(self.attrs["num_features"])
        return n

    @property
    def out_channels(self) -> int:
        """Channel count of the output: dim 1 for NCHW maps, the last dim otherwise (always for
        a linear layer or matmul, whose features are last even on a 4-D tensor)."""
        shape = self.output.shape
        return shape[1] if len(shape) == 4 and self.kind not in _FEATURES_LAST else shape[-1]

    def replace(self, **changes: Any) -> Op:
        return dataclasses.replace(self, **changes)


R = TypeVar("R")


class Graph:
    """A DAG of :class:`Op` s over ``networkx.DiGraph``, keyed by op name.

    Edges carry ``index``: the position of the producer among the consumer's inputs. Passes use
    these methods, never the raw networkx attribute dicts.
    """

    def __init__(self) -> None:
        self._g: nx.DiGraph = nx.DiGraph()
        self._records: dict[type, dict[str, Any]] = {}
        self.notes: list[str] = []  # facts a report should show (e.g. pruning not propagated)

    # -- construction -------------------------------------------------------------------------
    def add_op(self, op: Op, inputs: Iterable[str] = ()) -> str:
        if op.name in self._g:
            raise IRError(f"op name must be unique, not {shown(op.name)} (already in the graph)")
        inputs = list(inputs)
        for src in inputs:
            if src not in self._g:
                raise IRError(f"input {src!r} of op {op.name!r} must be added before it")
        self._g.add_node(op.name, op=op)
        for index, src in enumerate(inputs):
            self._g.add_edge(src, op.name, index=index)
        return op.name

    def replace_op(self, op: Op) -> None:
        """Swap the payload of an existing node (same name); edges stay."""
        if op.name not in self._g:
            raise IRError(f"cannot replace unknown op {op.name!r}")
        self._g.nodes[op.name]["op"] = op

    def remove_op(self, name: str) -> None:
        """Remove a single-input op and connect its producer to each of its consumers."""
        producers = self.inputs_of(name)
        if len(producers) != 1:
            raise IRError(f"only single-input ops can be bypassed, not {shown(name)} ({producers})")
        (src,) = producers
        for dst in self.consumers(name):
            index = self._g.edges[name, dst]["index"]
            self._g.add_edge(src, dst, index=index)
        self._g.remove_node(name)
        for table in self._records.values():
            table.pop(name, None)

    # -- queries ------------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def op(self, name: str) -> Op:
        try:
            op: Op = self._g.nodes[name]["op"]
        except KeyError:
            raise IRError(f"no op named {name!r} in the graph") from None
        return op

    def ops(self) -> Iterator[Op]:
        """Ops in a deterministic topological order (ties broken by insertion order)."""
        order = {name: i for i, name in enumerate(self._g.nodes)}
        for name in nx.lexicographical_topological_sort(self._g, key=order.__getitem__):
            yield self._g.nodes[name]["op"]

    def compute_ops(self) -> list[Op]:
        return [op for op in self.ops() if op.kind in COMPUTE_OPS]

    def inputs_of(self, name: str) -> list[str]:
        """Producers of ``name``'s inputs, in input order."""
        preds = self._g.in_edges(name, data="index")
        return [src for src, _, _ in sorted(preds, key=lambda e: e[2])]

    def consumers(self, name: str) -> list[str]:
        return list(self._g.successors(name))

    def edges(self) -> Iterator[tuple[str, str, int]]:
        yield from self._g.edges(data="index")

    # -- analysis records ---------------------------------------------------------------------
    def set_record(self, name: str, record: object) -> None:
        if name not in self._g:
            raise IRError(f"cannot attach {type(record).__name__} to unknown op {name!r}")
        self._records.setdefault(type(record), {})[name] = record

    def record(self, name: str, kind: type[R]) -> R:
        try:
            rec: R = self._records[kind][name]
        except KeyError:
            raise IRError(f"op {name!r} has no {kind.__name__} record") from None
        return rec

    def has_record(self, name: str, kind: type) -> bool:
        return name in self._records.get(kind, {})

    # -- whole-graph figures ------------------------------------------------------------------
    @property
    def total_macs(self) -> int:
        return sum(self.record(op.name, Gemm).macs for op in self.compute_ops())

    @property
    def total_params(self) -> int:
        return sum(op.params for op in self.ops())

    def copy(self) -> Graph:
        new = Graph()
        new._g = self._g.copy()
        new._records = {k: dict(v) for k, v in self._records.items()}
        new.notes = list(self.notes)
        return new


def verify(graph: Graph, *, lowered: bool = False) -> None:
    """Check the IR's invariants; raise :class:`IRError` naming the first op that breaks one.

    - the graph is acyclic and every edge feeds the declared input shape of its consumer;
    - input positions of each op are 0..n-1, one producer each;
    - compute ops have a weight (except matmul) and a precision within 1..MAX_BITS;
    - ``kept_out_channels`` does not exceed the op's output channels;
    - with ``lowered=True``: every compute op has a :class:`Gemm` record whose MACs are positive.
    """
    if not nx.is_directed_acyclic_graph(graph._g):
        raise IRError(f"graph must be acyclic; cycle: {nx.find_cycle(graph._g)}")
    for op in graph.ops():
        producers = graph.inputs_of(op.name)
        indices = sorted(index for _, _, index in graph._g.in_edges(op.name, data="index"))
        if indices != list(range(len(producers))):
            raise IRError(f"op {op.name!r}: input positions must be 0..n-1, not {indices}")
        if op.kind is not OpKind.CONSTANT and len(producers) != len(op.inputs):
            raise IRError(
                f"op {op.name!r} declares {len(op.inputs)} inputs but has {len(producers)} producers"
            )
        for index, src in enumerate(producers):
            got = graph.op(src).output.shape
            want = op.inputs[index].shape
            if got != want:
                raise IRError(
                    f"op {op.name!r} input {index} must have shape {want} "
                    f"(from {src!r}), not {got}"
                )
        if op.kind in COMPUTE_OPS:
            if op.kind is not OpKind.MATMUL and op.weight is None:
                raise IRError(f"compute op {op.name!r} ({op.kind.value}) must have a weight")
            kept = op.sparsity.kept_out_channels
            if kept is not None and kept > op.out_channels:
                raise IRError(
                    f"op {op.name!r}: kept_out_channels must be at most {op.out_channels}, "
                    f"not {kept}"
                )
            if lowered:
                if not graph.has_record(op.name, Gemm):
                    raise IRError(f"compute op {op.name!r} must have a GEMM view after lowering")
                if graph.record(op.name, Gemm).macs <= 0:
                    raise IRError(f"compute op {op.name!r} must have positive MACs")
