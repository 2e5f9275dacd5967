"""Energy tables and the energy model: energy = sum over actions of count x unit cost.

An energy table (``configs/energy/<name>.yaml``) gives every number with a ``source``::

    name: horowitz_45nm
    technology: 45 nm CMOS
    mult_8b_pj: {value: 0.2, source: "Horowitz, ISSCC 2014, ..."}
    add_32b_pj: {value: 0.1, source: "..."}
    sram_read_64b_pj:                     # pJ per 64-bit read, by SRAM size
      - {size_kib: 8, value: 10.0, source: "..."}
      - {size_kib: 1024, value: 100.0, source: "..."}
    ...

The model (stated once, here):

- **MAC**: ``mult_8b_pj * (w' * a') / 64 + add_32b_pj``. Multiplier energy scales with the
  partial-product count of a ``w' x a'`` array multiplier (8x8 has 64), plus one 32-bit
  accumulator add per MAC. ``w', a'`` are the widths the PE kind charges
  (:meth:`hwsim.pe.PeConfig.energy_bits`: BitFusion rounds to its bricks).
- **SRAM**: pJ/bit = (64-bit read energy, interpolated log-log in the buffer size between the
  cited points and extrapolated along the end segments) / 64; a write costs
  ``sram_write_factor`` times a read.
- **DRAM**: ``Arch.dram.pj_per_bit`` per bit moved.
- **Vector**: ``vector_op_pj`` per vector-unit operation.
- **Static**: (``static_mw_per_pe`` x PEs + ``static_mw_per_mib_sram`` x SRAM MiB) x time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hwsim.errors import ConfigError
from hwsim.fields import Section
from hwsim.yamlfile import build_from_yaml

if TYPE_CHECKING:
    from hwsim.config import Arch
    from hwsim.pe import PeConfig

__all__ = ["ActionCounts", "EnergyBreakdown", "EnergyTable", "energy_of", "load_energy_table"]

_SCALARS = (
    "mult_8b_pj", "add_8b_pj", "add_32b_pj", "sram_write_factor",
    "vector_op_pj", "static_mw_per_pe", "static_mw_per_mib_sram",
)


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
    static_mw_per_pe: float
    static_mw_per_mib_sram: float
    sources: tuple[tuple[str, str], ...] = field(repr=False, default=())

    def mac_pj(self, pe: PeConfig, w_bits: int, a_bits: int) -> float:
        """Energy of one MAC at this precision on this PE kind (model in the module doc).

        >>> from hwsim.pe import PeConfig
        >>> t = load_energy_table("horowitz_45nm")
        >>> round(t.mac_pj(PeConfig("int"), 8, 8), 3), round(t.mac_pj(PeConfig("int"), 4, 4), 4)
        (0.3, 0.15)
        """
        we, ae = pe.energy_bits(w_bits, a_bits)
        return self.mult_8b_pj * (we * ae) / 64.0 + self.add_32b_pj

    def sram_read_pj_per_bit(self, size_kib: float) -> float:
        """Read energy per bit of an SRAM of ``size_kib`` (log-log interpolation)."""
        pts = self.sram_read_64b_pj
        if len(pts) == 1:
            return pts[0][1] / 64.0
        x = math.log(size_kib)
        i = 0
        while i < len(pts) - 2 and x > math.log(pts[i + 1][0]):
            i += 1
        (s0, e0), (s1, e1) = pts[i], pts[i + 1]
        slope = (math.log(e1) - math.log(e0)) / (math.log(s1) - math.log(s0))
        return math.exp(math.log(e0) + slope * (x - math.log(s0))) / 64.0

    def sram_write_pj_per_bit(self, size_kib: float) -> float:
        return self.sram_read_pj_per_bit(size_kib) * self.sram_write_factor

    def source(self, name: str) -> str:
        """The citation given for field ``name``."""
        return dict(self.sources)[name]


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
            f"not {[p[0] for p in points]!r}"
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
    from hwsim.config import find_config_file

    path = find_config_file(name_or_path, "energy", base)
    return build_from_yaml(path, lambda data: energy_table_from_dict(data, str(path)))


@dataclass(frozen=True, slots=True)
class ActionCounts:
    """What a run did, in countable actions; energy is a pure function of these and the arch.

    ``macs`` maps ``(w_bits, a_bits)`` to a MAC count; SRAM traffic is per buffer
    (``"input"``, ``"weight"``, ``"output"``) in bits.
    """

    macs: tuple[tuple[tuple[int, int], int], ...] = ()
    sram_read_bits: tuple[tuple[str, int], ...] = ()
    sram_write_bits: tuple[tuple[str, int], ...] = ()
    dram_bits: int = 0
    vector_ops: int = 0

    def __add__(self, other: ActionCounts) -> ActionCounts:
        return ActionCounts(
            macs=_merge(self.macs, other.macs),
            sram_read_bits=_merge(self.sram_read_bits, other.sram_read_bits),
            sram_write_bits=_merge(self.sram_write_bits, other.sram_write_bits),
            dram_bits=self.dram_bits + other.dram_bits,
            vector_ops=self.vector_ops + other.vector_ops,
        )

    @property
    def total_macs(self) -> int:
        return sum(n for _, n in self.macs)


def _merge(a: tuple, b: tuple) -> tuple:
    out: dict = dict(a)
    for key, n in b:
        out[key] = out.get(key, 0) + n
    return tuple(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class EnergyBreakdown:
    """Energy by component, in picojoules."""

    mac_pj: float = 0.0
    sram_pj: float = 0.0
    dram_pj: float = 0.0
    vector_pj: float = 0.0
    static_pj: float = 0.0

    @property
    def total_pj(self) -> float:
        return self.mac_pj + self.sram_pj + self.dram_pj + self.vector_pj + self.static_pj

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(
            self.mac_pj + other.mac_pj, self.sram_pj + other.sram_pj,
            self.dram_pj + other.dram_pj, self.vector_pj + other.vector_pj,
            self.static_pj + other.static_pj,
        )


def static_mw(arch: Arch) -> float:
    """Static power of the whole accelerator in mW (PEs plus SRAM)."""
    t = arch.energy
    sram_mib = sum(b.size_kib for b in arch.buffers.all()) / 1024.0
    return t.static_mw_per_pe * arch.array.rows * arch.array.cols + t.static_mw_per_mib_sram * sram_mib


def energy_of(counts: ActionCounts, arch: Arch, seconds: float) -> EnergyBreakdown:
    """Energy of ``counts`` on ``arch`` over ``seconds`` of run time (mW x s = 1e9 pJ)."""
    t = arch.energy
    mac = sum(n * t.mac_pj(arch.array.pe, w, a) for (w, a), n in counts.macs)
    sram = sum(n * t.sram_read_pj_per_bit(arch.buffers.get(b).size_kib)
               for b, n in counts.sram_read_bits)
    sram += sum(n * t.sram_write_pj_per_bit(arch.buffers.get(b).size_kib)
                for b, n in counts.sram_write_bits)
    return EnergyBreakdown(
        mac_pj=mac,
        sram_pj=sram,
        dram_pj=counts.dram_bits * arch.dram.pj_per_bit,
        vector_pj=counts.vector_ops * t.vector_op_pj,
        static_pj=static_mw(arch) * seconds * 1e9,
    )
