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

import functools
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

__all__ = ["DEFAULT_BITS", "GemmTile", "RunBlocks", "gemm_blocks", "gemm_runs", "has_layer",
           "op_layer", "read_bits", "read_precision", "tensor_bits", "vector_runs"]


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


@functools.lru_cache(maxsize=4096)
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
    rest. :func:`gemm_blocks` says which blocks of the GEMM each run's iterations work on.
    Cached: a network's repeated layers map to equal mappings.
    """
    return tuple(run for run, _ in _nest(mp, out_bits))


@dataclass(frozen=True, slots=True)
class _Visit:
    """Which tiles a run of :func:`_nest` visits. Iteration ``i`` computes m tile
    ``j0 + (i // j_div) % j_mod`` of m class ``cls``, n tile ``t0 + (i // t_div) % t_mod``
    from column ``n0`` (``n`` columns each), k step ``(i // s_div) % Kt``. ``all_k``: its
    input loads move an m tile's whole reduction (resident inputs); ``block``: the n tiles
    of its resident weight block (0: weight tiles stream)."""

    cls: int
    j0: int
    j_div: int
    j_mod: int
    n: int
    n0: int
    t0: int
    t_div: int
    t_mod: int
    s_div: int = 1
    all_k: bool = False
    block: int = 0


def _nest(mp: GemmMapping, out_bits: int) -> list[tuple[Run, _Visit]]:
    """The runs of :func:`gemm_runs` (its doc), each with the tiles it visits."""
    out: list[tuple[Run, _Visit]] = []
    n0 = 0
    for n, nt in split_dim(mp.gemm.N, mp.n_t):
        if mp.order in ("nmk", "nkm"):
            out += (_streamed_run(mp, ci, c, n, n0, nt, out_bits)
                    for ci, c in enumerate(mp.m_tiles))
        elif mp.order == "mnk":
            out += (rv for ci, c in enumerate(mp.m_tiles)
                    for rv in _resident_runs(mp, ci, c, n, n0, nt, 1, "tiles", out_bits))
        else:
            b0 = n0
            for b, blocks in split_dim(nt, mp.n_block // mp.n_t):
                if mp.gemm.groups > 1:  # the group loop is outermost: a block per m class
                    out += (rv for ci, c in enumerate(mp.m_tiles)
                            for rv in _resident_runs(mp, ci, c, n, b0, b, blocks, "block",
                                                     out_bits))
                    b0 += blocks * b * n
                    continue
                for _ in range(blocks):  # the block's first m tile loads it for every class
                    out += (rv for ci, c in enumerate(mp.m_tiles)
                            for rv in _resident_runs(mp, ci, c, n, b0, b, 1,
                                                     "none" if ci else "first", out_bits))
                    b0 += b * n
        n0 += n * nt
    return out


@dataclass(frozen=True, slots=True)
class GemmTile:
    """A block of a GEMM: rows ``m0 .. m0 + m`` of A and of the output, reduction elements
    ``k0 .. k0 + k``, output columns ``n0 .. n0 + n`` (an operand's block leaves the
    dimension it does not have at 0)."""

    m0: int
    m: int
    k0: int
    k: int
    n0: int
    n: int

    def holds(self, tile: GemmTile, buffer: str) -> bool:
        """Whether this block, loaded into ``buffer`` (``input`` or ``weight``), holds the
        operand ``tile`` reads from it."""
        inside = self.k0 <= tile.k0 and tile.k0 + tile.k <= self.k0 + self.k
        if buffer == "input":
            return inside and self.m0 <= tile.m0 and tile.m0 + tile.m <= self.m0 + self.m
        return inside and self.n0 <= tile.n0 and tile.n0 + tile.n <= self.n0 + self.n


@dataclass(frozen=True, slots=True)
class RunBlocks:
    """What the iterations of one run of :func:`gemm_runs` work on (:func:`gemm_blocks`)."""

    mp: GemmMapping
    visit: _Visit
    firsts: tuple[int, ...]  # the first GEMM row of each m tile of the run's class

    @property
    def tile_class(self) -> TileClass:
        """The class of m tiles the run computes (their size and input footprint)."""
        return self.mp.m_tiles[self.visit.cls]

    def _where(self, i: int) -> tuple[int, int, int]:
        """(first row of the m tile, first column of the n tile, k step) of iteration i."""
        v = self.visit
        return (self.firsts[v.j0 + i // v.j_div % v.j_mod],
                v.n0 + (v.t0 + i // v.t_div % v.t_mod) * v.n,
                i // v.s_div % self.mp.kplan.steps)

    def tile(self, i: int) -> GemmTile:
        """The array tile the run's compute at iteration ``i`` computes."""
        m0, n0, step = self._where(i)
        k0, k = self.mp.kplan.k_range(step, self.mp.gemm.K)
        return GemmTile(m0, self.tile_class.size, k0, k, n0, self.visit.n)

    def load(self, i: int, buffer: str) -> GemmTile:
        """The block the run's load of ``buffer`` (``input`` or ``weight``) at iteration ``i``
        moves: a streamed load its tile's operand (an input load its whole SRAM k tile, all
        of its bands), a resident one the whole block (an m tile's inputs over all of K; a
        weight block's K rows of its ``block`` n tiles)."""
        m0, n0, step = self._where(i)
        K, v = self.mp.gemm.K, self.visit
        if buffer == "input":
            k0, k = (0, K) if v.all_k else self.mp.kplan.sram_range(step, K)
            return GemmTile(m0, self.tile_class.size, k0, k, 0, 0)
        if v.block:
            return GemmTile(0, 0, 0, K, v.n0, v.block * v.n)
        k0, k = self.mp.kplan.k_range(step, K)
        return GemmTile(0, 0, k0, k, n0, v.n)


def gemm_blocks(mp: GemmMapping, geometry: ConvGeometry | None = None) -> list[RunBlocks]:
    """Per run of :func:`gemm_runs` (in order), which blocks of the GEMM its iterations
    compute and its loads move (:class:`RunBlocks`): what the accelerator's testbench moves
    and checks (``tests/rtl``). K elements are in PyTorch's ``weight.reshape(N, -1)`` order
    (channel, kernel row, kernel column); k step ``s`` is band ``s % bands`` of SRAM k tile
    ``s // bands`` (:class:`~compiler.mapping.plan.KPlan`). The m tiles of a class are those
    of its rows in order, a convolution's (``geometry``, the one its mapping was made for)
    where :meth:`ConvGeometry.tile_starts` puts them.
    """
    g, kp = mp.gemm, mp.kplan
    if g.groups != 1 or (geometry is None and kp.unit != 1):
        raise ProgramError(f"GEMM blocks are known for nests of one group (a convolution with "
                           f"its geometry), not {g.groups} groups with units of {kp.unit}"
                           f"{'' if geometry is not None else ' without a geometry'}")
    if geometry is not None:
        if tuple(geometry.tiles(mp.m_t)) != mp.m_tiles:
            raise ProgramError(f"the mapping's m tiles {mp.m_tiles} are not those of the "
                               f"geometry {geometry}")
        firsts = [tuple(t) for t in geometry.tile_starts(mp.m_t)]
    else:
        firsts, m0 = [], 0
        for c in mp.m_tiles:
            firsts.append(tuple(range(m0, m0 + c.size * c.count, c.size)))
            m0 += c.size * c.count
    return [RunBlocks(mp, v, firsts[v.cls]) for _, v in _nest(mp, 8)]


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


def _streamed_run(mp: GemmMapping, ci: int, c: TileClass, n: int, n0: int, nt: int,
                  out_bits: int) -> tuple[Run, _Visit]:
    """``nmk`` or ``nkm`` over one rectangle: ``nt`` n tiles (from column ``n0``) by the
    ``c.count`` m tiles of class ``ci``."""
    kp, kt, mc = mp.kplan, mp.kplan.steps, c.count
    count = mp.gemm.groups * nt * mc * kt
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
        return Run(body, count=count, name=name), _Visit(ci, 0, 1, mc, n, n0, 0, mc * kt,
                                                         count, s_div=mc)
    weights, inputs = _weight_tiles(mp, n), _input_tiles(mp, c.footprint)
    nw, na = len(weights), len(inputs)
    comps = _computes(mp, c.size, n, lambda i: (i, *([nw + (i if na > 1 else 0)] if na else [])))
    store = Store(c.size * n * out_bits, every=kt,
                  deps=tuple(range(nw + na, nw + na + len(comps))))
    return (Run((*weights, *inputs, *comps, store), count=count, name=name),
            _Visit(ci, 0, kt, mc, n, n0, 0, mc * kt, count))


def _resident_runs(mp: GemmMapping, ci: int, c: TileClass, n: int, n0: int, b: int,
                   blocks: int, weights: str, out_bits: int) -> list[tuple[Run, _Visit]]:
    """``mnk`` or ``Nmnk`` over m class ``ci`` and ``blocks`` blocks of ``b`` n tiles of width
    ``n`` from column ``n0``: each m tile's inputs (all of K) load once per block. ``weights``: ``"tiles"``
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
    held = 0 if streamed else b  # the n tiles of the resident weight block

    def visit(j0: int, j_div: int, j_mod: int, t0: int, t_div: int, t_mod: int) -> _Visit:
        return _Visit(ci, j0, j_div, j_mod, n, n0, t0, t_div, t_mod, all_k=True, block=held)

    if weights == "block":  # one periodic run
        period = mc * b * kt
        return [(Run(body(period, b * kt, False), count=groups * blocks * period, name=name),
                 visit(0, b * kt, mc, 0, kt, b))]
    if groups > 1 or (streamed and mc * blocks >= _SPLIT_BELOW):
        return [(Run(body(0, b * kt, streamed), count=groups * blocks * mc * b * kt, name=name),
                 visit(0, b * kt, mc, 0, kt, b))]
    runs = []
    if mc * blocks < _SPLIT_BELOW:  # one m tile at a time: first n tile, then the others
        for _ in range(blocks):
            for j in range(mc):
                load_w = kt if weights == "first" and j == 0 else 0
                runs.append((Run(body(load_w, kt, streamed), count=kt, name=f"{name} first n"),
                             visit(j, 1, 1, 0, 1, 1)))
                if b > 1:
                    runs.append((Run(body(0, 0, streamed), count=(b - 1) * kt,
                                     name=f"{name} other n"), visit(j, 1, 1, 1, kt, b - 1)))
        return runs
    first = 0
    if weights == "first":  # the m tile that loads the weight block, then the others
        runs.append((Run(body(b * kt, b * kt, False), count=b * kt, name=f"{name} first m"),
                     visit(0, b * kt, 1, 0, kt, b)))
        first, mc = 1, mc - 1
    runs.append((Run(body(0, b * kt, False), count=mc * b * kt, name=name),
                 visit(first, b * kt, mc, 0, kt, b)))
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


def has_layer(op: Op) -> bool:
    """Whether :func:`op_layer` makes ``op`` a layer (compute, vector and moving layout ops)
    or None (ops that cost nothing), whatever its precision or the arch."""
    return op.kind in COMPUTE_OPS or op.kind in VECTOR_OPS or LAYOUT_MOVES.get(op.kind, False)


def op_layer(graph: Graph, op: Op, bits: dict[str, int], arch: Arch,
             mapping: GemmMapping | None) -> Layer | None:
    """The layer of one op, or None for ops that cost nothing (:func:`has_layer`)."""
    if op.kind in COMPUTE_OPS:
        assert mapping is not None
        runs = gemm_runs(mapping, out_bits=bits[op.name])
        in_bits = sum(graph.op(p).output.numel * bits[p] for p in graph.inputs_of(op.name))
        return Layer(op.name, runs, input_bits=in_bits, weight_bits=_weight_bits(op, mapping),
                     output_bits=op.output.numel * bits[op.name])
    if not has_layer(op):
        return None
    runs = vector_runs(graph, op, bits, arch)
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
