"""Code generation: a lowered IR graph and its mappings become a :class:`hwsim.isa.Program`.

Layers run one after another, each reading its inputs from DRAM and writing its output back
(no cross-layer fusion). Per op:

- **compute** ops become the loop nest their :class:`~compiler.mapping.tiling.GemmMapping`
  chose. The output space splits into at most four uniform rectangles (full and edge tiles
  along M and N), each one run; the reduction's edge tile stays inside the run, selected by
  instruction windows (see :mod:`hwsim.isa`), so no MAC is padded and none is lost.
- **vector** ops stream their tensors through the vector unit in chunks that fit the buffers.
- **layout** ops cost what :data:`compiler.mapping.vector.LAYOUT_MOVES` says: a copy through
  the vector unit (DRAM read and write of the tensor), or nothing.

Tensors are stored packed at their bit width, by one rule (:func:`tensor_bits`, stated in
docs/timing.md): **a tensor is stored at the width its consumers read it at**, the widest
when they differ; its producer requantises at its output. A compute op reads its input at its
``a_bits`` (a matmul's second operand, which plays the weight, at its ``w_bits``); any other
op passes values through, so it reads at the width of its own output; a tensor nothing reads
(a model output) is stored at :data:`DEFAULT_BITS`. Every tensor's written and read bits
therefore agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from compiler.ir import COMPUTE_OPS, VECTOR_OPS, Graph, Op, OpKind
from compiler.mapping.tiling import GemmMapping, split_dim
from compiler.mapping.vector import LAYOUT_MOVES, vector_cost
from hwsim.config import Arch
from hwsim.isa import Compute, Instr, Layer, Load, Run, Store, Vector

__all__ = ["DEFAULT_BITS", "gemm_runs", "op_layer", "read_bits", "read_precision", "tensor_bits",
           "vector_runs"]


DEFAULT_BITS = 8
"""Width of a tensor nothing reads (a model's output)."""


def read_precision(op: Op, operand: int) -> str | None:
    """Which of ``op``'s precisions it reads its ``operand``-th input at: ``"a_bits"`` for a
    compute op (``"w_bits"`` for a matmul's second operand), ``None`` for an op that passes
    values through and so reads at its own output's width."""
    if op.kind not in COMPUTE_OPS:
        return None
    return "w_bits" if op.kind is OpKind.MATMUL and operand == 1 else "a_bits"


def read_bits(op: Op, operand: int, output_bits: int) -> int:
    """The width ``op`` reads its ``operand``-th input at, given its own output's width."""
    field = read_precision(op, operand)
    return output_bits if field is None else int(getattr(op.precision, field))


def tensor_bits(graph: Graph) -> dict[str, int]:
    """Storage width of every op's output (the rule in the module doc)."""
    bits: dict[str, int] = {}
    for op in reversed(list(graph.ops())):  # consumers before their producers
        reads = [read_bits(graph.op(c), graph.inputs_of(c).index(op.name), bits[c])
                 for c in graph.consumers(op.name)]
        bits[op.name] = max(reads, default=DEFAULT_BITS)
    return bits


@dataclass(frozen=True, slots=True)
class _KPart:
    size: int  # k of the tile
    window: tuple[int, int] | None  # iterations of the reduction loop it covers


def _k_parts(K: int, k_t: int) -> tuple[int, list[_KPart]]:
    full, edge = divmod(K, k_t)
    kt = full + (1 if edge else 0)
    if not edge:
        return kt, [_KPart(k_t, None)]
    parts = [_KPart(k_t, (0, full))] if full else []
    return kt, [*parts, _KPart(edge, (full, kt))]


_SPLIT_BELOW = 8
"""An ``mnk`` nest with fewer m blocks than this is emitted as two runs per block (see
:func:`gemm_runs`)."""


def gemm_runs(mp: GemmMapping, *, out_bits: int) -> tuple[Run, ...]:
    """The runs of one GEMM's loop nest (see :mod:`compiler.mapping.tiling` for the orders).

    Input tiles move ``mp.input_word_bits`` per element of the GEMM's input matrix: for a
    convolution the im2col matrix repeats each pixel, so that is ``a_bits`` divided by the
    repetition (the array's input path expands the feature-map tile on chip).

    In ``mnk`` an m block's inputs are loaded by its first n tile and stay resident for the
    others, so one period of the nest spans a whole m block. With few m blocks that period
    is most of the run and the engine could not fast-forward it; such nests are emitted as
    two runs per block instead (first n tile, remaining n tiles), each with a short period.
    """
    g = mp.gemm
    kt, parts = _k_parts(g.K, mp.k_t)
    runs = []
    for m, mb in split_dim(g.M, mp.m_t):
        for n, nt in split_dim(g.N, mp.n_t):
            name = f"{mp.dataflow} {mp.order} m{m} n{n}"
            blocks = mb * g.groups
            if mp.order == "nkm":
                runs.append(Run(_nkm_body(mp, m, n, kt, parts, mb, out_bits),
                                count=blocks * nt * kt, name=name))
            elif mp.order == "mnk" and nt > 1 and blocks < _SPLIT_BELOW:
                for _ in range(blocks):
                    runs.append(Run(_k_body(mp, m, n, kt, parts, "each", 1, out_bits),
                                    count=kt, name=f"{name} first n"))
                    runs.append(Run(_k_body(mp, m, n, kt, parts, "resident", 1, out_bits),
                                    count=(nt - 1) * kt, name=f"{name} other n"))
            else:
                inputs = "once" if mp.order == "mnk" and nt > 1 else "each"
                runs.append(Run(_k_body(mp, m, n, kt, parts, inputs, nt, out_bits),
                                count=blocks * nt * kt, name=name))
    return tuple(runs)


def _nkm_body(mp: GemmMapping, m: int, n: int, kt: int, parts: list[_KPart], mb: int,
              out_bits: int) -> tuple[Instr, ...]:
    """One iteration of (n, k, m): a weight tile is loaded once and used by ``mb`` blocks."""
    assert len(parts) == 1, "nkm is only chosen when K has no edge tile"
    k = parts[0].size
    return (Load("weight", math.ceil(k * n * mp.weight_word_bits), every=mb,
                 slots=mp.weight_slots),
            Load("input", math.ceil(m * k * mp.input_word_bits), slots=mp.input_slots),
            Compute(mp.dataflow, m, k, n, mp.w_bits, mp.a_bits, deps=(0, 1)),
            Store(m * n * out_bits, every=kt * mb, window=((kt - 1) * mb, kt * mb), deps=(2,)))


def _k_body(mp: GemmMapping, m: int, n: int, kt: int, parts: list[_KPart], inputs: str,
            nt: int, out_bits: int) -> tuple[Instr, ...]:
    """One iteration of a nest whose innermost loop is the reduction ``k``.

    ``inputs``: "each" loads the input tile every iteration; "once" only in the first of
    every ``nt`` n tiles (``mnk``); "resident" never (an earlier run loaded it).
    """
    windowed = len(parts) > 1
    per_k = [(kt, p.window) if windowed else (1, None) for p in parts]
    w_loads = [Load("weight", math.ceil(p.size * n * mp.weight_word_bits), every=e, window=win,
                    slots=mp.weight_slots)
               for p, (e, win) in zip(parts, per_k, strict=True)]
    if inputs == "resident":
        a_loads: list[Load] = []
    else:
        a_sched = ([(nt * kt, p.window or (0, kt)) for p in parts] if inputs == "once"
                   else per_k)
        a_loads = [Load("input", math.ceil(m * p.size * mp.input_word_bits), every=e,
                        window=win, slots=mp.input_slots)
                   for p, (e, win) in zip(parts, a_sched, strict=True)]
    nw, na = len(w_loads), len(a_loads)
    comp = [Compute(mp.dataflow, m, p.size, n, mp.w_bits, mp.a_bits, every=e, window=win,
                    deps=(i, nw + i) if na else (i,))
            for i, (p, (e, win)) in enumerate(zip(parts, per_k, strict=True))]
    store = Store(m * n * out_bits, every=kt, deps=tuple(range(nw + na, nw + na + len(comp))))
    return (*w_loads, *a_loads, *comp, store)


def _chunked(elements: int, bits_per_element: float, out_bits_per_element: float,
             arch: Arch) -> Iterator[tuple[int, int]]:
    """(chunk elements, chunk count) covering ``elements`` in chunks that fit half the input
    and half the output buffer."""
    half_in = arch.buffers.input.slot_bits(2)
    half_out = arch.buffers.output.slot_bits(2)
    cap = max(1, min(elements, int(half_in // max(bits_per_element, 1e-9)),
                     int(half_out // max(out_bits_per_element, 1e-9))))
    yield from split_dim(elements, cap)


def vector_runs(graph: Graph, op: Op, bits: dict[str, int], arch: Arch) -> tuple[Run, ...]:
    """Load the op's inputs, run it on the vector unit, store its output; chunked."""
    cost = vector_cost(op)
    out_elems = op.output.numel
    if op.kind is OpKind.EMBEDDING:  # reads the looked-up rows of its table, not the indices
        inputs = [(1.0, bits[op.name])]
    else:
        inputs = [(graph.op(p).output.numel / out_elems, bits[p])
                  for p in graph.inputs_of(op.name)]
    in_bits = sum(ratio * b for ratio, b in inputs)
    runs = []
    for size, count in _chunked(out_elems, in_bits, bits[op.name], arch):
        loads = tuple(Load("input", max(1, math.ceil(size * ratio * b))) for ratio, b in inputs)
        vec = Vector(op.kind.value, size, cost.ops_per_element, bits=bits[op.name],
                     deps=tuple(range(len(loads))))
        store = Store(size * bits[op.name], deps=(len(loads),))
        runs.append(Run((*loads, vec, store), count=count, name=f"{op.kind.value} x{size}"))
    return tuple(runs)


def op_layer(graph: Graph, op: Op, bits: dict[str, int], arch: Arch,
             mapping: GemmMapping | None) -> Layer | None:
    """The layer of one op, or None for ops that cost nothing."""
    if op.kind in COMPUTE_OPS:
        assert mapping is not None
        runs = gemm_runs(mapping, out_bits=bits[op.name])
        in_bits = sum(graph.op(p).output.numel * bits[p] for p in graph.inputs_of(op.name))
        return Layer(op.name, runs, input_bits=in_bits, weight_bits=_weight_bits(op, mapping),
                     output_bits=op.output.numel * bits[op.name])
    if op.kind in VECTOR_OPS or LAYOUT_MOVES.get(op.kind, False):
        runs = vector_runs(graph, op, bits, arch)
    else:
        return None
    in_bits = sum(graph.op(p).output.numel * bits[p] for p in graph.inputs_of(op.name))
    return Layer(op.name, runs, input_bits=in_bits, output_bits=op.output.numel * bits[op.name])


def _weight_bits(op: Op, mp: GemmMapping) -> int:
    """Unique stored bits of the op's parameters (pruned channels are not stored). A matmul
    multiplies two activations (attention's Q K^T, A V): its second operand plays the GEMM's
    weight but is no parameter, and counts among its inputs."""
    if op.weight is None:
        return 0
    g = mp.gemm  # under zero skipping, K is compacted and the word size scaled to match
    return math.ceil(g.K * g.N * g.groups * mp.weight_word_bits)
