"""The weight decoder: weights that stay coded in DRAM (Deep Compression) are decoded on their
way into the weight SRAM. A decoded load holds the DRAM channel for its transfer or its
decoding, whichever is longer; it moves its coded bits, writes its decoded bits and pays per
entry decoded; a program that decodes on an arch without a decoder is refused."""

from __future__ import annotations

import dataclasses

import pytest

from hwsim.config import WeightDecoderConfig, load_arch
from hwsim.energy import decode_pj
from hwsim.engine import simulate
from hwsim.errors import ConfigError, ProgramError
from hwsim.isa import Compute, Layer, Load, Program, Run, Store

ARCH = load_arch("deep_compression_int8")
COUNT = 24


def program(weight_load: Load) -> Program:
    body = (weight_load, Load("input", 16 * 64 * 8), Compute("os", 16, 64, 16, deps=(0, 1)),
            Store(16 * 16 * 8, deps=(2,)))
    return Program("p", (Layer("fc", (Run(body, count=COUNT),)),))


def plain_load_lasting(cycles: int) -> Load:
    """A load without decoding whose transfer occupies the channel ``cycles`` cycles."""
    channel = ARCH.dram_channel
    bits = int(cycles * channel.bits_per_cycle)
    while channel.transfer_cycles(bits) < cycles:
        bits += 1
    assert channel.transfer_cycles(bits) == cycles
    return Load("weight", bits)


@pytest.mark.parametrize("steady_state", [True, False])
@pytest.mark.parametrize(("bits", "entries"), [
    (8_000, 32 * 300),  # decoding takes 300 cycles, the transfer 40: decode-bound
    (40_000, 32 * 20),  # the transfer takes 196 cycles, decoding 20: transfer-bound
    (8_000, 32 * 300 + 1),  # a partial last cycle of decoding counts whole
])
def test_a_decoded_load_lasts_its_transfer_or_its_decoding_whichever_is_longer(
        bits: int, entries: int, steady_state: bool) -> None:
    decoder = ARCH.weight_decoder
    assert decoder is not None and decoder.decoders == 32
    lasts = max(ARCH.dram_channel.transfer_cycles(bits), decoder.decode_cycles(entries))
    decoded = simulate(program(Load("weight", bits, decode=entries, sram_bits=16 * 64 * 8)),
                       ARCH, trace=False, steady_state=steady_state)
    plain = simulate(program(plain_load_lasting(lasts)), ARCH, trace=False,
                     steady_state=steady_state)
    assert decoded.total.cycles == plain.total.cycles
    assert decoded.total.stall_cycles == plain.total.stall_cycles


def test_a_decoded_load_moves_its_coded_bits_and_writes_its_decoded_bits() -> None:
    stats = simulate(program(Load("weight", 3_000, decode=700, sram_bits=8_192)), ARCH,
                     trace=False).total
    counts = stats.counts
    assert stats.dram_read_bits == COUNT * (3_000 + 16 * 64 * 8)
    assert dict(counts.sram_write_bits)["weight"] == COUNT * 8_192
    assert counts.decoded == COUNT * 700
    assert stats.energy.decode_pj == pytest.approx(COUNT * 700 * decode_pj(ARCH))
    undecoded = simulate(program(Load("weight", 3_000)), ARCH, trace=False).total
    assert undecoded.energy.decode_pj == 0.0
    assert dict(undecoded.counts.sram_write_bits)["weight"] == COUNT * 3_000


def test_decoding_energy_is_a_codebook_read_plus_a_huffman_table_read() -> None:
    """Priced as SRAMs of the tables' sizes: bigger codebooks and Huffman cost more."""
    def with_decoder(**fields: object) -> float:
        decoder = dataclasses.replace(WeightDecoderConfig(), **fields)
        return decode_pj(dataclasses.replace(ARCH, weight_decoder=decoder))

    t = ARCH.energy
    assert with_decoder(codebook_bits=4, huffman=False) == pytest.approx(
        8 * t.sram_read_pj_per_bit(16 * 8 / 8192))
    assert with_decoder(codebook_bits=4) == pytest.approx(
        8 * t.sram_read_pj_per_bit(16 * 8 / 8192) + 4 * t.sram_read_pj_per_bit(16 * 4 / 8192))
    assert with_decoder(codebook_bits=4) < with_decoder(codebook_bits=8)
    assert decode_pj(load_arch("edge_int8")) == 0.0
    assert 0 < decode_pj(ARCH) < t.mult_8b_pj * 4  # a small table read, not a multiply's worth


@pytest.mark.parametrize(("load", "arch", "message"), [
    (Load("weight", 100, decode=10), "edge_int8",
     r"instr 0 \(load\): decode must be 0 on edge_int8, which has no weight_decoder, not 10"),
    (Load("input", 100, decode=10), "deep_compression_int8",
     r"decode must be 0 for a load into the input buffer \(the decoder expands weights\)"),
    (Load("weight", 100, decode=-1), "deep_compression_int8",
     r"decode must be a non-negative integer, not -1"),
    (Load("weight", 100, sram_bits=0), "deep_compression_int8",
     r"sram_bits must be a positive integer, not 0"),
    (Load("weight", 100, decode=1, sram_bits=10**9), "deep_compression_int8",
     r"sram_bits must fit 2 times \(its slots\) in the 64 KiB weight buffer, not 1000000000"),
])
def test_bad_decoded_loads_name_the_field(load: Load, arch: str, message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        program(load).validate(load_arch(arch))


def test_a_program_with_decoded_loads_round_trips_through_json() -> None:
    p = program(Load("weight", 3_000, decode=700, sram_bits=8_192))
    assert Program.from_json(p.to_json()) == p


@pytest.mark.parametrize(("section", "message"), [
    ({"codebook_bits": 17}, r"weight_decoder.codebook_bits must be a positive integer at most 16"),
    ({"decoders": 0}, r"weight_decoder.decoders must be a positive integer"),
    ({"huffman": "yes"}, r"weight_decoder.huffman must be true or false, not 'yes'"),
    ({"lanes": 4}, r"weight_decoder: unknown key 'lanes' \(expected one of: codebook_bits, "
                   r"value_bits, huffman, decoders\)"),
])
def test_a_bad_decoder_section_names_the_field(section: dict[str, object], message: str) -> None:
    import yaml

    from hwsim.config import arch_from_dict, find_config_file

    doc = yaml.safe_load(find_config_file("deep_compression_int8").read_text())
    doc["weight_decoder"] = section
    with pytest.raises(ConfigError, match=message):
        arch_from_dict(doc)


def test_the_decoders_tables_count_as_sram_in_area_and_leakage() -> None:
    from hwsim.area import asic_area
    from hwsim.energy import static_mw

    twin = load_arch("sparse_int8")  # the same array and buffers, no decoder
    decoder = ARCH.weight_decoder
    assert decoder is not None
    tables_kib = decoder.table_bits / 8192
    assert tables_kib == 32 * 256 * (8 + 8) / 8192 == 16
    assert ARCH.sram_kib == twin.sram_kib + tables_kib
    assert asic_area(ARCH).sram_mm2 == pytest.approx(
        asic_area(twin).sram_mm2 * ARCH.sram_kib / twin.sram_kib)
    assert static_mw(ARCH) == pytest.approx(
        static_mw(twin) + ARCH.energy.static_mw_per_mib_sram * tables_kib / 1024)
