"""Tiling a GEMM onto the array: dataflow, tile sizes, loop order, DRAM traffic.

A dataflow fixes which operand stays in the PEs (:mod:`hwsim.timing`): WS holds a ``k x n``
weight tile and streams ``m`` input rows; IS holds a ``k x m`` input tile and streams ``n``
weight columns; OS holds an ``m x n`` output tile and streams the reduction ``k``. In each case
two GEMM dimensions are bounded by the array (the *spatial* ones) and the third (*temporal*)
one is bounded by the SRAM buffers, each of which holds two tiles (double buffering).

The loop nest visits tiles in one of three orders (outermost first; ``k`` is the reduction):

- ``nmk``: each output tile is finished before the next, so partial sums never leave the
  output buffer; weight tiles are re-read for every ``m`` block, inputs for every ``n`` block.
- ``mnk``: the same, but an ``m`` block's inputs for the whole reduction stay in the input
  buffer, so inputs are read once (needs ``m_t x K`` input words in half the buffer).
- ``nkm``: a weight tile is read once and used by every ``m`` block; the partial sums of all
  ``M`` rows of an ``n`` block stay in the output buffer across the reduction (needs
  ``M x n_t`` accumulators in half of it).

The mapper evaluates every (dataflow, order) the arch and the buffers allow with a roofline
estimate (compute cycles from the closed forms, DRAM cycles from the traffic) and keeps, among
those within 2% of the fastest, the one with the least DRAM traffic. Results are cached by
(GEMM, bits, stored word sizes, arch).

Tiles are sized for double buffering, but a stream of short tiles (a batch-1 fully connected
layer, a low-precision tile on a bit-serial array) spends more time waiting for DRAM latency
than for bandwidth. The mapper then gives the stream more SRAM slots (:class:`hwsim.isa.Load`
``slots``), as many as its buffer holds up to ``2 + ceil(latency / interval)``, where the
interval is the array's time between two of the stream's loads: by Little's law that many
transfers in flight keep the array fed. The rule depends on latency and compute time, not on
bandwidth, so more bandwidth still never picks a shallower stream.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

from compiler.errors import MappingError
from compiler.ir import Gemm
from hwsim.config import Arch
from hwsim.dataflow import TENSOR_DIMS, Dataflow, get_dataflow
from hwsim.timing import tile_timing

__all__ = ["ACC_BITS", "ORDERS", "GemmMapping", "Traffic", "map_gemm"]

ACC_BITS = 32
"""Width of partial sums in the output buffer (the array's accumulators)."""

ORDERS = ("nmk", "mnk", "nkm")

SPEED_TOLERANCE = 0.02
"""Mappings this much slower than the fastest (estimated) compete on DRAM traffic instead."""


@dataclass(frozen=True, slots=True)
class Traffic:
    """DRAM traffic of one GEMM (all groups), in bits."""

    weight: int
    input: int
    output: int

    @property
    def total(self) -> int:
        return self.weight + self.input + self.output


@dataclass(frozen=True, slots=True)
class GemmMapping:
    """How one GEMM runs: full tile ``m_t x k_t x n_t``, its counts per dimension and group,
    the loop order, and the estimates the choice was made on."""

    dataflow: str
    order: str
    gemm: Gemm
    w_bits: int
    a_bits: int
    weight_word_bits: float  # stored bits per weight (compressed formats include their index)
    input_word_bits: float  # stored bits per element of the GEMM's input matrix
    m_t: int
    k_t: int
    n_t: int
    traffic: Traffic
    compute_cycles: int  # closed-form array cycles, memory ignored
    dram_cycles: int  # traffic / DRAM bits per cycle
    weight_slots: int = 2  # SRAM slots of the weight and input load streams (module doc)
    input_slots: int = 2

    @property
    def folds(self) -> tuple[int, int, int]:
        """Tile counts along M, K and N (per group)."""
        g = self.gemm
        return (math.ceil(g.M / self.m_t), math.ceil(g.K / self.k_t), math.ceil(g.N / self.n_t))

    @property
    def tiles(self) -> int:
        mb, kt, nt = self.folds
        return mb * kt * nt * self.gemm.groups

    @property
    def bound(self) -> str:
        return "compute" if self.compute_cycles >= self.dram_cycles else "memory"

    @property
    def estimate_cycles(self) -> int:
        return max(self.compute_cycles, self.dram_cycles)


def _half(arch: Arch, buffer: str) -> int:
    """One of a buffer's two slots (double buffering)."""
    return arch.buffers.get(buffer).slot_bits(2)


def _fit_temporal(g: Gemm, df: Dataflow, caps: tuple[int, int, int], arch: Arch,
                  w_word: float, a_word: float) -> tuple[int, int, int] | None:
    """Largest tile within the array caps whose operands fit half of each buffer."""
    m_cap, k_cap, n_cap = (c or d for c, d in zip(caps, (g.M, g.K, g.N), strict=True))
    m_t, k_t, n_t = min(g.M, m_cap), min(g.K, k_cap), min(g.N, n_cap)
    w_half, i_half, o_half = _half(arch, "weight"), _half(arch, "input"), _half(arch, "output")
    # Shrink the spatial dims only if even one temporal step cannot fit (tiny buffers).
    while k_t > 1 and (k_t * n_t * w_word > w_half or k_t * a_word > i_half):
        k_t = max(1, k_t // 2)
    while n_t > 1 and (k_t * n_t * w_word > w_half or n_t * ACC_BITS > o_half):
        n_t = max(1, n_t // 2)
    # The streamed dimension grows until a tile of every tensor it spans fills half a buffer.
    size = {"m": m_t, "k": k_t, "n": n_t}
    full = {"m": g.M, "k": g.K, "n": g.N}
    word = {"input": a_word, "weight": w_word, "output": ACC_BITS}
    fits = [full[df.streamed]]
    for tensor, dims in TENSOR_DIMS.items():
        if df.streamed in dims:
            other = size[dims[0] if dims[1] == df.streamed else dims[1]]
            fits.append(int(_half(arch, tensor) // (other * word[tensor])))
    size[df.streamed] = min(fits)
    m_t, k_t, n_t = size["m"], size["k"], size["n"]
    if min(m_t, k_t, n_t) < 1 or m_t * n_t * ACC_BITS > o_half:
        return None
    return m_t, k_t, n_t


def _unbounded_temporal(g: Gemm, caps: tuple[int, int, int]) -> tuple[int, int, int]:
    """The array-bounded dims at the array's size, the temporal one whole (SCALE-Sim's folds)."""
    m_cap, k_cap, n_cap = caps
    return (min(g.M, m_cap or g.M), min(g.K, k_cap or g.K), min(g.N, n_cap or g.N))


def _traffic(g: Gemm, order: str, tile: tuple[int, int, int], w_word: float, a_word: float,
             out_bits: int) -> Traffic:
    """DRAM bits the code generator's loop nest moves (:mod:`compiler.mapping.codegen`).

    The output space is cut into uniform rectangles (full and edge tiles along M and N), one
    loop nest each, so a tensor kept on chip across one loop is re-read once per rectangle
    class along the other dimension.
    """
    m_t, _, n_t = tile
    mb, nt = math.ceil(g.M / m_t), math.ceil(g.N / n_t)
    m_classes, n_classes = len(split_dim(g.M, m_t)), len(split_dim(g.N, n_t))
    weights = math.ceil(g.K * g.N * w_word) * g.groups
    inputs = math.ceil(g.M * g.K * a_word) * g.groups
    outputs = g.M * g.N * out_bits * g.groups
    if order == "nmk":
        return Traffic(weights * mb, inputs * nt, outputs)
    if order == "mnk":
        return Traffic(weights * mb, inputs * n_classes, outputs)
    return Traffic(weights * m_classes, inputs * nt, outputs)  # nkm


def _order_fits(g: Gemm, order: str, tile: tuple[int, int, int], arch: Arch,
                a_word: float) -> bool:
    m_t, k_t, n_t = tile
    if order == "mnk":
        return m_t * g.K * a_word <= _half(arch, "input")
    if order == "nkm":  # the reduction's edge tile could not be selected by a window here
        return g.K % k_t == 0 and g.M * n_t * ACC_BITS <= _half(arch, "output")
    return True


def _compute_cycles(arch: Arch, dataflow: str, g: Gemm, tile: tuple[int, int, int],
                    w_bits: int, a_bits: int) -> int:
    """Closed-form cycles of all tiles, as back-to-back runs of the full and edge shapes."""
    m_t, k_t, n_t = tile
    total = 0
    for m, cm in split_dim(g.M, m_t):
        for k, ck in split_dim(g.K, k_t):
            for n, cn in split_dim(g.N, n_t):
                timing = tile_timing(arch, dataflow, m, k, n, w_bits, a_bits)
                total += timing.period * cm * ck * cn
    # The pipeline fills once per layer: add the first tile's latency beyond its period.
    first = tile_timing(arch, dataflow, m_t, k_t, n_t, w_bits, a_bits)
    return total * g.groups + first.first - first.period


def _slots(arch: Arch, buffer: str, tile_bits: float, interval: int) -> int:
    """SRAM slots for a load stream of ``tile_bits`` loads, one per ``interval`` array cycles:
    enough to cover the DRAM latency (module doc), as many as fit the buffer, at least 2."""
    want = 2 + math.ceil(arch.dram_channel.latency_cycles / max(interval, 1))
    fit = int(arch.buffers.get(buffer).size_bits // max(math.ceil(tile_bits), 1))
    return max(2, min(want, fit))


def _with_slots(mp: GemmMapping, arch: Arch) -> GemmMapping:
    """``mp`` with the depth of its weight and input load streams chosen (module doc). An
    ``mnk`` nest keeps an m block's inputs resident across its n tiles, so its input stream
    stays double buffered."""
    period = tile_timing(arch, mp.dataflow, mp.m_t, mp.k_t, mp.n_t, mp.w_bits, mp.a_bits).period
    mb = mp.folds[0]
    w_interval = period * (mb if mp.order == "nkm" else 1)  # nkm reuses a weight tile mb times
    w_slots = _slots(arch, "weight", mp.k_t * mp.n_t * mp.weight_word_bits, w_interval)
    a_slots = 2 if mp.order == "mnk" else _slots(arch, "input",
                                                   mp.m_t * mp.k_t * mp.input_word_bits, period)
    return dataclasses.replace(mp, weight_slots=w_slots, input_slots=a_slots)


def split_dim(size: int, tile: int) -> list[tuple[int, int]]:
    """[(tile size, count)] covering ``size``: full tiles, then the edge tile if any."""
    full, edge = divmod(size, tile)
    parts = [(tile, full)] if full else []
    return [*parts, (edge, 1)] if edge else parts


@functools.lru_cache(maxsize=65536)
def map_gemm(g: Gemm, w_bits: int, a_bits: int, out_bits: int, arch: Arch,
             weight_word_bits: float | None = None,
             input_word_bits: float | None = None, scalesim: bool = False) -> GemmMapping:
    """Choose dataflow, tiles and loop order for ``g`` on ``arch``.

    ``weight_word_bits`` is the stored size of one weight (``w_bits`` unless the arch stores
    sparse weights compressed); ``input_word_bits`` that of one element of the GEMM's input
    matrix (less than ``a_bits`` for a convolution, whose im2col matrix repeats pixels).
    ``scalesim``: tile as SCALE-Sim does, streaming the whole temporal dimension in one fold
    (its SRAM model is separate from its fold count), in the output-tile-first order.
    """
    w_word = float(weight_word_bits if weight_word_bits is not None else w_bits)
    a_word = float(input_word_bits if input_word_bits is not None else a_bits)
    candidates: list[GemmMapping] = []
    for dataflow in arch.array.dataflows:
        df = get_dataflow(dataflow)
        caps = df.caps(arch.array.rows, arch.array.cols, arch.array.pe.k_pack(w_bits, a_bits))
        tile = (_unbounded_temporal(g, caps) if scalesim
                else _fit_temporal(g, df, caps, arch, w_word, a_word))
        if tile is None:
            continue
        compute = _compute_cycles(arch, dataflow, g, tile, w_bits, a_bits)
        for order in ("nmk",) if scalesim else ORDERS:
            if not _order_fits(g, order, tile, arch, a_word):
                continue
            traffic = _traffic(g, order, tile, w_word, a_word, out_bits)
            candidates.append(GemmMapping(dataflow, order, g, w_bits, a_bits, w_word, a_word,
                                          *tile, traffic, compute,
                                          arch.dram_channel.transfer_cycles(traffic.total)))
    if not candidates:
        raise MappingError(
            f"GEMM M={g.M} N={g.N} K={g.K} at w{w_bits}a{a_bits} does not fit the buffers of "
            f"{arch.name!r} with any of its dataflows {arch.array.dataflows}: input "
            f"{arch.buffers.input.size_kib} KiB, weight {arch.buffers.weight.size_kib} KiB, "
            f"output {arch.buffers.output.size_kib} KiB must each hold two tiles"
        )
    # Fastest first; among mappings within SPEED_TOLERANCE of the fastest, the least DRAM
    # traffic wins (it costs energy even when it costs no time).
    fastest = min(c.estimate_cycles for c in candidates)
    near = [c for c in candidates if c.estimate_cycles <= fastest * (1 + SPEED_TOLERANCE)]
    best = min(near, key=lambda c: (c.traffic.total, c.estimate_cycles))
    # SCALE-Sim models no DRAM latency to hide; its folds keep plain double buffering
    return best if scalesim else _with_slots(best, arch)
