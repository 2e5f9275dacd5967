"""Accelerator descriptions: YAML -> validation -> a frozen :class:`Arch`.

Every record checks itself when it is built (``__post_init__``), whether by the loader, by
hand or by ``dataclasses.replace``, so an :class:`Arch` is always valid; the one loader
(:func:`arch_from_dict`) reads a document's sections into records and adds no rule of its
own. Nothing below it sees a dict. Errors name the field and the expectation::

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
    area: asic_45nm                     # configs/area/<name>.yaml (optional; the default)
    fpga: {part: xc7z020, family: xc7, lut: 53200, ff: 106400, dsp: 220, bram_36k: 140}
    sparsity: {weight_format: bitmap, zero_skip: true, imbalance: 1.2}   # optional
    # (activation_skip: true skips zero input activations, Cnvlutin-style)
    weight_decoder: {codebook_bits: 8, value_bits: 8, huffman: true, decoders: 4}  # optional

Numbers must be finite and not booleans (``true`` is not 1). Each has limits far beyond any
device built, so that a typo is an error instead of an infinite or absurd result; the message
states the limit and its reason:

=========================================  ==========================================
field                                      accepted
=========================================  ==========================================
``array.rows``, ``array.cols``             1 to 4,096 (the largest built: 256 x 256)
``array.clock_mhz``                        1 to 10,000
``array.pe.width_bits``, ``max_bits``      1 to 64
``buffers.*.size_kib``                     1 to 2^20 (1 GiB)
``buffers.*.banks``                        1 to 4,096
``buffers.*.bytes_per_cycle``              1 to 65,536
``dram.bw_gbps``                           0.01 to 10^6 (10^6 stands for "never the bottleneck")
``dram.latency_ns``                        0 to 10^6
``dram.pj_per_bit``                        0 to 1,000
``vector.lanes``, ``vector.ops_per_cycle`` 1 to 65,536 and 1 to 1,024
``fpga.lut``, ``ff``, ``dsp``, ``bram_36k``  1 to 10^8; ``family``: xc7, ice40, xcup, ecp5
``sparsity.imbalance``                     1 to 1,000
``weight_decoder.codebook_bits``           1 to 16 (Deep Compression shares at most 8)
``weight_decoder.value_bits``              1 to 32
``weight_decoder.decoders``                1 to 4,096
=========================================  ==========================================

Where configs are found: :func:`hwsim.yamlfile.find_config_file` (an existing path, or a
shipped name looked up in ``SYSTOLAB_CONFIGS`` and the repository's ``configs/``). Energy
tables are looked up the same way under ``energy/``, first next to the arch file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Any, ClassVar

from hwsim.dataflow import DATAFLOWS
from hwsim.errors import ConfigError
from hwsim.fields import (
    BOOLEAN,
    POSITIVE_INT,
    POSITIVE_NUMBER,
    STRING,
    Check,
    Checked,
    Section,
    distinct_choices,
    fail,
    keys_of,
    nested,
    one_of,
    read_record,
    shown,
    within,
)
from hwsim.memory import BUFFER_NAMES, BufferConfig, Buffers, DramChannel, DramConfig
from hwsim.pe import PeConfig
from hwsim.tables import DEFAULT_AREA_TABLE, AreaTable, EnergyTable, load_area_table, load_energy_table
from hwsim.yamlfile import build_from_yaml, config_dirs, find_config_file

__all__ = [
    "Arch",
    "ArrayConfig",
    "FpgaBoard",
    "SparsityConfig",
    "VectorUnitConfig",
    "WeightDecoderConfig",
    "arch_from_dict",
    "load_arch",
    "shipped_configs",
]


def _dataflows(path: str, value: Any) -> tuple[str, ...]:
    return distinct_choices(path, value, DATAFLOWS)


# Physical limits, far beyond any device built, so that a typo is an error rather than a
# result of 10^18 uJ or an infinite latency (``cols: 1e12``, ``clock_mhz: 1e-300``):
# - array side: TPU v1's 256 x 256 is the largest systolic array we know of;
# - clock: FPGA accelerators run from ~50 MHz, ASICs up to a few GHz.
MAX_ARRAY_SIDE = 4096
ARRAY_SIDE = within(POSITIVE_INT, None, MAX_ARRAY_SIDE,
                    "the largest systolic arrays built are 256 x 256")
CLOCK_MHZ = within(POSITIVE_NUMBER, 1, 10_000, "1 MHz to 10 GHz spans every accelerator clock")
VECTOR_LANES = within(POSITIVE_INT, None, 65_536, "wider than any SIMD unit built")
VECTOR_OPS = within(POSITIVE_INT, None, 1_024, "operations per lane per cycle")
# FPGA families the per-PE resource table can hold (``configs/fpga/pe_resources.yaml``):
# Xilinx 7-series, Lattice iCE40, Xilinx UltraScale+ and Lattice ECP5.
FPGA_FAMILIES = ("xc7", "ice40", "xcup", "ecp5")
FPGA_RESOURCE = within(POSITIVE_INT, None, 10**8, "the largest FPGAs hold about 10^7 of each")


@dataclass(frozen=True, slots=True)
class ArrayConfig(Checked):
    """A ``rows x cols`` systolic array of one PE kind at ``clock_mhz``, able to run the
    ``dataflows`` listed (:mod:`hwsim.dataflow`), the first one preferred."""

    CHECKS: ClassVar[dict[str, Check]] = {
        "rows": ARRAY_SIDE, "cols": ARRAY_SIDE,
        "dataflows": Check("a non-empty list of " + ", ".join(map(repr, DATAFLOWS)), _dataflows),
        "pe": nested(PeConfig),
        "clock_mhz": CLOCK_MHZ,
    }
    rows: int
    cols: int
    dataflows: tuple[str, ...]
    pe: PeConfig
    clock_mhz: float
    where: InitVar[str] = "array"

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    def peak_macs_per_cycle(self, w_bits: int, a_bits: int) -> float:
        """Peak MACs per cycle of the whole array at this precision."""
        return self.pes * self.pe.macs_per_cycle(w_bits, a_bits)




def _nm(path: str, value: Any) -> tuple[int, int] | None:
    """``"2:4"`` (or ``[2, 4]``) as ``(2, 4)``; ``None`` stays ``None``."""
    if value is None:
        return None
    parts = value.split(":") if isinstance(value, str) else value
    ok = (isinstance(parts, list | tuple) and len(parts) == 2
          and all((isinstance(p, int) and not isinstance(p, bool))
                  or (isinstance(p, str) and p.strip().isdigit()) for p in parts))
    n, m = (int(p) for p in parts) if ok else (0, 0)
    if not 0 < n < m <= 32:
        raise fail(path, "'N:M' with 0 < N < M <= 32, e.g. '2:4'", value)
    return n, m


@dataclass(frozen=True, slots=True)
class SparsityConfig(Checked):
    """What the accelerator does with zero weights; by default nothing.

    ``weight_format``: ``"dense"`` stores every weight; ``"bitmap"`` stores the non-zeros plus
    a 1-bit mask per weight (the compressed formats of Cambricon-X, Zhang et al. MICRO 2016,
    and SparTen, Gondimalla et al. MICRO 2019). ``zero_skip``: the array skips zero weights,
    so a tile's reduction shrinks to its non-zeros, stretched by ``imbalance`` (>= 1): the
    busiest PE group sets the pace (SparTen section 3.3 measures this load imbalance).
    ``activation_skip``: the array skips zero input activations (Cnvlutin, Albericio et al.,
    ISCA 2016, which encodes each activation brick as non-zero values with their offsets), so
    a reduction shrinks to its non-zero inputs, stretched by the same ``imbalance``; with
    ``zero_skip`` too, to the pairs of non-zero weight and non-zero input (SparTen).
    ``nm``: N:M structured sparsity in hardware, ``"2:4"`` as NVIDIA Ampere's sparse tensor
    cores (Mishra et al., 2021): a layer with at most ``N`` non-zeros in every ``M`` input
    channels stores ``N`` of each ``M`` weights plus ``log2 M`` bits of position metadata for
    each, and the array runs ``N/M`` of each reduction, with no imbalance (the pattern is
    regular).
    """

    FORMATS: ClassVar[tuple[str, ...]] = ("dense", "bitmap")
    CHECKS: ClassVar[dict[str, Check]] = {
        "weight_format": Check("one of 'dense', 'bitmap'",
                               lambda path, v: one_of(path, v, SparsityConfig.FORMATS)),
        "zero_skip": BOOLEAN,
        "activation_skip": BOOLEAN,
        "nm": Check("'N:M' with 0 < N < M <= 32, e.g. '2:4'", lambda path, v: _nm(path, v)),
        "imbalance": within(POSITIVE_NUMBER, 1, 1_000, "a stretch of the busiest PE group: "
                            "SparTen measures under 2"),
    }
    weight_format: str = "dense"
    zero_skip: bool = False
    imbalance: float = 1.0
    activation_skip: bool = False
    nm: tuple[int, int] | None = None
    where: InitVar[str] = "sparsity"

    def __post_init__(self, where: str) -> None:
        Checked.__post_init__(self, where)  # (slots dataclasses break zero-argument super())
        if self.zero_skip and self.weight_format != "bitmap":
            raise fail(f"{where}.zero_skip", "false unless weight_format is 'bitmap' (skipping "
                       "needs to know where the zeros are)", self.zero_skip)


@dataclass(frozen=True, slots=True)
class WeightDecoderConfig(Checked):
    """A decoder between the DRAM and the weight SRAM for weights stored as Deep Compression
    stores them (Han, Mao, Dally, ICLR 2016): per layer a codebook of shared values, per weight
    an index into it, a relative sparse index, the two streams Huffman-coded.

    Weights stay coded in DRAM, so a shared layer's weight loads move its coded size; the
    decoder expands them on their way into the weight SRAM, which holds ordinary weights of
    ``value_bits`` (in the ``sparsity`` section's on-chip format), and the array multiplies at
    ``value_bits``. Its codebook holds ``2^codebook_bits`` values, the widest index it
    decodes, as EIE's 16-entry table of 16-bit values decodes 4-bit indices (Han et al., "EIE:
    Efficient Inference Engine on Sparse and Compressed Deep Neural Network", ISCA 2016,
    Section III). ``huffman``: the streams in DRAM are Huffman-coded (Deep Compression's
    Section 4; otherwise fixed-width indices). ``decoders``: stored entries decoded per cycle,
    one codeword each, as a table-lookup decoder of a prefix code produces (Moffat, Turpin,
    "On the Implementation of Minimum Redundancy Prefix Codes", IEEE Trans. Commun. 1997).
    The model, with its energy and timing, is stated in :mod:`compiler.mapping.sparsity`.
    """

    CHECKS: ClassVar[dict[str, Check]] = {
        "codebook_bits": within(POSITIVE_INT, None, 16, "Deep Compression shares weights in "
                                "at most 8 bits; 16 is a 65,536-entry table"),
        "value_bits": within(POSITIVE_INT, None, 32, "a decoded weight is at most a 32-bit word"),
        "huffman": BOOLEAN,
        "decoders": within(POSITIVE_INT, None, 4_096, "one per PE column of the largest array"),
    }
    codebook_bits: int = 8
    value_bits: int = 8
    huffman: bool = True
    decoders: int = 1
    where: InitVar[str] = "weight_decoder"

    def decode_cycles(self, entries: int) -> int:
        """Cycles to decode ``entries`` stored entries."""
        return -(-entries // self.decoders)

    @property
    def table_bits(self) -> int:
        """SRAM bits of all decoders' tables: each a codebook of ``2^codebook_bits`` values
        and, for Huffman, a decode table of as many ``codebook_bits`` symbols."""
        width = self.value_bits + (self.codebook_bits if self.huffman else 0)
        return self.decoders * 2**self.codebook_bits * width


@dataclass(frozen=True, slots=True)
class VectorUnitConfig(Checked):
    """SIMD unit for pooling, activation, elementwise, softmax, normalization."""

    CHECKS: ClassVar[dict[str, Check]] = {"lanes": VECTOR_LANES, "ops_per_cycle": VECTOR_OPS}
    lanes: int
    ops_per_cycle: int = 1  # per lane
    where: InitVar[str] = "vector"

    @property
    def ops_per_cycle_total(self) -> int:
        return self.lanes * self.ops_per_cycle


@dataclass(frozen=True, slots=True)
class FpgaBoard(Checked):
    """Resource budget of an FPGA target; ``family`` keys ``configs/fpga/pe_resources.yaml``."""

    CHECKS: ClassVar[dict[str, Check]] = {
        "part": STRING,
        "family": Check("one of " + ", ".join(map(repr, FPGA_FAMILIES)),
                        lambda path, v: one_of(path, v, FPGA_FAMILIES)),
        "lut": FPGA_RESOURCE, "ff": FPGA_RESOURCE,
        "dsp": FPGA_RESOURCE, "bram_36k": FPGA_RESOURCE,
    }
    part: str
    family: str
    lut: int
    ff: int
    dsp: int
    bram_36k: int
    where: InitVar[str] = "fpga"


@dataclass(frozen=True, slots=True)
class Arch(Checked):
    """A validated accelerator description. Derived quantities are properties.

    >>> arch = load_arch("edge_int8")
    >>> arch.array.rows, arch.dram_bits_per_cycle, arch.peak_macs_per_cycle(8, 8)
    (16, 204.8, 256.0)
    """

    CHECKS: ClassVar[dict[str, Check]] = {
        "name": STRING,
        "description": STRING,
        "array": nested(ArrayConfig),
        "buffers": nested(Buffers),
        "dram": nested(DramConfig),
        "vector": nested(VectorUnitConfig),
        "energy": nested(EnergyTable, expectation="a table name"),
        "area": nested(AreaTable, expectation="a table name"),
        "fpga": nested(FpgaBoard, optional=True),
        "sparsity": nested(SparsityConfig),
        "weight_decoder": nested(WeightDecoderConfig, optional=True),
    }
    name: str
    description: str
    array: ArrayConfig
    buffers: Buffers
    dram: DramConfig
    vector: VectorUnitConfig
    energy: EnergyTable
    area: AreaTable
    fpga: FpgaBoard | None = None
    sparsity: SparsityConfig = SparsityConfig()
    weight_decoder: WeightDecoderConfig | None = None
    where: InitVar[str] = ""

    @property
    def cycle_ns(self) -> float:
        return 1000.0 / self.array.clock_mhz

    @property
    def dram_bits_per_cycle(self) -> float:
        """DRAM bandwidth in bits per array clock cycle."""
        return self.dram.bits_per_cycle(self.array.clock_mhz)

    @property
    def sram_kib(self) -> float:
        """On-chip SRAM in KiB: the buffers and the weight decoders' tables."""
        tables = self.weight_decoder.table_bits / 8192 if self.weight_decoder is not None else 0
        return sum(b.size_kib for b in self.buffers.all()) + tables

    @property
    def dram_latency_cycles(self) -> int:
        return self.dram.latency_cycles(self.array.clock_mhz)

    @property
    def dram_channel(self) -> DramChannel:
        """The DRAM channel at the array's clock (:mod:`hwsim.memory`)."""
        return self.dram.channel(self.array.clock_mhz)

    def peak_macs_per_cycle(self, w_bits: int, a_bits: int) -> float:
        return self.array.peak_macs_per_cycle(w_bits, a_bits)

    def with_dataflow(self, dataflow: str) -> Arch:
        """This arch with its mapper restricted to ``dataflow``, one of those it supports
        (``"auto"``: all of them).

        >>> load_arch("edge_int8").with_dataflow("os").array.dataflows
        ('os',)
        """
        if dataflow == "auto":
            return self
        if dataflow not in self.array.dataflows:
            raise ConfigError(f"dataflow must be 'auto' or one {self.name!r} supports "
                              f"({', '.join(self.array.dataflows)}), not {shown(dataflow)}")
        return dataclasses.replace(self, array=dataclasses.replace(self.array,
                                                                   dataflows=(dataflow,)))


def arch_from_dict(data: object, base: Path | None = None) -> Arch:
    """Read one arch document into an :class:`Arch` (the one loader: sections into records,
    which check themselves). ``base`` is the directory the document came from (to find its
    energy table).
    """
    doc = Section(data, "", keys_of(Arch))
    arr = doc.section("array", keys_of(ArrayConfig))
    bufs = doc.section("buffers", BUFFER_NAMES)
    inputs, weights, outputs = (read_record(BufferConfig, bufs.section(name, keys_of(BufferConfig)))
                                for name in BUFFER_NAMES)
    tables = {}
    for key, load, default in (("energy", load_energy_table, None),
                               ("area", load_area_table, DEFAULT_AREA_TABLE)):
        try:
            tables[key] = load(doc.string(key, default) if default else doc.string(key), base)
        except ConfigError as err:
            raise ConfigError(f"{key}: {err}") from None
    optional: dict[str, Any] = {"fpga": FpgaBoard, "sparsity": SparsityConfig,
                                "weight_decoder": WeightDecoderConfig}
    return read_record(
        Arch, doc,
        description=doc.get("description", "a string", "-"),
        array=read_record(ArrayConfig, arr,
                          pe=read_record(PeConfig, arr.section("pe", keys_of(PeConfig)))),
        buffers=Buffers(inputs, weights, outputs),
        dram=read_record(DramConfig, doc.section("dram", keys_of(DramConfig))),
        vector=read_record(VectorUnitConfig, doc.section("vector", keys_of(VectorUnitConfig))),
        **tables,
        **{key: read_record(cls, doc.section(key, keys_of(cls)))
           for key, cls in optional.items() if doc.has(key)},
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
