"""Every kernel is clean under ``verilator --lint-only -Wall`` for each tested parameter set
(Verilator treats lint warnings as errors; Icarus accepts width bugs silently)."""

from __future__ import annotations

import subprocess

import pytest
import rtl_sim

pytestmark = pytest.mark.rtl

EXTRA = [("ws_array", {"ROWS": 1, "COLS": 1}), ("os_array", {"ROWS": 1, "COLS": 1}),
         ("ws_array", {"ROWS": 16, "COLS": 16, "A_W": 16, "W_W": 16}),
         ("xnor_unit", {"LANES": 1}),
         ("accel", {"ROWS": 1, "COLS": 1}), ("accel", {"ROWS": 2, "COLS": 2}),
         ("accel", {"ROWS": 3, "COLS": 5}), ("accel", {"ROWS": 16, "COLS": 16}),
         ("accel", {"ROWS": 4, "COLS": 4, "BROKEN": 1}),
         ("accel", {"ROWS": 1, "COLS": 1, "DATAFLOW": 1}),
         ("accel", {"ROWS": 2, "COLS": 2, "DATAFLOW": 1, "KDEPTH": 1}),
         ("accel", {"ROWS": 3, "COLS": 5, "DATAFLOW": 1}),
         ("accel", {"ROWS": 8, "COLS": 8, "DATAFLOW": 1}),
         ("accel", {"ROWS": 16, "COLS": 16, "DATAFLOW": 1, "KDEPTH": 32})]


@pytest.mark.parametrize("case", rtl_sim.SUITE_CASES + EXTRA,
                         ids=["-".join([k, *(f"{p}{v}" for p, v in ps.items())])
                              for k, ps in rtl_sim.SUITE_CASES + EXTRA])
def test_lint_clean(case: tuple[str, dict[str, int]]) -> None:
    if rtl_sim.missing_tools("verilator"):
        pytest.skip(f"verilator unavailable: {rtl_sim.missing_tools('verilator')}")
    kernel, params = case
    spec = rtl_sim.KERNELS[kernel]
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", spec.toplevel,
           *(f"-G{k}={v}" for k, v in params.items()),
           *(str(rtl_sim.RTL_DIR / s) for s in spec.sources)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
