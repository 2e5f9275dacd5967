"""Closed-form compute cycles of systolic-array tiles (the contract of docs/timing.md).

A tile is one GEMM block ``A (m x k) @ W (k x n)`` that fits the array. Its dataflow
(:mod:`hwsim.dataflow`, one record each) says which dimensions sit on the array and which one
streams, and owns the formulas; this module adds the PE (its stream factor and ``k_pack``):

- **WS**: ``W`` (``k <= R * f``, ``n <= C``) is held in the PEs, the ``m`` rows of ``A`` stream.
- **IS**: ``A^T`` (``k <= R * f``, ``m <= C``) is held, the ``n`` columns of ``W`` stream.
- **OS**: the ``m x n`` outputs (``m <= R``, ``n <= C``) stay, the reduction of ``k`` streams.

``f`` is the PE's ``k_pack`` (BitFusion's fused products per cycle, 1 otherwise) and ``p`` its
``stream_factor`` (cycles per streamed word). With ``s`` the streamed length in cycles
(WS ``p*m``, IS ``p*n``, OS ``p*ceil(k/f)``), ``T`` back-to-back identical tiles take, in
``native`` mode (weights double-buffered, one tile's weight load hidden under the previous
tile's stream)::

    WS/IS:  R + (T-1) * max(s, R) + s + R + C - 2
    OS:         (T-1) * max(s, R, C) + s + R + C - 2

WS timing diagram (R = C = 2, M = 3, T = 2, p = 1; L = weight load, 0/1 = a row of tile 0/1,
o = an output presented valid; the latency is the cycle of the last ``o``)::

    cycle      0 1 2 3 4 5 6 7 8 9 10
    weights    L L   L L   tile 1's load hides under tile 0's stream
    row 0 in       0 0 0 1 1 1
    row 1 in         0 0 0 1 1 1
    col 0 out          o o o o o o
    col 1 out            o o o o o o   R + (T-1)*max(M,R) + M + R + C - 2 = 10

OS timing diagram (R = C = 2, K = 3, T = 1; a/b = operands entering, r = a result row on
the C-wide output port)::

    cycle      0 1 2 3 4 5
    row 0 A    a a a
    row 1 A      a a a
    col 1 B      b b b
    out row 0          r   K + C - 1
    out row 1            r   K + R + C - 2 = 5

``scalesim`` mode reproduces SCALE-Sim's assumptions instead: folds are serialized and the
weight preload is not overlapped, so ``T`` tiles take ``T`` times the fold time
(WS ``2R + C + s - 2``, IS the same with ``n``, OS ``s + R + C - 2``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from hwsim.config import Arch, ArrayConfig
from hwsim.dataflow import MODES, check_mode, get_dataflow
from hwsim.errors import ProgramError
from hwsim.fields import shown

__all__ = ["MODES", "TileTiming", "check_mode", "check_tile", "stream_cycles", "tile_cycles",
           "tile_timing"]


@dataclass(frozen=True, slots=True)
class TileTiming:
    """Timing of a run of identical tiles issued back to back.

    ``first``: latency of one tile alone; ``period``: cycles between the starts of consecutive
    tiles. ``T`` tiles take ``first + (T - 1) * period``.
    """

    first: int
    period: int

    def cycles(self, count: int) -> int:
        return self.first + (count - 1) * self.period


def _array(arch_or_array: Arch | ArrayConfig) -> ArrayConfig:
    return arch_or_array.array if isinstance(arch_or_array, Arch) else arch_or_array


def check_tile(array: ArrayConfig, dataflow: str, m: int, k: int, n: int,
               w_bits: int, a_bits: int) -> None:
    """Raise :class:`ProgramError` unless the tile fits the array for this dataflow."""
    df = get_dataflow(dataflow)
    for name, v in (("m", m), ("k", k), ("n", n)):
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ProgramError(f"tile {name} must be a positive integer, not {shown(v)}")
    df.check_fits(array.rows, array.cols, array.pe.k_pack(w_bits, a_bits), m, k, n,
                  f"{array.pe.kind} array at w{w_bits}a{a_bits}")


def stream_cycles(array: ArrayConfig, dataflow: str, m: int, k: int, n: int,
                  w_bits: int, a_bits: int) -> int:
    """``s``: cycles the streamed operand of one tile occupies the array's input port."""
    words = get_dataflow(dataflow).stream_words(m, k, n, array.pe.k_pack(w_bits, a_bits))
    return array.pe.stream_factor(w_bits, a_bits) * words


def tile_timing(arch_or_array: Arch | ArrayConfig, dataflow: str, m: int, k: int, n: int,
                w_bits: int = 8, a_bits: int = 8, mode: str = "native") -> TileTiming:
    """First-tile latency and issue period of a tile (see the module doc for the formulas).

    >>> from hwsim.config import load_arch
    >>> tile_timing(load_arch("edge_int8"), "ws", m=64, k=16, n=16)
    TileTiming(first=110, period=64)
    """
    array = _array(arch_or_array)
    if type(m) is type(k) is type(n) is type(w_bits) is type(a_bits) is int:
        return _tile_timing_cached(array, dataflow, m, k, n, w_bits, a_bits, mode)
    return _tile_timing(array, dataflow, m, k, n, w_bits, a_bits, mode)  # (raises, mostly)


def _tile_timing(array: ArrayConfig, dataflow: str, m: int, k: int, n: int, w_bits: int,
                 a_bits: int, mode: str) -> TileTiming:
    check_mode(mode)
    check_tile(array, dataflow, m, k, n, w_bits, a_bits)
    df = get_dataflow(dataflow)
    R, C = array.rows, array.cols
    s = stream_cycles(array, dataflow, m, k, n, w_bits, a_bits)
    return TileTiming(first=df.first(R, C, s), period=df.period(R, C, s, mode))


# Every simulation and every mapping asks for the timing of the same few tile shapes; keyed
# only on exact ints (``True == 1`` and ``8.0 == 8`` must still be checked and refused).
_tile_timing_cached = functools.lru_cache(maxsize=1 << 16)(_tile_timing)


def clear_cache() -> None:
    """Forget the cached tile timings (to time a cold run)."""
    _tile_timing_cached.cache_clear()


def tile_cycles(arch_or_array: Arch | ArrayConfig, dataflow: str, m: int, k: int, n: int,
                w_bits: int = 8, a_bits: int = 8, count: int = 1, mode: str = "native") -> int:
    """Cycles of ``count`` identical tiles issued back to back (latency of the last output).

    >>> from hwsim.config import load_arch
    >>> arch = load_arch("edge_int8")
    >>> tile_cycles(arch, "ws", m=64, k=16, n=16, count=10)
    686
    >>> tile_cycles(arch, "ws", m=64, k=16, n=16, count=10, mode="scalesim")
    1100
    >>> tile_cycles(load_arch("stripes"), "os", m=8, k=100, n=8, a_bits=4)
    494
    """
    if not isinstance(count, int) or count <= 0:
        raise ProgramError(f"count must be a positive integer, not {shown(count)}")
    return tile_timing(arch_or_array, dataflow, m, k, n, w_bits, a_bits, mode).cycles(count)
