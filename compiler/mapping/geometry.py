"""The input footprint of convolution tiles: the exact input pixels a tile of outputs reads.

A convolution's GEMM view (im2col) repeats every input pixel under every kernel offset that
covers it; the DMA moves the pixels themselves. A tile of output positions therefore loads
its *footprint*: the distinct valid input pixels (halo included, zero padding excluded) under
its outputs, for each input channel of its reduction slice. Neighbouring tiles overlap in
their halos and each loads its own: re-reads across tiles are counted, never assumed away.

To make every tile of a class load the same footprint, output tiles follow the feature map:

- **rows**: a tile is ``r`` whole output rows of one image (when a row fits the tile);
- **segments**: a tile is ``w`` consecutive outputs of one row (when a row does not).

Tiles whose footprint differs (clipped by the padding at an edge of the image, or the last
tile of a row or image) form their own classes (:class:`TileClass`), each one run of the
program. Reduction tiles hold whole input channels (``KH x KW`` GEMM elements each), so a
tile's input is ``channels x footprint`` pixels.

>>> g = ConvGeometry(batch=1, channels=3, height=8, width=8, kernel=(3, 3), stride=(1, 1),
...                  pad=(1, 1), dilation=(1, 1), out_h=8, out_w=8)
>>> [(c.size, c.count, c.footprint) for c in g.tiles(16)]  # 2 rows a tile: edges read 3 rows
[(16, 2, 24), (16, 2, 32)]
>>> g.span(0, 0, 8), g.span(0, 0, 2)    # all 8 rows; rows 0..1 need input rows 0..2
(8, 3)
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from compiler.ir import CONV_OPS, Op

__all__ = ["ConvGeometry", "TileClass", "clear_cache", "gemm_tiles"]


@dataclass(frozen=True, slots=True)
class TileClass:
    """``count`` tiles of ``size`` output positions (GEMM M rows), each reading ``footprint``
    input elements per reduction unit (an input channel of a convolution, a GEMM column of
    A otherwise)."""

    size: int
    count: int
    footprint: int


def gemm_tiles(M: int, m_t: int) -> list[TileClass]:
    """A plain GEMM's M tiles: full ones and the edge, each reading ``m`` rows of A per K."""
    full, edge = divmod(M, m_t)
    out = [TileClass(m_t, full, m_t)] if full else []
    return [*out, TileClass(edge, 1, edge)] if edge else out


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """One group of a convolution: ``channels`` input channels of ``height x width``, a
    ``kernel`` with ``stride``, ``pad`` and ``dilation`` (height, width pairs), ``batch``
    images, ``out_h x out_w`` outputs."""

    batch: int
    channels: int
    height: int
    width: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    out_h: int
    out_w: int

    @classmethod
    def of(cls, op: Op) -> ConvGeometry | None:
        """The geometry of a convolution whose im2col view is not its input itself (a kernel
        larger than 1x1, a stride or padding); ``None`` for anything else."""
        if op.kind not in CONV_OPS:
            return None
        kh, kw = op.attrs["kernel"]
        stride, pad, dil = (_pair(op.attrs.get(a, d)) for a, d in
                            (("stride", 1), ("padding", 0), ("dilation", 1)))
        if (kh, kw) == (1, 1) and stride == (1, 1) and pad == (0, 0):
            return None
        batch, cin, h, w = op.inputs[0].shape
        groups = int(op.attrs["groups"])
        oh, ow = op.output.shape[-2:]
        return cls(batch, cin // groups, h, w, (kh, kw), stride, pad, dil, oh, ow)

    @property
    def taps(self) -> int:
        """GEMM K elements per input channel (kernel offsets)."""
        return self.kernel[0] * self.kernel[1]

    def span(self, axis: int, first: int, stop: int) -> int:
        """Distinct valid input indices along ``axis`` (0 rows, 1 columns) read by outputs
        ``first .. stop - 1`` under every kernel offset."""
        size = (self.height, self.width)[axis]
        s, p, d, k = (self.stride[axis], self.pad[axis], self.dilation[axis], self.kernel[axis])
        if d == 1 and k >= s:  # windows are intervals that touch or overlap: one interval
            lo, hi = first * s - p, (stop - 1) * s - p + k - 1
            return max(0, min(hi, size - 1) - max(lo, 0) + 1)
        return len({o * s - p + t * d for o in range(first, stop) for t in range(k)}
                   & set(range(size)))

    def tiles(self, m_cap: int) -> list[TileClass]:
        """Output tiles of at most ``m_cap`` positions, grouped into classes of equal size and
        footprint (the module doc): whole rows when a row fits, row segments otherwise."""
        return list(_tiles(self, m_cap))

    def tile_starts(self, m_cap: int) -> list[tuple[int, ...]]:
        """Per class of :meth:`tiles` (same order), the first output position (GEMM row, in
        raster order: image, output row, output column) of each of its tiles, in raster order.
        A tile covers the positions ``m0 .. m0 + size - 1``; the program's iterations over a
        class visit its tiles in this order (the engine does not fix it: they cost alike).

        >>> g = ConvGeometry(1, 3, 8, 8, (3, 3), (1, 1), (1, 1), (1, 1), 8, 8)
        >>> g.tile_starts(16)  # the edge tiles (rows 0-1, 6-7), then the interior ones
        [(0, 48), (16, 32)]
        """
        starts: dict[tuple[int, int], list[int]] = {}
        for m0, size, footprint in _raster_tiles(self, m_cap):
            starts.setdefault((size, footprint), []).append(m0)
        return [tuple(starts[(c.size, c.footprint)]) for c in self.tiles(m_cap)]

    def windows(self, axis: int, size: int) -> dict[tuple[int, int], int]:
        """{(outputs, input span): count} of the windows of ``size`` consecutive outputs
        along ``axis`` (0 rows, 1 columns) that cover it."""
        out = (self.out_h, self.out_w)[axis]
        counts: dict[tuple[int, int], int] = {}
        for first in range(0, out, size):
            stop = min(first + size, out)
            key = (stop - first, self.span(axis, first, stop))
            counts[key] = counts.get(key, 0) + 1
        return counts

    def tile_cap(self, cap: int) -> int:
        """The largest tile :meth:`tiles` makes under a cap of ``cap`` positions."""
        return min(self.out_h, cap // self.out_w) * self.out_w if self.out_w <= cap else cap


@functools.lru_cache(maxsize=4096)
def _tiles(g: ConvGeometry, m_cap: int) -> tuple[TileClass, ...]:
    counts: dict[tuple[int, int], int] = {}
    if g.out_w <= m_cap:  # r whole rows
        r = min(g.out_h, m_cap // g.out_w)
        rows, cols = g.windows(0, r), g.span(1, 0, g.out_w)
        pieces = [((n * g.out_w, span * cols), c) for (n, span), c in rows.items()]
    else:  # segments of one row
        rows, segments = g.windows(0, 1), g.windows(1, m_cap)
        pieces = [((n, r_span * c_span), rc * sc) for (_, r_span), rc in rows.items()
                  for (n, c_span), sc in segments.items()]
    for key, count in pieces:
        counts[key] = counts.get(key, 0) + count * g.batch
    return tuple(TileClass(size, count, fp) for (size, fp), count in counts.items())


def _raster_tiles(g: ConvGeometry, m_cap: int) -> Iterator[tuple[int, int, int]]:
    """(first position, size, footprint) of every tile of :func:`_tiles`, in raster order."""
    plane = g.out_h * g.out_w
    if g.out_w <= m_cap:  # r whole rows
        r = min(g.out_h, m_cap // g.out_w)
        cols = g.span(1, 0, g.out_w)
        for b in range(g.batch):
            for first in range(0, g.out_h, r):
                stop = min(first + r, g.out_h)
                yield (b * plane + first * g.out_w, (stop - first) * g.out_w,
                       g.span(0, first, stop) * cols)
        return
    for b in range(g.batch):  # segments of one row
        for oh in range(g.out_h):
            rows = g.span(0, oh, oh + 1)
            for first in range(0, g.out_w, m_cap):
                stop = min(first + m_cap, g.out_w)
                yield (b * plane + oh * g.out_w + first, stop - first,
                       rows * g.span(1, first, stop))


def clear_cache() -> None:
    _tiles.cache_clear()


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)
