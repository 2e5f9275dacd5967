"""Shared fixtures: a tiny SCALE-Sim workload (no torch) and sweep documents around it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TOPOLOGY = Path(__file__).resolve().parents[3] / "compiler" / "data" / "scalesim_conv.csv"

DocFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def topology() -> Path:
    return TOPOLOGY


@pytest.fixture
def tiny_doc() -> DocFactory:
    """A 16-point grid on a 3-layer SCALE-Sim topology; the 64 KiB points exceed the area
    limit at the larger arrays. Keyword arguments replace top-level keys."""

    def make(**overrides: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": "tiny",
            "base": "edge_int8",
            "workloads": [{"topology": str(TOPOLOGY), "name": "conv"}],
            "axes": {"array": {"min": 4, "max": 32, "log2": True}, "buffer_kib": [16, 64],
                     "dataflow": ["ws", "os"]},
            "constraints": {"max_area_mm2": 1.5},
        }
        doc.update(overrides)
        return doc

    return make
