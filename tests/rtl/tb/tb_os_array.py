"""cocotb testbench of the output-stationary array (rtl/os_array.v).

Driver (skewed A rows with valid/last tags, skewed B columns), monitor (one result row per
cycle on the C-wide port, with its row index and cycle), reference ``hwsim.reference.os_array``
and checker, as in tb_ws_array.
"""

from __future__ import annotations

from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge
from harness import (
    Schedule,
    ScheduleDriver,
    Scoreboard,
    Timebase,
    lane,
    operand_range,
    param,
    play_and_record,
    pulse_reset,
    random_operands,
    seeded_rng,
    start_clock_and_reset,
)
from refmodels import os_closed_form, os_reference

IDLE = {"a_in": 0, "a_valid": 0, "a_last": 0, "b_in": 0}


@dataclass(frozen=True)
class OsParams:
    rows: int
    cols: int
    a_w: int
    b_w: int
    acc_w: int

    @classmethod
    def of(cls, dut) -> OsParams:
        return cls(*(param(dut, n) for n in ("ROWS", "COLS", "A_W", "B_W", "ACC_W")))


@dataclass(frozen=True)
class Batch:
    """Back-to-back tiles sharing the reduction length K: A[u] is m x K, B[u] is K x n."""

    A: list[np.ndarray]
    B: list[np.ndarray]


def os_schedule(p: OsParams, batch: Batch, rng: np.random.Generator | None) -> Schedule:
    """Per-cycle inputs (docs/timing.md, OS). Gap-free: tile u starts at u * max(K, R, C).
    With ``rng``, random idle cycles go between reduction steps; a tile's last step waits
    until max(R, C) cycles after the previous tile's, so the previous results have been read
    from the result registers and the output port before they are overwritten."""
    R, C = p.rows, p.cols
    K = batch.A[0].shape[1]
    S = max(K, R, C)
    sched = Schedule(dict(IDLE))
    prev_last = None

    def gap() -> int:
        return int(rng.integers(0, 3)) if rng is not None and rng.random() < 0.3 else 0

    t = -1
    for u, (A, B) in enumerate(zip(batch.A, batch.B, strict=True)):
        m, n = A.shape[0], B.shape[1]
        Ap = np.zeros((R, K), dtype=np.int64)
        Ap[:m] = A
        Bp = np.zeros((K, C), dtype=np.int64)
        Bp[:, :n] = B
        for k in range(K):
            if rng is None:
                t = u * S + k
            else:
                t = t + 1 + gap()
                if k == K - 1 and prev_last is not None:
                    t = max(t, prev_last + max(R, C))
            for i in range(R):
                sched.set_lane(t + i, "a_in", i, p.a_w, Ap[i, k])
                sched.set_lane(t + i, "a_valid", i, 1, 1)
                sched.set_lane(t + i, "a_last", i, 1, int(k == K - 1))
            for j in range(C):
                sched.set_lane(t + j, "b_in", j, p.b_w, Bp[k, j])
        prev_last = t
    return sched


class OsMonitor:
    """Records (cycle, row, values) of every result row presented on the output port."""

    def __init__(self, dut, p: OsParams, timebase: Timebase) -> None:
        self.dut, self.p, self.timebase = dut, p, timebase
        self.rows: list[tuple[int, int, list[int]]] = []
        self.bad_row_select = 0

    async def run(self) -> None:
        while True:
            await FallingEdge(self.dut.clk)
            if not int(self.dut.out_valid.value) or not self.timebase.started:
                continue
            onehot = int(self.dut.out_row.value)
            if onehot & (onehot - 1):
                self.bad_row_select += 1
            row = onehot.bit_length() - 1
            out = self.dut.out.value
            values = [lane(out, self.p.acc_w, j) for j in range(self.p.cols)]
            self.rows.append((self.timebase.now(), row, values))


def check_batch(
    board: Scoreboard, p: OsParams, batch: Batch, monitor: OsMonitor, check_cycles: bool
) -> None:
    ref = os_reference(batch.A, batch.B, p.rows, p.cols, p.a_w, p.b_w)
    T = len(batch.A)
    K = batch.A[0].shape[1]
    board.expect_equal("rows with more than one select bit", monitor.bad_row_select, 0)
    board.expect_equal("result rows presented", len(monitor.rows), T * p.rows)
    for idx, (cycle, row, values) in enumerate(monitor.rows[: T * p.rows]):
        u, i = divmod(idx, p.rows)
        m, n = batch.A[u].shape[0], batch.B[u].shape[1]
        board.expect_equal(f"tile {u} row order", row, i)
        for j in range(p.cols):
            want = int(ref.outputs[u][i][j]) if i < m and j < n else 0
            board.expect_equal(f"tile {u} out[{i}][{j}]", values[j], want)
            if check_cycles and i < m and j < n:
                board.expect_equal(f"tile {u} out[{i}][{j}] cycle", cycle, ref.out_cycle[u][i][j])
    if check_cycles:
        last = max(c for c, _, _ in monitor.rows)
        board.expect_equal(f"latency T={T} K={K} vs reference", last, ref.cycles)
        board.expect_equal(f"latency T={T} K={K} vs closed form", last,
                           os_closed_form(p.rows, p.cols, T, K))


def random_batch(rng: np.random.Generator, p: OsParams, T: int, K: int, full: bool) -> Batch:
    A, B = [], []
    for _ in range(T):
        m = p.rows if full else int(rng.integers(1, p.rows + 1))
        n = p.cols if full else int(rng.integers(1, p.cols + 1))
        A.append(random_operands(rng, p.a_w, True, (m, K)))
        B.append(random_operands(rng, p.b_w, True, (K, n)))
    return Batch(A, B)


async def run_batch(dut, p: OsParams, batch: Batch, rng, name: str, check_cycles: bool) -> None:
    timebase = Timebase()
    monitor = OsMonitor(dut, p, timebase)
    await play_and_record(dut, timebase, os_schedule(p, batch, rng), monitor,
                          p.rows + p.cols + 4)
    board = Scoreboard(name)
    check_batch(board, p, batch, monitor, check_cycles)
    board.result()


@cocotb.test()
async def cycle_sweep(dut) -> None:
    """Gap-free batches over a sweep of (T, K, tile shape), covering K below, between and
    above R and C: values, per-output cycles and latency equal hwsim exactly."""
    p = OsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    R, C = p.rows, p.cols
    shapes = [(1, 1, True), (1, R + C, True), (2, 1, True), (2, min(R, C), False),
              (3, max(R, C) + 2, True), (2, max(R, C), False), (4, 2, False)]
    for T, K, full in shapes:
        await run_batch(dut, p, random_batch(rng, p, T, K, full), rng=None,
                        name=f"sweep T={T} K={K}", check_cycles=True)


@cocotb.test()
async def random_traffic_with_gaps(dut) -> None:
    """Random tile shapes and operands with random idle cycles in the reduction stream."""
    p = OsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    for trial in range(6):
        T = int(rng.integers(1, 5))
        K = int(rng.integers(1, 2 * max(p.rows, p.cols) + 3))
        await run_batch(dut, p, random_batch(rng, p, T, K, full=False), rng=rng,
                        name=f"gaps trial {trial}", check_cycles=False)


@cocotb.test()
async def corner_operands_back_to_back(dut) -> None:
    """Most negative operands over a long reduction (the accumulator's largest positive sum),
    the most negative sum and mixed extremes, as back-to-back tiles, on time."""
    p = OsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    R, C = p.rows, p.cols
    amin, amax = operand_range(p.a_w, True)
    bmin, bmax = operand_range(p.b_w, True)
    K = 2 * max(R, C) + 1
    A = [np.full((R, K), amin), np.full((R, K), amax), np.full((R, K), amin),
         np.where(np.arange(R * K).reshape(R, K) % 2 == 0, amin, amax)]
    B = [np.full((K, C), bmin), np.full((K, C), bmin), np.full((K, C), bmax),
         np.where(np.arange(K * C).reshape(K, C) % 3 == 0, bmin, bmax)]
    await run_batch(dut, p, Batch(A, B), rng=None, name="corners", check_cycles=True)


@cocotb.test()
async def reset_in_the_middle_of_a_tile(dut) -> None:
    """Reset mid-reduction: no result row is presented during or after it for the aborted
    tile, and the accumulators restart from zero for the next batch (exact, on time)."""
    p = OsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    K = max(p.rows, p.cols) + 2
    aborted = random_batch(rng, p, 1, K, full=True)
    timebase = Timebase()
    monitor = OsMonitor(dut, p, timebase)
    mon_task = cocotb.start_soon(monitor.run())
    driver = cocotb.start_soon(ScheduleDriver(dut, timebase).play(os_schedule(p, aborted, None)))
    await ClockCycles(dut.clk, K // 2 + 1)
    await FallingEdge(dut.clk)
    driver.cancel()
    await pulse_reset(dut, IDLE, hold_inputs=True)
    await ClockCycles(dut.clk, K + p.rows + p.cols + 2)
    mon_task.cancel()
    board = Scoreboard("reset")
    board.expect_equal("result rows of the aborted tile", len(monitor.rows), 0)
    board.result()
    await run_batch(dut, p, random_batch(rng, p, 2, K, full=True), rng=None,
                    name="after reset", check_cycles=True)
