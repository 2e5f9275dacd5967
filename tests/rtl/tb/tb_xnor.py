"""cocotb testbench of the XNOR-popcount dot-product unit (rtl/xnor_unit.v).

Random operand codes at every (w_bits, a_bits) pair in 1..8 x 1..8, signed and unsigned, with
random idle cycles or back to back; lanes carry junk above the precision, which the unit must
ignore. Directed corners: binary +1/-1 everywhere, w1a1 with all lanes equal and all opposite,
the extreme codes at equal precisions and against a binary operand, a start while busy, a
reset mid-run. Reference:
``refmodels.xnor_reference`` (integer arithmetic on the decoded operands) gives the value and
the cycle the result is valid in, ``w_bits * a_bits``. Functional coverage (cocotb-coverage)
of every w_bits x a_bits x signedness bin must close.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db
from harness import (
    Schedule,
    Scoreboard,
    Timebase,
    ValidMonitor,
    log,
    pack,
    param,
    play_and_record,
    results_of_aborted_schedule,
    seeded_rng,
    start_clock_and_reset,
)
from refmodels import xnor_reference

IDLE = {"start": 0, "a_bits": 8, "w_bits": 8, "is_signed": 0, "w": 0, "a": 0}
BITS = list(range(1, 9))


@dataclass(frozen=True)
class Op:
    """One dot product: lane codes (the low ``bits`` bits the unit reads) and configuration;
    ``known`` is a value worked out by hand, checked besides the reference."""

    w: list[int]
    a: list[int]
    w_bits: int
    a_bits: int
    signed: bool
    known: int | None = None


@CoverPoint("xnor.w_bits", xf=lambda op: op.w_bits, bins=BITS)
@CoverPoint("xnor.a_bits", xf=lambda op: op.a_bits, bins=BITS)
@CoverPoint("xnor.signed", xf=lambda op: op.signed, bins=[False, True])
@CoverCross("xnor.w_bits_x_a_bits_x_signed", items=["xnor.w_bits", "xnor.a_bits", "xnor.signed"])
def sample(op: Op) -> None:
    """Coverage sample of one operation the checker has verified."""


def extreme_code(bits: int, signed: bool, which: str) -> int:
    """The code of the smallest (``"min"``) or largest value at a precision: -1 and +1 for a
    binary operand, the two's complement or unsigned range ends otherwise."""
    if bits == 1:
        return 0 if which == "min" else 1
    if signed:
        return 1 << (bits - 1) if which == "min" else (1 << (bits - 1)) - 1
    return 0 if which == "min" else (1 << bits) - 1


def encode(codes: list[int], bits: int, rng: np.random.Generator) -> int:
    """8-bit lanes: the code in the low ``bits`` bits, random junk above them."""
    return pack([c | (int(rng.integers(0, 256)) << bits & 0xFF) for c in codes], 8)


def random_op(rng: np.random.Generator, lanes: int, w_bits: int, a_bits: int,
              signed: bool) -> Op:
    w = [int(c) for c in rng.integers(0, 1 << w_bits, size=lanes)]
    a = [int(c) for c in rng.integers(0, 1 << a_bits, size=lanes)]
    return Op(w, a, w_bits, a_bits, signed)


def any_random_op(rng: np.random.Generator, lanes: int) -> Op:
    return random_op(rng, lanes, int(rng.integers(1, 9)), int(rng.integers(1, 9)),
                     bool(rng.integers(0, 2)))


def start_row(op: Op, rng: np.random.Generator) -> dict[str, int]:
    """The ports in the cycle that starts ``op``."""
    return {"start": 1, "a_bits": op.a_bits, "w_bits": op.w_bits, "is_signed": int(op.signed),
            "w": encode(op.w, op.w_bits, rng), "a": encode(op.a, op.a_bits, rng)}


def build_schedule(ops: list[Op], rng: np.random.Generator, gaps: bool) -> tuple[Schedule, list[int]]:
    """One start per op, the next op starting in the cycle the previous result is valid in
    (back to back) or a few cycles later."""
    sched = Schedule(dict(IDLE))
    starts, t = [], 0
    for op in ops:
        starts.append(t)
        sched.cycles[t] = start_row(op, rng)
        t += op.w_bits * op.a_bits + (int(rng.integers(0, 4)) if gaps else 0)
    return sched, starts


def check(board: Scoreboard, op: Op, start: int, cycle: int, value: int) -> None:
    """One observed result against the reference (and the hand value, if any)."""
    want, cycles = xnor_reference(op.w, op.a, op.w_bits, op.a_bits, op.signed)
    what = f"w{op.w_bits}a{op.a_bits} {'s' if op.signed else 'u'}"
    board.expect_equal(f"{what} value", value, want)
    board.expect_equal(f"{what} latency", cycle - start, cycles)
    if op.known is not None:
        board.expect_equal(f"{what} reference against the hand value", want, op.known)
    sample(op)


async def run_ops(dut, ops: list[Op], rng, gaps: bool, board: Scoreboard) -> None:
    timebase = Timebase()
    monitor = ValidMonitor(dut, timebase, "result")
    sched, starts = build_schedule(ops, rng, gaps)
    await play_and_record(dut, timebase, sched, monitor, 70)
    board.expect_equal("results", len(monitor.results), len(ops))
    for op, start, (cycle, value) in zip(ops, starts, monitor.results, strict=False):
        check(board, op, start, cycle, value)


@cocotb.test()
async def every_precision_pair(dut) -> None:
    """Two random ops at every (w_bits, a_bits, signedness), shuffled, with gaps and back to
    back; values and latencies match the reference and the coverage cross closes."""
    lanes = param(dut, "LANES")
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    ops = [random_op(rng, lanes, wb, ab, signed)
           for wb in BITS for ab in BITS for signed in (False, True) for _ in range(2)]
    order = rng.permutation(len(ops))
    ops = [ops[i] for i in order]
    board = Scoreboard("xnor every precision pair")
    for batch, first in enumerate(range(0, len(ops), 16)):
        await run_ops(dut, ops[first:first + 16], rng, gaps=batch % 2 == 0, board=board)
    board.result()
    cross = coverage_db["xnor.w_bits_x_a_bits_x_signed"]
    coverage_db.report_coverage(log.info, bins=False)
    coverage_db.export_to_yaml(os.path.join(os.getcwd(), "coverage_xnor.yml"))
    assert cross.coverage == cross.size, f"w_bits x a_bits x signed: {cross.coverage}/{cross.size}"


def binary_corners(lanes: int, rng: np.random.Generator) -> list[Op]:
    """w1a1 (is_signed must not matter): all +1, all -1, +1 against -1, a random pattern
    against itself (every lane agrees: LANES) and against its complement (-LANES)."""
    ones, zeros = [1] * lanes, [0] * lanes
    pattern = [int(b) for b in rng.integers(0, 2, size=lanes)]
    opposite = [1 - b for b in pattern]
    ops = []
    for signed in (False, True):
        ops += [
            Op(ones, ones, 1, 1, signed, known=lanes),
            Op(zeros, zeros, 1, 1, signed, known=lanes),
            Op(ones, zeros, 1, 1, signed, known=-lanes),
            Op(pattern, pattern, 1, 1, signed, known=lanes),
            Op(pattern, opposite, 1, 1, signed, known=-lanes),
        ]
        # a binary operand against an integer one: +-1 times a constant, lane by lane
        for bits in (2, 8):
            top = extreme_code(bits, signed, "max")
            ops += [Op(ones, [top] * lanes, 1, bits, signed, known=lanes * top),
                    Op([top] * lanes, zeros, bits, 1, signed, known=-lanes * top)]
    return ops


def extreme_corners(lanes: int) -> list[Op]:
    """All lanes at the ends of the range, every pair with equal precisions or a binary side:
    the accumulator's extremes and the sign planes of both operands."""
    pairs = [(b, b) for b in BITS] + [(1, b) for b in BITS[1:]] + [(b, 1) for b in BITS[1:]]
    ops = []
    for wb, ab in pairs:
        for signed in (False, True):
            for wx in ("min", "max"):
                for ax in ("min", "max"):
                    ops.append(Op([extreme_code(wb, signed, wx)] * lanes,
                                  [extreme_code(ab, signed, ax)] * lanes, wb, ab, signed))
    return ops


@cocotb.test()
async def corner_operands(dut) -> None:
    """Binary corners with hand-worked values, then extreme codes of every precision pair with
    an equal or binary side, back to back."""
    lanes = param(dut, "LANES")
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(1)
    board = Scoreboard("xnor corners")
    await run_ops(dut, binary_corners(lanes, rng), rng, gaps=False, board=board)
    await run_ops(dut, extreme_corners(lanes), rng, gaps=False, board=board)
    board.result()


@cocotb.test()
async def start_while_busy_restarts(dut) -> None:
    """A start while busy abandons the running op (as in bitserial_unit); busy is high from
    the cycle after a start until the cycle before the result, and never for w1a1."""
    lanes = param(dut, "LANES")
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(3)
    aborted = random_op(rng, lanes, 8, 8, True)
    ops = [random_op(rng, lanes, 3, 2, True), random_op(rng, lanes, 1, 1, False),
           random_op(rng, lanes, 2, 1, False)]
    starts = [5, 11, 14]  # the 3x2 op restarts the 8x8 one; the w1a1 op starts back to back
    sched = Schedule(dict(IDLE))
    sched.cycles[0] = start_row(aborted, rng)
    for op, t in zip(ops, starts, strict=True):
        sched.cycles[t] = start_row(op, rng)
    timebase = Timebase()
    monitor = ValidMonitor(dut, timebase, "result")
    busy: dict[int, int] = {}

    async def record_busy() -> None:
        while True:
            await FallingEdge(dut.clk)
            if timebase.started:
                busy[timebase.now()] = int(dut.busy.value)

    recorder = cocotb.start_soon(record_busy())
    await play_and_record(dut, timebase, sched, monitor, 8)
    recorder.cancel()
    board = Scoreboard("xnor start while busy")
    board.expect_equal("results", len(monitor.results), len(ops))
    for op, start, (cycle, value) in zip(ops, starts, monitor.results, strict=False):
        check(board, op, start, cycle, value)
    high = set(range(1, 11)) | {15}
    for cycle in range(1, 20):
        board.expect_equal(f"busy in cycle {cycle}", busy.get(cycle), int(cycle in high))
    board.result()


@cocotb.test()
async def reset_in_the_middle_of_an_op(dut) -> None:
    """Reset mid-operation: no result appears for the aborted op, the next ops are exact."""
    lanes = param(dut, "LANES")
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(2)
    op = Op([0xFF] * lanes, [0xFF] * lanes, 8, 8, True)
    sched, _ = build_schedule([op], rng, gaps=False)
    aborted = await results_of_aborted_schedule(dut, IDLE, sched, "result", 10, 80)
    board = Scoreboard("xnor reset")
    board.expect_equal("results of the aborted op", len(aborted), 0)
    await run_ops(dut, [any_random_op(rng, lanes) for _ in range(4)], rng, gaps=False,
                  board=board)
    board.result()
