"""A data-movement reference: what one mapped GEMM moves, counted by walking its tiles.

This is the check on :func:`compiler.mapping.tiling.traffic` and on the code generator, and
shares neither's arithmetic: output tiles are lists of output positions, a tile's input is
the set of input pixels its outputs read (found by visiting every kernel offset), and the
loop nest of each order is written out as plain loops, loading an operand at the points its
order says (:mod:`compiler.mapping.tiling`): a tile that stays resident is loaded when its
scope begins. Only the mapping's tile sizes, order and block size are taken from it. Meant for
small layers: it visits every tile (and, for convolutions, every pixel of every tile).

>>> from compiler.ir import Gemm
>>> from hwsim import load_arch
>>> from compiler.mapping.tiling import map_gemm
>>> mp = map_gemm(Gemm(M=40, N=24, K=30), 8, 8, 8, load_arch("edge_int8"))
>>> counts = reference_counts(mp, out_bits=8)
>>> counts.dram_write_bits == 40 * 24 * 8 and counts.macs == 40 * 24 * 30
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from compiler.mapping.geometry import ConvGeometry
from compiler.mapping.plan import ACC_BITS, GemmMapping, compacted_k
from hwsim.dataflow import get_dataflow

__all__ = ["ReferenceCounts", "reference_counts"]


@dataclass(frozen=True, slots=True)
class ReferenceCounts:
    """Bits moved: DRAM reads into each buffer (``weight``, ``input``), DRAM writes of the
    output, SRAM reads and writes per buffer; the MACs the array runs, and the stored weight
    entries the weight decoder expands (coded weights)."""

    dram_read_bits: dict[str, int]
    dram_write_bits: int
    sram_read_bits: dict[str, int]
    sram_write_bits: dict[str, int]
    macs: int
    decoded: int = 0


Position = tuple[int, int, int]  # (image, output row, output column), or (0, 0, row) of a GEMM


def _m_tiles(mp: GemmMapping, geometry: ConvGeometry | None) -> list[list[Position]]:
    """Output tiles as position lists, in raster order: runs of ``m_t`` GEMM rows, or for a
    convolution whole output rows when a row fits a tile, segments of a row otherwise."""
    if geometry is None:
        return [[(0, 0, r) for r in range(first, min(first + mp.m_t, mp.gemm.M))]
                for first in range(0, mp.gemm.M, mp.m_t)]
    g = geometry
    tiles = []
    for b in range(g.batch):
        if g.out_w <= mp.m_t:
            rows = mp.m_t // g.out_w
            for first in range(0, g.out_h, rows):
                tiles.append([(b, oh, ow) for oh in range(first, min(first + rows, g.out_h))
                              for ow in range(g.out_w)])
        else:
            for oh in range(g.out_h):
                for first in range(0, g.out_w, mp.m_t):
                    tiles.append([(b, oh, ow)
                                  for ow in range(first, min(first + mp.m_t, g.out_w))])
    return tiles


def _pixels(tile: list[Position], geometry: ConvGeometry | None) -> int:
    """Distinct input elements one reduction unit of ``tile`` reads (padding excluded)."""
    if geometry is None:
        return len(tile)
    g = geometry
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g.kernel, g.stride, g.pad, g.dilation
    seen = set()
    for b, oh, ow in tile:
        for i in range(kh):
            for j in range(kw):
                ih, iw = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                if 0 <= ih < g.height and 0 <= iw < g.width:
                    seen.add((b, ih, iw))
    return len(seen)


def _k_steps(mp: GemmMapping) -> Iterator[tuple[tuple[int, ...], int]]:
    """(reduction units, K elements) of each array k tile of one output tile, in order."""
    kp = mp.kplan
    for first in range(0, kp.units, kp.per_tile):
        units = tuple(range(first, min(first + kp.per_tile, kp.units)))
        if kp.bands > 1:
            for band in range(kp.bands):
                yield units, min(kp.band, len(units) * kp.unit - band * kp.band)
        else:
            yield units, len(units) * kp.unit


def reference_counts(mp: GemmMapping, *, out_bits: int,
                     geometry: ConvGeometry | None = None) -> ReferenceCounts:
    """Walk ``mp``'s loop nest tile by tile (module doc) and count what moves. ``geometry``:
    the convolution whose inputs the mapping moves as footprints (as given to the mapper)."""
    g = mp.gemm
    df = get_dataflow(mp.dataflow)
    dram: Counter[str] = Counter()
    rd: Counter[str] = Counter()
    wr: Counter[str] = Counter()
    macs = decoded = 0
    steps = list(_k_steps(mp))
    tiles = _m_tiles(mp, geometry)
    pixels = [_pixels(t, geometry) for t in tiles]
    classes: dict[tuple[int, int], list[int]] = {}  # rectangles: tiles of equal size and input
    for i, positions in enumerate(tiles):
        classes.setdefault((len(positions), pixels[i]), []).append(i)
    n_tiles = [(first, min(first + mp.n_t, g.N)) for first in range(0, g.N, mp.n_t)]
    n_classes: dict[int, list[tuple[int, int]]] = {}
    for lo, hi in n_tiles:
        n_classes.setdefault(hi - lo, []).append((lo, hi))

    def load(buffer: str, bits: float) -> None:
        if bits:  # (nothing to load for outputs that read only padding)
            dram[buffer] += math.ceil(bits)
            wr[buffer] += math.ceil(bits)

    def load_weights(weights: int) -> None:
        """A weight load: coded weights move their DRAM size and are decoded into SRAM."""
        nonlocal decoded
        if mp.weight_dram_bits is None:
            load("weight", weights * mp.weight_word_bits)
            return
        dram["weight"] += math.ceil(weights * mp.weight_dram_bits)
        wr["weight"] += math.ceil(weights * mp.weight_word_bits)
        decoded += math.ceil(weights * mp.decode_entries)

    def load_inputs(tile: int, units: int) -> None:
        load("input", units * pixels[tile] * mp.input_word_bits)

    def compute(tile: int, k: int, n: int) -> None:
        nonlocal macs
        m = len(tiles[tile])
        k = compacted_k(k, mp.k_scale)
        macs += m * k * n
        rd["input"] += m * k * mp.a_bits
        rd["weight"] += k * n * mp.w_bits
        if df.psum_readback:
            rd["output"] += m * n * ACC_BITS
        wr["output"] += m * n * ACC_BITS

    def store(tile: int, n: int) -> None:
        dram["output"] += len(tiles[tile]) * n * out_bits
        rd["output"] += len(tiles[tile]) * n * out_bits

    def reduce(tile: int, n: int, weights: bool, inputs: bool) -> None:
        """One output tile's k loop: weight tiles loaded per k step if ``weights``, its
        inputs per k tile (once for the bands of one unit) if ``inputs``."""
        loaded = None
        for units, k in steps:
            if weights:
                load_weights(k * n)
            if inputs and units != loaded:
                load_inputs(tile, len(units))
                loaded = units
            compute(tile, k, n)
        store(tile, n)

    for _group in range(g.groups):
        for n, n_list in n_classes.items():
            for members in classes.values():
                if mp.order == "nmk":
                    for _ in n_list:
                        for t in members:
                            reduce(t, n, weights=True, inputs=True)
                elif mp.order == "nkm":  # a weight tile serves every m tile of the class
                    for _ in n_list:
                        for units, k in steps:
                            load_weights(k * n)
                            for t in members:
                                load_inputs(t, len(units))
                                compute(t, k, n)
                        for t in members:
                            store(t, n)
                elif mp.order == "mnk":  # an m tile's inputs stay across the n tiles
                    for t in members:
                        load_inputs(t, mp.kplan.units)
                        for _ in n_list:
                            reduce(t, n, weights=True, inputs=False)
            if mp.order == "Nmnk":  # a weight block stays across m tiles, inputs across it
                per = mp.n_block // mp.n_t
                for first in range(0, len(n_list), per):
                    block = n_list[first:first + per]
                    for c, members in enumerate(classes.values()):
                        if c == 0 or g.groups > 1:  # one load per block (per class: groups)
                            load_weights(g.K * len(block) * n)
                        for t in members:
                            load_inputs(t, mp.kplan.units)
                            for _ in block:
                                reduce(t, n, weights=False, inputs=False)
    written = dram.pop("output", 0)
    return ReferenceCounts(dict(dram), written, dict(rd), dict(wr), macs, decoded)
