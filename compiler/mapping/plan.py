"""The records of a mapping: how one GEMM is tiled (:class:`GemmMapping`, :class:`KPlan`)
and what it moves (:class:`Traffic`). :mod:`compiler.mapping.tiling` chooses them,
:mod:`compiler.mapping.cost` prices them, :mod:`compiler.mapping.codegen` emits them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from compiler.ir import Gemm
from compiler.mapping.geometry import TileClass

__all__ = ["ACC_BITS", "GemmMapping", "KPlan", "Traffic", "compacted_k", "dense_k_cap", "split_dim"]

ACC_BITS = 32
"""Width of partial sums in the output buffer (the array's accumulators)."""


def split_dim(size: int, tile: int) -> list[tuple[int, int]]:
    """[(tile size, count)] covering ``size``: full tiles, then the edge tile if any."""
    full, edge = divmod(size, tile)
    parts = [(tile, full)] if full else []
    return [*parts, (edge, 1)] if edge else parts



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
class KPlan:
    """How the reduction is tiled: ``units`` units of ``unit`` GEMM K elements each (1 for a
    GEMM, a convolution's ``KH x KW`` taps), grouped ``per_tile`` units to an SRAM k tile
    (what one input load brings). An SRAM tile longer than the array's reduction axis is cut
    into ``bands`` array tiles of ``band`` K elements (the last one shorter if it does not
    divide); then ``per_tile`` divides ``units``, so every SRAM tile is cut alike. The two
    levels let a k tile of whole input channels fill the array (sixteen 3x3 channels are nine
    full 16-row array tiles)."""

    unit: int
    units: int
    per_tile: int
    bands: int = 1
    band: int = 0

    @property
    def steps(self) -> int:
        """Array k tiles per output tile (``Kt``)."""
        return math.ceil(self.units / self.per_tile) * self.bands

    @property
    def period(self) -> int:
        """k steps after which the pattern of tile sizes repeats."""
        return self.bands if self.bands > 1 else self.steps

    @property
    def k_t(self) -> int:
        """K elements of a full array k tile."""
        return self.band if self.bands > 1 else self.per_tile * self.unit

    @property
    def exact(self) -> bool:
        """Every array k tile is full (no edge tile)."""
        if self.bands > 1:
            return self.per_tile * self.unit % self.band == 0
        return self.units % self.per_tile == 0

    def parts(self) -> list[tuple[tuple[int, int], int]]:
        """(window of k phases within :attr:`period`, K elements) of each array tile size."""
        if self.bands > 1:
            full, edge = divmod(self.per_tile * self.unit, self.band)
            out = [((0, full), self.band)] if full else []
            return [*out, ((full, self.bands), edge)] if edge else out
        full, edge = divmod(self.units, self.per_tile)
        out = [((0, full), self.per_tile * self.unit)] if full else []
        return [*out, ((full, full + 1), edge * self.unit)] if edge else out

    def sram_range(self, step: int, K: int) -> tuple[int, int]:
        """(first K element, K elements) of the SRAM k tile k step ``step`` reads (of a
        reduction of ``K`` elements)."""
        sram_k = self.per_tile * self.unit
        k0 = step // self.bands * sram_k
        return k0, min(sram_k, K - k0)

    def k_range(self, step: int, K: int) -> tuple[int, int]:
        """(first K element, K elements) of k step ``step``'s array tile: band
        ``step % bands`` of its SRAM k tile."""
        k0, k = self.sram_range(step, K)
        if self.bands == 1:
            return k0, k
        off = step % self.bands * self.band
        return k0 + off, min(self.band, k - off)

    def input_loads(self) -> list[tuple[tuple[int, int], int]]:
        """(window of k phases within :attr:`period`, units) of each input load: one per
        SRAM k tile (the first of its bands)."""
        if self.bands > 1:
            return [((0, 1), self.per_tile)]
        return [(window, k // self.unit) for window, k in self.parts()]


def compacted_k(k: int, k_scale: float) -> int:
    """``ceil(k * k_scale)``, at least 1: the reduction the array runs for ``k`` stored
    elements of which it computes the share ``k_scale``. (Rounded off first, so that a share
    that is an exact fraction, 14 of 25 as 0.56, is not pushed up by the float error of the
    product.)"""
    if k_scale >= 1.0:
        return k
    return max(1, math.ceil(round(k * k_scale, 9)))


def dense_k_cap(k_cap: int, k_scale: float) -> int:
    """The largest k tile of stored elements whose compacted reduction
    (:func:`compacted_k`) fits ``k_cap`` array elements: zero skipping packs a reduction axis
    of the array with the non-zeros of more than its length."""
    if k_scale >= 1.0:
        return k_cap
    k = math.floor(k_cap / k_scale)
    while compacted_k(k, k_scale) > k_cap:
        k -= 1
    return k


@dataclass(frozen=True, slots=True)
class GemmMapping:
    """How one GEMM runs: its dataflow, loop order, tiles (``m_t x k_t x n_t`` at full size;
    ``m_tiles``: the m tile classes, ``kplan``: the reduction's), the weight block of an
    ``Nmnk`` nest (``n_block`` columns), and the estimates it was chosen on."""

    dataflow: str
    order: str
    gemm: Gemm
    w_bits: int
    a_bits: int
    weight_word_bits: float  # stored bits per weight (compressed formats include their index)
    input_word_bits: float  # stored bits per element of the input tensor
    m_t: int
    k_t: int
    n_t: int
    m_tiles: tuple[TileClass, ...]
    kplan: KPlan
    traffic: Traffic
    compute_cycles: int  # closed-form array cycles, memory ignored
    dram_cycles: int  # traffic on the DRAM channel
    energy_pj: float  # estimated at the larger of the two
    n_block: int = 0
    k_scale: float = 1.0  # share of each reduction the array computes (zero skipping)
    weight_slots: int = 2  # SRAM slots of the weight and input load streams (module doc)
    input_slots: int = 2
    weight_dram_bits: float | None = None  # coded weights: bits per weight in DRAM
    decode_entries: float = 0.0  # coded weights: stored entries decoded per weight

    @property
    def dram_weight_word(self) -> float:
        """Bits per weight that weight loads move from DRAM: the coded size when the weights
        pass the arch's decoder, else the stored size in SRAM (``weight_word_bits``)."""
        return self.weight_word_bits if self.weight_dram_bits is None else self.weight_dram_bits

    @property
    def folds(self) -> tuple[int, int, int]:
        """Tile counts along M, K and N (per group)."""
        return (sum(c.count for c in self.m_tiles), self.kplan.steps,
                math.ceil(self.gemm.N / self.n_t))

    @property
    def tiles(self) -> int:
        mb, kt, nt = self.folds
        return mb * kt * nt * self.gemm.groups

    @property
    def estimate_cycles(self) -> int:
        return max(self.compute_cycles, self.dram_cycles)

    def array_k(self, k: int) -> int:
        """The array's reduction for a k tile of ``k`` stored elements (zero skipping
        compacts it to the non-zeros, stretched by the load imbalance)."""
        return compacted_k(k, self.k_scale)

