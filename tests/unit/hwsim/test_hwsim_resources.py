"""hwsim.resources: the pe_resources.yaml format, the fit verdict, the missing-table error.
The numbers here are a test fixture, not synthesis results."""

from __future__ import annotations

import pytest
import yaml

from hwsim.config import load_arch
from hwsim.errors import ConfigError
from hwsim.resources import fpga_resources, load_pe_resources, pe_resource_table_from_dict

FIXTURE = {
    "yosys_version": "0.0-fixture",
    "kernels": {
        "ws_pe": [
            {"params": {"W_BITS": 4}, "xc7": {"lut": 10, "ff": 10, "dsp": 0}},
            {"params": {"W_BITS": 8}, "xc7": {"lut": 100, "ff": 120, "dsp": 1, "carry": 4},
             "ice40": {"lut": 300, "ff": 120}},
        ],
    },
}


def test_fit_verdicts():
    table = pe_resource_table_from_dict(FIXTURE)
    small = fpga_resources(load_arch("fpga_zynq7020"), table)     # 8x8 = 64 PEs
    assert small.used.lut == 6400 and small.used.dsp == 64 and small.fits
    assert small.used.bram == 15 + 15 + 8     # 64, 64, 32 KiB in 36 Kb blocks
    big = fpga_resources(load_arch("fpga_zcu102"), table)          # 32x32 = 1024 PEs
    assert big.used.dsp == 1024 and big.fits
    assert big.to_dict()["fits"] is True


def test_does_not_fit_is_reported():
    table = pe_resource_table_from_dict({**FIXTURE, "kernels": {"ws_pe": [
        {"params": {"W_BITS": 8}, "xc7": {"lut": 100, "ff": 100, "dsp": 4}}]}})
    report = fpga_resources(load_arch("fpga_zynq7020"), table)     # 256 DSP > 220
    assert not report.fits
    assert report.utilization["dsp"] == pytest.approx(256 / 220)


def test_missing_table_says_to_run_synth(monkeypatch, tmp_path):
    monkeypatch.setattr("hwsim.resources.config_dirs", lambda: [tmp_path])
    with pytest.raises(ConfigError, match=r"run `systolab rtl synth` first"):
        load_pe_resources()


def test_table_format_is_validated(tmp_path):
    path = tmp_path / "pe_resources.yaml"
    path.write_text(yaml.safe_dump({"yosys_version": "x", "kernels": {"mac": []}}))
    with pytest.raises(ConfigError, match=r"kernels: unknown key 'mac'"):
        load_pe_resources(path)
    path.write_text(yaml.safe_dump({"yosys_version": "x", "kernels": {
        "ws_pe": [{"params": {}, "xc7": {"lut": -1}}]}}))
    with pytest.raises(ConfigError, match=r"kernels\.ws_pe\[0\]\.xc7\.lut must be a non-negative"):
        load_pe_resources(path)


def test_arch_without_board():
    with pytest.raises(ConfigError, match=r"fpga must be set in arch 'edge_int8'"):
        fpga_resources(load_arch("edge_int8"), pe_resource_table_from_dict(FIXTURE))


def test_the_shipped_table_holds_the_whole_accelerator_beside_its_pes():
    """rtl/accel.v, synthesized whole at 4x4 (xc7), costs more than the per-PE model's 16 PEs:
    the queues, DMA, skew registers and buffers come on top. The model does not read it."""
    table = load_pe_resources()
    (accel,) = [e for e in table.entries if e.kernel == "accel"]
    assert dict(accel.params) == {"rows": 4, "cols": 4, "operand_bits": 8}
    whole = dict(accel.families)["xc7"]
    _, pe = table.lookup("ws_pe", "xc7", 8)
    pes = pe.scaled(16)
    assert whole.dsp >= pes.dsp and whole.lut > pes.lut and whole.ff > pes.ff


def test_an_unknown_kernel_is_named():
    with pytest.raises(ConfigError, match="systolic_thing"):
        pe_resource_table_from_dict({**FIXTURE, "kernels": {"systolic_thing": []}})
