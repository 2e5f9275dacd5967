"""Processing-element kinds: one interface, each kind an entry in :data:`PE_KINDS`.

A PE kind answers four questions about a tile at precision ``(w_bits, a_bits)`` (see
docs/timing.md, "Precision-scalable PEs"):

- ``stream_factor``: cycles one streamed operand word occupies (1 for a bit-parallel 8x8 MAC,
  ``a_bits`` for Stripes, ``a_bits * w_bits`` for Loom/BISMO, the temporal 16-bit factor for
  BitFusion, the number of passes for an ``int`` PE narrower than the operands);
- ``k_pack``: how many consecutive reduction elements one PE consumes per cycle (BitFusion's
  fused products; 1 otherwise);
- ``digit_bits``: how the functional reference splits operands into digits that a PE
  multiplies in one cycle (the stream factor is the number of digit pairs);
- ``energy_bits``: the operand widths the MAC energy model charges for.

Variation is data: adding a PE kind means adding a :class:`PeKind` entry, not a module.

>>> pe = PeConfig("bitfusion")
>>> pe.k_pack(4, 4), pe.stream_factor(4, 4), pe.macs_per_cycle(16, 16)
(4, 1, 0.25)
>>> PeConfig("bitserial", serial="both").stream_factor(3, 5)
15
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hwsim.errors import ProgramError

__all__ = ["PE_KINDS", "SERIAL_MODES", "PeConfig", "PeKind", "bitfusion_bits"]

SERIAL_MODES = ("activations", "both")


def bitfusion_bits(bits: int) -> int:
    """Round an operand width up to a BitFusion brick multiple: 2, 4, 8, or 16 (for 9..16).

    Sharma et al., ISCA 2018, Sec. III: a Fusion Unit composes 2-bit BitBricks into 2-, 4- and
    8-bit operands; 16-bit operands are handled temporally.

    >>> [bitfusion_bits(b) for b in (1, 2, 3, 5, 8, 9, 16)]
    [2, 2, 4, 8, 8, 16, 16]
    """
    for width in (2, 4, 8, 16):
        if bits <= width:
            return width
    raise ProgramError(f"BitFusion operand width must be at most 16 bits, not {bits!r}")


@dataclass(frozen=True, slots=True)
class PeKind:
    """The behaviour of one PE kind, as functions of ``(pe, w_bits, a_bits)``."""

    name: str
    stream_factor: Callable[[PeConfig, int, int], int]
    k_pack: Callable[[PeConfig, int, int], int]
    digit_bits: Callable[[PeConfig, int, int], tuple[int, int]]
    energy_bits: Callable[[PeConfig, int, int], tuple[int, int]]
    doc: str


def _int_passes(pe: PeConfig, w: int, a: int) -> int:
    return math.ceil(w / pe.width_bits) * math.ceil(a / pe.width_bits)


def _int_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return min(w, pe.width_bits), min(a, pe.width_bits)


def _serial_factor(pe: PeConfig, w: int, a: int) -> int:
    return a if pe.serial == "activations" else a * w


def _serial_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return (w, 1) if pe.serial == "activations" else (1, 1)


def _fusion_factor(pe: PeConfig, w: int, a: int) -> int:
    wr, ar = bitfusion_bits(w), bitfusion_bits(a)
    return (wr // 8 if wr > 8 else 1) * (ar // 8 if ar > 8 else 1)


def _fusion_pack(pe: PeConfig, w: int, a: int) -> int:
    wr, ar = min(bitfusion_bits(w), 8), min(bitfusion_bits(a), 8)
    return (8 // wr) * (8 // ar)


def _fusion_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return min(bitfusion_bits(w), 8), min(bitfusion_bits(a), 8)


def _fusion_energy_bits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return bitfusion_bits(w), bitfusion_bits(a)


def _one(pe: PeConfig, w: int, a: int) -> int:
    return 1


def _same_bits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return w, a


PE_KINDS: dict[str, PeKind] = {
    "int": PeKind(
        "int", _int_passes, _one, _int_digits, _same_bits,
        "bit-parallel MAC of width_bits; wider operands take ceil(w/W)*ceil(a/W) passes",
    ),
    "bitserial": PeKind(
        "bitserial", _serial_factor, _one, _serial_digits, _same_bits,
        "Stripes (serial: activations, Judd et al. MICRO 2016) or Loom/BISMO (serial: both, "
        "Sharify et al. DAC 2018; Umuroglu et al. FPL 2018)",
    ),
    "bitfusion": PeKind(
        "bitfusion", _fusion_factor, _fusion_pack, _fusion_digits, _fusion_energy_bits,
        "BitFusion fusion unit of 16 2-bit BitBricks (Sharma et al. ISCA 2018)",
    ),
}


@dataclass(frozen=True, slots=True)
class PeConfig:
    """One configured PE: its kind plus the kind's parameters.

    ``width_bits`` is the multiplier width of an ``int`` PE; ``serial`` is ``"activations"``
    or ``"both"`` for ``bitserial``; ``max_bits`` bounds the operand widths a program may use.
    """

    kind: str
    width_bits: int = 8
    serial: str | None = None
    max_bits: int = 16

    def __post_init__(self) -> None:
        if self.kind not in PE_KINDS:
            raise ProgramError(f"PE kind must be one of {sorted(PE_KINDS)}, not {self.kind!r}")
        if (self.kind == "bitserial") != (self.serial in SERIAL_MODES):
            raise ProgramError(
                f"PE serial must be one of {SERIAL_MODES} exactly for kind 'bitserial', "
                f"not {self.serial!r} for kind {self.kind!r}"
            )

    @property
    def spec(self) -> PeKind:
        return PE_KINDS[self.kind]

    def check_bits(self, w_bits: int, a_bits: int) -> None:
        """Raise :class:`ProgramError` unless both widths are in ``1..max_bits``."""
        for name, bits in (("w_bits", w_bits), ("a_bits", a_bits)):
            if not isinstance(bits, int) or not 1 <= bits <= self.max_bits:
                raise ProgramError(
                    f"{name} must be an integer in 1..{self.max_bits} for this "
                    f"{self.kind} PE, not {bits!r}"
                )

    def stream_factor(self, w_bits: int, a_bits: int) -> int:
        """Cycles one streamed operand word takes (docs/timing.md: ``p`` or ``t``)."""
        self.check_bits(w_bits, a_bits)
        return self.spec.stream_factor(self, w_bits, a_bits)

    def k_pack(self, w_bits: int, a_bits: int) -> int:
        """Consecutive reduction elements one PE consumes per cycle (BitFusion's ``f``)."""
        self.check_bits(w_bits, a_bits)
        return self.spec.k_pack(self, w_bits, a_bits)

    def macs_per_cycle(self, w_bits: int, a_bits: int) -> float:
        """Peak MACs one PE completes per cycle at this precision."""
        return self.k_pack(w_bits, a_bits) / self.stream_factor(w_bits, a_bits)

    def digit_bits(self, w_bits: int, a_bits: int) -> tuple[int, int]:
        """Digit widths ``(w, a)`` the reference model multiplies in one PE cycle."""
        self.check_bits(w_bits, a_bits)
        return self.spec.digit_bits(self, w_bits, a_bits)

    def energy_bits(self, w_bits: int, a_bits: int) -> tuple[int, int]:
        """Operand widths the MAC energy model charges (BitFusion rounds up to bricks)."""
        self.check_bits(w_bits, a_bits)
        return self.spec.energy_bits(self, w_bits, a_bits)
