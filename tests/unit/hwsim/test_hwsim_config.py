"""hwsim.config: shipped configs load; bad configs fail with pinned, field-naming messages."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from hwsim.config import FpgaBoard, SparsityConfig, arch_from_dict, load_arch, shipped_configs
from hwsim.errors import ConfigError
from hwsim.pe import PeConfig
from hwsim.tables import energy_table_from_dict, load_energy_table
from hwsim.yamlfile import find_config_file

REQUIRED = {"edge_int8", "cloud_tpu_int8", "stripes", "loom", "bitfusion_eyeriss",
            "fpga_zynq7020", "fpga_zcu102"}


def base_doc() -> dict:
    with open(find_config_file("edge_int8")) as fh:
        return yaml.safe_load(fh)


def build(edit) -> None:
    doc = copy.deepcopy(base_doc())
    edit(doc)
    arch_from_dict(doc)


def test_required_configs_are_shipped_and_load():
    assert set(shipped_configs()) >= REQUIRED
    for name in shipped_configs():
        arch = load_arch(name)
        assert arch.name == name


def test_shipped_config_facts():
    bf = load_arch("bitfusion_eyeriss")
    assert (bf.array.rows, bf.array.cols, bf.array.clock_mhz) == (16, 32, 500.0)
    assert sorted(b.size_kib for b in bf.buffers.all()) == [16, 32, 64]
    tpu = load_arch("cloud_tpu_int8")
    assert tpu.array.rows == 128 and tpu.buffers.input.size_kib >= 1024
    assert tpu.dram.bw_gbps >= 300
    assert load_arch("stripes").array.pe.serial == "activations"
    assert load_arch("loom").array.pe.serial == "both"
    assert load_arch("fpga_zynq7020").fpga.dsp == 220
    assert load_arch("fpga_zcu102").fpga.dsp == 2520


def test_arch_is_frozen():
    arch = load_arch("edge_int8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        arch.array.rows = 3  # type: ignore[misc]


def test_load_by_path(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    doc = base_doc()
    doc["name"] = "mine"
    path.write_text(yaml.safe_dump(doc))
    assert load_arch(path).name == "mine"
    assert load_arch(str(path)).name == "mine"


def test_config_search_path(tmp_path: Path, monkeypatch):
    doc = base_doc()
    doc["name"] = "elsewhere"
    (tmp_path / "elsewhere.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("SYSTOLAB_CONFIGS", str(tmp_path))
    assert load_arch("elsewhere").name == "elsewhere"


def test_unknown_name():
    with pytest.raises(ConfigError, match=r"config must be a YAML path or a known name, not 'nope'"):
        load_arch("nope")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["buffers"]["weight"].update(size_kib="big"),
         r"buffers\.weight\.size_kib must be a positive integer, not 'big'"),
        (lambda d: d["array"].update(rows=-4), r"array\.rows must be a positive integer, not -4"),
        (lambda d: d["array"].update(rowz=4),
         r"array: unknown key 'rowz' \(expected one of: rows, cols, dataflows, pe, clock_mhz\)"),
        (lambda d: d.update(extra=1), r"the document: unknown key 'extra'"),
        (lambda d: d["array"].update(dataflows=["ws", "rs"]),
         r"array\.dataflows must be a non-empty list of 'ws', 'os', 'is', not \['ws', 'rs'\]"),
        (lambda d: d["array"]["pe"].update(kind="analog"),
         r"array\.pe\.kind must be one of 'int', 'bitserial', 'bitfusion', 'xnor', not 'analog'"),
        (lambda d: d["array"]["pe"].update(kind="bitserial"),
         r"array\.pe\.serial is required \(one of 'activations', 'both'\)"),
        (lambda d: d["array"]["pe"].update(serial="both"),
         r"array\.pe\.serial must be absent unless kind is 'bitserial', not 'both'"),
        (lambda d: d["dram"].update(bw_gbps=0), r"dram\.bw_gbps must be a positive number, not 0"),
        (lambda d: d["dram"].update(bw_gbps=True),
         r"dram\.bw_gbps must be a positive number, not True"),
        (lambda d: d["dram"].update(pj_per_bit=float("nan")),
         r"dram\.pj_per_bit must be a non-negative number, not nan"),
        (lambda d: d["dram"].update(bw_gbps=float("inf")),
         r"dram\.bw_gbps must be a positive number, not inf"),
        (lambda d: d["array"].pop("cols"), r"array\.cols is required \(a positive integer at most 4,096\)"),
        (lambda d: d.update(buffers=[1]), r"buffers must be a mapping, not \[1\]"),
        (lambda d: d.update(energy="nope"), r"energy: energy table must be a YAML path"),
        (lambda d: d.update(fpga={"part": "x", "family": "xc7", "lut": 10, "ff": 10,
                                  "dsp": "many", "bram_36k": 1}),
         r"fpga\.dsp must be a positive integer, not 'many'"),
    ],
)
def test_bad_configs_pinned_messages(edit, message):
    with pytest.raises(ConfigError, match=message):
        build(edit)


def test_energy_table_needs_sources():
    with open(find_config_file("horowitz_45nm", "energy")) as fh:
        doc = yaml.safe_load(fh)
    del doc["mult_8b_pj"]["source"]
    with pytest.raises(ConfigError, match=r"mult_8b_pj\.source is required \(a string\)"):
        energy_table_from_dict(doc)


def test_every_energy_number_cites_a_source():
    table = load_energy_table("horowitz_45nm")
    names = dict(table.sources)
    for key in ("mult_8b_pj", "add_32b_pj", "sram_write_factor", "vector_op_pj",
                "static_mw_per_mm2", "static_mw_per_mib_sram"):
        assert len(names[key]) > 10
    assert len([k for k in names if k.startswith("sram_read_64b_pj")]) == 3


def test_sram_energy_interpolates_cited_points():
    table = load_energy_table("horowitz_45nm")
    assert table.sram_read_pj_per_bit(8) == pytest.approx(10 / 64)
    assert table.sram_read_pj_per_bit(32) == pytest.approx(20 / 64)
    assert table.sram_read_pj_per_bit(1024) == pytest.approx(100 / 64)
    assert 10 / 64 < table.sram_read_pj_per_bit(16) < 20 / 64
    assert table.sram_read_pj_per_bit(4096) > 100 / 64


def test_derived_quantities():
    arch = load_arch("edge_int8")
    assert arch.dram_bits_per_cycle == pytest.approx(12.8e9 * 8 / 500e6)
    assert arch.dram_latency_cycles == 50
    assert arch.peak_macs_per_cycle(8, 8) == 256
    assert arch.peak_macs_per_cycle(16, 16) == 64


def test_sparsity_support_is_validated() -> None:
    from hwsim.config import SparsityConfig, arch_from_dict

    assert load_arch("edge_int8").sparsity == SparsityConfig()
    assert load_arch("sparse_int8").sparsity == SparsityConfig("bitmap", True, 1.2)
    doc = yaml.safe_load(find_config_file("sparse_int8").read_text())
    doc["sparsity"] = {"weight_format": "dense", "zero_skip": True}
    with pytest.raises(ConfigError, match=r"sparsity.zero_skip must be false unless "
                                           r"weight_format is 'bitmap'"):
        arch_from_dict(doc, base=find_config_file("sparse_int8").parent)
    doc["sparsity"] = {"weight_format": "bitmap", "imbalance": 0.5}
    with pytest.raises(ConfigError, match=r"sparsity.imbalance must be a positive number from "
                                          r"1 to 1,000 .* not 0.5"):
        arch_from_dict(doc, base=find_config_file("sparse_int8").parent)


def test_malformed_yaml_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\narray: {rows: 16\n")
    with pytest.raises(ConfigError, match=r"config file '.*broken.yaml' is not valid YAML: "
                                          r"line \d+, column \d+"):
        load_arch(path)


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: replace(a, array=replace(a.array, rows=-4)),
     r"array\.rows must be a positive integer, not -4"),
    (lambda a: replace(a, array=replace(a.array, pe=PeConfig("bitfusion", width_bits=4))),
     r"array\.pe\.width_bits must be 8 for a bitfusion PE, not 4"),
    (lambda a: replace(a, array=replace(a.array, dataflows=("ws", "rs"))),
     r"array\.dataflows must be a non-empty list of 'ws', 'os', 'is', not \['ws', 'rs'\]"),
    (lambda a: replace(a, array=replace(a.array, clock_mhz=float("nan"))),
     r"array\.clock_mhz must be a positive number, not nan"),
    (lambda a: replace(a, dram=replace(a.dram, bw_gbps=0)),
     r"dram\.bw_gbps must be a positive number, not 0"),
    (lambda a: replace(a, buffers=replace(a.buffers, weight=replace(a.buffers.weight, size_kib=0))),
     r"buffer\.size_kib must be a positive integer, not 0"),
    (lambda a: replace(a, buffers=replace(a.buffers, weight={"size_kib": 64})),
     r"buffers\.weight must be a BufferConfig, not \{'size_kib': 64\}"),
    (lambda a: replace(a, vector=replace(a.vector, lanes=2.5)),
     r"vector\.lanes must be a positive integer, not 2\.5"),
    (lambda a: replace(a, sparsity=SparsityConfig("bitmap", True, 0.5)),
     r"sparsity\.imbalance must be a positive number from 1 to 1,000 .*, not 0\.5"),
    (lambda a: replace(a, sparsity=SparsityConfig("dense", True)),
     r"sparsity\.zero_skip must be false unless weight_format is 'bitmap'"),
    (lambda a: replace(a, fpga=FpgaBoard("x", "xc7", 1, 1, 0, 1)),
     r"fpga\.dsp must be a positive integer, not 0"),
    (lambda a: replace(a, name=""), r"name must be a non-empty string, not ''"),
    (lambda a: replace(a, energy="horowitz_45nm"), r"energy must be an EnergyTable"),
])
def test_records_check_themselves_when_built_or_replaced(change, message):
    """Sweeps build their points with dataclasses.replace: every part of an Arch checks itself,
    with the loader's field-naming messages."""
    with pytest.raises(ConfigError, match=message):
        change(load_arch("edge_int8"))


def test_loader_and_records_say_the_same():
    with pytest.raises(ConfigError) as from_yaml:
        build(lambda d: d["array"].update(rows=-4))
    with pytest.raises(ConfigError) as by_hand:
        replace(load_arch("edge_int8").array, rows=-4)
    assert str(by_hand.value) in str(from_yaml.value)


@pytest.mark.parametrize("field", ["rows", "cols"])
def test_an_array_side_beyond_anything_buildable_is_an_error(field: str) -> None:
    """``cols: 1e12`` used to simulate, with energies of 10^18 uJ."""
    arch = load_arch("edge_int8")
    with pytest.raises(ConfigError, match=rf"^array\.{field} must be a positive integer at most "
                                          r"4,096 \(the largest systolic arrays built are "
                                          r"256 x 256\), not 1000000000000$"):
        replace(arch.array, **{field: 10**12})
    assert replace(arch.array, **{field: 4096}).pes == 4096 * 16


@pytest.mark.parametrize("field", ["width_bits", "max_bits"])
def test_a_pe_width_beyond_anything_buildable_is_an_error(field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^array\.pe\.{field} must be a positive integer at "
                                          r"most 64 \(a 64-bit multiplier is beyond any DNN "
                                          r"PE\), not 1000000$"):
        PeConfig("int", **{field: 10**6})
    assert getattr(PeConfig("int", **{field: 64}), field) == 64
