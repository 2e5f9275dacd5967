"""Convolution layers for the accelerator's testbench (tb_accel.py): a :class:`ConvCase`
answers what ``accel_program.build_program`` asks of a case, as ``LayerCase`` does for a GEMM.

Layout (rtl/accel.v): the input feature map lies in DRAM in NHWC order, the weights as the
GEMM's K x N matrix (``weight.reshape(N, -1).T``: K index ``c * KH * KW + kh * KW + kw``), the
output as M x N (positions in raster order, image, row, column). An input load moves the
tile's footprint (``compiler.mapping.geometry``): the input pixels its windows read, one
SRAM row per pixel holding the load's channels, in raster order within the footprint (a
3-D descriptor: ``fw`` pixels of a row, ``fh`` rows). A 1 x 1 convolution with a stride
(and no padding) gathers one pixel per output, so its slot is the plain GEMM tile. An
``nkm`` nest streams footprints as ``nmk`` does (its partial sums stay in output regions,
accel_program's module doc); a resident order's input block is one SRAM k tile's footprint.

The reference output is the convolution itself, summed over kernel offsets from the padded
map in numpy (int64), not through the im2col the hardware walks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from accel_program import OUT_BITS, Descriptor, LayerRegs, TileGeo, Unfit, weight_descriptor

from compiler.ir import Gemm
from compiler.mapping.codegen import GemmTile
from compiler.mapping.geometry import ConvGeometry
from compiler.mapping.tiling import GemmMapping, enumerate_mappings, mapping_for
from hwsim.config import Arch

RESIDENT = ("mnk", "Nmnk")  # orders whose input block (a footprint) stays across n tiles


@dataclass(frozen=True)
class ConvCase:
    """``batch`` images of ``cin`` channels of ``height x width`` through a ``kernel x
    kernel`` convolution with ``stride`` and ``pad`` to ``cout`` channels, on a channel of
    ``bpc`` bits per cycle with a latency of ``latency`` cycles. ``tiles`` = (m_t, channels
    per k tile, n_t) fixes the mapping, with ``order`` (and an ``Nmnk`` nest's ``n_block``);
    None: the mappings of ``enumerate_mappings`` in ``order`` (bands allowed, the build's
    dataflow), largest tiles first, tried from the ``pick``-th on until one fits. A resident
    order (``mnk``, ``Nmnk``) needs one SRAM k tile: its input block is then the footprint
    with all channels, as a streamed load's (``nkm`` streams its loads). ``dilation`` and
    ``groups`` other than 1 are refused (:class:`Unfit` names them)."""

    name: str
    batch: int
    cin: int
    height: int
    width: int
    cout: int
    kernel: int
    stride: int
    pad: int
    bpc: int
    latency: int
    tiles: tuple[int, int, int] | None = None
    pick: int = 0
    dilation: int = 1
    groups: int = 1
    order: str = "nmk"
    n_block: int = 0

    def __post_init__(self) -> None:
        """What rtl/accel.v's address generator walks: footprints whose rows and columns are
        intervals (dilation 1, kernel >= stride), or one gathered pixel per output."""
        if self.groups != 1:
            raise Unfit(f"{self.name}: groups must be 1, not {self.groups} (a grouped or "
                        f"depthwise convolution is not supported)")
        if self.dilation != 1:
            raise Unfit(f"{self.name}: dilation must be 1, not {self.dilation}")
        if self.kernel < self.stride and (self.kernel, self.pad) != (1, 0):
            raise Unfit(f"{self.name}: a {self.kernel}x{self.kernel} kernel with stride "
                        f"{self.stride} (windows with gaps) is not supported, only kernel >= "
                        f"stride or 1x1 without padding")
        if self.out_h < 1 or self.out_w < 1:
            raise Unfit(f"{self.name}: no output")

    @property
    def out_h(self) -> int:
        return (self.height + 2 * self.pad - self.kernel) // self.stride + 1

    @property
    def out_w(self) -> int:
        return (self.width + 2 * self.pad - self.kernel) // self.stride + 1

    @property
    def M(self) -> int:
        return self.batch * self.out_h * self.out_w

    @property
    def N(self) -> int:
        return self.cout

    @property
    def K(self) -> int:
        return self.cin * self.kernel ** 2

    @property
    def gemm(self) -> Gemm:
        return Gemm(self.M, self.N, self.K)

    @property
    def geometry(self) -> ConvGeometry:
        k, s, p = self.kernel, self.stride, self.pad
        return ConvGeometry(self.batch, self.cin, self.height, self.width, (k, k), (s, s),
                            (p, p), (1, 1), self.out_h, self.out_w)

    @property
    def gathered(self) -> bool:
        """A strided 1x1 convolution: one pixel per output, the plain GEMM read path."""
        return self.kernel == 1

    @property
    def regs(self) -> LayerRegs:
        if self.gathered:
            return LayerRegs()
        k, s = self.kernel, self.stride
        return LayerRegs(k, k, s, s, self.out_w, (self.out_w - 1) * s)

    def mappings(self, arch: Arch, dataflow: str) -> list[GemmMapping]:
        g, geo = self.gemm, self.geometry
        if self.tiles is not None:
            m_t, per_tile, n_t = self.tiles
            mp = mapping_for(g, 8, 8, OUT_BITS, arch, dataflow, m_t=m_t,
                             units_per_tile=per_tile, n_t=n_t, order=self.order,
                             n_block=self.n_block, geometry=geo)
            if mp is None:
                raise Unfit(f"{self.name}: tiles {self.tiles} do not fit the array")
            if mp.order in RESIDENT and mp.kplan.units > mp.kplan.per_tile:
                raise Unfit(f"{self.name}: an {mp.order} nest of a convolution needs one "
                            f"SRAM k tile (its input block is a footprint), not "
                            f"{-(-mp.kplan.units // mp.kplan.per_tile)}")
            return [mp]
        mps = sorted((mp for mp in enumerate_mappings(g, 8, 8, OUT_BITS, arch, geometry=geo)
                      if mp.dataflow == dataflow and mp.order == self.order
                      and (mp.order not in RESIDENT
                           or mp.kplan.units == mp.kplan.per_tile)),
                     key=lambda mp: (-mp.m_t, -mp.kplan.per_tile, -mp.n_t, -mp.n_block,
                                     repr(mp)))
        start = self.pick % len(mps) if mps else 0
        return mps[start:] + mps[:start]

    # -- the footprint of a tile of output positions ---------------------------------------
    def footprint(self, m0: int, m: int) -> tuple[int, int, int, int, int, int, int]:
        """(image, first input row and column, rows fh, columns fw, first output row and
        column) of the pixels the outputs ``m0 .. m0 + m - 1`` read (one image: whole output
        rows, or a segment of one)."""
        plane = self.out_h * self.out_w
        img, first = divmod(m0, plane)
        oh0, ow0 = divmod(first, self.out_w)
        oh1, ow1 = divmod(first + m - 1, self.out_w)
        assert (m0 + m - 1) // plane == img and (oh0 == oh1 or (ow0, ow1) == (0, self.out_w - 1))
        c0, c1 = (ow0, ow1) if oh0 == oh1 else (0, self.out_w - 1)
        s, p, k = self.stride, self.pad, self.kernel
        if self.gathered:
            return img, oh0 * s, c0 * s, oh1 - oh0 + 1, c1 - c0 + 1, oh0, ow0
        ih0, ih1 = max(0, oh0 * s - p), min(self.height - 1, oh1 * s - p + k - 1)
        iw0, iw1 = max(0, c0 * s - p), min(self.width - 1, c1 * s - p + k - 1)
        return img, ih0, iw0, ih1 - ih0 + 1, iw1 - iw0 + 1, oh0, ow0

    def load_descriptor(self, buffer: str, block: GemmTile, n_tile: int,
                        mp: GemmMapping) -> Descriptor:
        """An input load moves its tile's footprint, one SRAM row per pixel holding the
        block's channels; a weight load as a GEMM's (accel_program.weight_descriptor)."""
        x_size = self.batch * self.height * self.width * self.cin
        if buffer == "weight":
            return weight_descriptor(x_size, block, n_tile, self.N)
        img, ih0, iw0, fh, fw, _, _ = self.footprint(block.m0, block.m)
        taps = self.kernel ** 2
        c0, channels = block.k0 // taps, block.k // taps
        step = self.stride if self.gathered else 1  # input pixels apart along a row / column
        return Descriptor(((img * self.height + ih0) * self.width + iw0) * self.cin + c0,
                          step * self.cin, fh * fw, channels, fw, step * self.width * self.cin)

    def store_descriptor(self, tile: GemmTile) -> Descriptor:
        o_base = self.batch * self.height * self.width * self.cin + self.K * self.N
        return Descriptor(o_base + tile.m0 * self.N + tile.n0, self.N, tile.m, tile.n)

    def input_offset(self, tile: GemmTile, load: GemmTile, mp: GemmMapping) -> int:
        """0: a tile walks its footprint from the slot's first row (its first K element's
        channel in the load: :meth:`tile_geo`)."""
        return 0

    def tile_geo(self, tile: GemmTile, load: GemmTile, mp: GemmMapping) -> TileGeo:
        if self.gathered:
            return TileGeo.gemm(tile.m)
        _, ih0, iw0, fh, fw, oh0, ow0 = self.footprint(tile.m0, tile.m)
        s, p, k = self.stride, self.pad, self.kernel
        bh0, bw0 = oh0 * s - p - ih0, ow0 * s - p - iw0
        kc0, tap = divmod(tile.k0 - load.k0, k * k)
        kh0, kw0 = divmod(tap, k)
        return TileGeo(ow0, bh0, bw0, bh0 * fw + bw0, fh, fw, s * fw - (self.out_w - 1) * s,
                       kc0, kh0, kw0, kh0 * fw + kw0)

    def data(self, rng: np.random.Generator) -> tuple[np.ndarray, int, np.ndarray]:
        """(DRAM image: the NHWC input, then the K x N weights, flat; O's address; the
        reference output, M x N)."""
        x = rng.integers(-128, 128, size=(self.batch, self.height, self.width, self.cin))
        w = rng.integers(-128, 128, size=(self.cout, self.cin, self.kernel, self.kernel))
        wg = w.reshape(self.cout, -1).T
        return (np.concatenate([x.ravel(), wg.ravel()]), x.size + wg.size,
                conv2d_nhwc(x, w, self.stride, self.pad).reshape(self.M, self.N))


def conv2d_nhwc(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """The convolution of NHWC ``x`` with OIHW ``w``: per kernel offset, the strided window
    of the zero-padded map times that offset's weights, summed (int64)."""
    n_out, _, kh_n, kw_n = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    oh = (xp.shape[1] - kh_n) // stride + 1
    ow = (xp.shape[2] - kw_n) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, n_out), np.int64)
    for kh in range(kh_n):
        for kw in range(kw_n):
            window = xp[:, kh:kh + stride * (oh - 1) + 1:stride,
                        kw:kw + stride * (ow - 1) + 1:stride, :]
            out += np.einsum("bhwc,nc->bhwn", window, w[:, :, kh, kw].astype(np.int64))
    return out


def directed_conv_cases(R: int, C: int) -> list[ConvCase]:
    """Convolutions shaped after zoo layers, shrunk; DRAM latency shorter and longer than a
    tile. Output channels stay at one or two n tiles of the smallest arrays (the tile queue
    holds 128 tiles: a 7x7 channel is 25 bands of a 2-row array)."""
    return [
        # ResNet-18's basic-block conv: 3x3, stride 1, pad 1, an n edge tile; latency shorter
        # than a tile
        ConvCase("resnet_block_3x3", 1, 4, 6, 6, min(C + 1, 5), 3, 1, 1, 8, 3),
        # its downsampling conv: 3x3, stride 2, pad 1; latency longer than a tile
        ConvCase("resnet_down_3x3_s2", 1, 4, 7, 7, 4, 3, 2, 1, 8, 40),
        # its 1x1 stride-2 shortcut: one pixel per output, gathered by the descriptor
        ConvCase("resnet_shortcut_1x1_s2", 2, 4, 6, 6, 3, 1, 2, 0, 8, 20),
        # its stem: 7x7, stride 2, pad 3 over 3 channels, on an 8x8 map
        ConvCase("resnet_stem_7x7_s2", 1, 3, 8, 8, 2, 7, 2, 3, 8, 6),
        # LeNet-5's conv: 5x5 valid
        ConvCase("lenet_conv_5x5", 1, 2, 8, 8, 3, 5, 1, 0, 8, 30),
        # the block conv in the orders the mapper picks most (one SRAM k tile, so an input
        # block is the footprint), on a map as wide as the array has rows (one output row a
        # tile on OS) and two full n tiles and an edge: mnk (the inputs stay across n
        # tiles), Nmnk (the weights too, in one block per n tile size)
        ConvCase("resnet_block_3x3_mnk", 1, 2, 4, R, 2 * C + 1, 3, 1, 1, 8, 3, order="mnk"),
        ConvCase("resnet_block_3x3_Nmnk", 1, 2, 4, R, 2 * C + 1, 3, 1, 1, 8, 3,
                 order="Nmnk"),
        # a 1x1 conv in an nkm nest (a k tile without bands: WS holds no 3x3 channel): two
        # k steps of R channels, four or more m tiles keeping their partial sums in regions
        # of the output slot, two full n tiles and an edge
        ConvCase("conv1x1_nkm", 1, 2 * R, 4, 4, 2 * C + 1, 1, 1, 0, 8, 3, (min(R, 4), R, C),
                 order="nkm"),
    ]


def random_conv_case(rng: np.random.Generator, index: int) -> ConvCase:
    """A random small convolution (kernel >= stride, or 1x1 strided without padding), its
    mapping pick and channel."""
    kernel = int(rng.choice([1, 2, 3, 5]))
    stride = int(rng.integers(1, min(kernel, 2) + 1)) if kernel > 1 else int(rng.integers(1, 3))
    pad = int(rng.integers(0, kernel // 2 + 1)) if kernel > 1 else 0
    size = int(rng.integers(max(kernel - 2 * pad, 2), 9))
    return ConvCase(f"random_conv_{index}", int(rng.integers(1, 3)), int(rng.integers(1, 5)),
                    size, int(rng.integers(max(kernel - 2 * pad, 2), 9)),
                    int(rng.integers(1, 7)), kernel, stride, pad,
                    int(rng.choice([4, 8, 16])), int(rng.choice([1, 3, 8, 20, 50])),
                    None, int(rng.integers(0, 64)))
