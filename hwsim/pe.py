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
- **energy** of one PE cycle, priced from the arch's energy (and area) table; a MAC costs a
  cycle times the cycles it takes, so the energy per MAC follows the timing;
- **area** of one PE, priced from an area table (:mod:`hwsim.area` adds the array around it),
  which also sets its static power (leakage per mm^2, :mod:`hwsim.energy`);
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
from hwsim.fields import POSITIVE_INT, Check, Checked, fail, one_of, shown, within
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
    cycle_pj: Callable[[PeConfig, EnergyTable, AreaTable], float]
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
    raise ProgramError(f"BitFusion operand width must be at most 16 bits, not {shown(bits)}")


# Published ratios between PE kinds at 45 nm (each PE's numbers are scaled from the 8-bit MAC
# by these; docs/energy.md lists the results):
BITFUSION_AREA_RATIO = 1733.13 / 687.61
"""Fusion unit (2- to 8-bit operands) vs an 8-bit MAC, in area: the BitFusion authors'
synthesis results (Sharma et al., ISCA 2018; the 45 nm, 500 MHz table published with their
simulator: 1,733.13 vs 687.61 um^2)."""
BITFUSION_CYCLE_RATIO = 279_960 / 148_845
"""The same pair's dynamic power at 500 MHz (279.96 vs 148.85 uW): energy per cycle."""
STRIPES_ISO_AREA_RATIO = 1.32
"""Stripes vs a bit-parallel accelerator of the same peak throughput at full precision:
32% more area (Judd et al., MICRO 2016), i.e. ``max_bits`` serial lanes take 1.32 times one
``max_bits``-wide MAC. Loom's lanes (one bit of each operand per cycle) are taken at the same
iso-throughput ratio over ``max_bits ** 2`` lanes: the Loom papers give no per-lane area."""


def _one(pe: PeConfig, w: int, a: int) -> int:
    return 1


def _mac8_pj(t: EnergyTable) -> float:
    """One cycle of an 8-bit MAC: an 8x8 multiply and a 32-bit accumulate (Horowitz)."""
    return t.mult_8b_pj + t.add_32b_pj


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
    return _int_area_of(pe.width_bits, t)


def _int_area_of(w: int, t: AreaTable) -> float:
    acc = 2 * w + 16
    return t.mult_8b_um2 * (w / 8) ** 2 + t.adder_um2(acc) + (2 * w + acc) * t.dff_um2


def _int_cycle(pe: PeConfig, t: EnergyTable, a: AreaTable) -> float:
    """A ``W x W`` multiply (``mult_8b_pj * (W / 8)^2``, partial products) and a 32-bit
    accumulate. Narrower operands run on the same multiplier: they save no MAC energy."""
    return t.mult_8b_pj * (pe.width_bits / 8) ** 2 + t.add_32b_pj


# -- bitserial: Stripes (activations serial) or Loom/BISMO (both serial) -----------------------

def _serial_factor(pe: PeConfig, w: int, a: int) -> int:
    return a if pe.serial == "activations" else a * w


def _serial_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return (w, 1) if pe.serial == "activations" else (1, 1)


def _serial_area(pe: PeConfig, t: AreaTable) -> float:
    """One serial lane: :data:`STRIPES_ISO_AREA_RATIO` times a ``max_bits`` MAC, shared by the
    lanes that match its throughput (``max_bits`` for Stripes, ``max_bits ** 2`` for Loom)."""
    lanes = pe.max_bits if pe.serial == "activations" else pe.max_bits ** 2
    return STRIPES_ISO_AREA_RATIO * _int_area_of(pe.max_bits, t) / lanes


def _serial_cycle(pe: PeConfig, t: EnergyTable, a: AreaTable) -> float:
    """The 8-bit MAC's cycle energy scaled by area (the same switching density). Checked
    against Stripes' published figures: 1.32x the energy per full-precision MAC, so at its
    1.92x mean speedup from lower precision, 1.32 / 1.92 = 0.69 of the baseline's energy per
    MAC, near the 1.57x energy efficiency it reports (Judd et al., MICRO 2016)."""
    return _mac8_pj(t) * _serial_area(pe, a) / _int_area_of(8, a)


# -- bitfusion: a fusion unit of 16 2-bit BitBricks --------------------------------------------

def _fusion_factor(pe: PeConfig, w: int, a: int) -> int:
    wr, ar = bitfusion_bits(w), bitfusion_bits(a)
    return (wr // 8 if wr > 8 else 1) * (ar // 8 if ar > 8 else 1)


def _fusion_pack(pe: PeConfig, w: int, a: int) -> int:
    wr, ar = min(bitfusion_bits(w), 8), min(bitfusion_bits(a), 8)
    return (8 // wr) * (8 // ar)


def _fusion_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return min(bitfusion_bits(w), 8), min(bitfusion_bits(a), 8)


def _fusion_area(pe: PeConfig, t: AreaTable) -> float:
    """:data:`BITFUSION_AREA_RATIO` times the 8-bit MAC: 16 BitBricks, their shift-add tree
    and the accumulator (Sharma et al., ISCA 2018, Sec. III)."""
    return BITFUSION_AREA_RATIO * _int_area_of(8, t)


def _fusion_cycle(pe: PeConfig, t: EnergyTable, a: AreaTable) -> float:
    """:data:`BITFUSION_CYCLE_RATIO` times the 8-bit MAC's cycle, whatever the fused mode."""
    return BITFUSION_CYCLE_RATIO * _mac8_pj(t)


# -- xnor: an XNOR-popcount unit of width_bits one-bit lanes ----------------------------------

def _xnor_passes(pe: PeConfig, w: int, a: int) -> int:
    return w * a  # one pair of bit planes per cycle (BISMO, Umuroglu et al., FPL 2018)


def _xnor_pack(pe: PeConfig, w: int, a: int) -> int:
    return pe.width_bits  # every lane takes one reduction element


def _xnor_digits(pe: PeConfig, w: int, a: int) -> tuple[int, int]:
    return 1, 1


def _xnor_acc_bits(pe: PeConfig) -> int:
    """8-bit x 8-bit products summed over the lanes: ``17 + ceil(log2 lanes)`` bits."""
    return 17 + math.ceil(math.log2(pe.width_bits))


def _xnor_area(pe: PeConfig, t: AreaTable) -> float:
    """``L`` one-bit products (each an XNOR/AND gate, priced as one of the 64 partial products
    of the 8-bit multiplier), a popcount tree of about ``L`` full adders (an ``L``-bit adder's
    area), the shifting accumulator adder and ``2 max_bits L + acc`` flip-flops (both operands
    held whole while their bit planes are walked, as ``rtl/xnor_unit.v`` does, and the sum).
    The same component prices as the ``int`` PE (Horowitz, ISSCC 2014)."""
    lanes, acc = pe.width_bits, _xnor_acc_bits(pe)
    return (lanes * t.mult_8b_um2 / 64 + t.adder_um2(lanes) + t.adder_um2(acc)
            + (2 * pe.max_bits * lanes + acc) * t.dff_um2)


def _xnor_cycle(pe: PeConfig, t: EnergyTable, a: AreaTable) -> float:
    """``L`` one-bit products (a 64th of an 8-bit multiply each), the popcount tree (``L``
    full adders, a 32nd of a 32-bit add each) and one 32-bit accumulate, per cycle."""
    lanes = pe.width_bits
    return lanes * (t.mult_8b_pj / 64 + t.add_32b_pj / 32) + t.add_32b_pj


PE_KINDS: dict[str, PeKind] = {k.name: k for k in (
    PeKind("int", "bit-parallel MAC of width_bits; wider operands take ceil(w/W)*ceil(a/W) passes",
           _int_passes, _one, _int_digits, _int_cycle, _int_area, sized=True),
    PeKind("bitserial", "Stripes (serial: activations, Judd et al. MICRO 2016) or Loom/BISMO "
           "(serial: both, Sharify et al. DAC 2018; Umuroglu et al. FPL 2018)",
           _serial_factor, _one, _serial_digits, _serial_cycle, _serial_area,
           fpga_kernel="bitserial_unit", serial_modes=("activations", "both")),
    PeKind("bitfusion", "BitFusion fusion unit of 16 2-bit BitBricks (Sharma et al. ISCA 2018)",
           _fusion_factor, _fusion_pack, _fusion_digits, _fusion_cycle, _fusion_area,
           fpga_kernel="bitfusion_unit", fixed_width=8, max_bits_limit=16),
    PeKind("xnor", "XNOR-popcount unit of width_bits 1-bit lanes: 1-bit operands are +-1 "
           "(XNOR-Net, Rastegari et al. ECCV 2016), wider ones bit-serial over w_bits x a_bits "
           "bit planes (BISMO, Umuroglu et al. FPL 2018)",
           _xnor_passes, _xnor_pack, _xnor_digits, _xnor_cycle, _xnor_area,
           fpga_kernel="xnor_unit", max_bits_limit=8, sized=True),
)}


def _kind(path: str, value: Any) -> str:
    if not isinstance(value, str) or value not in PE_KINDS:
        raise fail(path, "one of " + ", ".join(map(repr, PE_KINDS)), value)
    return value


# Operand widths a PE may be built for: the compiler gives models at most 16 bits per operand,
# and a 64-bit multiplier is already far beyond what DNN accelerators build. A larger value is
# a typo whose area and energy (quadratic in the width) would be nonsense.
MAX_PE_BITS = 64


PE_BITS = within(POSITIVE_INT, None, MAX_PE_BITS, "a 64-bit multiplier is beyond any DNN PE")


@dataclass(frozen=True, slots=True)
class PeConfig(Checked):
    """One configured PE: its kind plus the kind's parameters, checked when built.

    ``width_bits`` is the multiplier width of an ``int`` PE; ``serial`` is ``"activations"``
    or ``"both"`` for ``bitserial``; ``max_bits`` bounds the operand widths a program may use.
    """

    CHECKS: ClassVar[dict[str, Check]] = {
        "kind": Check("one of " + ", ".join(map(repr, PE_KINDS)), _kind),
        "width_bits": PE_BITS, "max_bits": PE_BITS,
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
                    f"{self.kind} PE, not {shown(bits)}{self._wider_hint(bits)}"
                )

    def _wider_hint(self, bits: object) -> str:
        """How a layer of ``bits`` could run: a larger ``max_bits``, or another kind."""
        if not isinstance(bits, int) or isinstance(bits, bool) or bits <= self.max_bits:
            return ""
        limit = self.spec.max_bits_limit or MAX_PE_BITS
        if bits <= limit:
            return f" (array.pe.max_bits may be up to {limit} for {self.kind} PEs)"
        kinds = [k.name for k in PE_KINDS.values() if (k.max_bits_limit or MAX_PE_BITS) >= bits]
        return f" (PE kinds that take {bits} bits: {', '.join(kinds)})" if kinds else ""

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

    def cycle_pj(self, energy: EnergyTable, area: AreaTable) -> float:
        """Energy of one PE cycle (the kind's model, in its docstring)."""
        return self.spec.cycle_pj(self, energy, area)

    def mac_pj(self, energy: EnergyTable, area: AreaTable, w_bits: int, a_bits: int) -> float:
        """Energy of one MAC at this precision: a PE cycle times the cycles a MAC takes
        (stream factor over ``k_pack``).

        >>> from hwsim.tables import load_area_table, load_energy_table
        >>> e, a = load_energy_table("horowitz_45nm"), load_area_table("asic_45nm")
        >>> [round(PeConfig("int").mac_pj(e, a, b, b), 3) for b in (8, 2, 16)]
        [0.3, 0.3, 1.2]
        >>> [round(PeConfig("bitfusion").mac_pj(e, a, b, b), 4) for b in (8, 4, 2)]
        [0.5643, 0.1411, 0.0353]
        """
        return (self.cycle_pj(energy, area) * self.stream_factor(w_bits, a_bits)
                / self.k_pack(w_bits, a_bits))

    def area_um2(self, table: AreaTable) -> float:
        """Area of one PE, priced from ``table`` (the kind's model, in its docstring)."""
        return self.spec.area_um2(self, table)

    def fpga_kernel(self, dataflow_kernel: str) -> tuple[str, int | None]:
        """The synthesized kernel this PE is built from (``dataflow_kernel``, the array's
        bit-parallel PE, unless the kind has its own) and the width its entry must have
        (``None``: the kernel's reference entry, the first synthesized)."""
        return (self.spec.fpga_kernel or dataflow_kernel,
                self.width_bits if self.spec.sized else None)
