"""``systolab simulate``: the table, every output file, SCALE-Sim inputs, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from systolab.cli import main

DATA = Path(__file__).parents[1] / "compiler" / "data"


def test_simulate_writes_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = {k: tmp_path / f"run.{k}" for k in ("json", "csv", "trace", "png")}
    args = ["simulate", "lenet5", "--arch", "stripes", "--json", str(out["json"]),
            "--csv", str(out["csv"]), "--trace", str(out["trace"]), "--plot", str(out["png"])]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "lenet5 on stripes" in text and "roofline bound" in text
    data = json.loads(out["json"].read_text())
    assert data["total"]["cycles"] >= data["total"]["roofline_cycles"]
    assert sum(r["op"] == "conv2d" for r in data["layers"]) == 2
    fc1 = next(r for r in data["layers"] if r["name"] == "fc1")  # batch 1: 32-cycle tiles
    assert fc1["slots"] == {"weight": 4, "input": 4}  # 2 + ceil(50 cycles latency / 32)
    assert out["csv"].read_text().splitlines()[0].startswith("layer,cycles,")
    events = json.loads(out["trace"].read_text())["traceEvents"]
    assert any(e.get("ph") == "X" for e in events)
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_policy_changes_the_result_on_a_bit_serial_arch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, low = tmp_path / "base.json", tmp_path / "low.json"
    policy = tmp_path / "p.yaml"
    policy.write_text("default: {w_bits: 4, a_bits: 4}\n")
    assert main(["simulate", "lenet5", "--arch", "stripes", "--json", str(base)]) == 0
    assert main(["simulate", "lenet5", "--arch", "stripes", "--policy", str(policy),
                 "--json", str(low)]) == 0
    capsys.readouterr()
    cycles = [json.loads(p.read_text())["total"]["cycles"] for p in (base, low)]
    assert cycles[1] < cycles[0]


def test_objective_and_dataflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--objective`` chooses what the mapper minimizes, ``--dataflow`` forces one of the
    arch's dataflows; both are in the JSON, and an unsupported dataflow is a one-line error."""
    runs = {}
    for objective in ("latency", "energy"):
        path = tmp_path / f"{objective}.json"
        assert main(["simulate", "resnet18", "--objective", objective, "--json", str(path)]) == 0
        runs[objective] = json.loads(path.read_text())
    assert runs["energy"]["objective"] == "energy"
    assert runs["energy"]["total"]["energy_pj"]["total_pj"] < \
        runs["latency"]["total"]["energy_pj"]["total_pj"]
    forced = tmp_path / "os.json"
    assert main(["simulate", "lenet5", "--dataflow", "os", "--json", str(forced)]) == 0
    data = json.loads(forced.read_text())
    assert data["dataflows"] == ["os"]
    assert {r["dataflow"] for r in data["layers"] if r["w_bits"]} == {"os"}
    capsys.readouterr()
    assert main(["simulate", "lenet5", "--arch", "sparse_int8", "--dataflow", "is"]) != 0
    assert "dataflow must be 'auto' or one 'sparse_int8' supports (ws, os), not 'is'" in \
        capsys.readouterr().err


def test_scalesim_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--scalesim-config", str(DATA / "scalesim_ws32.cfg"),
                 "--topology", str(DATA / "scalesim_conv.csv")]) == 0
    text = capsys.readouterr().out
    assert "scalesim_conv on ws32_demo" in text and "scalesim timing" in text
    # the stall-free cycles a user compares with SCALE-Sim, beside the total with DRAM stalls
    assert "busy (= SCALE-Sim)" in text and "what SCALE-Sim counts" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "lenet5", "--arch", "nope"], "config must be a YAML path or a known name"),
        (["simulate", "--topology", "missing.csv"], "cannot read SCALE-Sim topology 'missing.csv'"),
    ],
)
def test_errors_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 2
    assert "MODEL is required" in capsys.readouterr().err


def test_batch_with_a_topology_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A topology's rows give the shapes: --batch would be silently ignored, so it is refused."""
    assert main(["simulate", "--topology", str(DATA / "scalesim_conv.csv"), "--batch", "4"]) == 2
    assert "--batch applies to MODEL, not to --topology" in capsys.readouterr().err


def test_an_fpga_design_that_does_not_fit_says_so(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A 32x32 copy of fpga_zynq7020 needs 1,024 DSPs of 220: the summary and the JSON say it
    does not fit (it used to print normal results), and --strict makes it an error."""
    from hwsim.yamlfile import find_config_file

    arch = tmp_path / "zynq32.yaml"
    arch.write_text(find_config_file("fpga_zynq7020").read_text()
                    .replace("rows: 8", "rows: 32").replace("cols: 8", "cols: 32"))
    out = tmp_path / "run.json"
    assert main(["simulate", "lenet5", "--arch", str(arch), "--json", str(out)]) == 0
    assert "DSP 1,024/220 (465%)" in capsys.readouterr().out
    report = json.loads(out.read_text())["fpga"]
    assert report["fits"] is False and report["used"]["dsp"] == 1024
    assert main(["simulate", "lenet5", "--arch", str(arch), "--strict"]) == 2
    assert "does not fit xc7z020: dsp 465%" in capsys.readouterr().err
    assert main(["simulate", "lenet5", "--arch", "fpga_zynq7020", "--strict"]) == 0


def test_activation_data_is_measured_and_skipped_where_the_arch_skips_zeros(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "digits_cnn", "--arch", "cnvlutin_int8",
                 "--activation-data", "digits"]) == 0
    text = capsys.readouterr().out
    assert "note: conv2: input density" in text and "zero activations skipped" in text
    assert main(["simulate", "digits_cnn", "--activation-data", "example"]) == 0
    assert "multiplies zero activations" in capsys.readouterr().out  # edge_int8 does not skip
    assert main(["simulate", "lenet5", "--activation-data", "digits"]) == 2
    assert ("the digits task's images are 1x8x8, but model 'lenet5' takes 1x28x28"
            in capsys.readouterr().err)
    assert main(["simulate", "lenet5", "--activation-data", "cifar"]) == 2
    assert "--activation-data must be 'example' or a task name (digits, mnist" in \
        capsys.readouterr().err
