"""hwsim.pe: a PE kind owns its behaviour, so a new kind is one registry entry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hwsim.area import asic_area
from hwsim.config import load_arch
from hwsim.engine import simulate
from hwsim.errors import ConfigError
from hwsim.isa import Compute, Layer, Load, Program, Run, Store
from hwsim.pe import PE_KINDS, PeConfig, PeKind
from hwsim.resources import fpga_resources, pe_resource_table_from_dict
from hwsim.tables import load_area_table, load_energy_table


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "analog"}, r"array\.pe\.kind must be one of 'int', 'bitserial', 'bitfusion', "
                         r"'xnor', not 'analog'"),
    ({"kind": "xnor", "max_bits": 16},
     r"array\.pe\.max_bits must be at most 8 for a xnor PE, not 16"),
    ({"kind": "int", "width_bits": 0}, r"array\.pe\.width_bits must be a positive integer, not 0"),
    ({"kind": "int", "serial": "both"},
     r"array\.pe\.serial must be absent unless kind is 'bitserial', not 'both'"),
    ({"kind": "bitserial", "serial": "weights"},
     r"array\.pe\.serial must be one of 'activations', 'both', not 'weights'"),
    ({"kind": "bitfusion", "width_bits": 4}, r"array\.pe\.width_bits must be 8 for a bitfusion PE"),
    ({"kind": "bitfusion", "max_bits": 32},
     r"array\.pe\.max_bits must be at most 16 for a bitfusion PE, not 32"),
])
def test_a_pe_checks_its_kinds_rules_when_built(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PeConfig(**kwargs)


def test_configure_applies_the_kinds_own_rules() -> None:
    assert PE_KINDS["bitfusion"].configure(width_bits=4, max_bits=32) == PeConfig("bitfusion")
    assert PE_KINDS["bitserial"].configure(max_bits=12) == PeConfig("bitserial", serial="activations",
                                                                    max_bits=12)
    assert PE_KINDS["int"].configure(width_bits=4, max_bits=32).width_bits == 4


def test_each_kind_names_its_fpga_kernel_and_entry() -> None:
    assert PeConfig("int", width_bits=4).fpga_kernel("os_pe") == ("os_pe", 4)
    assert PeConfig("bitserial", serial="both").fpga_kernel("ws_pe") == ("bitserial_unit", None)
    assert PeConfig("bitfusion").fpga_kernel("ws_pe") == ("bitfusion_unit", None)
    assert PeConfig("xnor", width_bits=64, max_bits=8).fpga_kernel("ws_pe") == ("xnor_unit", 64)


def test_an_unsynthesized_width_is_an_error_not_another_widths_numbers() -> None:
    table = pe_resource_table_from_dict({"yosys_version": "fixture", "kernels": {"ws_pe": [
        {"params": {"bits": 8}, "xc7": {"lut": 10, "ff": 10, "dsp": 1}}]}})
    arch = load_arch("fpga_zynq7020")
    assert fpga_resources(arch, table).used.dsp == 64
    int4 = replace(arch, array=replace(arch.array, pe=PeConfig("int", width_bits=4)))
    with pytest.raises(ConfigError, match=r"kernel 'ws_pe' must have an entry synthesized at "
                                          r"width 4 for xc7, not only \[8\]"):
        fpga_resources(int4, table)


def test_a_new_kind_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ternary-weight PE (two cycles per word, its own cycle energy and area) added as one
    entry works in configs, timing, the engine, energy and area unchanged."""
    kind = PeKind("ternary", "test kind", stream_factor=lambda pe, w, a: 2,
                  k_pack=lambda pe, w, a: 1, digit_bits=lambda pe, w, a: (w, a),
                  cycle_pj=lambda pe, e, a: 0.05, area_um2=lambda pe, t: 100.0,
                  fpga_kernel="ws_pe", max_bits_limit=8)
    monkeypatch.setitem(PE_KINDS, "ternary", kind)
    base = load_arch("edge_int8")
    pe = kind.configure(max_bits=base.array.pe.max_bits)
    assert pe == PeConfig("ternary", max_bits=8)
    arch = replace(base, array=replace(base.array, pe=pe))
    body = (Load("weight", 16 * 16 * 2), Load("input", 32 * 16 * 8),
            Compute("ws", 32, 16, 16, 2, 8, deps=(0, 1)), Store(32 * 16 * 8, deps=(2,)))
    stats = simulate(Program("p", (Layer("l", (Run(body, 10),)),)), arch)
    assert stats.layers[0].busy_cycles == 10 * 2 * 32  # the stream takes two cycles per word
    # a MAC costs a PE cycle times the two cycles it takes
    assert stats.total.energy.mac_pj == pytest.approx(10 * 32 * 16 * 16 * 0.05 * 2)
    assert asic_area(arch, load_area_table()).pe_um2 == 100.0
    energy, area = load_energy_table("horowitz_45nm"), load_area_table()
    assert arch.array.pe.mac_pj(energy, area, 2, 4) == pytest.approx(0.1)
    # static power follows the PE's area
    assert stats.total.energy.static_pj == pytest.approx(
        (energy.static_mw_per_mm2 * 256 * 100e-6 + energy.static_mw_per_mib_sram * 160 / 1024)
        * stats.seconds * 1e9)


def test_energy_and_area_per_kind_follow_the_cited_ratios() -> None:
    """Each kind's PE is priced from the 8-bit MAC by published ratios (docs/energy.md), and
    its static power follows its area. Before: every kind leaked the same per PE (Loom's
    static energy was half its total), BitFusion paid the int8 MAC's energy in a 3.25x larger
    PE, an 8-bit multiplier at 2 bits was charged as a 2x2 one, and a 1x1-bit Loom lane had
    68% of an 8-bit MAC's area."""
    from hwsim.pe import BITFUSION_AREA_RATIO, BITFUSION_CYCLE_RATIO, STRIPES_ISO_AREA_RATIO

    e, a = load_energy_table("horowitz_45nm"), load_area_table()
    int8, int16 = PeConfig("int"), PeConfig("int", width_bits=16)
    fusion = PeConfig("bitfusion")
    stripes = PeConfig("bitserial", serial="activations", max_bits=16)
    loom = PeConfig("bitserial", serial="both", max_bits=16)
    assert int8.mac_pj(e, a, 2, 2) == int8.mac_pj(e, a, 8, 8) == pytest.approx(0.3)
    assert fusion.area_um2(a) == pytest.approx(BITFUSION_AREA_RATIO * int8.area_um2(a))
    assert fusion.mac_pj(e, a, 8, 8) == pytest.approx(BITFUSION_CYCLE_RATIO * 0.3)
    assert fusion.mac_pj(e, a, 2, 2) == pytest.approx(fusion.mac_pj(e, a, 8, 8) / 16)
    # 16 Stripes lanes, or 256 Loom lanes, match one 16-bit MAC at 1.32x its area
    assert 16 * stripes.area_um2(a) == pytest.approx(STRIPES_ISO_AREA_RATIO * int16.area_um2(a))
    assert 256 * loom.area_um2(a) == pytest.approx(STRIPES_ISO_AREA_RATIO * int16.area_um2(a))
    assert loom.area_um2(a) < int8.area_um2(a) / 50
    # a Stripes MAC at 16-bit activations costs 1.32x the 16-bit MAC's energy per cycle ...
    assert stripes.mac_pj(e, a, 16, 16) == pytest.approx(
        STRIPES_ISO_AREA_RATIO * 0.3 * int16.area_um2(a) / int8.area_um2(a))
    # ... and at 8 bits half of that
    assert stripes.mac_pj(e, a, 8, 8) == pytest.approx(stripes.mac_pj(e, a, 16, 16) / 2)


def test_an_xnor_pe_takes_a_lane_per_reduction_element_and_a_cycle_per_bit_plane_pair() -> None:
    """64 one-bit lanes: 64 binary MACs a cycle, a quarter of that at 2x2 bits; its cycle
    prices 64 one-bit products and a 64-input popcount from the int PE's component table."""
    e, a = load_energy_table("horowitz_45nm"), load_area_table()
    pe = PeConfig("xnor", width_bits=64, max_bits=8)
    assert (pe.k_pack(1, 1), pe.stream_factor(1, 1), pe.stream_factor(3, 2)) == (64, 1, 6)
    assert pe.macs_per_cycle(1, 1) == 64 and pe.macs_per_cycle(2, 2) == 16
    assert pe.cycle_pj(e, a) == pytest.approx(64 * (e.mult_8b_pj / 64 + e.add_32b_pj / 32)
                                              + e.add_32b_pj)
    # a binary MAC costs a 64th of the unit's cycle: ~40x less than an int8 MAC here
    assert pe.mac_pj(e, a, 1, 1) == pytest.approx(pe.cycle_pj(e, a) / 64)
    assert pe.mac_pj(e, a, 1, 1) < PeConfig("int").mac_pj(e, a, 8, 8) / 30
    acc = 17 + 6
    assert pe.area_um2(a) == pytest.approx(64 * a.mult_8b_um2 / 64 + a.adder_um2(64)
                                           + a.adder_um2(acc) + (2 * 8 * 64 + acc) * a.dff_um2)


def test_a_layer_too_wide_for_the_pe_says_how_it_could_run() -> None:
    from hwsim.errors import ProgramError

    with pytest.raises(ProgramError, match=r"^w_bits must be an integer in 1\.\.8 for this xnor "
                                           r"PE, not 16 \(PE kinds that take 16 bits: int, "
                                           r"bitserial, bitfusion\)$"):
        PeConfig("xnor", width_bits=32, max_bits=8).check_bits(16, 8)
    with pytest.raises(ProgramError, match=r"\(array\.pe\.max_bits may be up to 64 for int PEs\)$"):
        PeConfig("int", max_bits=8).check_bits(8, 12)
