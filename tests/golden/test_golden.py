"""Stored (model, arch) -> (cycles, energy, traffic) figures.

A failure means systolab now predicts something else for a known workload. If the change is
intended, regenerate with ``.venv/bin/python tests/golden/regenerate.py`` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cases import CASES, figures

GOLDEN = json.loads(Path(__file__).with_name("golden.json").read_text())


@pytest.mark.parametrize(("model", "arch"), CASES)
def test_matches_golden(model: str, arch: str) -> None:
    want = GOLDEN[f"{model}@{arch}"]
    got = figures(model, arch)
    assert got["macs"] == want["macs"]
    assert got["cycles"] == want["cycles"]
    assert got["dram_bits"] == want["dram_bits"]
    assert got["energy_pj"] == pytest.approx(want["energy_pj"], rel=1e-9)
