"""Dataflows as records: which GEMM dimensions sit on the array and which one streams.

A tile is one GEMM block ``A (m x k) @ W (k x n)``. A dataflow is a spatial mapping, as
ZigZag writes it: one GEMM dimension unrolls over the array's rows, one over its columns, and
the third streams through the array in time. The tensor whose two dimensions are spatial stays
in the PEs:

========  ==========  ==========  ========  ===========================================
dataflow  rows        columns     streams   stationary
========  ==========  ==========  ========  ===========================================
ws        k (x f)     n           m         weights ``k x n``; input rows stream
is        k (x f)     m           n         inputs ``A^T`` (``k x m``); weight columns stream
os        m           n           k         outputs ``m x n``; the reduction streams
========  ==========  ==========  ========  ===========================================

``f`` is the PE's ``k_pack`` (BitFusion fuses ``f`` products of consecutive ``k`` per cycle).
Every formula below is written once, over these roles; nothing outside this module asks
which dataflow it is. Adding a dataflow is one :class:`Dataflow` in :data:`DATAFLOWS` (and a
test holding its timing to a reference model).

Timing (docs/timing.md). With ``s`` the streamed length in cycles (``p`` cycles per streamed
word, :meth:`hwsim.pe.PeConfig.stream_factor`), a tile's first output latency is::

    first = preload + s + R + C - 2      preload = R for an operand-stationary dataflow (its
                                         stationary tile enters through the rows), 0 for OS

which for one tile is SCALE-Sim's fold time (WS ``2R + C + s - 2``, OS ``s + R + C - 2``).
Back-to-back identical tiles issue every ``period`` cycles: in ``native`` timing an
operand-stationary array overlaps the next tile's ``R``-cycle preload with the current stream
(``max(s, R)``), an output-stationary one waits for its input stream, its ``R`` result rows on
the output port and the result register of column 0 (``max(s, R, C)``); in ``scalesim`` timing
folds are serialized (``period = first``).

>>> WS.caps(rows=16, cols=8, k_pack=1), OS.caps(rows=16, cols=8, k_pack=1)
((0, 16, 8), (16, 0, 8))
>>> WS.first(16, 16, 64), WS.period(16, 16, 64, "native"), OS.period(16, 16, 8, "native")
(110, 64, 16)
>>> get_dataflow("xs")
Traceback (most recent call last):
...
hwsim.errors.ProgramError: dataflow must be one of ('ws', 'os', 'is'), not 'xs'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from hwsim.errors import ProgramError
from hwsim.fields import shown
from hwsim.memory import BUFFER_NAMES

__all__ = ["DATAFLOWS", "GEMM_DIMS", "IS", "MODES", "OS", "TENSOR_DIMS", "WS", "Dataflow",
           "check_mode", "get_dataflow"]

MODES = ("native", "scalesim")
"""Timing modes: systolab's own (double-buffered) timing, or SCALE-Sim's serialized folds."""

GEMM_DIMS = ("m", "k", "n")
TENSOR_DIMS: dict[str, tuple[str, str]] = dict(zip(BUFFER_NAMES, (("m", "k"), ("k", "n"),
                                                                   ("m", "n")), strict=True))
"""The GEMM dimensions of each tensor of a tile: input, weight, output, each held in the SRAM
buffer of its name (:data:`hwsim.memory.BUFFER_NAMES`)."""


def check_mode(mode: str) -> None:
    """Raise :class:`ProgramError` unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise ProgramError(f"timing mode must be one of {MODES}, not {shown(mode)}")


@dataclass(frozen=True, slots=True)
class Dataflow:
    """One dataflow: the spatial mapping (``rows``, ``cols``: GEMM dimensions over the array's
    rows and columns; ``streamed``: the one in time) and what follows from it. ``fpga_kernel``
    names the synthesized ``rtl/`` PE a bit-parallel array of this dataflow is built from
    (``configs/fpga/pe_resources.yaml``)."""

    name: str
    title: str
    rows: str
    cols: str
    streamed: str
    fpga_kernel: str

    def __post_init__(self) -> None:
        if sorted((self.rows, self.cols, self.streamed)) != sorted(GEMM_DIMS):
            raise ProgramError(f"dataflow {self.name!r}: rows, cols and streamed must be m, k "
                               f"and n in some order, not {(self.rows, self.cols, self.streamed)}")

    # -- spatial mapping -------------------------------------------------------------------

    @property
    def stationary(self) -> str:
        """The tensor held in the PEs: the one whose dimensions are both spatial."""
        return next(t for t, dims in TENSOR_DIMS.items() if self.streamed not in dims)

    @property
    def holds_outputs(self) -> bool:
        """The reduction streams through the PEs, so each output accumulates in place."""
        return self.streamed == "k"

    @property
    def psum_readback(self) -> bool:
        """A tile's outputs are partial sums over its slice of ``k`` that the output buffer
        reads back and accumulates (read-modify-write), when the reduction is spatial."""
        return not self.holds_outputs

    def caps(self, rows: int, cols: int, k_pack: int) -> tuple[int, int, int]:
        """Upper bounds on a tile's ``(m, k, n)`` from the array alone (0: the streamed
        dimension, bounded by the buffers only). ``k`` on a PE axis packs ``k_pack`` per PE."""
        cap = dict.fromkeys(GEMM_DIMS, 0)
        cap[self.rows] = rows * (k_pack if self.rows == "k" else 1)
        cap[self.cols] = cols * (k_pack if self.cols == "k" else 1)
        return cap["m"], cap["k"], cap["n"]

    def check_fits(self, rows: int, cols: int, k_pack: int, m: int, k: int, n: int,
                   what: str) -> None:
        """Raise :class:`ProgramError` unless the tile's spatial dimensions fit the array
        (``what`` describes the array and precision for the message)."""
        size = {"m": m, "k": k, "n": n}
        caps = dict(zip(GEMM_DIMS, self.caps(rows, cols, k_pack), strict=True))
        for dim in (self.rows, self.cols):
            if size[dim] > caps[dim]:
                raise ProgramError(f"{self.name.upper()} tile {dim} must be at most {caps[dim]} "
                                   f"on a {rows}x{cols} {what}, not {shown(size[dim])}")

    def stream_words(self, m: int, k: int, n: int, k_pack: int) -> int:
        """Words of the streamed operand per tile (a reduction packs ``k_pack`` per word)."""
        size = {"m": m, "k": k, "n": n}[self.streamed]
        return math.ceil(size / k_pack) if self.streamed == "k" else size

    # -- timing (module doc) ---------------------------------------------------------------

    def first(self, R: int, C: int, s: int) -> int:
        """Latency of one tile: the cycle its last output is valid (a SCALE-Sim fold)."""
        preload = 0 if self.holds_outputs else R
        return preload + s + R + C - 2

    def period(self, R: int, C: int, s: int, mode: str) -> int:
        """Cycles between the issues of back-to-back identical tiles."""
        if mode == "scalesim":
            return self.first(R, C, s)
        return max(s, R, C) if self.holds_outputs else max(s, R)

    def result_spacing(self, R: int, C: int, mode: str) -> int:
        """Cycles from a tile's first result write to the next tile's, at least (0: none
        beyond the issue period). An output-stationary array holds one finished result per
        PE and presents them a row per cycle: the next tile's results may leave the array
        only ``max(R, C)`` cycles after this tile's first row, so a tile with a shorter
        reduction than the one before it (an edge k tile) issues later than the period
        says. Back-to-back identical tiles are unaffected (``period >= max(R, C)``)."""
        if mode == "scalesim" or not self.holds_outputs:
            return 0
        return max(R, C)

    def spans(self, R: int, C: int, s: int, mode: str) -> tuple[int, int]:
        """(cycles after issue until a tile has read its operands from SRAM, which frees their
        slots; cycles after issue until it writes its first result, which needs its output
        slot).

        The driver reads SRAM unskewed: an operand-stationary tile reads its stationary tile
        in ``R`` cycles, then the ``s`` streamed words, and its first result leaves the array
        ``2R`` cycles after issue; an output-stationary tile reads both operand streams in
        ``s`` cycles and presents its first result row in cycle ``s + C - 1``. SCALE-Sim's
        serialized folds hold operands and results for a whole fold.
        """
        if mode == "scalesim":
            return self.first(R, C, s), 0
        if self.holds_outputs:
            return s, s + C - 1
        return R + s, 2 * R

    def nominal(self, R: int, C: int, m: int, k: int, n: int,
                mode: str) -> tuple[Fraction, Fraction]:
        """(read span, result latency) in units of the issue period on a bit-parallel array
        (``p = f = 1``): independent of bits and DRAM speed, they fix the DRAM channel's
        order (:mod:`hwsim._schedule`)."""
        if mode == "scalesim":
            return Fraction(1), Fraction(1)
        s = self.stream_words(m, k, n, 1)
        period = self.period(R, C, s, mode)
        return Fraction(self.spans(R, C, s, mode)[0], period), Fraction(self.first(R, C, s), period)

    # -- SRAM access pattern ---------------------------------------------------------------

    def sram_bits(self, m: int, k: int, n: int, w_bits: int, a_bits: int,
                  acc_bits: int) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
        """(reads, writes) of one tile, as (buffer, bits): operands are read once, results
        written once at ``acc_bits``, and partial sums read back where they are accumulated in
        the output buffer (:attr:`psum_readback`)."""
        return self.sram_bits_of(m * k, k * n, m * n, w_bits, a_bits, acc_bits)

    def sram_bits_of(self, mk: int, kn: int, mn: int, w_bits: int, a_bits: int,
                     acc_bits: int) -> tuple[tuple[tuple[str, int], ...],
                                             tuple[tuple[str, int], ...]]:
        """:meth:`sram_bits` of tiles whose ``m k``, ``k n`` and ``m n`` products sum to
        ``mk``, ``kn`` and ``mn`` (the bits are linear in them: tiles add up)."""
        out = mn * acc_bits
        reads = [("input", mk * a_bits), ("weight", kn * w_bits)]
        if self.psum_readback:
            reads.append(("output", out))
        return tuple(reads), (("output", out),)


WS = Dataflow("ws", "weight stationary", rows="k", cols="n", streamed="m", fpga_kernel="ws_pe")
OS = Dataflow("os", "output stationary", rows="m", cols="n", streamed="k", fpga_kernel="os_pe")
IS = Dataflow("is", "input stationary", rows="k", cols="m", streamed="n", fpga_kernel="ws_pe")
# IS runs on the WS array with the roles of inputs and weights swapped (docs/timing.md).

DATAFLOWS: dict[str, Dataflow] = {df.name: df for df in (WS, OS, IS)}


def get_dataflow(name: str) -> Dataflow:
    """The record of the dataflow called ``name``."""
    try:
        return DATAFLOWS[name]
    except (KeyError, TypeError):
        raise ProgramError(f"dataflow must be one of {tuple(DATAFLOWS)}, not {shown(name)}") from None
