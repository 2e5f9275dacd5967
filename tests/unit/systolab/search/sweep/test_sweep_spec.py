"""Sweep-file validation: a full document parses; each mistake is named, messages pinned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hwsim.errors import ConfigError
from systolab.search.sweep.spec import load_sweep_spec, sweep_spec_from_dict

REPO = Path(__file__).resolve().parents[5]


def test_example_sweep_file_parses() -> None:
    spec = load_sweep_spec(REPO / "configs" / "sweeps" / "edge_sweep.yaml")
    assert spec.workloads[0].model == "resnet18"
    assert dict((a.name, a.values) for a in spec.axes)["array"] == (8, 16, 32, 64)
    assert spec.strategy.kind == "random" and spec.strategy.n == 48
    assert spec.constraints.max_area_mm2 == 4.0


def test_ranges_lists_and_scalars(tiny_doc) -> None:
    doc = tiny_doc(axes={"rows": {"min": 8, "max": 20, "step": 4},
                         "dram_bw_gbps": {"min": 6.4, "max": 19.2, "step": 6.4},
                         "weight_kib": {"values": [32, 64]}, "clock_mhz": 500,
                         "dataflow": [["ws", "os"], "is"], "pe": ["int", "bitserial"]},
                   strategy={"kind": "optuna", "n": 20, "seed": 3},
                   objectives=["edp", "area_mm2"])
    spec = sweep_spec_from_dict(doc)
    axes = {a.name: a.values for a in spec.axes}
    assert axes["rows"] == (8, 12, 16, 20)
    assert axes["dram_bw_gbps"] == (6.4, 12.8, 19.2)
    assert axes["clock_mhz"] == (500.0,)
    assert axes["dataflow"] == ("ws+os", "is")
    assert axes["pe"] == ("int", "bitserial:activations")
    assert spec.grid_size == 4 * 3 * 2 * 1 * 2 * 2
    assert (spec.strategy.kind, spec.strategy.n, spec.strategy.seed, spec.strategy.batch) == \
        ("optuna", 20, 3, 8)


def test_fpga_board_by_config_name(tiny_doc) -> None:
    spec = sweep_spec_from_dict(tiny_doc(constraints={"fpga": "fpga_zynq7020",
                                                      "max_fpga_utilization": 0.8},
                                         objectives=["latency_ms", "fpga_util"]))
    assert spec.constraints.fpga is not None and spec.constraints.fpga.dsp == 220
    assert spec.constraints.max_fpga_utilization == 0.8


def test_codesign_block(tiny_doc) -> None:
    spec = sweep_spec_from_dict(tiny_doc(codesign={"bits": [4, 8], "budget": {"latency_ms": 2}}))
    assert spec.codesign is not None
    assert spec.codesign.bits == (8, 4) and spec.codesign.budget == (("latency_ms", 2.0),)


BAD = [
    ({"axes": {"rowz": [8]}}, "axes: unknown parameter 'rowz' (expected one of: rows, cols, array"),
    ({"axes": {"rows": {"min": 8, "max": 4, "step": 2}}},
     "axes.rows.max must be a number >= min (8), not 4"),
    ({"axes": {"rows": {"min": 9, "max": 15, "log2": True}}},
     "axes.rows.max must be at least one power of two in [9, 15], not 15"),
    ({"axes": {"rows": {"min": 8, "max": 64}}}, "axes.rows.step is required (a positive number)"),
    ({"axes": {"dram_bw_gbps": {"min": 1, "max": float("nan"), "step": 1}}},
     "axes.dram_bw_gbps.max must be a finite number, not nan"),
    ({"axes": {"array": {"min": 4, "max": float("inf"), "log2": True}}},
     "axes.array.max must be a finite number, not inf"),
    ({"axes": {"clock_mhz": [float("nan"), 500]}},
     "axes.clock_mhz[0] must be a positive number, not nan"),
    ({"axes": {"rows": [8, -4]}}, "axes.rows[1] must be a positive integer, not -4"),
    ({"axes": {"dataflow": ["ws", "xs"]}},
     "axes.dataflow[1] must be a dataflow (ws, os, is) or a list of them, not 'xs'"),
    ({"axes": {"pe": ["bitserial:half"]}},
     "axes.pe[0] must be int, int<bits>, bitserial, bitserial:<activations|both>, bitfusion, "
     "xnor or xnor<bits>, not 'bitserial:half'"),
    ({"axes": {"rows": [8, 8]}}, "axes.rows must list distinct values, not [8, 8]"),
    ({"axes": {}}, "axes must be a mapping with at least one parameter, not {}"),
    ({"strategy": {"kind": "bayes"}},
     "strategy.kind must be one of 'grid', 'random', 'optuna', not 'bayes'"),
    ({"strategy": {"kind": "random"}}, "strategy.n is required (a positive integer)"),
    ({"strategy": {"kind": "grid", "n": 5}},
     "strategy.n must be absent for a grid (it runs every combination), not 5"),
    ({"objectives": ["latency", "energy_uj"]}, "objectives must be a list of distinct names from"),
    ({"objectives": ["latency_ms", "fpga_util"]},
     "objectives must be without fpga objectives unless an FPGA board is set"),
    ({"workloads": [{"model": "resnet18", "topology": "x.csv"}]},
     "workloads[0] must have exactly one of model, topology"),
    ({"workloads": [{"model": "lenet5"}, {"model": "lenet5"}]},
     "workloads must be workloads with distinct names (set name:), not ['lenet5', 'lenet5']"),
    ({"constraints": {"max_area_mm2": -1}}, "constraints.max_area_mm2 must be a positive number, not -1"),
    ({"constraints": {"max_fpga_utilization": 0.5}},
     "constraints.max_fpga_utilization must be absent without an FPGA board (set fpga:), not 0.5"),
    ({"constraints": {"fpga": "edge_int8"}},
     "constraints.fpga must be an arch config with an fpga block, not 'edge_int8'"),
    ({"codesign": {"bits": [8, 0], "budget": {"latency_ms": 1}}},
     "codesign.bits must be a list of distinct integers from 1 to 16, not [8, 0]"),
    ({"codesign": {"budget": {"accuracy": 0.9}}},
     "codesign.budget: unknown key 'accuracy' (expected one of: latency_ms, energy_uj, weight_mib)"),
    ({"base": "no_such_arch"}, "base: config must be a YAML path or a known name, not 'no_such_arch'"),
    ({"mode": "fast"}, "mode must be one of 'native', 'scalesim', not 'fast'"),
    ({"extra": 1}, "the document: unknown key 'extra'"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_errors_name_the_field(tiny_doc, change, message) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        sweep_spec_from_dict(tiny_doc(**change))


def test_file_errors_start_with_the_file_name(tmp_path: Path, tiny_doc) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(tiny_doc(axes={"rows": "many"})))
    with pytest.raises(ConfigError, match=r"^bad\.yaml: axes\.rows\[0\] must be a positive integer"):
        load_sweep_spec(path)
    with pytest.raises(ConfigError, match="cannot read sweep file"):
        load_sweep_spec(tmp_path / "missing.yaml")


def test_relative_topology_resolves_next_to_the_sweep_file(tmp_path: Path, tiny_doc, topology) -> None:
    (tmp_path / "layers.csv").write_text(topology.read_text())
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(tiny_doc(workloads=[{"topology": "layers.csv"}])))
    spec = load_sweep_spec(path)
    assert spec.workloads[0].topology == str(tmp_path / "layers.csv")
    assert spec.workloads[0].name == "layers"
