"""``systolab search`` end to end on the digits task: every output, resume, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from compiler.policy import load_policy
from systolab.cli import main


def test_search_writes_every_output_and_resumes(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    args = ["search", "--task", "digits", "--arch", "stripes", "--agent", "haq", "--latency", "0.9",
            "--seed", "1", "--out", str(out), "--no-progress"]
    assert main([*args, "--episodes", "2"]) == 0
    assert main([*args, "--episodes", "3", "--resume"]) == 0
    text = capsys.readouterr().out
    assert "haq search of digits_cnn on stripes, latency <=" in text
    assert "best policy per layer" in text and "uniform 4-bit" in text
    report = json.loads((out / "report.json").read_text())
    assert [r["episode"] for r in report["history"]] == [0, 1, 2]
    assert {r["bound"] for r in report["layers"]} <= {"compute", "array", "memory", "vector"}
    assert [r["name"] for r in report["layers"]] == ["conv1", "conv2", "fc1", "fc2"]
    assert [c["policy"] for c in report["comparison"]] == [
        "searched (haq)", "uniform 8-bit", "uniform 6-bit", "uniform 4-bit"]
    best = load_policy(out / "best_policy.yaml")
    assert best.to_dict() == report["best"]["policy"]
    assert best.layers["conv1"].w_bits == 8 and best.layers["fc2"].a_bits == 8  # pinned
    assert report["best"]["seconds"] <= 0.9e-3 * report["comparison"][1]["latency_ms"] * (1 + 1e-9)
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, message", [
    (["--latency", "0.5", "--energy", "0.5"], "give at most one budget"),
    (["--agent", "amc"], "the amc agent needs a budget"),
    (["--latency", "0.01"], "error: the budget latency <= .* cannot be met"),
    (["--task", "digits", "lenet5", "--latency", "0.5"], "the digits task trains digits_cnn"),
])
def test_user_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             args: list[str], message: str) -> None:
    assert main(["search", "--episodes", "1", "--out", str(tmp_path), "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_a_user_evaluators_score_is_shown_as_it_is_not_as_a_percentage(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores = tmp_path / "scores.py"
    scores.write_text("def loss(model):\n    return -0.00037\n")
    out = tmp_path / "run"
    assert main(["search", "--task", "digits", "--evaluator", f"{scores}:loss", "--arch", "stripes",
                 "--agent", "uniform", "--size", "0.5", "--episodes", "2", "--out", str(out),
                 "--no-progress"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # as rich wraps it, unwrapped
    assert "original scores.py:loss -0.00037" in text and "%" not in text.split("comparison")[1]
    assert "│ uniform 8-bit │ -0.00037 │" in text
    assert json.loads((out / "report.json").read_text())["score"] == "scores.py:loss"
    assert "# uniform search of digits_cnn on stripes: scores.py:loss -0.00037" in \
        (out / "best_policy.yaml").read_text()
