"""The accelerator (rtl/accel.v) executes whole GEMM layers as hwsim's code generator emits
them, with real data, cycle for cycle as ``hwsim.encoding.replay`` times them.

Each build runs two cocotb tests (tests/rtl/tb/tb_accel.py): ``directed_layers`` (layers
shaped after real ones: edge tiles in m, k and n, DRAM latency shorter and longer than a tile,
bandwidth- and nearly compute-bound, stores backing up, deep load streams) and
``random_layers`` (seeded random shapes, mappings and channels). Each layer checks every
output value, every transfer's start, end and done cycle, every tile's issue, completion and
operand release cycle, the cycle count, and the busy and stall counters against the engine's
accounting. The layer choice comes from the DUT's parameters (array, dataflow, slot depths)
and the seed, so a build serves all of its layers. The cases are kept out of
``rtl_sim.SUITE_CASES``.

DATAFLOW=1 builds run output-stationary programs (tiles m <= R, n <= C, the reduction k
streamed), the others weight-stationary ones. OS layers whose replayed times break
rtl/accel_core_os.v's contract on consecutive tiles (a short k edge tile right after a long
one) are redrawn: os_array cannot meet hwsim's times for them (accel_core_os.v's header).
"""

from __future__ import annotations

import pytest
import rtl_sim

pytestmark = pytest.mark.rtl

# (parameters, simulators): 8x8 and 16x16 on Verilator only, to keep the suite short;
# DATAFLOW 1 builds the output-stationary datapath (its KDEPTH, 16, covers the directed
# cases' reductions up to 8x8)
CASES: list[tuple[dict[str, int], tuple[str, ...]]] = [
    ({"ROWS": 2, "COLS": 2}, ("icarus", "verilator")),
    ({"ROWS": 4, "COLS": 4}, ("icarus", "verilator")),
    ({"ROWS": 3, "COLS": 5}, ("icarus", "verilator")),
    ({"ROWS": 8, "COLS": 8}, ("verilator",)),
    ({"ROWS": 16, "COLS": 16}, ("verilator",)),
    ({"ROWS": 2, "COLS": 2, "DATAFLOW": 1}, ("icarus", "verilator")),
    ({"ROWS": 4, "COLS": 4, "DATAFLOW": 1}, ("icarus", "verilator")),
    ({"ROWS": 3, "COLS": 5, "DATAFLOW": 1}, ("icarus", "verilator")),
    ({"ROWS": 8, "COLS": 8, "DATAFLOW": 1}, ("verilator",)),
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


def test_a_short_k_os_tile_waits_for_the_long_one_s_results() -> None:
    """The RTL found it: an OS tile issued max(k, R, C) after the previous one whatever its
    own k, so after a k = 8 tile a k = 1 edge tile's results met the previous tile's on
    os_array's port (4x4: issues 66 and 74, both rows in cycle 78). The engine now spaces
    first results max(R, C) apart: the edge tile issues at 66 + 8 + 4 - 1 = 77, and the
    layer runs on the RTL (its directed OS cases include such edges)."""
    import numpy as np
    from accel_program import LayerCase, Limits, build_program

    lim = Limits(4, 4, "os", 16, 16, 256, 128, {"input": 16, "weight": 16, "output": 8})
    prog = build_program(LayerCase("short_k_edge", 4, 4, 9, 8, 2, (4, 8, 4)), lim,
                         np.random.default_rng(0))
    (i0, _, _), (i1, _, _) = prog.expected.tiles[:2]
    assert (i0, i1) == (66, 77)
    assert prog.engine == prog.expected
