"""ASIC area of an accelerator: array + SRAM buffers + vector unit + fixed logic.

Constants come from an area table (:class:`hwsim.tables.AreaTable`, ``configs/area/<name>.yaml``,
default ``asic_45nm``) that cites a source for every number, as the energy tables do.

The model (stated once, here; all component areas are placed-cell areas, no wiring):

- **PE**: the PE kind's model (:meth:`hwsim.pe.PeConfig.area_um2`; each kind's is stated in
  :mod:`hwsim.pe`), built from cited components.
- **Array**: ``rows x cols x PE``.
- **SRAM**: ``KiB x 8192 x sram_bitcell_um2 / sram_array_efficiency`` over the input, weight
  and output buffers and the weight decoders' tables (:attr:`hwsim.config.Arch.sram_kib`).
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
from hwsim.tables import AreaTable

__all__ = ["AreaReport", "asic_area"]

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


def asic_area(arch: Arch, table: AreaTable | None = None) -> AreaReport:
    """Area of ``arch`` in the table's technology (default: the arch's own area table)."""
    t = table if table is not None else arch.area
    pe = arch.array.pe.area_um2(t)
    kib = arch.sram_kib
    lane = t.add_32b_um2 + 32 * t.dff_um2
    return AreaReport(
        technology=t.technology,
        pe_um2=pe,
        array_mm2=arch.array.pes * pe / _UM2_PER_MM2,
        sram_mm2=kib * t.sram_mm2_per_kib,
        vector_mm2=arch.vector.lanes * lane / _UM2_PER_MM2,
        fixed_mm2=t.fixed_mm2,
    )
