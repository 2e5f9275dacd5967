"""Technology tables: the cited unit costs that energy and area are priced with.

Every number in a table cites its source. An energy table (``configs/energy/<name>.yaml``)::

    name: horowitz_45nm
    technology: 45 nm CMOS
    mult_8b_pj: {value: 0.2, source: "Horowitz, ISSCC 2014, ..."}
    add_32b_pj: {value: 0.1, source: "..."}
    sram_read_64b_pj:                     # pJ per 64-bit read, by SRAM size
      - {size_kib: 8, value: 10.0, source: "..."}
      - {size_kib: 1024, value: 100.0, source: "..."}
    ...

An area table (``configs/area/<name>.yaml``, default ``asic_45nm``)::

    name: asic_45nm
    technology: 45 nm CMOS
    mult_8b_um2: {value: 282.0, source: "Horowitz, ISSCC 2014, Fig. 1.1.9 ..."}
    ...

The models that use them are stated in :mod:`hwsim.energy`, :mod:`hwsim.area` and, per PE
kind, :mod:`hwsim.pe`. The tables sit below the accelerator description (an
:class:`~hwsim.config.Arch` holds its energy table), so they import nothing of it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

from hwsim.errors import ConfigError
from hwsim.fields import Section, shown
from hwsim.yamlfile import build_from_yaml, find_config_file

__all__ = ["DEFAULT_AREA_TABLE", "AreaTable", "EnergyTable", "area_table_from_dict",
           "energy_table_from_dict", "load_area_table", "load_energy_table"]

_SCALARS = (
    "mult_8b_pj", "add_8b_pj", "add_32b_pj", "sram_write_factor",
    "vector_op_pj", "static_mw_per_mm2", "static_mw_per_mib_sram",
)


DEFAULT_AREA_TABLE = "asic_45nm"
"""The area table of an arch that names none."""

_FIELDS = ("mult_8b_um2", "add_8b_um2", "add_32b_um2", "dff_um2", "and2_um2",
           "sram_bitcell_um2", "sram_array_efficiency", "fixed_mm2")
_UM2_PER_MM2 = 1e6


@dataclass(frozen=True, slots=True)
class EnergyTable:
    """Unit energies (pJ) and static power (mW); ``sources`` maps each field to its citation."""

    name: str
    technology: str
    mult_8b_pj: float
    add_8b_pj: float
    add_32b_pj: float
    sram_read_64b_pj: tuple[tuple[float, float], ...]  # (size_kib, pJ per 64-bit read)
    sram_write_factor: float
    vector_op_pj: float
    static_mw_per_mm2: float  # leakage of logic per mm^2 (PEs: it follows their area)
    static_mw_per_mib_sram: float
    sources: tuple[tuple[str, str], ...] = field(repr=False, default=())

    def sram_read_pj_per_bit(self, size_kib: float) -> float:
        """Read energy per bit of an SRAM of ``size_kib`` (log-log interpolation)."""
        return _sram_read_pj_per_bit(self.sram_read_64b_pj, size_kib)

    def sram_write_pj_per_bit(self, size_kib: float) -> float:
        return self.sram_read_pj_per_bit(size_kib) * self.sram_write_factor

    def source(self, name: str) -> str:
        """The citation given for field ``name``."""
        return dict(self.sources)[name]


@functools.lru_cache(maxsize=1024)
def _sram_read_pj_per_bit(pts: tuple[tuple[float, float], ...], size_kib: float) -> float:
    if len(pts) == 1:
        return pts[0][1] / 64.0
    x = math.log(size_kib)
    i = 0
    while i < len(pts) - 2 and x > math.log(pts[i + 1][0]):
        i += 1
    (s0, e0), (s1, e1) = pts[i], pts[i + 1]
    slope = (math.log(e1) - math.log(e0)) / (math.log(s1) - math.log(s0))
    return math.exp(math.log(e0) + slope * (x - math.log(s0))) / 64.0


def _cited(sec: Section, key: str, path: str) -> tuple[float, str]:
    item = sec.section(key, ("value", "source"))
    value = item.nonneg_float("value")
    src = item.string("source")
    return value, src


def energy_table_from_dict(data: object, origin: str = "") -> EnergyTable:
    """Validate one energy-table document (see the module doc for the format)."""
    doc = Section(data, "", ("name", "technology", "sram_read_64b_pj", *_SCALARS))
    sources: list[tuple[str, str]] = []
    values: dict[str, float] = {}
    for key in _SCALARS:
        values[key], src = _cited(doc, key, origin)
        sources.append((key, src))
    points = []
    for i, pt in enumerate(doc.sections("sram_read_64b_pj", ("size_kib", "value", "source"))):
        points.append((pt.pos_float("size_kib"), pt.pos_float("value")))
        sources.append((f"sram_read_64b_pj[{i}]", pt.string("source")))
    if [p[0] for p in points] != sorted({p[0] for p in points}):
        raise ConfigError(
            "sram_read_64b_pj must be sorted by strictly increasing size_kib, "
            f"not {shown([p[0] for p in points])}"
        )
    return EnergyTable(
        name=doc.string("name"),
        technology=doc.string("technology"),
        sram_read_64b_pj=tuple(points),
        sources=tuple(sources),
        **values,
    )


def load_energy_table(name_or_path: str | Path, base: Path | None = None) -> EnergyTable:
    """Load ``configs/energy/<name>.yaml`` (or a path) into a validated :class:`EnergyTable`.

    >>> load_energy_table("horowitz_45nm").mult_8b_pj
    0.2
    """
    path = find_config_file(name_or_path, "energy", base)
    return build_from_yaml(path, lambda data: energy_table_from_dict(data, str(path)))


@dataclass(frozen=True, slots=True)
class AreaTable:
    """Component areas (um^2, ``fixed_mm2`` in mm^2); ``sources`` maps each to its citation."""

    name: str
    technology: str
    mult_8b_um2: float
    add_8b_um2: float
    add_32b_um2: float
    dff_um2: float
    and2_um2: float
    sram_bitcell_um2: float
    sram_array_efficiency: float
    fixed_mm2: float
    sources: tuple[tuple[str, str], ...] = field(repr=False, default=())

    @property
    def sram_mm2_per_kib(self) -> float:
        """Macro area of one KiB of SRAM (bit cells plus periphery)."""
        return 8192 * self.sram_bitcell_um2 / self.sram_array_efficiency / _UM2_PER_MM2

    def adder_um2(self, bits: int) -> float:
        """A ``bits``-wide adder, scaled linearly from the 32-bit one."""
        return self.add_32b_um2 * bits / 32

    def source(self, name: str) -> str:
        """The citation given for field ``name``."""
        return dict(self.sources)[name]


def area_table_from_dict(data: object) -> AreaTable:
    """Validate one area-table document (format in the module doc)."""
    doc = Section(data, "", ("name", "technology", *_FIELDS))
    values: dict[str, float] = {}
    sources: list[tuple[str, str]] = []
    for key in _FIELDS:
        item = doc.section(key, ("value", "source"))
        values[key] = item.nonneg_float("value")
        sources.append((key, item.string("source")))
    eff = values["sram_array_efficiency"]
    if not 0 < eff <= 1:
        raise ConfigError(f"sram_array_efficiency.value must be a number in (0, 1], not {shown(eff)}")
    return AreaTable(name=doc.string("name"), technology=doc.string("technology"),
                     sources=tuple(sources), **values)


def load_area_table(name_or_path: str | Path = DEFAULT_AREA_TABLE,
                    base: Path | None = None) -> AreaTable:
    """Load ``configs/area/<name>.yaml`` (or a path) into a validated :class:`AreaTable`.

    >>> load_area_table().mult_8b_um2
    282.0
    """
    path = find_config_file(name_or_path, "area", base)
    return build_from_yaml(path, area_table_from_dict)


