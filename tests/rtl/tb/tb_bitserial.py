"""cocotb testbench of the bit-serial dot-product unit (rtl/bitserial_unit.v).

Random operations (precision 1..8 for weights and activations, signed and unsigned, Stripes
and both-serial) with random idle cycles or back to back; operand lanes carry junk above the
precision, which the unit must ignore. Reference: ``hwsim.reference.bitserial_dot`` gives the
value and the cycle the result is valid in. Functional coverage (cocotb-coverage) of every
precision x signedness x mode must close.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db
from harness import (
    Schedule,
    Scoreboard,
    Timebase,
    ValidMonitor,
    log,
    operand_range,
    pack,
    param,
    play_and_record,
    random_operands,
    results_of_aborted_schedule,
    seeded_rng,
    start_clock_and_reset,
)
from refmodels import bitserial_reference

IDLE = {"start": 0, "a_bits": 8, "w_bits": 8, "is_signed": 0, "both_serial": 0, "w": 0, "a": 0}
MODES = ("activations", "both")
BITS = list(range(1, 9))


@dataclass(frozen=True)
class Op:
    w: list[int]
    a: list[int]
    w_bits: int
    a_bits: int
    signed: bool
    mode: str


@CoverPoint("bitserial.a_bits", xf=lambda op: op.a_bits, bins=BITS)
@CoverPoint("bitserial.w_bits", xf=lambda op: op.w_bits, bins=BITS)
@CoverPoint("bitserial.signed", xf=lambda op: op.signed, bins=[False, True])
@CoverPoint("bitserial.mode", xf=lambda op: op.mode, bins=list(MODES))
@CoverCross("bitserial.a_bits_x_signed_x_mode",
            items=["bitserial.a_bits", "bitserial.signed", "bitserial.mode"])
@CoverCross("bitserial.w_bits_x_signed_x_mode",
            items=["bitserial.w_bits", "bitserial.signed", "bitserial.mode"])
def sample(op: Op) -> None:
    """Coverage sample of one operation the checker has verified."""


def encode(values: list[int], bits: int, rng: np.random.Generator) -> int:
    """8-bit lanes: the value's low ``bits`` bits, random junk above them."""
    lanes = [(v & ((1 << bits) - 1)) | (int(rng.integers(0, 256)) << bits & 0xFF) for v in values]
    return pack(lanes, 8)


def random_op(rng: np.random.Generator, lanes: int, extreme: str | None = None) -> Op:
    w_bits, a_bits = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    signed = bool(rng.integers(0, 2))
    mode = MODES[int(rng.integers(0, 2))]
    wlo, whi = operand_range(w_bits, signed)
    alo, ahi = operand_range(a_bits, signed)
    if extreme == "min":
        w, a = [wlo] * lanes, [alo] * lanes
    elif extreme == "max":
        w, a = [whi] * lanes, [ahi] * lanes
    else:
        w = [int(x) for x in random_operands(rng, w_bits, signed, lanes)]
        a = [int(x) for x in random_operands(rng, a_bits, signed, lanes)]
    return Op(w, a, w_bits, a_bits, signed, mode)


def build_schedule(ops: list[Op], rng: np.random.Generator, gaps: bool) -> tuple[Schedule, list[int]]:
    """One start per op, the next op starting in the cycle the previous result is valid in
    (back to back) or a few cycles later."""
    sched = Schedule(dict(IDLE))
    starts, t = [], 0
    for op in ops:
        starts.append(t)
        sched.cycles[t] = {
            "start": 1, "a_bits": op.a_bits, "w_bits": op.w_bits, "is_signed": int(op.signed),
            "both_serial": int(op.mode == "both"),
            "w": encode(op.w, op.w_bits, rng), "a": encode(op.a, op.a_bits, rng),
        }
        busy = op.a_bits * (op.w_bits if op.mode == "both" else 1)
        t += busy + (int(rng.integers(0, 4)) if gaps else 0)
    return sched, starts


async def run_ops(dut, ops: list[Op], rng, gaps: bool, board: Scoreboard) -> None:
    timebase = Timebase()
    monitor = ValidMonitor(dut, timebase, "result")
    sched, starts = build_schedule(ops, rng, gaps)
    await play_and_record(dut, timebase, sched, monitor, 70)
    board.expect_equal("results", len(monitor.results), len(ops))
    for op, start, (cycle, value) in zip(ops, starts, monitor.results, strict=False):
        want, cycles = bitserial_reference(op.w, op.a, op.w_bits, op.a_bits, op.signed, op.mode)
        what = f"{op.mode} w{op.w_bits}a{op.a_bits} {'s' if op.signed else 'u'}"
        board.expect_equal(f"{what} value", value, want)
        board.expect_equal(f"{what} latency", cycle - start, cycles)
        sample(op)


@cocotb.test()
async def random_ops_until_coverage_closes(dut) -> None:
    """Random precisions, signedness and modes, gaps and back-to-back starts, until every
    (bits x signedness x mode) bin is hit; values and latencies match hwsim."""
    lanes = param(dut, "LANES")
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    board = Scoreboard("bitserial random")
    cross = coverage_db["bitserial.a_bits_x_signed_x_mode"]
    wcross = coverage_db["bitserial.w_bits_x_signed_x_mode"]
    for batch in range(40):
        ops = [random_op(rng, lanes) for _ in range(12)]
        await run_ops(dut, ops, rng, gaps=batch % 2 == 0, board=board)
        if cross.coverage == cross.size and wcross.coverage == wcross.size:
            break
    board.result()
    coverage_db.report_coverage(log.info, bins=False)
    coverage_db.export_to_yaml(os.path.join(os.getcwd(), "coverage_bitserial.yml"))
    assert cross.coverage == cross.size, f"a_bits x signed x mode: {cross.coverage}/{cross.size}"
    assert wcross.coverage == wcross.size, f"w_bits x signed x mode: {wcross.coverage}/{wcross.size}"


@cocotb.test()
async def extreme_operands(dut) -> None:
    """All lanes at the most negative (or largest) value of every precision and mode: the
    accumulator's extremes, back to back."""
    lanes = param(dut, "LANES")
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(1)
    ops = []
    for signed in (False, True):
        for mode in MODES:
            for bits in BITS:
                for extreme in ("min", "max"):
                    lo, hi = operand_range(bits, signed)
                    v = lo if extreme == "min" else hi
                    ops.append(Op([v] * lanes, [v] * lanes, bits, bits, signed, mode))
    board = Scoreboard("bitserial extremes")
    await run_ops(dut, ops, rng, gaps=False, board=board)
    board.result()


@cocotb.test()
async def reset_in_the_middle_of_an_op(dut) -> None:
    """Reset mid-operation: no result appears for the aborted op, the next op is exact."""
    lanes = param(dut, "LANES")
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(2)
    op = Op([-1] * lanes, [-1] * lanes, 8, 8, True, "both")
    sched, _ = build_schedule([op], rng, gaps=False)
    aborted = await results_of_aborted_schedule(dut, IDLE, sched, "result", 10, 80)
    board = Scoreboard("bitserial reset")
    board.expect_equal("results of the aborted op", len(aborted), 0)
    await run_ops(dut, [random_op(rng, lanes) for _ in range(4)], rng, gaps=False, board=board)
    board.result()
