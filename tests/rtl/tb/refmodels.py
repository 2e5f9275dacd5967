"""The testbenches' window on ``hwsim``: its functional references and closed-form timing.

Nothing here models hardware; each function adapts one ``hwsim`` call to the testbench's
arguments, so the RTL is always checked against the same code the simulator runs. The one
exception is :func:`xnor_reference`, plain integer arithmetic on the decoded operands written
from the contract in docs/timing.md, independently of the Verilog's bit-plane scheme.
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
    "xnor_operand",
    "xnor_reference",
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


def xnor_operand(code: int, bits: int, signed: bool) -> int:
    """The value of a ``bits``-bit operand code of the XNOR-popcount unit: a 1-bit code is
    binary (1 is +1, 0 is -1, whatever ``signed`` says); a wider one is two's complement if
    ``signed``, unsigned otherwise.

    >>> [xnor_operand(c, 1, True) for c in (0, 1)], xnor_operand(0b101, 3, True)
    ([-1, 1], -3)
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be in 1..8, not {bits}")
    if not 0 <= code < 1 << bits:
        raise ValueError(f"an operand code must be in [0, {1 << bits}), not {code}")
    if bits == 1:
        return 1 if code else -1
    return code - (1 << bits) if signed and code >> (bits - 1) else code


def xnor_reference(w, a, w_bits, a_bits, signed):
    """The XNOR-popcount unit on lane codes ``w`` and ``a``: ``(sum_l w_l * a_l, cycle it is
    valid)`` over the decoded values; the unit walks ``w_bits * a_bits`` bit-plane pairs, one
    per cycle.

    >>> xnor_reference([1, 0, 1], [1, 1, 0], 1, 1, signed=False)
    (-1, 1)
    >>> xnor_reference([3, 0b110], [0, 1], 3, 1, signed=True)
    (-5, 3)
    """
    if len(w) != len(a) or not w:
        raise ValueError("w and a must be non-empty and of the same length")
    value = sum(xnor_operand(wc, w_bits, signed) * xnor_operand(ac, a_bits, signed)
                for wc, ac in zip(w, a, strict=True))
    return value, w_bits * a_bits
