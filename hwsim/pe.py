"""Processing-element kinds: one interface, each kind one entry in :data:`PE_KINDS`.

A :class:`PeKind` owns everything that differs between kinds, so adding a kind is adding an
entry (and its reference-model and RTL tests), not editing the modules that use PEs:

- **timing** (docs/timing.md, "Precision-scalable PEs"): ``stream_factor``, the cycles one
  streamed operand word occupies (1 for a bit-parallel 8x8 MAC, ``a_bits`` for Stripes,
  ``a_bits * w_bits`` for Loom/BISMO, the temporal 16-bit factor for BitFusion, the number of
  passes for an ``int`` PE narrower than the operands); ``k_pack``, how many consecutive
  reduction elements one PE consumes per cycle (BitFusion's fused products; 1 otherwise);
  ``digit_bits``, how the functional reference splits operands into the digits a PE
  multiplies in one cycle (the stream factor is the number of digit pairs);
- **legal configurations and bits**: its serial variants, a fixed multiplier width, the
  widest operands it can take; :class:`PeConfig` checks them when it is built, with the
  field-naming messages of the config loader;
- **energy per MAC** at ``(w_bits, a_bits)``, priced from the arch's energy table;
- **area** of one PE, priced from an area table (:mod:`hwsim.area` adds the array around it);
- **FPGA cost**: the synthesized ``rtl/`` kernel whose per-PE resources it uses
  (``configs/fpga/pe_resources.yaml``) and which entry of it.

>>> pe = PeConfig("bitfusion")
>>> pe.k_pack(4, 4), pe.stream_factor(4, 4), pe.macs_per_cycle(16, 16)
(4, 1, 0.25)
>>> PeConfig("bitserial", serial="both").stream_factor(3, 5)
15
>>> PeConfig("bitfusion", max_bits=32)
Traceback (most recent call last):
...
hwsim.errors.ConfigError: array.pe.max_bits must be at most 16 for a bitfusion PE, not 32
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import InitVar, dataclass
from typing import Any, ClassVar

from hwsim.errors import ConfigError, ProgramError
from hwsim.fields import POSITIVE_INT, Check, Checked, fail, one_of
from hwsim.tables import AreaTable, EnergyTable

__all__ = ["PE_KINDS", "PeConfig", "PeKind", "bitfusion_bits"]

Bits = Callable[["PeConfig", int, int], int]
Widths = Callable[["PeConfig", int, int], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class PeKind:
    """The behaviour of one PE kind (see the module doc); functions take ``(pe, ...)``.

    ``serial_modes``: the bit-serial variants a config chooses with ``serial:`` (the first is
    the default in sweeps); ``fixed_width``: the multiplier width the kind always has;
    ``max_bits_limit``: the widest operands it can take; ``sized``: ``width_bits`` is a design
    parameter (the multiplier width, the synthesized kernel's width, ``int8`` in sweeps).
    ``fpga_kernel``: the synthesized kernel it is built from, or ``None`` for the bit-parallel
    PE of the array's dataflow (:attr:`hwsim.dataflow.Dataflow.fpga_kernel`).
    """

    name: str
    doc: str
    stream_factor: Bits
    k_pack: Bits
    digit_bits: Widths
    mac_pj: Callable[[PeConfig, EnergyTable, int, int], float]
    area_um2: Callable[[PeConfig, AreaTable], float]
    fpga_kernel: str | None = None
    serial_modes: tuple[str, ...] = ()
    fixed_width: int | None = None
    max_bits_limit: int | None = None
    sized: bool = False

    def configure(self, *, width_bits: int = 8, serial: str | None = None,
                  max_bits: int = 16) -> PeConfig:
        """The PE of this kind nearest to the parameters asked for: its fixed width if it has
        one, operands capped at its limit, its first serial mode if none is given."""
        return PeConfig(
            self.name,
            width_bits=self.fixed_width or width_bits,
            serial=(serial or self.serial_modes[0]) if self.serial_modes else None,
            max_bits=min(max_bits, self.max_bits_limit or max_bits),
        )


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


def _array_multiplier(widths: Widths) -> Callable[[PeConfig, EnergyTable, int, int], float]:
    """MAC energy of a ``w' x a'`` array multiplier plus a 32-bit accumulator add:
    ``mult_8b_pj * (w' * a') / 64 + add_32b_pj`` (multiplier energy scales with the
    partial-product count; 8x8 has 64). ``widths`` gives the ``(w', a')`` a kind charges."""
    def mac_pj(pe: PeConfig, t: EnergyTable, w: int, a: int) -> float:
        we, ae = widths(pe, w, a)
        return t.mult_8b_pj * (we * ae) / 64.0 + t.add_32b_pj
    return mac_pj


def _one(pe: PeConfig, w: int, a: int) -> int:
    return 1


def _same_bits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return w, a


# -- int: bit-parallel MAC of width_bits -------------------------------------------------------

def _int_passes(pe: PeConfig, w: int, a: int) -> int:
    return math.ceil(w / pe.width_bits) * math.ceil(a / pe.width_bits)


def _int_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return min(w, pe.width_bits), min(a, pe.width_bits)


def _int_area(pe: PeConfig, t: AreaTable) -> float:
    """One ``W x W`` multiplier (``mult_8b_um2 * (W / 8)^2``: array-multiplier area grows with
    the partial-product count, as its energy does), an ``A = 2W + 16``-bit accumulator adder
    (about linear in width: Horowitz gives 36 um^2 at 8 bits, 137 um^2 at 32) and ``2W + A``
    flip-flops (weight, activation, partial sum)."""
    w = pe.width_bits
    acc = 2 * w + 16
    return t.mult_8b_um2 * (w / 8) ** 2 + t.adder_um2(acc) + (2 * w + acc) * t.dff_um2


# -- bitserial: Stripes (activations serial) or Loom/BISMO (both serial) -----------------------

def _serial_factor(pe: PeConfig, w: int, a: int) -> int:
    return a if pe.serial == "activations" else a * w


def _serial_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return (w, 1) if pe.serial == "activations" else (1, 1)


def _serial_area(pe: PeConfig, t: AreaTable) -> float:
    """Stripes (Judd et al., MICRO 2016): ``max_bits`` AND gates (one activation bit times a
    ``max_bits`` weight), a shift-and-accumulate adder of ``A = 2 max_bits + 16`` bits and
    ``max_bits + 1 + A`` flip-flops. Loom (Sharify et al., DAC 2018): one AND gate, the same
    adder, ``2 + A`` flip-flops."""
    w = pe.max_bits
    acc = 2 * w + 16
    ands, regs = (w, w + 1 + acc) if pe.serial == "activations" else (1, 2 + acc)
    return ands * t.and2_um2 + t.adder_um2(acc) + regs * t.dff_um2


# -- bitfusion: a fusion unit of 16 2-bit BitBricks --------------------------------------------

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


def _fusion_area(pe: PeConfig, t: AreaTable) -> float:
    """Sharma et al., ISCA 2018, Sec. III: 16 BitBricks, each a 3 x 3-bit signed multiplier
    (``mult_8b_um2 * 9 / 64``), a shift-add tree of 15 16-bit adders (``2 * add_8b_um2``
    each), a 32-bit accumulator adder and ``8 + 8 + 32`` flip-flops."""
    bricks = 16 * t.mult_8b_um2 * 9 / 64
    tree = 15 * 2 * t.add_8b_um2
    return bricks + tree + t.add_32b_um2 + (8 + 8 + 32) * t.dff_um2


PE_KINDS: dict[str, PeKind] = {k.name: k for k in (
    PeKind("int", "bit-parallel MAC of width_bits; wider operands take ceil(w/W)*ceil(a/W) passes",
           _int_passes, _one, _int_digits, _array_multiplier(_same_bits), _int_area,
           sized=True),
    PeKind("bitserial", "Stripes (serial: activations, Judd et al. MICRO 2016) or Loom/BISMO "
           "(serial: both, Sharify et al. DAC 2018; Umuroglu et al. FPL 2018)",
           _serial_factor, _one, _serial_digits, _array_multiplier(_same_bits), _serial_area,
           fpga_kernel="bitserial_unit", serial_modes=("activations", "both")),
    PeKind("bitfusion", "BitFusion fusion unit of 16 2-bit BitBricks (Sharma et al. ISCA 2018)",
           _fusion_factor, _fusion_pack, _fusion_digits, _array_multiplier(_fusion_energy_bits),
           _fusion_area, fpga_kernel="bitfusion_unit", fixed_width=8, max_bits_limit=16),
)}


def _kind(path: str, value: Any) -> str:
    if not isinstance(value, str) or value not in PE_KINDS:
        raise fail(path, "one of " + ", ".join(map(repr, PE_KINDS)), value)
    return value


@dataclass(frozen=True, slots=True)
class PeConfig(Checked):
    """One configured PE: its kind plus the kind's parameters, checked when built.

    ``width_bits`` is the multiplier width of an ``int`` PE; ``serial`` is ``"activations"``
    or ``"both"`` for ``bitserial``; ``max_bits`` bounds the operand widths a program may use.
    """

    CHECKS: ClassVar[dict[str, Check]] = {
        "kind": Check("one of " + ", ".join(map(repr, PE_KINDS)), lambda path, v: _kind(path, v)),
        "width_bits": POSITIVE_INT, "max_bits": POSITIVE_INT,
    }
    kind: str
    width_bits: int = 8
    serial: str | None = None
    max_bits: int = 16
    where: InitVar[str] = "array.pe"

    def __post_init__(self, where: str) -> None:
        Checked.__post_init__(self, where)  # (slots dataclasses break zero-argument super())
        spec = PE_KINDS[self.kind]
        if spec.serial_modes:
            if self.serial is None:
                raise ConfigError(f"{where}.serial is required (one of "
                                  f"{', '.join(map(repr, spec.serial_modes))})")
            one_of(f"{where}.serial", self.serial, spec.serial_modes)
        elif self.serial is not None:
            serial_kinds = " or ".join(repr(k.name) for k in PE_KINDS.values() if k.serial_modes)
            raise fail(f"{where}.serial", f"absent unless kind is {serial_kinds}", self.serial)
        if spec.fixed_width is not None and self.width_bits != spec.fixed_width:
            raise fail(f"{where}.width_bits", f"{spec.fixed_width} for a {self.kind} PE",
                       self.width_bits)
        if spec.max_bits_limit is not None and self.max_bits > spec.max_bits_limit:
            raise fail(f"{where}.max_bits", f"at most {spec.max_bits_limit} for a {self.kind} PE",
                       self.max_bits)

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

    def mac_pj(self, table: EnergyTable, w_bits: int, a_bits: int) -> float:
        """Energy of one MAC at this precision, priced from ``table``.

        >>> from hwsim.tables import load_energy_table
        >>> t = load_energy_table("horowitz_45nm")
        >>> round(PeConfig("int").mac_pj(t, 8, 8), 3), round(PeConfig("int").mac_pj(t, 4, 4), 4)
        (0.3, 0.15)
        """
        self.check_bits(w_bits, a_bits)
        return self.spec.mac_pj(self, table, w_bits, a_bits)

    def area_um2(self, table: AreaTable) -> float:
        """Area of one PE, priced from ``table`` (the kind's model, in its docstring)."""
        return self.spec.area_um2(self, table)

    def fpga_kernel(self, dataflow_kernel: str) -> tuple[str, int | None]:
        """The synthesized kernel this PE is built from (``dataflow_kernel``, the array's
        bit-parallel PE, unless the kind has its own) and the width its entry must have
        (``None``: the kernel's reference entry, the first synthesized)."""
        return (self.spec.fpga_kernel or dataflow_kernel,
                self.width_bits if self.spec.sized else None)
