"""FPGA resources of a configured array against its board's budget.

Per-PE costs come from synthesising ``rtl/`` with Yosys (``systolab rtl synth`` writes
``configs/fpga/pe_resources.yaml``), so the RTL is the one source of truth; nothing here
invents synthesis numbers. The file's format::

    yosys_version: "0.70"            # results differ between Yosys versions
    kernels:
      ws_pe:                         # also os_pe, bitserial_unit, bitfusion_unit
        - params: {bits: 8, acc_bits: 20}   # the parameters it was synthesized with
          xc7:   {lut: 0, ff: 0, dsp: 0, carry: 0, bram: 0}   # one entry per target family
          ice40: {lut: 0, ff: 0, dsp: 0, carry: 0, bram: 0}

The kernel for an arch is the PE kind's (:meth:`hwsim.pe.PeConfig.fpga_kernel`:
``bitserial_unit``, ``bitfusion_unit``), or for a bit-parallel ``int`` PE the one of the first
of its dataflows (:attr:`hwsim.dataflow.Dataflow.fpga_kernel`: ``ws_pe`` for WS and IS,
``os_pe`` for OS). An ``int`` PE uses the entry whose width parameter (``bits``, ``W_BITS``,
``WIDTH`` or ``DATA_WIDTH``) equals its ``width_bits``, and a width that was not synthesized
is an error; the other kinds use their kernel's first entry. Usage is per-PE cost x rows x
cols, plus 36 Kb block RAMs for the SRAM buffers (``ceil(bits / 36864)`` each).
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hwsim.config import FPGA_FAMILIES, Arch
from hwsim.dataflow import DATAFLOWS, get_dataflow
from hwsim.errors import ConfigError
from hwsim.fields import Section
from hwsim.pe import PE_KINDS
from hwsim.yamlfile import build_from_yaml, config_dirs

__all__ = ["PeResourceTable", "ResourceReport", "Resources", "fpga_resources",
           "load_pe_resources", "pe_resource_table_from_dict"]

log = logging.getLogger(__name__)

KERNELS = tuple(dict.fromkeys([df.fpga_kernel for df in DATAFLOWS.values()]
                              + [k.fpga_kernel for k in PE_KINDS.values() if k.fpga_kernel]))
"""The synthesized kernels the resource model reads: the dataflows' bit-parallel PEs, the
kinds' units."""
SYSTEMS = ("accel",)
"""Whole designs a table may also hold, for comparison with the model (``rtl/accel.v``)."""
_FIELDS = ("lut", "ff", "dsp", "carry", "bram")
# the parameters that give a sized kind's width_bits: an int PE's operand width, an xnor
# unit's lane count
_WIDTH_PARAMS = ("bits", "W_BITS", "WIDTH", "DATA_WIDTH", "lanes")


@dataclass(frozen=True, slots=True)
class Resources:
    lut: int = 0
    ff: int = 0
    dsp: int = 0
    carry: int = 0
    bram: int = 0

    def scaled(self, n: int) -> Resources:
        return Resources(*(n * getattr(self, f) for f in _FIELDS))


@dataclass(frozen=True, slots=True)
class PeResourceEntry:
    kernel: str
    params: tuple[tuple[str, Any], ...]
    families: tuple[tuple[str, Resources], ...]


@dataclass(frozen=True, slots=True)
class PeResourceTable:
    yosys_version: str
    entries: tuple[PeResourceEntry, ...]

    def lookup(self, kernel: str, family: str,
               width: int | None) -> tuple[PeResourceEntry, Resources]:
        """The entry of ``kernel`` synthesized at ``width`` (one of its width parameters), or
        its first entry when ``width`` is ``None``; never another width's numbers."""
        cands = [e for e in self.entries if e.kernel == kernel and family in dict(e.families)]
        if not cands:
            raise ConfigError(f"pe_resources kernel {kernel!r} must have a {family!r} entry "
                              "(re-run `systolab rtl synth`)")
        if width is None:
            chosen = cands[0]
        else:
            found = [e for e in cands if any(dict(e.params).get(p) == width for p in _WIDTH_PARAMS)]
            if not found:
                have = sorted({v for e in cands for p, v in e.params if p in _WIDTH_PARAMS})
                raise ConfigError(f"pe_resources kernel {kernel!r} must have an entry "
                                  f"synthesized at width {width} for {family}, not only "
                                  f"{have} (add it to `systolab rtl synth`)")
            chosen = found[0]
        return chosen, dict(chosen.families)[family]


@dataclass(frozen=True, slots=True)
class ResourceReport:
    """Use of the configured array on its board, and whether it fits."""

    part: str
    kernel: str
    used: Resources
    budget: Resources
    yosys_version: str

    @property
    def fits(self) -> bool:
        return all(getattr(self.used, f) <= getattr(self.budget, f)
                   for f in ("lut", "ff", "dsp", "bram"))

    @property
    def utilization(self) -> dict[str, float]:
        return {f: getattr(self.used, f) / getattr(self.budget, f)
                for f in ("lut", "ff", "dsp", "bram")}

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "kernel": self.kernel, "used": asdict(self.used),
                "budget": asdict(self.budget), "fits": self.fits,
                "utilization": self.utilization, "yosys_version": self.yosys_version}


def pe_resource_table_from_dict(data: object) -> PeResourceTable:
    doc = Section(data, "", ("yosys_version", "kernels"))
    version = str(doc.get("yosys_version", "a version string", None) or "")
    if not version:
        raise ConfigError("yosys_version is required (a version string)")
    kernels = doc.section("kernels", KERNELS + SYSTEMS)
    entries = []
    for kernel in KERNELS + SYSTEMS:
        if not kernels.has(kernel):
            continue
        for item in kernels.sections(kernel, ("params", *FPGA_FAMILIES)):
            params = item.data.get("params") or {}
            if not isinstance(params, dict):
                raise item.fail("params", "a mapping", params)
            fams = []
            for fam in FPGA_FAMILIES:
                if item.has(fam):
                    sec = item.section(fam, _FIELDS)
                    fams.append((fam, Resources(*(sec.nonneg_int(f, 0) for f in _FIELDS))))
            entries.append(PeResourceEntry(kernel, tuple(sorted(params.items())), tuple(fams)))
    return PeResourceTable(version, tuple(entries))


def load_pe_resources(path: str | Path | None = None) -> PeResourceTable:
    """Load the synthesized per-PE resource table (default: ``configs/fpga/pe_resources.yaml``)."""
    if path is None:
        found = [d / "fpga" / "pe_resources.yaml" for d in config_dirs()]
        path = next((p for p in found if p.is_file()), None)
        if path is None:
            raise ConfigError(
                "FPGA resource estimation needs configs/fpga/pe_resources.yaml, which is "
                "generated from the RTL: run `systolab rtl synth` first")
    path = Path(path)
    try:  # read once per version of the file: every simulation of an FPGA arch asks
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None  # (reading it raises the error that names the file)
    return _read_pe_resources(str(path.resolve()), stamp)


@functools.lru_cache(maxsize=8)
def _read_pe_resources(path: str, stamp: int | None) -> PeResourceTable:
    return build_from_yaml(path, pe_resource_table_from_dict)


def fpga_resources(arch: Arch, table: PeResourceTable | None = None) -> ResourceReport:
    """Resource use of ``arch``'s array and buffers on its FPGA board, with a fit verdict."""
    if arch.fpga is None:
        raise ConfigError(f"fpga must be set in arch {arch.name!r} for a resource estimate, "
                          "not None")
    table = table if table is not None else load_pe_resources()
    kernel, width = arch.array.pe.fpga_kernel(get_dataflow(arch.array.dataflows[0]).fpga_kernel)
    _, per_pe = table.lookup(kernel, arch.fpga.family, width)
    used = per_pe.scaled(arch.array.pes)
    bram = sum(math.ceil(b.size_bits / 36864) for b in arch.buffers.all())
    used = Resources(used.lut, used.ff, used.dsp, used.carry, used.bram + bram)
    board = arch.fpga
    report = ResourceReport(board.part, kernel, used,
                            Resources(board.lut, board.ff, board.dsp, 0, board.bram_36k),
                            table.yosys_version)
    if not report.fits:
        log.info("%s does not fit %s: %s", arch.name, board.part, report.utilization)
    return report


def fpga_report_or_none(arch: Arch) -> ResourceReport | None:
    """The report, or ``None`` (logged) when the synthesis table has not been generated."""
    try:
        return fpga_resources(arch)
    except ConfigError as err:
        log.info("no FPGA resource estimate for %s: %s", arch.name, err)
        return None
