"""``systolab sweep`` end to end: progress, summary, CSV/JSON/PNG, and the resume guard."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from systolab.commands.sweep_cmd import sweep
from systolab.search.sweep import StoreError


def test_cli_writes_csv_json_and_png(tmp_path: Path, tiny_doc) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(tiny_doc()))
    out = tmp_path / "out"
    result = CliRunner().invoke(sweep, [str(spec), "--workers", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "16 points (16 evaluated now)" in result.output and "Pareto front" in result.output
    assert "infeasible: 2 x area" in result.output
    rows = list(csv.DictReader((out / "points.csv").open()))
    assert len(rows) == 16 and {"id", "feasible", "reason", "on_front", "array"} <= set(rows[0])
    assert all(r["reason"] for r in rows if r["feasible"] == "False")
    front = list(csv.DictReader((out / "front.csv").open()))
    doc = json.loads((out / "sweep.json").read_text())
    assert sorted(doc["front"]) == sorted(r["id"] for r in front) and doc["complete"]
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = CliRunner().invoke(sweep, [str(spec), "--workers", "0", "--out", str(out)])
    assert isinstance(again.exception, StoreError)
    resumed = CliRunner().invoke(sweep, [str(spec), "--workers", "0", "--out", str(out),
                                         "--resume", "--no-plot"])
    assert resumed.exit_code == 0 and "16 points (0 evaluated now)" in resumed.output
