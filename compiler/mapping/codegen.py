"""Code generation: a lowered IR graph and its mappings become a :class:`hwsim.isa.Program`.

Layers run one after another, each reading its inputs from DRAM and writing its output back
(no cross-layer fusion). Per op:

- **compute** ops become the loop nest their :class:`~compiler.mapping.tiling.GemmMapping`
  chose (:func:`gemm_runs`): no MAC is padded and none is lost, and every load moves exactly
  what :func:`~compiler.mapping.tiling.traffic` counts.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from compiler.ir import COMPUTE_OPS, VECTOR_OPS, Graph, Op, OpKind
from compiler.mapping.geometry import ConvGeometry, TileClass
from compiler.mapping.plan import GemmMapping, split_dim
from compiler.mapping.vector import LAYOUT_MOVES, vector_cost
from hwsim.config import Arch
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Instr, Layer, Load, Run, Store, Vector

__all__ = ["DEFAULT_BITS", "GemmTile", "gemm_runs", "op_layer", "read_bits", "read_precision",
           "streamed_tiles", "tensor_bits", "vector_runs"]


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


_SPLIT_BELOW = 8
"""A resident nest with fewer (m tiles x blocks) than this is emitted one m tile at a time
(see :func:`gemm_runs`)."""


def gemm_runs(mp: GemmMapping, *, out_bits: int) -> tuple[Run, ...]:
    """The runs of one GEMM's loop nest (:mod:`compiler.mapping.tiling` states the orders).

    The output space is cut into rectangles (an m tile class by an n tile size), one loop
    nest each, in the order n size, [weight block,] m class. The reduction's array tiles of
    different size (the edge k tile, the bands of a long unit) stay inside a run, selected by
    instruction windows; so do the input loads of a k tile, which move its tiles' footprint.

    A nest whose inputs stay resident across n tiles (``mnk``, ``Nmnk``) repeats only once
    per block of n tiles, and an ``Nmnk`` weight block only once per class of m tiles: the
    engine fast-forwards periodic runs, so long periods make slow simulations. Without
    groups, such nests are emitted in shorter runs instead (the data moved is the same): an
    ``Nmnk`` class's first m tile, which loads the weight block, apart from the others; and
    with few m tiles, each m tile's first n tile (which loads its inputs) apart from the
    rest.
    """
    runs: list[Run] = []
    for n, nt in split_dim(mp.gemm.N, mp.n_t):
        if mp.order in ("nmk", "nkm"):
            runs += (_streamed_run(mp, c, n, nt, out_bits) for c in mp.m_tiles)
            continue
        if mp.order == "mnk":
            runs += (r for c in mp.m_tiles for r in _resident_runs(mp, c, n, nt, 1, "tiles",
                                                                   out_bits))
            continue
        for b, blocks in split_dim(nt, mp.n_block // mp.n_t):
            if mp.gemm.groups > 1:  # the group loop is outermost: a block per m class
                runs += (r for c in mp.m_tiles
                         for r in _resident_runs(mp, c, n, b, blocks, "block", out_bits))
                continue
            for _ in range(blocks):  # the block's first m tile loads it for every class
                runs += (r for i, c in enumerate(mp.m_tiles)
                         for r in _resident_runs(mp, c, n, b, 1, "none" if i else "first",
                                                 out_bits))
    return tuple(runs)


@dataclass(frozen=True, slots=True)
class GemmTile:
    """The block of a GEMM one iteration of a run works on: rows ``m0 .. m0 + m`` of A and
    of the output, reduction elements ``k0 .. k0 + k``, output columns ``n0 .. n0 + n``."""

    m0: int
    m: int
    k0: int
    k: int
    n0: int
    n: int


def streamed_tiles(mp: GemmMapping,
                   geometry: ConvGeometry | None = None) -> list[Callable[[int], GemmTile]]:
    """Per run of :func:`gemm_runs` (in order), the GEMM block of each of its iterations, for
    an ``nmk`` nest of one group: iteration ``i`` of a rectangle of ``mc`` m tiles is n tile
    ``i // (mc * Kt)``, m tile ``i // Kt % mc``, k step ``i % Kt``. What the accelerator's
    testbench moves and checks (``tests/rtl``).

    A convolution (``geometry``, the one its mapping was made for) has its m tiles where
    :meth:`ConvGeometry.tile_starts` puts them, and K elements in PyTorch's
    ``weight.reshape(N, -1)`` order (channel, kernel row, kernel column): k step ``s`` is
    band ``s % bands`` of SRAM k tile ``s // bands`` (:class:`~compiler.mapping.plan.KPlan`).
    """
    kp, g = mp.kplan, mp.gemm
    if mp.order != "nmk" or g.groups != 1 or (geometry is None and kp.unit != 1):
        raise ProgramError(f"GEMM blocks are known for nmk nests of one group (a convolution "
                           f"with its geometry) only, not order {mp.order!r} with {g.groups} "
                           f"groups and units of {kp.unit}"
                           f"{'' if geometry is not None else ' without a geometry'}")
    kt = kp.steps
    sram_k = kp.per_tile * kp.unit  # K elements of an SRAM k tile
    band = kp.band if kp.bands > 1 else sram_k

    def k_range(ks: int) -> tuple[int, int]:
        k0 = ks // kp.bands * sram_k + ks % kp.bands * band
        return k0, min(band, sram_k - ks % kp.bands * band, g.K - k0)

    starts = geometry.tile_starts(mp.m_t) if geometry is not None else None
    if geometry is not None and tuple(geometry.tiles(mp.m_t)) != mp.m_tiles:
        raise ProgramError(f"the mapping's m tiles {mp.m_tiles} are not those of the "
                           f"geometry {geometry}")
    out: list[Callable[[int], GemmTile]] = []
    n0 = 0
    for n, nt in split_dim(g.N, mp.n_t):
        m0 = 0
        for ci, c in enumerate(mp.m_tiles):
            firsts = starts[ci] if starts is not None else \
                tuple(m0 + j * c.size for j in range(c.count))

            def tile(i: int, firsts: tuple[int, ...] = firsts, n0: int = n0, n: int = n,
                     c: TileClass = c) -> GemmTile:
                k0, k = k_range(i % kt)
                return GemmTile(firsts[i // kt % c.count], c.size, k0, k,
                                n0 + i // (c.count * kt) * n, n)
            out.append(tile)
            m0 += c.size * c.count
        n0 += n * nt
    return out


def _computes(mp: GemmMapping, m: int, n: int,
              deps: Callable[[int], tuple[int, ...]]) -> list[Compute]:
    """The array tiles of one k step pattern (:attr:`KPlan.period` steps), one per tile
    size, the ``i``-th depending on body instructions ``deps(i)``."""
    kp = mp.kplan
    return [Compute(mp.dataflow, m, mp.array_k(k), n, mp.w_bits, mp.a_bits,
                    deps=deps(i), **_when(window, kp.period))
            for i, (window, k) in enumerate(kp.parts())]


def _when(window: tuple[int, int], period: int) -> dict[str, Any]:
    """``every`` and ``window`` of an instruction for the k steps ``window`` of a pattern of
    ``period`` steps: every step when the window covers them all."""
    return {"every": 1} if window == (0, period) else {"every": period, "window": window}


def _weight_load(mp: GemmMapping, weights: int, **when: Any) -> Load:
    """The load of ``weights`` weights: their stored bits or, coded, their DRAM bits with
    the entries the decoder expands and the bits it writes into SRAM."""
    if mp.weight_dram_bits is None:
        return Load("weight", math.ceil(weights * mp.weight_word_bits), slots=mp.weight_slots,
                    **when)
    return Load("weight", math.ceil(weights * mp.weight_dram_bits), slots=mp.weight_slots,
                decode=math.ceil(weights * mp.decode_entries),
                sram_bits=math.ceil(weights * mp.weight_word_bits), **when)


def _weight_tiles(mp: GemmMapping, n: int) -> list[Load]:
    """The weight tile loads of one k step pattern, one per array tile size."""
    kp = mp.kplan
    return [_weight_load(mp, k * n, **_when(window, kp.period)) for window, k in kp.parts()]


def _input_tiles(mp: GemmMapping, footprint: int) -> list[Load]:
    """The input loads of one k step pattern: each k tile's units at ``footprint`` (none for
    tiles whose outputs read only padding)."""
    kp = mp.kplan
    if not footprint:
        return []
    return [Load("input", math.ceil(units * footprint * mp.input_word_bits),
                 slots=mp.input_slots, **_when(window, kp.period))
            for window, units in kp.input_loads()]


def _streamed_run(mp: GemmMapping, c: TileClass, n: int, nt: int, out_bits: int) -> Run:
    """``nmk`` or ``nkm`` over one rectangle: ``nt`` n tiles by the ``c.count`` m tiles."""
    kp, kt, mc = mp.kplan, mp.kplan.steps, c.count
    name = f"{mp.dataflow} {mp.order} m{c.size} n{n}"
    if mp.order == "nkm":  # one k tile (exact): a weight tile serves every m tile
        assert len(kp.parts()) == 1 and kp.bands == 1, "nkm needs one k tile size"
        k = kp.k_t
        loads = [_weight_load(mp, k * n, every=mc), *_input_tiles(mp, c.footprint)]
        body: tuple[Instr, ...] = (
            *loads,
            Compute(mp.dataflow, c.size, mp.array_k(k), n, mp.w_bits, mp.a_bits,
                    deps=tuple(range(len(loads)))),
            Store(c.size * n * out_bits, every=kt * mc, window=((kt - 1) * mc, kt * mc),
                  deps=(len(loads),)))
        return Run(body, count=mp.gemm.groups * nt * kt * mc, name=name)
    weights, inputs = _weight_tiles(mp, n), _input_tiles(mp, c.footprint)
    nw, na = len(weights), len(inputs)
    comps = _computes(mp, c.size, n, lambda i: (i, *([nw + (i if na > 1 else 0)] if na else [])))
    store = Store(c.size * n * out_bits, every=kt,
                  deps=tuple(range(nw + na, nw + na + len(comps))))
    return Run((*weights, *inputs, *comps, store), count=mp.gemm.groups * nt * mc * kt,
               name=name)


def _resident_runs(mp: GemmMapping, c: TileClass, n: int, b: int, blocks: int, weights: str,
                   out_bits: int) -> list[Run]:
    """``mnk`` or ``Nmnk`` over one m class and ``blocks`` blocks of ``b`` n tiles of width
    ``n``: each m tile's inputs (all of K) load once per block. ``weights``: ``"tiles"``
    (streamed, ``mnk``), ``"block"`` (the block's weights, all of K, load once per block
    and m class), ``"first"`` (the class's first m tile loads the one block for the
    classes after it), ``"none"`` (the block is resident)."""
    kt, mc, groups = mp.kplan.steps, c.count, mp.gemm.groups
    name = f"{mp.dataflow} {mp.order} m{c.size} n{n}"
    in_bits = math.ceil(mp.kplan.units * c.footprint * mp.input_word_bits)
    block_weights = mp.gemm.K * b * n

    def body(block: int, inputs: int, streamed: bool) -> tuple[Instr, ...]:
        """Weight block loads every ``block`` iterations (0: none), weight tiles if
        ``streamed``, input block loads every ``inputs`` (0: none)."""
        w = ([_weight_load(mp, block_weights, every=block)] if block else []) + \
            (_weight_tiles(mp, n) if streamed else [])
        a = [Load("input", in_bits, every=inputs, slots=mp.input_slots)] \
            if inputs and in_bits else []
        nw, na = len(w), len(a)
        comps = _computes(mp, c.size, n, (lambda i: (i, *range(nw, nw + na))) if streamed
                          else (lambda i: tuple(range(nw + na))))
        store = Store(c.size * n * out_bits, every=kt,
                      deps=tuple(range(nw + na, nw + na + len(comps))))
        return (*w, *a, *comps, store)

    streamed = weights == "tiles"
    if weights == "block":  # one periodic run
        period = mc * b * kt
        return [Run(body(period, b * kt, False), count=groups * blocks * period, name=name)]
    if groups > 1 or (streamed and mc * blocks >= _SPLIT_BELOW):
        return [Run(body(0, b * kt, streamed), count=groups * blocks * mc * b * kt, name=name)]
    runs = []
    if mc * blocks < _SPLIT_BELOW:  # one m tile at a time: first n tile, then the others
        for _ in range(blocks):
            for j in range(mc):
                load_w = kt if weights == "first" and j == 0 else 0
                runs.append(Run(body(load_w, kt, streamed), count=kt, name=f"{name} first n"))
                if b > 1:
                    runs.append(Run(body(0, 0, streamed), count=(b - 1) * kt,
                                    name=f"{name} other n"))
        return runs
    if weights == "first":  # the m tile that loads the weight block, then the others
        runs.append(Run(body(b * kt, b * kt, False), count=b * kt, name=f"{name} first m"))
        mc -= 1
    runs.append(Run(body(0, b * kt, False), count=mc * b * kt, name=name))
    return runs


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
    return math.ceil(g.K * g.N * g.groups * mp.dram_weight_word)
