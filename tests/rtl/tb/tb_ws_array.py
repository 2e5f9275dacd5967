"""cocotb testbench of the weight-stationary array (rtl/ws_array.v).

Structure (as in cocotb's matrix_multiplier example): a schedule builder and driver feed
skewed weights and activations, a monitor collects every valid output with its cycle, the
reference is ``hwsim.reference.ws_array`` and the checker compares values and cycles; the
closed form ``hwsim.timing`` predicts is checked on gap-free runs.
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
from refmodels import ws_closed_form, ws_reference

IDLE = {"a_in": 0, "a_valid": 0, "a_bank": 0, "w_in": 0, "w_row": 0, "w_bank": 0, "w_valid": 0}


@dataclass(frozen=True)
class WsParams:
    rows: int
    cols: int
    a_w: int
    w_w: int
    acc_w: int
    row_w: int

    @classmethod
    def of(cls, dut) -> WsParams:
        return cls(*(param(dut, n) for n in ("ROWS", "COLS", "A_W", "W_W", "ACC_W", "ROW_W")))


@dataclass(frozen=True)
class Batch:
    """Back-to-back tiles sharing the activation count M: A[u] is M x k, W[u] is k x n."""

    A: list[np.ndarray]
    W: list[np.ndarray]


def ws_schedule(p: WsParams, batch: Batch, rng: np.random.Generator | None) -> Schedule:
    """Per-cycle inputs for a batch of tiles (docs/timing.md, WS).

    Gap-free (``rng`` None): weights of tile u load from L_u = u * S, activations stream from
    start_u = R + u * S, S = max(M, R). With ``rng``, random idle cycles are inserted wherever
    the double-buffered weights allow: tile u's weights load after tile u-1's and after tile
    u-2 (same bank) has streamed its last row; tile u streams R cycles after its load began.
    """
    R, C = p.rows, p.cols
    sched = Schedule(dict(IDLE))
    M = batch.A[0].shape[0]
    S = max(M, R)
    loads: list[int] = []
    last_rows: list[int] = []

    def gap() -> int:
        return int(rng.integers(0, 3)) if rng is not None and rng.random() < 0.3 else 0

    for u, (A, W) in enumerate(zip(batch.A, batch.W, strict=True)):
        k, n = W.shape
        Wp = np.zeros((R, C), dtype=np.int64)
        Wp[:k, :n] = W
        Ap = np.zeros((A.shape[0], R), dtype=np.int64)
        Ap[:, :k] = A
        if rng is None:
            load, first = u * S, R + u * S
        else:
            load = 0 if u == 0 else loads[-1] + R + gap()
            if u >= 2:
                load = max(load, last_rows[u - 2] + 1)
            first = load + R + gap()
            if u >= 1:
                first = max(first, last_rows[-1] + 1 + gap())
        bank = u % 2
        for j in range(C):
            for s in range(R):
                c = load + j + (R - 1 - s)
                sched.set_lane(c, "w_in", j, p.w_w, Wp[s, j])
                sched.set_lane(c, "w_row", j, p.row_w, s)
                sched.set_lane(c, "w_bank", j, 1, bank)
                sched.set_lane(c, "w_valid", j, 1, 1)
        t = first
        for m in range(Ap.shape[0]):
            if m:
                t += 1 + gap()
            for i in range(R):
                sched.set_lane(t + i, "a_in", i, p.a_w, Ap[m, i])
                sched.set_lane(t + i, "a_bank", i, 1, bank)
                sched.set_lane(t + i, "a_valid", i, 1, 1)
        loads.append(load)
        last_rows.append(t)
    return sched


class WsMonitor:
    """Records (cycle, value) of every valid output, per column."""

    def __init__(self, dut, p: WsParams, timebase: Timebase) -> None:
        self.dut, self.p, self.timebase = dut, p, timebase
        self.columns: list[list[tuple[int, int]]] = [[] for _ in range(p.cols)]
        self.valid_in_reset = 0

    async def run(self) -> None:
        while True:
            await FallingEdge(self.dut.clk)
            valid = int(self.dut.out_valid.value)
            if not valid:
                continue
            if int(self.dut.rst.value):
                self.valid_in_reset += 1
            if not self.timebase.started:
                continue
            out = self.dut.out.value
            for j in range(self.p.cols):
                if valid >> j & 1:
                    self.columns[j].append((self.timebase.now(), lane(out, self.p.acc_w, j)))


def check_batch(
    board: Scoreboard, p: WsParams, batch: Batch, monitor: WsMonitor, check_cycles: bool
) -> None:
    """Values against hwsim's reference; with ``check_cycles`` also every output's cycle and
    the run's latency against the reference and the closed form."""
    ref = ws_reference(batch.A, batch.W, p.rows, p.cols, p.a_w, p.w_w)
    M = batch.A[0].shape[0]
    T = len(batch.W)
    for j in range(p.cols):
        got = monitor.columns[j]
        board.expect_equal(f"column {j} output count", len(got), T * M)
        for idx, (cycle, value) in enumerate(got[: T * M]):
            u, m = divmod(idx, M)
            n = batch.W[u].shape[1]
            want = int(ref.outputs[u][m][j]) if j < n else 0
            board.expect_equal(f"tile {u} out[{m}][{j}]", value, want)
            if check_cycles and j < n:
                board.expect_equal(f"tile {u} out[{m}][{j}] cycle", cycle, ref.out_cycle[u][m][j])
    if check_cycles:
        last = max(c for col in monitor.columns for c, _ in col)
        closed = ws_closed_form(p.rows, p.cols, T, M)
        board.expect_equal(f"latency T={T} M={M} vs reference", last, ref.cycles)
        board.expect_equal(f"latency T={T} M={M} vs closed form", last, closed)


def random_batch(rng: np.random.Generator, p: WsParams, T: int, M: int, full: bool) -> Batch:
    A, W = [], []
    for _ in range(T):
        k = p.rows if full else int(rng.integers(1, p.rows + 1))
        n = p.cols if full else int(rng.integers(1, p.cols + 1))
        A.append(random_operands(rng, p.a_w, True, (M, k)))
        W.append(random_operands(rng, p.w_w, True, (k, n)))
    return Batch(A, W)


async def run_batch(dut, p: WsParams, batch: Batch, rng, name: str, check_cycles: bool) -> None:
    timebase = Timebase()
    monitor = WsMonitor(dut, p, timebase)
    await play_and_record(dut, timebase, ws_schedule(p, batch, rng), monitor,
                          p.rows + p.cols + 4)
    board = Scoreboard(name)
    check_batch(board, p, batch, monitor, check_cycles)
    board.result()


@cocotb.test()
async def cycle_sweep(dut) -> None:
    """Gap-free batches over a sweep of (T, M, tile shape): values, per-output cycles and the
    latency equal hwsim's reference and closed form exactly."""
    p = WsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    R = p.rows
    shapes = [(1, 1, True), (1, R, True), (2, 1, True), (2, max(1, R - 1), False),
              (3, R + 2, True), (2, 2 * R + 1, False), (4, R, False)]
    for T, M, full in shapes:
        await run_batch(dut, p, random_batch(rng, p, T, M, full), rng=None,
                        name=f"sweep T={T} M={M}", check_cycles=True)


@cocotb.test()
async def random_traffic_with_gaps(dut) -> None:
    """Random tile shapes and operands with random idle cycles between weights and rows."""
    p = WsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    for trial in range(6):
        T = int(rng.integers(1, 5))
        M = int(rng.integers(1, 2 * p.rows + 3))
        await run_batch(dut, p, random_batch(rng, p, T, M, full=False), rng=rng,
                        name=f"gaps trial {trial}", check_cycles=False)


@cocotb.test()
async def corner_operands_back_to_back(dut) -> None:
    """Most negative operands (the largest positive sum), most negative sums, extremes mixed,
    as back-to-back tiles: the accumulator's extremes come out exact and on time."""
    p = WsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    R, C = p.rows, p.cols
    amin, amax = operand_range(p.a_w, True)
    wmin, wmax = operand_range(p.w_w, True)
    M = R + 1
    A = [np.full((M, R), amin), np.full((M, R), amin), np.full((M, R), amax),
         np.where(np.arange(M * R).reshape(M, R) % 2 == 0, amin, amax)]
    W = [np.full((R, C), wmin), np.full((R, C), wmax), np.full((R, C), wmin),
         np.where(np.arange(R * C).reshape(R, C) % 3 == 0, wmin, wmax)]
    await run_batch(dut, p, Batch(A, W), rng=None, name="corners", check_cycles=True)


@cocotb.test()
async def reset_in_the_middle_of_a_tile(dut) -> None:
    """Reset while a tile streams: no output is valid during reset, and the next batch is
    exact and on time (nothing of the aborted tile leaks)."""
    p = WsParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    aborted = random_batch(rng, p, 2, p.rows + 1, full=True)
    timebase = Timebase()
    monitor = WsMonitor(dut, p, timebase)
    mon_task = cocotb.start_soon(monitor.run())
    driver = cocotb.start_soon(ScheduleDriver(dut, timebase).play(ws_schedule(p, aborted, None)))
    await ClockCycles(dut.clk, 2 * p.rows + 1)  # mid-stream of tile 0
    await FallingEdge(dut.clk)
    driver.cancel()
    reset_cycle = timebase.now()
    await pulse_reset(dut, IDLE, hold_inputs=True)
    await ClockCycles(dut.clk, p.rows + p.cols + 2)
    mon_task.cancel()
    board = Scoreboard("reset")
    board.expect_equal("outputs valid while reset is held", monitor.valid_in_reset, 0)
    leaked = sum(1 for col in monitor.columns for c, _ in col if c > reset_cycle)
    board.expect_equal("outputs of the aborted tile after reset", leaked, 0)
    board.result()
    await run_batch(dut, p, random_batch(rng, p, 2, p.rows, full=True), rng=None,
                    name="after reset", check_cycles=True)
