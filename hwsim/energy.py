"""The energy model: energy = sum over actions of count x unit cost.

Unit costs come from the arch's energy table (:class:`hwsim.tables.EnergyTable`, every number
cited). The model (stated once, here):

- **MAC**: the PE kind's energy per MAC at the tile's bits (:meth:`hwsim.pe.PeConfig.mac_pj`):
  its energy per PE cycle times the cycles a MAC takes. An ``int`` PE of width ``W`` spends
  ``mult_8b_pj * (W/8)^2 + add_32b_pj`` per cycle whatever the operands' widths (narrower
  operands run on the same multiplier); BitFusion and bit-serial PEs are scaled from it by
  published ratios (:mod:`hwsim.pe`, docs/energy.md).
- **SRAM**: pJ/bit = (64-bit read energy, interpolated log-log in the buffer size between the
  cited points and extrapolated along the end segments) / 64; a write costs
  ``sram_write_factor`` times a read.
- **DRAM**: ``Arch.dram.pj_per_bit`` per bit moved.
- **Vector**: ``vector_op_pj`` per vector-unit operation.
- **Weight decoding** (an arch with a ``weight_decoder``): per stored entry decoded, one read
  of a ``value_bits`` entry of the ``2^codebook_bits``-entry codebook and, for Huffman-coded
  streams, one read of a ``codebook_bits`` symbol from a decode table of as many entries, each
  priced as an SRAM of that size (a table-lookup decoder reads one entry per codeword).
- **Static**: (``static_mw_per_mm2`` x the array's PE area + ``static_mw_per_mib_sram`` x
  SRAM MiB, decoder tables included) x time: a PE leaks in proportion to its area.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.config import Arch

__all__ = ["ActionCounts", "EnergyBreakdown", "Prices", "decode_pj", "energy_of", "static_mw"]


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
    decoded: int = 0  # stored weight entries the weight decoder expanded

    def __add__(self, other: ActionCounts) -> ActionCounts:
        return ActionCounts(
            macs=_merge(self.macs, other.macs),
            sram_read_bits=_merge(self.sram_read_bits, other.sram_read_bits),
            sram_write_bits=_merge(self.sram_write_bits, other.sram_write_bits),
            dram_bits=self.dram_bits + other.dram_bits,
            vector_ops=self.vector_ops + other.vector_ops,
            decoded=self.decoded + other.decoded,
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
    decode_pj: float = 0.0

    @property
    def total_pj(self) -> float:
        return (self.mac_pj + self.sram_pj + self.dram_pj + self.vector_pj + self.static_pj
                + self.decode_pj)

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(
            self.mac_pj + other.mac_pj, self.sram_pj + other.sram_pj,
            self.dram_pj + other.dram_pj, self.vector_pj + other.vector_pj,
            self.static_pj + other.static_pj, self.decode_pj + other.decode_pj,
        )


def decode_pj(arch: Arch) -> float:
    """Energy to decode one stored weight entry on ``arch`` (module doc; 0 without a decoder)."""
    dec = arch.weight_decoder
    if dec is None:
        return 0.0
    t, entries = arch.energy, 2**dec.codebook_bits
    pj = dec.value_bits * t.sram_read_pj_per_bit(entries * dec.value_bits / 8192)
    if dec.huffman:
        pj += dec.codebook_bits * t.sram_read_pj_per_bit(entries * dec.codebook_bits / 8192)
    return pj


def static_mw(arch: Arch) -> float:
    """Static power of the whole accelerator in mW (PEs plus SRAM)."""
    t = arch.energy
    sram_mib = arch.sram_kib / 1024.0
    pe_mm2 = arch.array.pes * arch.array.pe.area_um2(arch.area) * 1e-6
    return t.static_mw_per_mm2 * pe_mm2 + t.static_mw_per_mib_sram * sram_mib


class Prices:
    """The unit prices of ``arch``, looked up once: a search that prices many action counts
    on one arch (the mapper) keeps one; :func:`energy_of` is the one-off form."""

    def __init__(self, arch: Arch) -> None:
        t = self._table = arch.energy
        self._arch = arch
        self._read = {b: t.sram_read_pj_per_bit(arch.buffers.get(b).size_kib)
                      for b in ("input", "weight", "output")}
        self._write = {b: t.sram_write_pj_per_bit(arch.buffers.get(b).size_kib)
                       for b in ("input", "weight", "output")}
        self._static_mw = static_mw(arch)
        self._decode = decode_pj(arch)
        self._mac: dict[tuple[int, int], float] = {}

    def mac_pj(self, w_bits: int, a_bits: int) -> float:
        pj = self._mac.get((w_bits, a_bits))
        if pj is None:
            arch = self._arch
            pj = self._mac[w_bits, a_bits] = arch.array.pe.mac_pj(self._table, arch.area,
                                                                  w_bits, a_bits)
        return pj

    def energy(self, counts: ActionCounts, seconds: float) -> EnergyBreakdown:
        """Energy of ``counts`` over ``seconds`` of run time (mW x s = 1e9 pJ)."""
        mac = sum(n * self.mac_pj(w, a) for (w, a), n in counts.macs)
        sram = sum(n * self._read[b] for b, n in counts.sram_read_bits)
        sram += sum(n * self._write[b] for b, n in counts.sram_write_bits)
        return EnergyBreakdown(
            mac_pj=mac,
            sram_pj=sram,
            dram_pj=counts.dram_bits * self._arch.dram.pj_per_bit,
            vector_pj=counts.vector_ops * self._table.vector_op_pj,
            static_pj=self._static_mw * seconds * 1e9,
            decode_pj=counts.decoded * self._decode,
        )


def energy_of(counts: ActionCounts, arch: Arch, seconds: float) -> EnergyBreakdown:
    """Energy of ``counts`` on ``arch`` over ``seconds`` of run time (mW x s = 1e9 pJ)."""
    return Prices(arch).energy(counts, seconds)
