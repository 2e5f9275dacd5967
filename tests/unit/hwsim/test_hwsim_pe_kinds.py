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
                         r"not 'analog'"),
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
    """A ternary-weight PE (two cycles per word, its own MAC energy and area) added as one
    entry works in configs, timing, the engine, energy and area unchanged."""
    kind = PeKind("ternary", "test kind", stream_factor=lambda pe, w, a: 2,
                  k_pack=lambda pe, w, a: 1, digit_bits=lambda pe, w, a: (w, a),
                  mac_pj=lambda pe, t, w, a: 0.05 * a, area_um2=lambda pe, t: 100.0,
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
    assert stats.total.energy.mac_pj == pytest.approx(10 * 32 * 16 * 16 * 0.05 * 8)
    assert asic_area(arch, load_area_table()).pe_um2 == 100.0
    assert arch.array.pe.mac_pj(load_energy_table("horowitz_45nm"), 2, 4) == pytest.approx(0.2)
