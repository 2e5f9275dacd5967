"""Points: canonical values, ids stable across processes and runs, point -> Arch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hwsim.config import load_arch
from hwsim.errors import ConfigError, SystolabError
from systolab.search.sweep.points import Point, to_arch


def test_id_is_pinned_and_independent_of_order_and_spelling() -> None:
    a = Point.of({"array": 32, "dataflow": ["ws"], "buffer_kib": 128})
    b = Point.of({"buffer_kib": 128, "dataflow": "ws", "array": 32})
    assert a == b and a.id == b.id == "b3bd1976de43"  # a change breaks every stored sweep
    assert Point.of({"clock_mhz": 500}).id == Point.of({"clock_mhz": 500.0}).id


def test_id_is_the_same_in_another_process() -> None:
    code = ("from systolab.search.sweep.points import Point; "
            "print(Point.of({'array': 32, 'dataflow': 'ws', 'buffer_kib': 128}).id)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "b3bd1976de43"


def test_to_arch_applies_every_parameter() -> None:
    base = load_arch("edge_int8")
    arch = to_arch(base, Point.of({"rows": 8, "cols": 24, "pe": "bitserial:both",
                                   "dataflow": "os+ws", "clock_mhz": 250, "input_kib": 16,
                                   "output_kib": 8, "dram_bw_gbps": 3.2, "vector_lanes": 4}))
    assert (arch.array.rows, arch.array.cols, arch.array.clock_mhz) == (8, 24, 250.0)
    assert (arch.array.pe.kind, arch.array.pe.serial) == ("bitserial", "both")
    assert arch.array.dataflows == ("os", "ws")
    assert (arch.buffers.input.size_kib, arch.buffers.weight.size_kib,
            arch.buffers.output.size_kib) == (16, base.buffers.weight.size_kib, 8)
    assert arch.dram.bw_gbps == 3.2 and arch.vector.lanes == 4
    assert arch.name == base.name and arch.energy is base.energy


def test_equal_hardware_is_equal_arch() -> None:
    """Caches key on the Arch: the same hardware from two points must hash the same."""
    base = load_arch("edge_int8")
    a = to_arch(base, Point.of({"array": 32}))
    b = to_arch(base, Point.of({"rows": 32, "cols": 32}))
    assert a == b and hash(a) == hash(b)


@pytest.mark.parametrize(("value", "kind", "width"), [("int4", "int", 4), ("int", "int", 8),
                                                      ("bitfusion", "bitfusion", 8)])
def test_pe_values(value: str, kind: str, width: int) -> None:
    pe = to_arch(load_arch("edge_int8"), Point.of({"pe": value})).array.pe
    assert (pe.kind, pe.width_bits) == (kind, width)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ConfigError, match=r"^parameter must be one of rows, cols"):
        Point.of({"depth": 3})
    with pytest.raises(ConfigError, match=r"^rows must be a positive integer, not 0$"):
        Point.of({"rows": 0})


def test_impossible_combination_raises_a_user_error() -> None:
    base = load_arch("edge_int8")
    with pytest.raises(SystolabError):
        to_arch(base, Point.of({"pe": "int0"}))


def test_a_new_pe_kind_is_a_sweep_value_with_its_own_rules(monkeypatch) -> None:
    """The sweep's ``pe`` parameter reads the registry: a new kind needs no edit here."""
    from hwsim.pe import PE_KINDS, PeKind

    monkeypatch.setitem(PE_KINDS, "ternary", PeKind(
        "ternary", "test kind", stream_factor=lambda pe, w, a: 2, k_pack=lambda pe, w, a: 1,
        digit_bits=lambda pe, w, a: (w, a), cycle_pj=lambda pe, e, a: 0.1,
        area_um2=lambda pe, t: 100.0, fixed_width=2, max_bits_limit=8))
    arch = to_arch(load_arch("edge_int8"), Point.of({"pe": "ternary"}))
    assert (arch.array.pe.kind, arch.array.pe.width_bits, arch.array.pe.max_bits) == ("ternary", 2, 8)


def test_points_that_share_tiles_sort_next_to_each_other() -> None:
    from systolab.search.sweep.points import locality_key

    points = [Point.of({"array": a, "clock_mhz": c, "dram_bw_gbps": d, "dataflow": f})
              for c in (250, 500) for d in (6.4, 12.8) for a in (8, 16) for f in ("ws", "os")]
    ordered = sorted(points, key=locality_key)
    groups = [(p.to_dict()["array"], p.to_dict()["dataflow"]) for p in ordered]
    assert groups == sorted(groups)  # each (array, dataflow) group is contiguous
    assert len(set(groups)) == 4 and all(groups.count(g) == 4 for g in set(groups))


def test_sweep_array_sides_share_the_arch_bound() -> None:
    with pytest.raises(ConfigError, match=r"rows must be a positive integer at most 4,096"):
        Point.of({"rows": 5000})
