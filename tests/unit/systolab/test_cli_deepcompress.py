"""``systolab deepcompress``: the per-layer table, the JSON report, and errors that name the
layer or the option."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from systolab.cli import main


def test_a_model_without_a_task_prints_the_table_and_writes_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dc.json"
    code = main(["deepcompress", "digits_cnn", "--keep", "conv2=0.25", "--keep", "fc1=0.1",
                 "--bits", "fc2=3", "--fc-bits", "4", "--conv-index-bits", "6",
                 "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "deep compression of digits_cnn" in printed and "top-1 error" not in printed
    report = json.loads(out.read_text())
    layers = {row["name"]: row for row in report["layers"]}
    assert list(layers) == ["conv1", "conv2", "fc1", "fc2"]
    assert (layers["conv1"]["bits"], layers["conv1"]["index_bits"]) == (8, 0)  # not pruned: dense
    assert (layers["conv2"]["bits"], layers["conv2"]["index_bits"]) == (8, 6)
    assert (layers["fc1"]["bits"], layers["fc1"]["index_bits"]) == (4, 5)
    assert layers["fc2"]["bits"] == 3
    assert layers["conv2"]["kept"] == round(0.25 * 16 * 32 * 9)
    assert report["traced"]["fc1"]["w_bits"] == 4
    assert report["traced"]["fc1"]["density"] == pytest.approx(0.1, abs=1e-3)
    total = report["total"]
    assert total["ratio"]["huffman"] > total["ratio"]["shared"] > total["ratio"]["pruned"] > 1
    assert f"{total['ratio']['huffman']:.1f}x" in printed


def test_arch_adds_the_dense_and_compressed_model_on_each_accelerator(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dc.json"
    code = main(["deepcompress", "lenet5", "--keep", "fc1=0.08", "--arch", "sparse_int8",
                 "--arch", "deep_compression_int8", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "on hardware" in printed and "speed-up" in printed
    assert "fc1: density 0.08" in printed and "stay Huffman-coded in DRAM" in printed
    rows = json.loads(out.read_text())["hardware"]
    assert [(r["arch"], r["model"]) for r in rows] == [
        ("sparse_int8", "dense"), ("sparse_int8", "compressed"),
        ("deep_compression_int8", "dense"), ("deep_compression_int8", "compressed")]
    assert rows[3]["weight_bits"] < rows[1]["weight_bits"] < rows[0]["weight_bits"]
    assert "fc1" in rows[3]["notes"]


def test_a_task_adds_the_error_of_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deepcompress", "--task", "digits", "--keep", "fc1=0.3", "--finetune-steps", "5"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "deep compression of digits_cnn; 5 fine-tuning steps" in printed
    assert "top-1 error on digits (360 test images): dense " in printed
    assert "(lossless)" in printed


@pytest.mark.parametrize(("args", "message"), [
    (["digits_cnn", "--keep", "fc9=0.5"],
     "error: cannot prune layer 'fc9': the model has no such layer (did you mean 'fc2', 'fc1'?)"),
    (["digits_cnn", "--keep", "bn1=0.5"],
     "error: cannot prune layer 'bn1': it is a BatchNorm2d, not a conv or linear layer"),
    (["digits_cnn", "--keep", "fc1=1.5"],
     "error: keep fraction of layer 'fc1' must be a number in (0, 1], not 1.5"),
    (["digits_cnn", "--bits", "conv1=17"],
     "error: bits of layer 'conv1' must be an integer from 1 to 16, not 17"),
    (["digits_cnn", "--index-bits", "conv3=4"],
     "error: cannot set the index bits of layer 'conv3': the model has no such layer (did you "
     "mean 'conv2', 'conv1'?)"),
    (["lenet5", "--task", "digits"],
     "error: the digits task trains digits_cnn, not 'lenet5': leave the model out or give "
     "digits_cnn"),
])
def test_errors_name_the_layer(args: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deepcompress", *args]) == 2
    assert capsys.readouterr().err.strip() == message


@pytest.mark.parametrize(("args", "message"), [
    (["digits_cnn", "--keep", "fc1"], "must look like LAYER=FRACTION, e.g. fc1=0.08, not 'fc1'"),
    (["digits_cnn", "--bits", "fc1=4.5"], "must look like LAYER=BITS, e.g. fc1=5, not 'fc1=4.5'"),
    (["digits_cnn", "--keep", "fc1=0.5", "--keep", "fc1=0.4"], "names layer 'fc1' twice"),
    ([], "give a MODEL or a --task"),
    (["digits_cnn", "--finetune-steps", "5"], "--finetune-steps needs --task"),
    (["digits_cnn", "--conv-bits", "0"], "Invalid value for '--conv-bits'"),
    (["digits_cnn", "--arch", "nosuch"], "config must be a YAML path or a known name, not 'nosuch'"),
])
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deepcompress", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
