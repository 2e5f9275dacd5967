"""The accelerator (rtl/accel.v) executes whole GEMM layers as hwsim's code generator emits
them, with real data, cycle for cycle as ``hwsim.encoding.replay`` times them.

Each build runs two cocotb tests (tests/rtl/tb/tb_accel.py): ``directed_layers`` (layers
shaped after real ones: edge tiles in m, k and n, DRAM latency shorter and longer than a tile,
bandwidth- and nearly compute-bound, stores backing up, deep load streams) and
``random_layers`` (seeded random shapes, mappings and channels). Each layer checks every
output value, every transfer's start, end and done cycle, every tile's issue, completion and
operand release cycle, the cycle count, and the busy and stall counters against the engine's
accounting. The layer choice comes from the DUT's parameters and the seed, so a build serves
all of its layers. The cases are kept out of ``rtl_sim.SUITE_CASES``.
"""

from __future__ import annotations

import pytest
import rtl_sim

pytestmark = pytest.mark.rtl

# (parameters, simulators): 8x8 and 16x16 on Verilator only, to keep the suite short
CASES: list[tuple[dict[str, int], tuple[str, ...]]] = [
    ({"ROWS": 2, "COLS": 2}, ("icarus", "verilator")),
    ({"ROWS": 4, "COLS": 4}, ("icarus", "verilator")),
    ({"ROWS": 3, "COLS": 5}, ("icarus", "verilator")),
    ({"ROWS": 8, "COLS": 8}, ("verilator",)),
    ({"ROWS": 16, "COLS": 16}, ("verilator",)),
]


def _case_id(params: dict[str, int]) -> str:
    return "-".join(f"{k}{v}" for k, v in params.items())


@pytest.mark.parametrize("case", CASES, ids=[_case_id(p) for p, _ in CASES])
def test_accel_layers(simulator: str, case: tuple[dict[str, int], tuple[str, ...]]) -> None:
    params, sims = case
    if simulator not in sims:
        pytest.skip(f"{_case_id(params)} runs on {', '.join(sims)} only (run time)")
    rtl_sim.assert_all_passed(rtl_sim.run_kernel(simulator, "accel", params))


def test_broken_dma_arbitration_is_caught(simulator: str) -> None:
    """BROKEN=1 lets a load go ahead of an older store on the channel: the timing, value and
    DRAM protocol checks must fail in both tests."""
    result = rtl_sim.run_kernel(simulator, "accel", {"ROWS": 2, "COLS": 2, "BROKEN": 1})
    assert result.passed, f"no cocotb test ran ({result.log_hint})"
    caught = set(result.failed)
    assert {"directed_layers", "random_layers"} <= caught, (
        f"the broken DMA slipped through: only {sorted(caught)} failed ({result.log_hint})"
    )
