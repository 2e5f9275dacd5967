"""Output paths the system refuses (a missing folder, a path under a file) are one-line errors
naming the path, on every command that writes, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from systolab.cli import main


@pytest.mark.parametrize("args", [
    ["inspect", "lenet5", "--json", "{blocked}/x.json"],
    ["costs", "lenet5", "--bits", "8", "--out", "{blocked}/costs"],
    ["simulate", "lenet5", "--json", "{blocked}/x.json"],
    ["deepcompress", "digits_cnn", "--json", "{blocked}/x.json"],
    ["search", "--task", "digits", "--agent", "uniform", "--episodes", "1",
     "--out", "{blocked}/search"],
])
def test_an_output_path_under_a_file_is_a_one_line_error(
        args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    assert main([a.replace("{blocked}", str(blocked)) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(blocked) in err and "Not a directory" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_a_sweep_into_a_missing_parent_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = Path(__file__).resolve().parents[3] / "configs" / "sweeps" / "edge_sweep.yaml"
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    assert main(["sweep", str(spec), "--workers", "0", "--max-points", "1",
                 "--out", str(blocked / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: cannot access {str(blocked / 'out')!r}: Not a directory"
