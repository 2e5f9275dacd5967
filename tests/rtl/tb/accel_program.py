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

Layers use the build's dataflow (WS or OS, :class:`Limits`); a layer the build cannot hold
raises :class:`Unfit`. Replay's times always keep rtl/accel_core_os.v's contract
(:func:`os_contract_breaks`): the engine spaces an OS tile's results from the previous
tile's (``hwsim.dataflow.Dataflow.result_spacing``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import astuple, dataclass, replace

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


@dataclass(frozen=True)
class Limits:
    """What one accelerator build holds, read back from the DUT: its array, dataflow, slot
    depths (``depth``: the largest m, rows of an output slot; ``kdepth``: the longest OS
    reduction tile; ``in_depth``: rows of an input slot, the largest load, a convolution's
    footprint), queue depths, slots per buffer and the width of the im2col walk's fields
    (``geo_w`` bits)."""

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
    ``addr``: row r at ``addr + (r // wrap) * pstride + (r % wrap) * stride`` (a GEMM block:
    one plane, ``wrap = rows``; a convolution's footprint: ``wrap`` pixels of an input row
    ``stride`` apart, its input rows ``pstride`` apart)."""

    addr: int
    stride: int
    rows: int
    cols: int
    wrap: int = 0  # 0: rows (one plane)
    pstride: int = 0

    def row_addr(self, r: int) -> int:
        plane, row = divmod(r, self.wrap or self.rows)
        return self.addr + plane * self.pstride + row * self.stride


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
class LayerCase:
    """A GEMM layer (O[M, N] = A[M, K] @ W[K, N]) on a channel of ``bpc`` bits per cycle
    with a latency of ``latency`` cycles. ``tiles`` = (m_t, k_t, n_t) picks the mapping;
    None: the ``pick``-th nmk mapping of ``enumerate_mappings`` without k bands (in the
    build's dataflow)."""

    name: str
    M: int
    N: int
    K: int
    bpc: int
    latency: int
    tiles: tuple[int, int, int] | None = None
    pick: int = 0

    # -- what build_program asks of a case (accel_conv.ConvCase answers the same) --------
    geometry = None
    regs = LayerRegs()

    @property
    def gemm(self) -> Gemm:
        return Gemm(self.M, self.N, self.K)

    def mappings(self, arch: Arch, dataflow: str) -> list[GemmMapping]:
        """The mappings to try, in order: the one :func:`choose_mapping` picks."""
        return [choose_mapping(self, arch, dataflow)]

    def descriptor(self, buffer: str, gt: GemmTile, mp: GemmMapping) -> Descriptor:
        return _descriptor(buffer, gt, self.M, self.N, self.K)

    def tile_geo(self, gt: GemmTile, mp: GemmMapping) -> TileGeo:
        return TileGeo.gemm(gt.m)

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
    geo: tuple[TileGeo, ...]      # per tile entry
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


def nmk_mappings(g: Gemm, arch: Arch, dataflow: str) -> list[GemmMapping]:
    """The nmk mappings of ``dataflow`` without k bands, sorted by tile shape so that a pick
    is the same in every process."""
    mps = [mp for mp in enumerate_mappings(g, 8, 8, OUT_BITS, arch)
           if mp.dataflow == dataflow and mp.order == "nmk" and mp.kplan.bands == 1]
    return sorted(mps, key=lambda mp: (mp.m_t, mp.kplan.per_tile, mp.n_t, repr(mp)))


def choose_mapping(case: LayerCase, arch: Arch, dataflow: str) -> GemmMapping:
    g = Gemm(case.M, case.N, case.K)
    if case.tiles is not None:
        m_t, k_t, n_t = case.tiles
        mp = mapping_for(g, 8, 8, OUT_BITS, arch, dataflow, m_t=m_t, units_per_tile=k_t,
                         n_t=n_t, order="nmk")
        if mp is None:
            raise Unfit(f"{case.name}: tiles {case.tiles} do not fit the array")
        return mp
    mps = nmk_mappings(g, arch, dataflow)
    if not mps:
        raise Unfit(f"{case.name}: no {dataflow.upper()} nmk mapping without k bands")
    return mps[case.pick % len(mps)]


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


def _descriptor(entry_buffer: str, gt: GemmTile, M: int, N: int, K: int) -> Descriptor:
    a_base, w_base, o_base = 0, M * K, M * K + K * N
    if entry_buffer == "input":
        return Descriptor(a_base + gt.m0 * K + gt.k0, K, gt.m, gt.k)
    if entry_buffer == "weight":
        return Descriptor(w_base + gt.k0 * N + gt.n0, N, gt.k, gt.n)
    return Descriptor(o_base + gt.m0 * N + gt.n0, N, gt.m, gt.n)


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
        raise Unfit(f"{case.name}: no {lim.dataflow.upper()} nmk mapping")
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
    for buf, n in enc.slots.items():
        if n > lim.slots[buf]:
            raise Unfit(f"{case.name}: {n} {buf} slots needed, {lim.slots[buf]} built")
    desc = []
    for d in enc.dma:
        r, i, _ = d.key
        gt = blocks[r].tile(i)
        dd = case.descriptor(d.buffer, gt, mp)
        bits = dd.rows * dd.cols * (OUT_BITS if d.store else 8)
        assert bits == d.bits, f"{case.name}: DMA entry {d.key} moves {d.bits} bits, block {gt}"
        if dd.rows > d.beats:
            raise Unfit(f"{case.name}: DMA entry {d.key} writes {dd.rows} SRAM rows in "
                        f"{d.beats} beats (one row per cycle)")
        rows, cols = lim.slot_shape(d.buffer)
        if dd.rows > rows or dd.cols > cols:
            raise Unfit(f"{case.name}: DMA entry {d.key} moves {dd.rows} x {dd.cols}, "
                        f"{d.buffer} slots hold {rows} x {cols}")
        desc.append(dd)
    geo = []
    for i, e in enumerate(enc.tiles):
        assert e.dataflow == lim.dataflow, e
        costs = tile_costs(e.dataflow, R, C, e.m, e.k)
        assert enc.tile_costs[i] == costs, f"tile {e.key}: costs {enc.tile_costs[i]} != {costs}"
        if e.m > lim.depth:
            raise Unfit(f"{case.name}: tile {e.key} has m = {e.m} > slot depth {lim.depth}")
        if e.dataflow == "os" and e.k > lim.kdepth:
            raise Unfit(f"{case.name}: tile {e.key} has k = {e.k} > KDEPTH {lim.kdepth}")
        r, t, _ = e.key
        geo.append(case.tile_geo(blocks[r].tile(t), mp))
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
    return Program(case, arch, mp, layer, enc, tuple(desc), tuple(geo), case.regs, reference,
                   dram, out_base, expected, engine_times(layer, arch), busy, stalls,
                   stats.busy_cycles, tuple(stats.stall_cycles), stats.cycles)


def directed_cases(R: int, C: int, dataflow: str = "ws") -> list[LayerCase]:
    """Small linear layers shaped after real ones, shrunk to an R x C array, with edge tiles
    in m, k and n; DRAM latency shorter and longer than a tile; bandwidth- and nearly
    compute-bound; stores backing up; deep load streams (slots > 2)."""
    if dataflow == "os":
        return _os_directed_cases(R, C)

    def _case(name: str, M: int, N: int, K: int, bpc: int, latency: int,
              m_t: int) -> LayerCase:  # tiles as large as the array and the layer allow
        return LayerCase(name, M, N, K, bpc, latency, (m_t, min(R, K), min(C, N)))

    k_edge = R + 2 if R > 2 else R + 1   # one full k tile and an edge one
    n_edge = C + 2 if C > 2 else C + 1
    return [
        # LeNet-300-100 fc3 (100 -> 10), K shrunk, batch 6: edges in m, k and n
        _case("lenet_fc3", 6, 10, k_edge, 8, 4, 4),
        # a 1x1 convolution over a 4x4 map (M = H * W), latency longer than a tile
        _case("conv1x1_4x4", 16, n_edge, 2 * R, 8 * (n_edge - C), 40, 8),
        # one k step per output tile on a slow channel: the stores back up
        _case("stores_back_up", 12, C, R, 8, 6, 2),
        # long activation streams on a channel as fast as the SRAM write port takes
        _case("nearly_compute_bound", 32, C, 2 * R, 8 * min(R, C), 2, 16),
        # a slow channel under everything
        _case("bandwidth_bound", 8, 2 * C, 2 * R, 4, 10, 4),
        # high latency: the mapper deepens the load streams
        _case("deep_streams", 8, C, 2 * R, 16, 30, 4),
    ]


def _os_directed_cases(R: int, C: int) -> list[LayerCase]:
    """The OS counterparts: tiles m <= R, n <= C, the reduction k streamed, up to 2 max(R, C)
    long (the builds' KDEPTH covers it up to 8 x 8), and a 1-long k edge tile right after a
    long one (the engine spaces its results from the long tile's, as os_array needs)."""
    S = max(R, C)

    def _case(name: str, M: int, N: int, K: int, bpc: int, latency: int,
              k_t: int) -> LayerCase:  # m and n tiles as large as the array and the layer allow
        return LayerCase(name, M, N, K, bpc, latency, (min(R, M), k_t, min(C, N)))

    return [
        # LeNet-300-100 fc3 shrunk: edges in m and n, a k edge tile (2S, then S)
        _case("lenet_fc3_os", R + 1, C + 1, 3 * S, 8, 4, 2 * S),
        # one k tile longer than R and C, latency longer than a tile
        _case("long_k_os", 2 * R, C, S + 3, 16, 40, S + 3),
        # short reductions on a slow channel: the stores back up
        _case("stores_back_up_os", 3 * R, C, max(1, S // 2), 8, 6, max(1, S // 2)),
        # long reductions on the fastest channel the weight SRAM takes (a C-wide row per cycle)
        _case("nearly_compute_bound_os", 4 * R, C, 2 * S, 8 * C, 2, 2 * S),
        # a slow channel under everything; two k steps accumulate in the output slot
        _case("bandwidth_bound_os", 2 * R, 2 * C, 2 * S, 4, 10, S),
        # high latency: the mapper deepens the load streams
        _case("deep_streams_os", 2 * R, C, 2 * S, 16, 24, S),
        # a k edge of 1 after 2S: its results wait for the long tile's to leave the array
        _case("short_k_edge_os", R, C, 2 * S + 1, 8, 2, 2 * S),
    ]


def random_case(rng: np.random.Generator, R: int, C: int, index: int,
                dataflow: str = "ws") -> LayerCase:
    """A random GEMM, mapping and channel (speed and latency) for an R x C array."""
    if dataflow == "os":  # m on the rows, so fewer rows; k streamed, so longer reductions
        M = int(rng.integers(1, 2 * R + 3))
        N = int(rng.integers(1, 2 * C + 2))
        K = int(rng.integers(1, 3 * max(R, C) + 2))
    else:
        M = int(rng.integers(1, 21))
        N = int(rng.integers(1, 2 * C + 2))
        K = int(rng.integers(1, 2 * R + 2))
    bpc = int(rng.choice([2, 4, 8, 16, 32]))
    latency = int(rng.choice([1, 3, 8, 20, 50]))
    return LayerCase(f"random_{index}", M, N, K, bpc, latency, None, int(rng.integers(0, 64)))
