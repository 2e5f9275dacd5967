"""ASIC area model: cited constants, the stated formulas, scaling laws, pinned errors."""

from __future__ import annotations

import doctest
from dataclasses import replace

import pytest

import hwsim.area
from hwsim.area import asic_area
from hwsim.config import load_arch
from hwsim.errors import ConfigError
from hwsim.pe import PeConfig
from hwsim.tables import area_table_from_dict, load_area_table


def test_docstring_examples() -> None:
    assert doctest.testmod(hwsim.area).failed == 0


def test_every_number_cites_a_source() -> None:
    table = load_area_table("asic_45nm")
    assert "45 nm" in table.technology
    for name, src in table.sources:
        assert len(src) > 20, name
    assert "Horowitz" in table.source("mult_8b_um2")
    assert "modelling assumption" in table.source("sram_array_efficiency")


def test_int8_pe_is_the_sum_of_its_cited_parts() -> None:
    t = load_area_table()
    # 8x8 multiplier + 32-bit accumulator adder + 8 + 8 + 32 flip-flops (module doc)
    assert PeConfig("int").area_um2(t) == pytest.approx(282.0 + 137.0 + 48 * 4.522)


def test_report_adds_up_and_scales() -> None:
    arch = load_arch("edge_int8")
    t = load_area_table()
    r = asic_area(arch, t)
    assert r.total_mm2 == pytest.approx(r.array_mm2 + r.sram_mm2 + r.vector_mm2 + r.fixed_mm2)
    assert r.array_mm2 == pytest.approx(256 * r.pe_um2 / 1e6)
    assert r.sram_mm2 == pytest.approx((64 + 64 + 32) * 8192 * 0.346 / 0.5 / 1e6)
    bigger = replace(arch, array=replace(arch.array, rows=32, cols=32))
    assert asic_area(bigger, t).array_mm2 == pytest.approx(4 * r.array_mm2)


def test_pe_kinds_order() -> None:
    """BitFusion's 16 BitBricks and shift-add tree cost more than one 8x8 MAC; a 4-bit int PE
    less; a bit-serial PE (one lane, AND gates) less than a 16-bit int MAC."""
    t = load_area_table()
    int8 = PeConfig("int").area_um2(t)
    assert PeConfig("bitfusion").area_um2(t) > 2 * int8
    assert PeConfig("int", width_bits=4).area_um2(t) < int8
    assert (PeConfig("bitserial", serial="activations").area_um2(t)
            < PeConfig("int", width_bits=16).area_um2(t))


def test_errors_name_the_field() -> None:
    good = {"name": "x", "technology": "t", **{
        k: {"value": 1.0, "source": "s"} for k in (
            "mult_8b_um2", "add_8b_um2", "add_32b_um2", "dff_um2", "and2_um2",
            "sram_bitcell_um2", "sram_array_efficiency", "fixed_mm2")}}
    assert area_table_from_dict(good).sram_mm2_per_kib == pytest.approx(8192 / 1e6)
    with pytest.raises(ConfigError, match=r"^sram_array_efficiency.value must be a number in"):
        area_table_from_dict({**good, "sram_array_efficiency": {"value": 2.0, "source": "s"}})
    with pytest.raises(ConfigError, match=r"^dff_um2.source is required"):
        area_table_from_dict({**good, "dff_um2": {"value": 1.0}})
    with pytest.raises(ConfigError, match="area table must be a YAML path or a known name"):
        load_area_table("no_such_table")
