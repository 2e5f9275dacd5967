"""Accelerator descriptions: YAML -> validation -> a frozen :class:`Arch`.

One loader (:func:`arch_from_dict`) reads a document, checks every field, and builds frozen
records; nothing below it sees a dict. Errors name the field and the expectation::

    buffers.weight.size_kib must be a positive integer, not 'big'
    array: unknown key 'rowz' (expected one of: rows, cols, dataflows, pe, clock_mhz)

Document format (``configs/edge_int8.yaml`` is a complete example)::

    name: edge_int8
    description: free text
    array:
      rows: 16
      cols: 16
      dataflows: [ws, os, is]
      pe: {kind: int, width_bits: 8, max_bits: 16}   # bitserial: serial: activations|both
      clock_mhz: 500
    buffers:          # input, weight and output SRAM, double-buffered by the engine
      input:  {size_kib: 64, banks: 4, bytes_per_cycle: 16}
      weight: {size_kib: 64, banks: 4, bytes_per_cycle: 16}
      output: {size_kib: 32, banks: 2, bytes_per_cycle: 64}
    dram: {bw_gbps: 12.8, latency_ns: 100, pj_per_bit: 8.0}
    vector: {lanes: 16, ops_per_cycle: 1}
    energy: horowitz_45nm               # configs/energy/<name>.yaml
    fpga: {part: xc7z020, family: xc7, lut: 53200, ff: 106400, dsp: 220, bram_36k: 140}
    sparsity: {weight_format: bitmap, zero_skip: true, imbalance: 1.2}   # optional

Where configs are found: :func:`hwsim.yamlfile.find_config_file` (an existing path, or a
shipped name looked up in ``SYSTOLAB_CONFIGS`` and the repository's ``configs/``). Energy
tables are looked up the same way under ``energy/``, first next to the arch file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from hwsim.dataflow import DATAFLOWS
from hwsim.errors import ConfigError
from hwsim.fields import Section
from hwsim.pe import PE_KINDS, PeConfig
from hwsim.tables import EnergyTable, load_energy_table
from hwsim.yamlfile import build_from_yaml, config_dirs, find_config_file

__all__ = [
    "Arch",
    "ArrayConfig",
    "BufferConfig",
    "Buffers",
    "DramConfig",
    "FpgaBoard",
    "SparsityConfig",
    "VectorUnitConfig",
    "arch_from_dict",
    "load_arch",
    "shipped_configs",
]

BUFFER_NAMES = ("input", "weight", "output")


@dataclass(frozen=True, slots=True)
class ArrayConfig:
    """A ``rows x cols`` systolic array of one PE kind at ``clock_mhz``."""

    rows: int
    cols: int
    dataflows: tuple[str, ...]
    pe: PeConfig
    clock_mhz: float

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    def peak_macs_per_cycle(self, w_bits: int, a_bits: int) -> float:
        """Peak MACs per cycle of the whole array at this precision."""
        return self.pes * self.pe.macs_per_cycle(w_bits, a_bits)


@dataclass(frozen=True, slots=True)
class BufferConfig:
    """One on-chip SRAM buffer. ``bytes_per_cycle`` is its port width to the array."""

    size_kib: int
    banks: int
    bytes_per_cycle: int

    @property
    def size_bits(self) -> int:
        return self.size_kib * 1024 * 8


@dataclass(frozen=True, slots=True)
class Buffers:
    input: BufferConfig
    weight: BufferConfig
    output: BufferConfig

    def get(self, name: str) -> BufferConfig:
        if name not in BUFFER_NAMES:
            raise ConfigError(f"buffer must be one of {BUFFER_NAMES}, not {name!r}")
        return getattr(self, name)

    def all(self) -> tuple[BufferConfig, ...]:
        return (self.input, self.weight, self.output)


@dataclass(frozen=True, slots=True)
class DramConfig:
    """Off-chip memory: one channel of ``bw_gbps`` (1e9 bytes/s), fixed latency, pJ/bit."""

    bw_gbps: float
    latency_ns: float
    pj_per_bit: float


@dataclass(frozen=True, slots=True)
class SparsityConfig:
    """What the accelerator does with zero weights; by default nothing.

    ``weight_format``: ``"dense"`` stores every weight; ``"bitmap"`` stores the non-zeros plus
    a 1-bit mask per weight (the compressed formats of Cambricon-X, Zhang et al. MICRO 2016,
    and SparTen, Gondimalla et al. MICRO 2019). ``zero_skip``: the array skips zero weights,
    so a tile's reduction shrinks to its non-zeros, stretched by ``imbalance`` (>= 1): the
    busiest PE group sets the pace (SparTen section 3.3 measures this load imbalance).
    """

    weight_format: str = "dense"
    zero_skip: bool = False
    imbalance: float = 1.0


@dataclass(frozen=True, slots=True)
class VectorUnitConfig:
    """SIMD unit for pooling, activation, elementwise, softmax, normalization."""

    lanes: int
    ops_per_cycle: int  # per lane

    @property
    def ops_per_cycle_total(self) -> int:
        return self.lanes * self.ops_per_cycle


@dataclass(frozen=True, slots=True)
class FpgaBoard:
    """Resource budget of an FPGA target; ``family`` keys ``configs/fpga/pe_resources.yaml``."""

    part: str
    family: str
    lut: int
    ff: int
    dsp: int
    bram_36k: int


@dataclass(frozen=True, slots=True)
class Arch:
    """A validated accelerator description. Derived quantities are properties.

    >>> arch = load_arch("edge_int8")
    >>> arch.array.rows, arch.dram_bits_per_cycle, arch.peak_macs_per_cycle(8, 8)
    (16, 204.8, 256.0)
    """

    name: str
    description: str
    array: ArrayConfig
    buffers: Buffers
    dram: DramConfig
    vector: VectorUnitConfig
    energy: EnergyTable
    fpga: FpgaBoard | None = None
    sparsity: SparsityConfig = SparsityConfig()

    @property
    def cycle_ns(self) -> float:
        return 1000.0 / self.array.clock_mhz

    @property
    def dram_bits_per_cycle(self) -> float:
        """DRAM bandwidth in bits per array clock cycle."""
        return self.dram.bw_gbps * 8e9 / (self.array.clock_mhz * 1e6)

    @property
    def dram_latency_cycles(self) -> int:
        return math.ceil(self.dram.latency_ns / self.cycle_ns)

    def peak_macs_per_cycle(self, w_bits: int, a_bits: int) -> float:
        return self.array.peak_macs_per_cycle(w_bits, a_bits)


def _pe(sec: Section) -> PeConfig:
    """The PE section, checked by :class:`PeConfig` itself (its kind's rules)."""
    return PeConfig(kind=sec.get("kind", "one of " + ", ".join(map(repr, PE_KINDS))),
                    width_bits=sec.get("width_bits", "a positive integer", 8),
                    serial=sec.data.get("serial"),
                    max_bits=sec.get("max_bits", "a positive integer", 16))


def _sparsity(sec: Section) -> SparsityConfig:
    fmt = sec.choice("weight_format", ("dense", "bitmap"), "dense")
    skip = sec.boolean("zero_skip", False)
    if skip and fmt != "bitmap":
        raise sec.fail("zero_skip", "false unless weight_format is 'bitmap' (skipping needs "
                       "to know where the zeros are)", skip)
    imbalance = sec.pos_float("imbalance", 1.0)
    if imbalance < 1.0:
        raise sec.fail("imbalance", "a number >= 1", imbalance)
    return SparsityConfig(fmt, skip, imbalance)


def _fpga(sec: Section) -> FpgaBoard:
    return FpgaBoard(
        part=sec.string("part"), family=sec.string("family"), lut=sec.pos_int("lut"),
        ff=sec.pos_int("ff"), dsp=sec.pos_int("dsp"), bram_36k=sec.pos_int("bram_36k"),
    )


def arch_from_dict(data: object, base: Path | None = None) -> Arch:
    """Validate one arch document and build the :class:`Arch` (the one loader).

    ``base`` is the directory the document came from (to find its energy table).
    """
    doc = Section(data, "", ("name", "description", "array", "buffers", "dram", "vector",
                             "energy", "fpga", "sparsity"))
    arr = doc.section("array", ("rows", "cols", "dataflows", "pe", "clock_mhz"))
    array = ArrayConfig(
        rows=arr.pos_int("rows"),
        cols=arr.pos_int("cols"),
        dataflows=arr.choices("dataflows", DATAFLOWS),
        pe=_pe(arr.section("pe", ("kind", "width_bits", "serial", "max_bits"))),
        clock_mhz=arr.pos_float("clock_mhz"),
    )
    bufs = doc.section("buffers", BUFFER_NAMES)
    built = {}
    for name in BUFFER_NAMES:
        b = bufs.section(name, ("size_kib", "banks", "bytes_per_cycle"))
        built[name] = BufferConfig(b.pos_int("size_kib"), b.pos_int("banks", 1),
                                   b.pos_int("bytes_per_cycle"))
    dram = doc.section("dram", ("bw_gbps", "latency_ns", "pj_per_bit"))
    vec = doc.section("vector", ("lanes", "ops_per_cycle"))
    energy_name = doc.string("energy")
    try:
        energy = load_energy_table(energy_name, base)
    except ConfigError as err:
        raise ConfigError(f"energy: {err}") from None
    return Arch(
        name=doc.string("name"),
        description=doc.string("description", "-"),
        array=array,
        buffers=Buffers(**built),
        dram=DramConfig(dram.pos_float("bw_gbps"), dram.nonneg_float("latency_ns"),
                        dram.nonneg_float("pj_per_bit")),
        vector=VectorUnitConfig(vec.pos_int("lanes"), vec.pos_int("ops_per_cycle", 1)),
        energy=energy,
        fpga=_fpga(doc.section("fpga", ("part", "family", "lut", "ff", "dsp", "bram_36k")))
        if doc.has("fpga") else None,
        sparsity=_sparsity(doc.section("sparsity", ("weight_format", "zero_skip", "imbalance")))
        if doc.has("sparsity") else SparsityConfig(),
    )


def shipped_configs() -> list[str]:
    """Names of the arch configs in the search directories."""
    names: set[str] = set()
    for d in config_dirs():
        names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)


def load_arch(path_or_name: str | Path) -> Arch:
    """Load, validate and freeze an accelerator description.

    >>> load_arch("bitfusion_eyeriss").array.pe.kind
    'bitfusion'
    """
    path = find_config_file(path_or_name)
    return build_from_yaml(path, lambda data: arch_from_dict(data, base=path.parent))
