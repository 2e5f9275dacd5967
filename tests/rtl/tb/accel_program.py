"""The reference side of the accelerator's testbench (tb_accel.py): a layer case becomes the
program hwsim's code generator emits for it (``hwsim.encoding.encode_layer``), with the DRAM
descriptor of every transfer, the im2col walk of every tile (:class:`TileGeo`, the layer's
:class:`LayerRegs`), random int8 operands, the expected output, the times
``hwsim.encoding.replay`` predicts and the engine's view of the same layer. A GEMM layer is a
:class:`LayerCase` (expected output ``A @ W``); a convolution an ``accel_conv.ConvCase``;
:func:`build_program` asks both the same questions (mappings to try, descriptors, walks,
data).

The accelerator is held to :func:`hwsim.encoding.replay` cycle for cycle; its stall counters
to :func:`replay_stalls`, the engine's stall accounting (docs/timing.md, "Stalls") applied to
those times, and to ``hwsim.engine.simulate_layer``, whose times equal replay's (a law,
tests/invariants/test_hwsim_encoding_laws.py; the testbench checks it again per layer).

Layers use the build's dataflow (WS or OS, :class:`Limits`) and an ``nmk``, ``mnk``,
``Nmnk`` or ``nkm`` nest (:data:`ORDERS`; ``compiler.mapping.codegen.gemm_blocks`` says what
each iteration computes and each load moves); a layer the build cannot hold raises
:class:`Unfit`.
Replay's times always keep rtl/accel_core_os.v's contract (:func:`os_contract_breaks`): the
engine spaces an OS tile's results from the previous tile's
(``hwsim.dataflow.Dataflow.result_spacing``).

Slots (rtl/accel.v, "Slot layout"): a load lays its block out as consecutive SRAM rows from
its slot's first row (``LayerCase.load_descriptor``): a GEMM's input block k-chunk-major
(row ``j * m + mm``: A row ``mm``'s ``j``-th chunk of ``k_t`` elements), a weight block
n-tile-major (row ``t * K + kk``: K row ``kk`` of its ``t``-th n tile,
:func:`weight_descriptor`); a convolution's input load is its footprint. A tile reads each
operand from its first row in the load it reads (:class:`TileOperands`,
``LayerCase.input_offset``, :func:`weight_offset`): 0 for a streamed load. An ``nkm``
output group keeps a partial sum per m tile: region ``j`` of its output slot is the ``m``
rows from row ``j * m`` on (``m``: the class's tile size), where tile entries of m tile ``j``
write (``TileOperands.out_off``) and its store reads (:attr:`Program.dma_off`). Every
logical slot of the encoding gets as many consecutive physical slots as the largest load
into it, or its regions, need (:func:`physical_slots`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import astuple, dataclass, replace
from itertools import accumulate

import numpy as np

from compiler.ir import Gemm
from compiler.mapping.codegen import GemmTile, gemm_blocks, gemm_runs
from compiler.mapping.tiling import GemmMapping, enumerate_mappings, mapping_for
from hwsim import load_arch
from hwsim.config import Arch
from hwsim.encoding import Encoded, Times, encode_layer, engine_times, replay
from hwsim.engine import simulate_layer
from hwsim.isa import Layer

BUFFER_CODE = {"input": 0, "weight": 1, "output": 2}
OUT_BITS = 8  # the layer's output width in DRAM: what the stores' beats are costed at


class Unfit(ValueError):
    """The case does not fit this accelerator build or the testbench's DRAM model."""


DATAFLOWS = ("ws", "os")  # by the accelerator's DATAFLOW parameter
ORDERS = ("nmk", "mnk", "Nmnk", "nkm")
"""The loop orders the testbench runs (all of the code generator's)."""


@dataclass(frozen=True)
class Limits:
    """What one accelerator build holds, read back from the DUT: its array, dataflow, slot
    depths (``depth``: the largest m, rows of an output slot; ``kdepth``: the longest OS
    reduction tile; ``in_depth``: rows of an input slot; a load may span several), queue
    depths, slots per buffer and the widths of the im2col walk's fields (``geo_w`` bits) and
    of rows and row offsets (``dim_w``)."""

    rows: int
    cols: int
    dataflow: str
    depth: int
    kdepth: int
    dq_depth: int
    tq_depth: int
    slots: dict[str, int]
    in_depth: int = 64
    geo_w: int = 12
    dim_w: int = 16

    def slot_shape(self, buffer: str) -> tuple[int, int]:
        """(rows, elements per row) of a slot of ``buffer`` (rtl/accel.v, slot shapes)."""
        R, C = self.rows, self.cols
        shapes = {"ws": {"input": (self.in_depth, R), "weight": (R, C),
                         "output": (self.depth, C)},
                  "os": {"input": (self.in_depth, self.kdepth), "weight": (self.kdepth, C),
                         "output": (self.depth, C)}}
        return shapes[self.dataflow][buffer]


@dataclass(frozen=True)
class Descriptor:
    """A DRAM transfer of ``rows`` rows (SRAM rows) of ``cols`` elements from element
    ``addr``: row r at ``addr + (r // wrap) * pstride + (r % wrap) * stride`` (a GEMM tile:
    one plane, ``wrap = rows``; a resident block: a plane per k chunk or n tile, module doc;
    a convolution's footprint: ``wrap`` pixels of an input row ``stride`` apart, its input
    rows ``pstride`` apart). ``edge_cols``: the block's columns in the last plane when fewer
    than ``cols`` (an input block's k edge chunk; 0: ``cols``): the transfer moves ``cols``
    there too, which no tile reads."""

    addr: int
    stride: int
    rows: int
    cols: int
    wrap: int = 0  # 0: rows (one plane)
    pstride: int = 0
    edge_cols: int = 0

    def row_addr(self, r: int) -> int:
        plane, row = divmod(r, self.wrap or self.rows)
        return self.addr + plane * self.pstride + row * self.stride

    @property
    def elements(self) -> int:
        """The block's elements (what its load costs)."""
        short = self.cols - self.edge_cols if self.edge_cols else 0
        return self.rows * self.cols - (self.wrap or self.rows) * short


@dataclass(frozen=True)
class TileGeo:
    """A tile entry's im2col walk (rtl/accel.v, tile entry): its first output's column
    ``ow0`` and window origin relative to its input footprint (``bh0``, ``bw0``, address
    ``base0 = bh0 * fw + bw0``), the footprint's ``fh x fw`` pixels, the address step at an
    output row's end (``rstep``), and its first K element in the input slot (channel ``kc0``,
    kernel row ``kh0`` and column ``kw0``, ``koff0 = kh0 * fw + kw0``)."""

    ow0: int
    bh0: int
    bw0: int
    base0: int
    fh: int
    fw: int
    rstep: int
    kc0: int
    kh0: int
    kw0: int
    koff0: int

    @classmethod
    def gemm(cls, m: int) -> TileGeo:
        """A GEMM tile: slot rows 0 .. m - 1 are its positions, element i its K element i."""
        return cls(0, 0, 0, 0, 1, m, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class LayerRegs:
    """The layer's im2col constants (rtl/accel.v, cv_*): kernel, stride, outputs per row
    (0: no row wrap) and ``wrap_w = (out_w - 1) * sw``."""

    kh: int = 1
    kw: int = 1
    sh: int = 1
    sw: int = 1
    out_w: int = 0
    wrap_w: int = 0


@dataclass(frozen=True)
class TileOperands:
    """Where a tile entry reads its operands and writes its results (rtl/accel.v, tile
    entry): its input, weight and output slots (physical) and its first row in each
    (``in_off``, ``w_off``; ``out_off``: its output region's, ``out_region * m``)."""

    in_slot: int
    w_slot: int
    in_off: int
    w_off: int
    out_slot: int
    out_off: int


@dataclass(frozen=True)
class LayerCase:
    """A GEMM layer (O[M, N] = A[M, K] @ W[K, N]) on a channel of ``bpc`` bits per cycle
    with a latency of ``latency`` cycles. ``tiles`` = (m_t, k_t, n_t) picks the mapping, with
    ``order`` (and an ``Nmnk`` nest's ``n_block``); None: a mapping of ``enumerate_mappings``
    without k bands (in the build's dataflow) by ``pick`` (:func:`choose_mapping`)."""

    name: str
    M: int
    N: int
    K: int
    bpc: int
    latency: int
    tiles: tuple[int, int, int] | None = None
    pick: int = 0
    order: str = "nmk"
    n_block: int = 0

    # -- what build_program asks of a case (accel_conv.ConvCase answers the same) --------
    geometry = None
    regs = LayerRegs()

    @property
    def gemm(self) -> Gemm:
        return Gemm(self.M, self.N, self.K)

    def mappings(self, arch: Arch, dataflow: str) -> list[GemmMapping]:
        """The mappings to try, in order: the one :func:`choose_mapping` picks."""
        return [choose_mapping(self, arch, dataflow)]

    def load_descriptor(self, buffer: str, block: GemmTile, n_tile: int,
                        mp: GemmMapping) -> Descriptor:
        """The load of ``block`` (A's rows, or W's columns in n tiles of ``n_tile``),
        laid out as the module doc says."""
        if buffer == "weight":
            return weight_descriptor(self.M * self.K, block, n_tile, self.N)
        k_t = mp.kplan.k_t
        chunks, edge = divmod(block.k, k_t)
        return Descriptor(block.m0 * self.K + block.k0, self.K, (chunks + bool(edge)) * block.m,
                          min(k_t, block.k), block.m, k_t, edge if chunks and edge else 0)

    def store_descriptor(self, tile: GemmTile) -> Descriptor:
        return Descriptor(self.M * self.K + self.K * self.N + tile.m0 * self.N + tile.n0,
                          self.N, tile.m, tile.n)

    def input_offset(self, tile: GemmTile, load: GemmTile, mp: GemmMapping) -> int:
        """The tile's first row in its input load: its k chunk's."""
        return (tile.k0 - load.k0) // mp.kplan.k_t * tile.m

    def tile_geo(self, tile: GemmTile, load: GemmTile, mp: GemmMapping) -> TileGeo:
        return TileGeo.gemm(tile.m)

    def data(self, rng: np.random.Generator) -> tuple[np.ndarray, int, np.ndarray]:
        """(DRAM image: A then W, flat; O's address; the reference output A @ W)."""
        A = rng.integers(-128, 128, size=(self.M, self.K))
        W = rng.integers(-128, 128, size=(self.K, self.N))
        return np.concatenate([A.ravel(), W.ravel()]), A.size + W.size, A @ W


@dataclass(frozen=True)
class Program:
    case: LayerCase
    arch: Arch
    mapping: GemmMapping
    layer: Layer
    enc: Encoded
    desc: tuple[Descriptor, ...]  # per DMA entry
    dma_slot: tuple[int, ...]     # per DMA entry, physical
    dma_off: tuple[int, ...]      # per DMA entry: a store's first output-slot row (its region)
    geo: tuple[TileGeo, ...]      # per tile entry
    operands: tuple[TileOperands, ...]  # per tile entry
    regs: LayerRegs
    reference: np.ndarray         # the layer's output, M x N
    dram: np.ndarray              # the operands, flat, as the DRAM model serves them
    out_base: int                 # O's first element address
    expected: Times               # replay(enc)
    engine: Times                 # engine_times(layer, arch)
    busy: int                     # replay_stalls(enc, expected)
    stalls: tuple[tuple[str, int], ...]
    engine_busy: int              # simulate_layer(layer, arch, steady_state=False)
    engine_stalls: tuple[tuple[str, int], ...]
    engine_cycles: int


def arch_for(rows: int, cols: int, bpc: int, latency: int) -> Arch:
    """edge_int8 with an R x C array and a channel of exactly ``bpc`` bits and ``latency``
    cycles per array cycle."""
    base = load_arch("edge_int8")
    mhz = base.array.clock_mhz
    arch = replace(base, array=replace(base.array, rows=rows, cols=cols),
                   dram=replace(base.dram, bw_gbps=bpc * mhz / 8000.0,
                                latency_ns=latency * 1000.0 / mhz))
    ch = arch.dram_channel
    assert (ch.bits_per_cycle, ch.latency_cycles) == (bpc, latency), ch
    return arch


def gemm_mappings(g: Gemm, arch: Arch, dataflow: str) -> dict[str, list[GemmMapping]]:
    """Per order of :data:`ORDERS`, its mappings of ``dataflow`` without k bands, sorted by
    tile shape so that a pick is the same in every process."""
    mps: dict[str, list[GemmMapping]] = {order: [] for order in ORDERS}
    for mp in enumerate_mappings(g, 8, 8, OUT_BITS, arch):
        if mp.dataflow == dataflow and mp.order in mps and mp.kplan.bands == 1:
            mps[mp.order].append(mp)
    for found in mps.values():
        found.sort(key=lambda mp: (mp.m_t, mp.kplan.per_tile, mp.n_t, mp.n_block, repr(mp)))
    return mps


def choose_mapping(case: LayerCase, arch: Arch, dataflow: str) -> GemmMapping:
    """The case's tiles in its order, or else: order ``pick % 4`` of :data:`ORDERS` (the next
    one that has mappings), its ``pick // 4``-th mapping."""
    g = Gemm(case.M, case.N, case.K)
    if case.tiles is not None:
        m_t, k_t, n_t = case.tiles
        mp = mapping_for(g, 8, 8, OUT_BITS, arch, dataflow, m_t=m_t, units_per_tile=k_t,
                         n_t=n_t, order=case.order, n_block=case.n_block)
        if mp is None:
            raise Unfit(f"{case.name}: tiles {case.tiles} in order {case.order} do not fit "
                        f"the array or the buffers")
        return mp
    mps = gemm_mappings(g, arch, dataflow)
    for o in range(len(ORDERS)):
        found = mps[ORDERS[(case.pick + o) % len(ORDERS)]]
        if found:
            return found[case.pick // len(ORDERS) % len(found)]
    raise Unfit(f"{case.name}: no {dataflow.upper()} mapping without k bands")


def tile_costs(dataflow: str, R: int, C: int, m: int, k: int,
               ) -> tuple[int, int, int, int, int]:
    """(occ, first, read, out, spacing of first result writes) of an m x k tile as
    rtl/accel_tiles.v computes them."""
    if dataflow == "ws":
        return max(m, R), 2 * R + m + C - 2, R + m, 2 * R, 0
    return max(k, R, C), k + R + C - 2, k, k + C - 1, max(R, C)


def os_contract_breaks(enc: Encoded, t: Times, C: int) -> list[str]:
    """Consecutive OS tiles that break rtl/accel_core_os.v's contract under the times ``t``:
    tile t + 1 needs issue' + k' >= issue + k + max(m, C) (os_array keeps one finished
    result per PE, and a tile's rows leave the output stage before the next tile's)."""
    breaks = []
    for i in range(1, len(enc.tiles)):
        a, b = enc.tiles[i - 1], enc.tiles[i]
        ia, ib = t.tiles[i - 1][0], t.tiles[i][0]
        if ib + b.k < ia + a.k + max(a.m, C):
            breaks.append(f"tile {i} (k {b.k}, issue {ib}) after tile {i - 1} (m {a.m}, "
                          f"k {a.k}, issue {ia})")
    return breaks


def weight_descriptor(w_base: int, block: GemmTile, n_tile: int, N: int) -> Descriptor:
    """The load of ``block`` of the K x N weights at ``w_base`` in n tiles of ``n_tile``
    columns, n-tile-major (module doc): a plane of ``block.k`` rows per n tile."""
    tiles, rest = divmod(block.n, n_tile)
    assert not rest, f"a weight block of {block.n} columns in n tiles of {n_tile}"
    return Descriptor(w_base + block.k0 * N + block.n0, N, tiles * block.k, n_tile, block.k,
                      n_tile)


def weight_offset(tile: GemmTile, load: GemmTile) -> int:
    """The tile's first row in its weight load: its n tile's plane, its K rows in it."""
    return (tile.n0 - load.n0) // tile.n * load.k + tile.k0 - load.k0


def replay_stalls(enc: Encoded, t: Times) -> tuple[int, tuple[tuple[str, int], ...]]:
    """Busy cycles and stalls by cause of the array under ``t`` (docs/timing.md, "Stalls"):
    a gap before an issue goes to what decided the issue cycle (the data wait, of which the
    load's queueing on the channel is ``dram_bw``; the drain wait, ``store``; else, the
    previous OS tile's results leaving the array included, ``dependency``); after the last
    issue, ``drain``."""
    qwait: dict[int, int] = {}
    last_load_end = 0
    for j, d in enumerate(enc.dma):
        start, end, _ = t.dma[j]
        if not d.store:
            cond = t.tiles[d.after - 1][2] if d.after else 0
            qwait[j] = start - max(last_load_end, cond)
            last_load_end = end
    stalls: dict[str, int] = defaultdict(int)
    free = busy = port = 0
    for i, e in enumerate(enc.tiles):
        issue = t.tiles[i][0]
        occ, _, _, out, spacing = enc.tile_costs[i]
        gap = issue - free
        base = max(free, port - out)  # (an OS tile's results wait for the previous ones)
        if gap > 0:
            data = t.dma[e.after_data - 1][2] if e.after_data else 0
            drain = t.dma[e.after_drain - 1][1] - out if e.after_drain else 0
            if e.after_data and data > base and data >= drain:
                q = min(gap, qwait[e.after_data - 1])
                stalls["dram_bw"] += q
                stalls[f"{enc.dma[e.after_data - 1].buffer}_load"] += gap - q
            elif e.after_drain and drain > base:
                stalls["store"] += gap
            else:
                stalls["dependency"] += gap
        busy += occ
        free = issue + occ
        port = issue + out + spacing if spacing else 0
    stalls["drain"] += t.cycles - free
    return busy, tuple(sorted((c, n) for c, n in stalls.items() if n))


def build_program(case: LayerCase, lim: Limits, rng: np.random.Generator) -> Program:
    """The program, data and expectations of ``case`` (a :class:`LayerCase` or an
    ``accel_conv.ConvCase``) on an accelerator with ``lim``: the first of its mappings that
    fits; raises :class:`Unfit` (the first mapping's reason) if none fits the build or the
    DRAM model's rules."""
    arch = arch_for(lim.rows, lim.cols, case.bpc, case.latency)
    mps = case.mappings(arch, lim.dataflow)
    if not mps:
        raise Unfit(f"{case.name}: no {lim.dataflow.upper()} {case.order} mapping")
    first: Unfit | None = None
    for mp in mps:
        try:
            return _build(case, lim, arch, mp, rng)
        except Unfit as e:
            first = first or e
    assert first is not None
    raise first


def _build(case: LayerCase, lim: Limits, arch: Arch, mp: GemmMapping,
           rng: np.random.Generator) -> Program:
    R, C = lim.rows, lim.cols
    layer = Layer(case.name, gemm_runs(mp, out_bits=OUT_BITS))
    enc = encode_layer(layer, arch)
    blocks = gemm_blocks(mp, case.geometry)
    if enc.latency < 1:
        raise Unfit(f"{case.name}: the DRAM model needs a latency of 1 cycle or more")
    if len(enc.dma) > lim.dq_depth or len(enc.tiles) > lim.tq_depth:
        raise Unfit(f"{case.name}: {len(enc.dma)} transfers and {len(enc.tiles)} tiles "
                    f"exceed the queues ({lim.dq_depth}, {lim.tq_depth})")
    desc = []
    for d in enc.dma:
        r, i, _ = d.key
        tile = blocks[r].tile(i)
        if d.store:
            dd = case.store_descriptor(tile)
            assert dd.elements * OUT_BITS == d.bits, f"{case.name}: store {d.key}, tile {tile}"
        else:
            block = blocks[r].load(i, d.buffer)
            dd = case.load_descriptor(d.buffer, block, tile.n, mp)
            assert dd.elements * 8 == d.bits, \
                f"{case.name}: DMA entry {d.key} moves {d.bits} bits, block {block}"
        if dd.rows > d.beats:
            raise Unfit(f"{case.name}: DMA entry {d.key} writes {dd.rows} SRAM rows in "
                        f"{d.beats} beats (one row per cycle)")
        cols = lim.slot_shape(d.buffer)[1]
        if dd.cols > cols or (d.store and dd.rows > lim.depth):
            raise Unfit(f"{case.name}: DMA entry {d.key} moves {dd.rows} x {dd.cols}, "
                        f"{d.buffer} slots hold {lim.slot_shape(d.buffer)}")
        desc.append(dd)
    base = physical_slots(case.name, enc, [dd.rows for dd in desc], lim)
    dma_slot = tuple(base[d.buffer][d.slot] for d in enc.dma)
    dma_off = tuple(d.region * dd.rows for d, dd in zip(enc.dma, desc, strict=True))
    geo, operands = [], []
    for i, e in enumerate(enc.tiles):
        assert e.dataflow == lim.dataflow, e
        costs = tile_costs(e.dataflow, R, C, e.m, e.k)
        assert enc.tile_costs[i] == costs, f"tile {e.key}: costs {enc.tile_costs[i]} != {costs}"
        if e.m > lim.depth:
            raise Unfit(f"{case.name}: tile {e.key} has m = {e.m} > slot depth {lim.depth}")
        if e.dataflow == "os" and e.k > lim.kdepth:
            raise Unfit(f"{case.name}: tile {e.key} has k = {e.k} > KDEPTH {lim.kdepth}")
        tile = blocks[e.key[0]].tile(e.key[1])
        source = {"input": enc.dma[e.input_load], "weight": enc.dma[e.weight_load]}
        moved = {buf: blocks[d.key[0]].load(d.key[1], buf) for buf, d in source.items()}
        for buf, block in moved.items():
            # (an input block is the tile's m rows: the layout's row offsets count in them)
            assert block.holds(tile, buf) and (buf == "weight" or block.m == tile.m), \
                f"{case.name}: tile {e.key} {tile} reads {buf} " \
                f"from DMA entry {source[buf].key}, which moves {block}"
        offsets = (case.input_offset(tile, moved["input"], mp),
                   weight_offset(tile, moved["weight"]), e.out_region * e.m)
        if max(offsets) >= 1 << lim.dim_w:
            raise Unfit(f"{case.name}: tile {e.key} reads or writes rows {offsets} into its "
                        f"slots, past DIM_W = {lim.dim_w} bits")
        operands.append(TileOperands(base["input"][e.input_slot],
                                     base["weight"][e.weight_slot], *offsets[:2],
                                     base["output"][e.out_slot], offsets[2]))
        geo.append(case.tile_geo(tile, moved["input"], mp))
    half = 1 << (lim.geo_w - 1)
    if not all(-half <= v < half for g in geo for v in astuple(g)):
        raise Unfit(f"{case.name}: an im2col field exceeds GEO_W = {lim.geo_w} bits")
    expected = replay(enc)
    if lim.dataflow == "os":
        breaks = os_contract_breaks(enc, expected, C)
        assert not breaks, f"{case.name}: replay breaks the OS datapath's contract: {breaks[0]}"
    dram, out_base, reference = case.data(rng)
    busy, stalls = replay_stalls(enc, expected)
    stats = simulate_layer(layer, arch, steady_state=False)[0]
    return Program(case, arch, mp, layer, enc, tuple(desc), dma_slot, dma_off, tuple(geo),
                   tuple(operands), case.regs, reference, dram, out_base, expected,
                   engine_times(layer, arch), busy, stalls, stats.busy_cycles,
                   tuple(stats.stall_cycles), stats.cycles)


def physical_slots(name: str, enc: Encoded, rows: list[int], lim: Limits,
                   ) -> dict[str, list[int]]:
    """Per buffer, the first physical slot of each of the encoding's logical slots: logical
    slot ``l`` gets ``ceil(rows_l / slot rows)`` consecutive ones (``rows_l``: the most SRAM
    rows a load into it writes, ``rows`` per DMA entry; an output slot's, the end of its
    last region, ``(region + 1) * m`` of its tiles and stores), in order. Raises
    :class:`Unfit` when the build has too few."""
    base = {}
    for buf in ("input", "weight", "output"):
        need = [0] * enc.slots[buf]
        for d, n in zip(enc.dma, rows, strict=True):
            if d.buffer == buf:
                need[d.slot] = max(need[d.slot], (d.region + 1) * n)
        if buf == "output":
            for e in enc.tiles:
                need[e.out_slot] = max(need[e.out_slot], (e.out_region + 1) * e.m)
        slot_rows = lim.slot_shape(buf)[0]
        base[buf] = list(accumulate((math.ceil(n / slot_rows) for n in need), initial=0))
        if base[buf][-1] > lim.slots[buf]:
            raise Unfit(f"{name}: {base[buf][-1]} {buf} slots of {slot_rows} rows needed "
                        f"({enc.slots[buf]} logical), {lim.slots[buf]} built")
    return base
