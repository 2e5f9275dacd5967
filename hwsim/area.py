"""ASIC area of an accelerator: array + SRAM buffers + vector unit + fixed logic.

Constants come from an area table (:class:`hwsim.tables.AreaTable`, ``configs/area/<name>.yaml``,
default ``asic_45nm``) that cites a source for every number, as the energy tables do.

The model (stated once, here; all component areas are placed-cell areas, no wiring):

- **PE** (per kind, built from cited components; ``A`` is the accumulator width):

  - ``int`` of width ``W``: one ``W x W`` multiplier, ``mult_8b_um2 * (W / 8)^2`` (array
    multiplier area grows with the partial-product count, as the energy model's does), one
    ``A = 2W + 16``-bit accumulator adder, ``add_32b_um2 * A / 32`` (adder area is about linear
    in width: Horowitz gives 36 um^2 at 8 bits, 137 um^2 at 32), and ``2W + A`` flip-flops
    (weight, activation, partial sum), ``dff_um2`` each.
  - ``bitserial``, ``serial: activations`` (Stripes, Judd et al., MICRO 2016): ``max_bits``
    AND gates (one activation bit times a ``max_bits`` weight), a shift-and-accumulate adder
    of ``A = 2 max_bits + 16`` bits, ``max_bits + 1 + A`` flip-flops. ``serial: both``
    (Loom, Sharify et al., DAC 2018): one AND gate, the same adder, ``2 + A`` flip-flops.
  - ``bitfusion`` (Sharma et al., ISCA 2018, Sec. III): 16 BitBricks, each a 3 x 3-bit
    signed multiplier (``mult_8b_um2 * 9 / 64``), a shift-add tree of 15 16-bit adders
    (``2 * add_8b_um2`` each), a 32-bit accumulator adder and ``8 + 8 + 32`` flip-flops.

- **Array**: ``rows x cols x PE``.
- **SRAM**: ``KiB x 8192 x sram_bitcell_um2 / sram_array_efficiency`` over the input, weight
  and output buffers.
- **Vector unit**: per lane one 32-bit adder and a 32-bit register (an ALU lane).
- **Fixed**: ``fixed_mm2`` (control, DMA, DRAM interface).

>>> from hwsim.config import load_arch
>>> report = asic_area(load_arch("edge_int8"))
>>> round(report.pe_um2, 1), round(report.total_mm2, 3)
(636.1, 1.124)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwsim.config import Arch
from hwsim.errors import ConfigError
from hwsim.pe import PeConfig
from hwsim.tables import AreaTable, load_area_table

__all__ = ["AreaReport", "asic_area", "pe_area_um2"]

_UM2_PER_MM2 = 1e6

@dataclass(frozen=True, slots=True)
class AreaReport:
    """Area of one accelerator by component (mm^2), and the PE area it was built from."""

    technology: str
    pe_um2: float
    array_mm2: float
    sram_mm2: float
    vector_mm2: float
    fixed_mm2: float

    @property
    def total_mm2(self) -> float:
        return self.array_mm2 + self.sram_mm2 + self.vector_mm2 + self.fixed_mm2

    def to_dict(self) -> dict[str, Any]:
        return {"technology": self.technology, "pe_um2": self.pe_um2,
                "array_mm2": self.array_mm2, "sram_mm2": self.sram_mm2,
                "vector_mm2": self.vector_mm2, "fixed_mm2": self.fixed_mm2,
                "total_mm2": self.total_mm2}


def pe_area_um2(pe: PeConfig, table: AreaTable) -> float:
    """Area of one PE of this kind (model in the module doc)."""
    t = table
    if pe.kind == "int":
        w = pe.width_bits
        acc = 2 * w + 16
        return t.mult_8b_um2 * (w / 8) ** 2 + t.adder_um2(acc) + (2 * w + acc) * t.dff_um2
    if pe.kind == "bitserial":
        w = pe.max_bits
        acc = 2 * w + 16
        ands, regs = (w, w + 1 + acc) if pe.serial == "activations" else (1, 2 + acc)
        return ands * t.and2_um2 + t.adder_um2(acc) + regs * t.dff_um2
    if pe.kind == "bitfusion":
        bricks = 16 * t.mult_8b_um2 * 9 / 64
        tree = 15 * 2 * t.add_8b_um2
        return bricks + tree + t.add_32b_um2 + (8 + 8 + 32) * t.dff_um2
    raise ConfigError(f"PE kind must have an area model (int, bitserial, bitfusion), "
                      f"not {pe.kind!r}")


def asic_area(arch: Arch, table: AreaTable | None = None) -> AreaReport:
    """Area of ``arch`` in the table's technology (default ``asic_45nm``)."""
    t = table if table is not None else load_area_table()
    pe = pe_area_um2(arch.array.pe, t)
    kib = sum(b.size_kib for b in arch.buffers.all())
    lane = t.add_32b_um2 + 32 * t.dff_um2
    return AreaReport(
        technology=t.technology,
        pe_um2=pe,
        array_mm2=arch.array.pes * pe / _UM2_PER_MM2,
        sram_mm2=kib * t.sram_mm2_per_kib,
        vector_mm2=arch.vector.lanes * lane / _UM2_PER_MM2,
        fixed_mm2=t.fixed_mm2,
    )
