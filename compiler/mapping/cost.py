"""What a mapping costs, from closed forms: the DRAM traffic of every load and store the code
generator emits (:func:`traffic`), the array's cycles, exact action counts priced into
energy, the score each objective minimizes (:func:`score`), and the depth of its load
streams (module doc of :mod:`compiler.mapping.tiling`)."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

from compiler.ir import Gemm
from compiler.mapping.geometry import TileClass
from compiler.mapping.plan import ACC_BITS, GemmMapping, KPlan, Traffic, compacted_k, split_dim
from hwsim.config import Arch, ArrayConfig
from hwsim.dataflow import get_dataflow
from hwsim.energy import ActionCounts, Prices
from hwsim.timing import TileTiming, tile_timing

__all__ = ["ComputePart", "clear_cache", "compute_tiles", "costed", "score", "traffic",
           "weight_loads", "with_slots"]

def _n_blocks(nt: int, n_block_tiles: int) -> int:
    return math.ceil(nt / n_block_tiles) if n_block_tiles else nt


def traffic(mp: GemmMapping, out_bits: int) -> Traffic:
    """DRAM bits of every load and store the code generator emits for ``mp`` (module doc)."""
    g = mp.gemm
    n_classes = split_dim(g.N, mp.n_t)
    # one pass over the inputs: every m tile's loads, at the tile's footprint
    pass_in = sum(c.count * _input_block(mp, c.footprint) for c in mp.m_tiles) \
        if mp.order in ("mnk", "Nmnk") else \
        sum(c.count * _input_tiles(mp, c.footprint) for c in mp.m_tiles)
    if mp.order in ("nmk", "nkm"):
        reads_in = sum(nt for _, nt in n_classes)
    elif mp.order == "mnk":
        reads_in = len(n_classes)
    else:
        per = mp.n_block // mp.n_t
        reads_in = sum(_n_blocks(nt, per) for _, nt in n_classes)
    return Traffic(weight_loads(mp, mp.dram_weight_word), pass_in * reads_in * g.groups,
                   g.M * g.N * out_bits * g.groups)


def weight_loads(mp: GemmMapping, per_weight: float) -> int:
    """Sum over the weight loads the code generator emits for ``mp`` of ``per_weight`` times
    the weights each moves, rounded up per load: their DRAM bits, SRAM bits or decoded
    entries."""
    g = mp.gemm
    n_classes = split_dim(g.N, mp.n_t)
    if mp.order in ("nmk", "mnk"):
        tiles_m = sum(c.count for c in mp.m_tiles)
        total = tiles_m * sum(nt * _weight_tiles(mp, n, per_weight) for n, nt in n_classes)
    elif mp.order == "nkm":
        total = len(mp.m_tiles) * sum(nt * _weight_tiles(mp, n, per_weight)
                                      for n, nt in n_classes)
    else:  # one load per block, and per m class under groups (codegen)
        per = mp.n_block // mp.n_t
        total = (len(mp.m_tiles) if g.groups > 1 else 1) * sum(
            (nt // per) * _weight_block(mp, per * n, per_weight)
            + _weight_block(mp, (nt % per) * n, per_weight)
            for n, nt in n_classes)
    return total * g.groups


def _weight_tiles(mp: GemmMapping, n: int, per_weight: float) -> int:
    """``per_weight`` x the weights of the weight tiles of one output tile of ``n`` columns
    over its reduction, per load rounded up."""
    kp = mp.kplan
    reps = kp.steps // kp.period
    return reps * sum((hi - lo) * math.ceil(k * n * per_weight) for (lo, hi), k in kp.parts())


def _weight_block(mp: GemmMapping, n: int, per_weight: float) -> int:
    """``per_weight`` x the weights of one resident weight block of ``n`` columns and all of
    K (one transfer), rounded up."""
    return math.ceil(mp.gemm.K * n * per_weight) if n else 0


def _input_tiles(mp: GemmMapping, footprint: int) -> int:
    """Bits of the input loads of one output tile over its reduction."""
    kp = mp.kplan
    reps = kp.steps // kp.period
    return reps * sum((hi - lo) * math.ceil(units * footprint * mp.input_word_bits)
                      for (lo, hi), units in kp.input_loads())


def _input_block(mp: GemmMapping, footprint: int) -> int:
    """Bits of one m tile's resident inputs over the whole reduction (one transfer)."""
    return math.ceil(mp.kplan.units * footprint * mp.input_word_bits)


def compute_tiles(mp: GemmMapping) -> Iterator[tuple[int, int, int, int]]:
    """(m, array k, n, count) of every class of compute tile, all groups."""
    return _tiles(mp.gemm, mp.m_tiles, mp.kplan, mp.n_t, mp.k_scale)


def _tiles(g: Gemm, m_tiles: tuple[TileClass, ...], kp: KPlan, n_t: int,
           k_scale: float) -> Iterator[tuple[int, int, int, int]]:
    reps = kp.steps // kp.period
    for c in m_tiles:
        for (lo, hi), k in kp.parts():
            for n, nt in split_dim(g.N, n_t):
                yield c.size, compacted_k(k, k_scale), n, c.count * reps * (hi - lo) * nt * g.groups


@functools.lru_cache(maxsize=1 << 16)
def _timing(array: ArrayConfig, dataflow: str, m: int, k: int, n: int, w_bits: int,
            a_bits: int) -> TileTiming:
    return tile_timing(array, dataflow, m, k, n, w_bits, a_bits)


@dataclass(frozen=True, slots=True)
class ComputePart:
    """What a mapping's compute tiles cost, whatever its loop order: closed-form cycles (as
    back-to-back runs; the pipeline fills once), MACs, and SRAM bits each buffer serves the
    array (reads) and takes from it (writes)."""

    cycles: int
    macs: int
    reads: dict[str, int]
    writes: dict[str, int]


def clear_cache() -> None:
    _timing.cache_clear()
    _SUMS.clear()


def compute_part(mp: GemmMapping, arch: Arch,
                 parts: dict[tuple, ComputePart] | None = None) -> ComputePart:
    """What ``mp``'s compute tiles cost; ``parts`` keeps those of the tilings already costed
    (the orders of one tiling share them)."""
    key = tiling_key(mp.dataflow, mp.m_t, mp.kplan, mp.n_t)
    part = parts.get(key) if parts is not None else None
    if part is None:
        part = _compute_part(mp, arch)
        if parts is not None:
            parts[key] = part
    return part


def tiling_key(dataflow: str, m_t: int, kp: KPlan, n_t: int) -> tuple:
    """What identifies a tiling in the ``parts`` of :func:`compute_part` (the orders of one
    tiling share its compute part)."""
    return (dataflow, m_t, kp, n_t)


def _compute_part(mp: GemmMapping, arch: Arch) -> ComputePart:
    return tiling_part(arch, mp.dataflow, mp.gemm, mp.m_tiles, mp.kplan, mp.m_t, mp.n_t,
                       mp.w_bits, mp.a_bits, mp.k_scale)


def tiling_part(arch: Arch, dataflow: str, g: Gemm, m_tiles: tuple[TileClass, ...], kp: KPlan,
                m_t: int, n_t: int, w_bits: int, a_bits: int, k_scale: float) -> ComputePart:
    """:func:`compute_part` of the mappings with these tiles, whatever their order (the
    mapper asks before it makes any of them)."""
    pe = arch.array.pe
    # Tile timing depends on the bits only through the PE's packing and stream factor, SRAM
    # bits linearly: the sums behind them are shared by every precision that times alike.
    key = (arch.array, dataflow, g, m_tiles, kp, m_t, n_t, k_scale,
           pe.k_pack(w_bits, a_bits), pe.stream_factor(w_bits, a_bits))
    sums = _SUMS.get(key)
    if sums is None:
        if len(_SUMS) >= _MAX_SUMS:
            _SUMS.clear()
        sums = _SUMS[key] = _tiling_sums(arch.array, dataflow, g, m_tiles, kp, m_t, n_t,
                                         w_bits, a_bits, k_scale)
    cycles, macs, mk, kn, mn = sums
    reads, writes = get_dataflow(dataflow).sram_bits_of(mk, kn, mn, w_bits, a_bits, ACC_BITS)
    return ComputePart(cycles, macs, dict(reads), dict(writes))


_Sums = tuple[int, int, int, int, int]  # (cycles, MACs, sum of m k, of k n, of m n)
_SUMS: dict[tuple, _Sums] = {}
_MAX_SUMS = 1 << 16


def _tiling_sums(array: ArrayConfig, dataflow: str, g: Gemm, m_tiles: tuple[TileClass, ...],
                 kp: KPlan, m_t: int, n_t: int, w_bits: int, a_bits: int,
                 k_scale: float) -> _Sums:
    cycles = macs = mk = kn = mn = 0
    for m, k, n, count in _tiles(g, m_tiles, kp, n_t, k_scale):
        cycles += count * _timing(array, dataflow, m, k, n, w_bits, a_bits).period
        macs += count * m * k * n
        mk += count * m * k
        kn += count * k * n
        mn += count * m * n
    first = _timing(array, dataflow, m_t, compacted_k(kp.k_t, k_scale), n_t, w_bits, a_bits)
    return cycles + first.first - first.period, macs, mk, kn, mn


def _counts(mp: GemmMapping, tr: Traffic, part: ComputePart) -> ActionCounts:
    """Exact action counts of ``mp``'s program (as :mod:`hwsim.engine` counts them): its
    compute tiles' and its loads' and stores' (DRAM reads land in SRAM, stores read it)."""
    rd, wr = dict(part.reads), dict(part.writes)
    coded = mp.weight_dram_bits is not None
    wr["weight"] = wr.get("weight", 0) + (weight_loads(mp, mp.weight_word_bits) if coded
                                          else tr.weight)
    wr["input"] = wr.get("input", 0) + tr.input
    rd["output"] = rd.get("output", 0) + tr.output
    return ActionCounts(macs=(((mp.w_bits, mp.a_bits), part.macs),),
                        sram_read_bits=tuple(sorted(rd.items())),
                        sram_write_bits=tuple(sorted(wr.items())), dram_bits=tr.total,
                        decoded=weight_loads(mp, mp.decode_entries) if coded else 0)


def score(mp: GemmMapping, objective: str) -> tuple[float, ...]:
    """The key the search minimizes for ``objective`` (module doc)."""
    latency, energy = mp.estimate_cycles, mp.energy_pj
    if objective == "latency":
        return (latency, energy, mp.traffic.total)
    if objective == "energy":
        return (energy, latency, mp.traffic.total)
    return (energy * latency, latency, mp.traffic.total)


def costed(mp: GemmMapping, arch: Arch, out_bits: int,
            parts: dict[tuple, ComputePart] | None = None,
            prices: Prices | None = None) -> GemmMapping:
    """``mp`` with its traffic, cycles and energy; ``parts`` keeps the compute parts of the
    tilings already costed (orders of one tiling share them), ``prices`` the arch's."""
    tr = traffic(mp, out_bits)
    part = compute_part(mp, arch, parts)
    compute = part.cycles
    channel = arch.dram_channel
    dram = channel.transfer_cycles(tr.total)
    counts = _counts(mp, tr, part)
    if counts.decoded and arch.weight_decoder is not None:  # the decoder holds the channel
        dram = max(dram, channel.transfer_cycles(tr.input + tr.output)
                   + arch.weight_decoder.decode_cycles(counts.decoded))
    seconds = max(compute, dram) * arch.cycle_ns * 1e-9
    energy = (prices or Prices(arch)).energy(counts, seconds).total_pj
    # (as dataclasses.replace, without its per-call reflection: the search costs thousands)
    return GemmMapping(mp.dataflow, mp.order, mp.gemm, mp.w_bits, mp.a_bits,
                       mp.weight_word_bits, mp.input_word_bits, mp.m_t, mp.k_t, mp.n_t,
                       mp.m_tiles, mp.kplan, tr, compute, dram, energy, mp.n_block, mp.k_scale,
                       mp.weight_slots, mp.input_slots, mp.weight_dram_bits, mp.decode_entries)



def _slots(arch: Arch, buffer: str, tile_bits: float, interval: int) -> int:
    """SRAM slots for a load stream of ``tile_bits`` loads, one per ``interval`` array cycles:
    enough to cover the DRAM latency (module doc), as many as fit the buffer, at least 2."""
    want = 2 + math.ceil(arch.dram_channel.latency_cycles / max(interval, 1))
    fit = int(arch.buffers.get(buffer).size_bits // max(math.ceil(tile_bits), 1))
    return max(2, min(want, fit))


def with_slots(mp: GemmMapping, arch: Arch) -> GemmMapping:
    """``mp`` with the depth of its weight and input load streams chosen (module doc): a
    stream's interval is the array time between two of its loads, at least one tile for a
    streamed tile, a k loop over a block's n tiles for a resident input block, and that
    times the m tiles for a weight block."""
    period = _timing(arch.array, mp.dataflow, mp.m_t, mp.array_k(mp.k_t), mp.n_t, mp.w_bits,
                     mp.a_bits).period
    kp, g = mp.kplan, mp.gemm
    per = mp.n_block // mp.n_t if mp.order == "Nmnk" else math.ceil(g.N / mp.n_t)
    block_tiles = min(b for _, nt in split_dim(g.N, mp.n_t) for b, _ in split_dim(nt, per))
    fp = max(c.footprint for c in mp.m_tiles)
    if mp.order == "Nmnk":
        w_bits = g.K * mp.n_block * mp.weight_word_bits
        w_every = block_tiles * kp.steps * (min(c.count for c in mp.m_tiles) if g.groups > 1
                                            else mp.folds[0])  # once per block (codegen)
    else:
        w_bits = mp.k_t * mp.n_t * mp.weight_word_bits
        w_every = mp.folds[0] if mp.order == "nkm" else 1  # nkm reuses a weight tile mb times
    if mp.order in ("mnk", "Nmnk"):
        a_bits, a_every = kp.units * fp * mp.input_word_bits, block_tiles * kp.steps
    else:
        a_bits, a_every = kp.per_tile * fp * mp.input_word_bits, kp.bands
    return dataclasses.replace(mp, weight_slots=_slots(arch, "weight", w_bits, period * w_every),
                               input_slots=_slots(arch, "input", a_bits, period * a_every))

