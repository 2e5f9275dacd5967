"""The testbenches' window on ``hwsim``: its functional references and closed-form timing.

Nothing here models hardware; each function adapts one ``hwsim`` call to the testbench's
arguments, so the RTL is always checked against the same code the simulator runs.
"""

from __future__ import annotations

from hwsim import reference
from hwsim.config import ArrayConfig
from hwsim.pe import PeConfig
from hwsim.timing import tile_cycles

__all__ = [
    "bitfusion_reference",
    "bitserial_reference",
    "os_closed_form",
    "os_reference",
    "ws_closed_form",
    "ws_reference",
]


def _int_array(rows: int, cols: int, bits: int) -> ArrayConfig:
    """The bit-parallel array the RTL implements, as hwsim describes it."""
    return ArrayConfig(
        rows=rows, cols=cols, dataflows=("ws", "os"), pe=PeConfig("int", width_bits=bits),
        clock_mhz=100.0,
    )


def ws_reference(A, W, rows, cols, a_bits, w_bits):
    """``hwsim.reference.ws_array`` on back-to-back tiles ``A[u] @ W[u]``."""
    return reference.ws_array(A, W, rows, cols, a_bits=a_bits, w_bits=w_bits)


def ws_closed_form(rows: int, cols: int, tiles: int, m: int, bits: int = 8) -> int:
    """``hwsim.timing.tile_cycles`` for ``tiles`` WS tiles of ``m`` activation rows."""
    return tile_cycles(_int_array(rows, cols, bits), "ws", m=m, k=rows, n=cols,
                       w_bits=bits, a_bits=bits, count=tiles)


def os_reference(A, B, rows, cols, a_bits, w_bits):
    """``hwsim.reference.os_array`` on back-to-back tiles ``A[u] @ B[u]``."""
    return reference.os_array(A, B, rows, cols, a_bits=a_bits, w_bits=w_bits)


def os_closed_form(rows: int, cols: int, tiles: int, k: int, bits: int = 8) -> int:
    """``hwsim.timing.tile_cycles`` for ``tiles`` OS tiles with a reduction of ``k``."""
    return tile_cycles(_int_array(rows, cols, bits), "os", m=rows, k=k, n=cols,
                       w_bits=bits, a_bits=bits, count=tiles)


def bitserial_reference(w, a, w_bits, a_bits, signed, mode):
    """``hwsim.reference.bitserial_dot``: ``(value, cycles)``."""
    return reference.bitserial_dot(w, a, w_bits, a_bits, signed, mode)


def bitfusion_reference(w, a, w_bits, a_bits, signed):
    """``hwsim.reference.bitfusion_dot``: ``(value, cycles)``."""
    return reference.bitfusion_dot(w, a, w_bits, a_bits, signed)
