"""``systolab inspect``: the layer table, JSON output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from systolab.cli import main


def test_inspect_resnet18_prints_21_layers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "resnet18"]) == 0
    out = capsys.readouterr().out
    assert "resnet18: 21 compute layers" in out
    assert "layer4.1.conv2" in out and "12544" in out  # conv1's M = 112 * 112
    assert "1.81 GMAC" in out


def test_inspect_json_with_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("layers:\n  layer1.0.conv1: {w_bits: 4, a_bits: 6, keep: 0.5}\n")
    out = tmp_path / "layers.json"
    assert main(["inspect", "resnet18", "--policy", str(policy), "--json", str(out)]) == 0
    rows = {r["name"]: r for r in json.loads(out.read_text())["layers"]}
    assert len(rows) == 21
    conv = rows["layer1.0.conv1"]
    assert (conv["w_bits"], conv["a_bits"], conv["density"]) == (4, 6, 0.5)
    assert rows["layer1.0.conv2"]["gemm"]["K"] == 32 * 9
    capsys.readouterr()


def test_python_file_factory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "net.py"
    source.write_text(
        "import torch\nfrom torch import nn\n"
        "def build():\n    return nn.Sequential(nn.Linear(8, 4)), torch.randn(1, 8)\n")
    assert main(["inspect", f"{source}:build"]) == 0
    assert "1 compute layers" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "resnet19"], "did you mean 'resnet18'"),
        (["inspect", "nope.py:build"], "model file 'nope.py' does not exist"),
    ],
)
def test_errors_are_one_line_and_exit_2(args: list[str], message: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_bad_policy_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("layers:\n  fc: {w_bits: 40}\n")
    assert main(["inspect", "resnet18", "--policy", str(policy)]) == 2
    assert "layers.fc.w_bits must be an integer from 1 to 16, not 40" in capsys.readouterr().err
