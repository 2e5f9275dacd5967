"""The checks bite: a deliberately broken PE (ws_pe's BROKEN=1 switches weight banks one
activation late) must make the weight-stationary testbench fail.

The fault only shows on the first row of a tile that follows another tile, so it also proves
that the back-to-back cases exercise bank switching. Likewise xnor_unit's BROKEN=1 reads a
1-bit operand as 0/1 instead of +-1, which the XNOR testbench's binary cases must catch.
"""

from __future__ import annotations

import pytest
import rtl_sim

pytestmark = pytest.mark.rtl


def test_broken_pe_is_caught(simulator: str) -> None:
    result = rtl_sim.run_kernel(simulator, "ws_array", {"ROWS": 2, "COLS": 2, "BROKEN": 1})
    assert result.passed, f"no cocotb test ran ({result.log_hint})"
    caught = set(result.failed)
    assert {"cycle_sweep", "corner_operands_back_to_back"} <= caught, (
        f"the broken PE slipped through: only {sorted(caught)} failed ({result.log_hint})"
    )


def test_broken_xnor_is_caught(simulator: str) -> None:
    result = rtl_sim.run_kernel(simulator, "xnor_unit", {"LANES": 16, "BROKEN": 1})
    assert result.passed, f"no cocotb test ran ({result.log_hint})"
    caught = set(result.failed)
    assert {"every_precision_pair", "corner_operands"} <= caught, (
        f"the +-1 encoding fault slipped through: only {sorted(caught)} failed ({result.log_hint})"
    )
