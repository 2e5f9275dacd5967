"""Every RTL kernel, on every simulator, over several parameter sets.

Each case builds the kernel (one build directory per simulator and parameter set) and runs its
cocotb testbench (tests/rtl/tb/): random traffic with gaps, directed corners, reset mid-run,
coverage closure for the precision-scalable units, and the cycle check: the cycle of every
output and the latency equal ``hwsim.reference`` and ``hwsim.timing``'s closed form exactly.
"""

from __future__ import annotations

import pytest
import rtl_sim

pytestmark = pytest.mark.rtl

CASES = rtl_sim.SUITE_CASES


def _case_id(case: tuple[str, dict[str, int]]) -> str:
    kernel, params = case
    return "-".join([kernel, *(f"{k}{v}" for k, v in params.items())])


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_kernel(simulator: str, case: tuple[str, dict[str, int]]) -> None:
    kernel, params = case
    rtl_sim.assert_all_passed(rtl_sim.run_kernel(simulator, kernel, params))
