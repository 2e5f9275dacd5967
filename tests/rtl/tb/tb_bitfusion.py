"""cocotb testbench of the BitFusion fusion unit (rtl/bitfusion_unit.v).

Random dot products at every (w', a') in {2, 4, 8}^2, signed and unsigned, operands of any
width 1..8 (the unit runs at the rounded-up brick width), issued back to back or with idle
cycles between groups. Reference: ``hwsim.reference.bitfusion_dot`` (value and the cycle the
sum is valid in). Functional coverage of every precision pair x signedness must close.
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
    play_and_record,
    random_operands,
    results_of_aborted_schedule,
    seeded_rng,
    start_clock_and_reset,
)
from refmodels import bitfusion_reference

IDLE = {"w_prec": 2, "a_prec": 2, "is_signed": 0, "in_valid": 0, "in_first": 0, "in_last": 0,
        "w": 0, "a": 0}
PREC_CODE = {2: 0, 4: 1, 8: 2}


def brick_bits(bits: int) -> int:
    """The unit's operand width for a ``bits``-wide operand (2, 4 or 8)."""
    return next(b for b in (2, 4, 8) if bits <= b)


@dataclass(frozen=True)
class Op:
    w: list[int]
    a: list[int]
    w_bits: int
    a_bits: int
    signed: bool

    @property
    def fused(self) -> int:
        return (8 // brick_bits(self.w_bits)) * (8 // brick_bits(self.a_bits))


@CoverPoint("bitfusion.w_prec", xf=lambda op: brick_bits(op.w_bits), bins=[2, 4, 8])
@CoverPoint("bitfusion.a_prec", xf=lambda op: brick_bits(op.a_bits), bins=[2, 4, 8])
@CoverPoint("bitfusion.signed", xf=lambda op: op.signed, bins=[False, True])
@CoverCross("bitfusion.w_x_a_x_signed",
            items=["bitfusion.w_prec", "bitfusion.a_prec", "bitfusion.signed"])
def sample(op: Op) -> None:
    """Coverage sample of one dot product the checker has verified."""


def random_op(rng: np.random.Generator, extreme: str | None = None) -> Op:
    w_bits, a_bits = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    signed = bool(rng.integers(0, 2))
    if signed and min(w_bits, a_bits) == 1:  # a 1-bit signed operand is a bit width of 2
        w_bits, a_bits = max(w_bits, 2), max(a_bits, 2)
    length = int(rng.integers(1, 40))
    if extreme == "min":
        wlo, alo = operand_range(w_bits, signed)[0], operand_range(a_bits, signed)[0]
        return Op([wlo] * length, [alo] * length, w_bits, a_bits, signed)
    w = [int(x) for x in random_operands(rng, w_bits, signed, length)]
    a = [int(x) for x in random_operands(rng, a_bits, signed, length)]
    return Op(w, a, w_bits, a_bits, signed)


def build_schedule(ops: list[Op], rng: np.random.Generator, gaps: bool) -> tuple[Schedule, list[int]]:
    """Groups of f products per cycle, packed at the brick width; each op's first group cycle."""
    sched = Schedule(dict(IDLE))
    starts, t = [], 0
    for op in ops:
        wp, ap, f = brick_bits(op.w_bits), brick_bits(op.a_bits), op.fused
        groups = [range(g, min(g + f, len(op.w))) for g in range(0, len(op.w), f)]
        starts.append(t)
        for gi, group in enumerate(groups):
            if gi and gaps and rng.random() < 0.3:
                t += int(rng.integers(1, 3))
            sched.cycles[t] = {
                "w_prec": PREC_CODE[wp], "a_prec": PREC_CODE[ap], "is_signed": int(op.signed),
                "in_valid": 1, "in_first": int(gi == 0), "in_last": int(gi == len(groups) - 1),
                "w": pack([op.w[k] for k in group], wp), "a": pack([op.a[k] for k in group], ap),
            }
            t += 1
        if gaps:
            t += int(rng.integers(0, 3))
    return sched, starts


async def run_ops(dut, ops: list[Op], rng, gaps: bool, board: Scoreboard) -> None:
    timebase = Timebase()
    monitor = ValidMonitor(dut, timebase, "acc")
    sched, starts = build_schedule(ops, rng, gaps)
    await play_and_record(dut, timebase, sched, monitor, 4)
    board.expect_equal("results", len(monitor.results), len(ops))
    for op, start, (cycle, value) in zip(ops, starts, monitor.results, strict=False):
        want, cycles = bitfusion_reference(op.w, op.a, op.w_bits, op.a_bits, op.signed)
        what = f"w{op.w_bits}a{op.a_bits} {'s' if op.signed else 'u'} L={len(op.w)}"
        board.expect_equal(f"{what} value", value, want)
        if not gaps:
            board.expect_equal(f"{what} latency", cycle - start, cycles)
        sample(op)


@cocotb.test()
async def random_dots_until_coverage_closes(dut) -> None:
    """Random precisions, signedness and lengths, back to back and with gaps, until every
    (w' x a' x signedness) bin is hit; values (and gap-free latencies) match hwsim."""
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    board = Scoreboard("bitfusion random")
    cross = coverage_db["bitfusion.w_x_a_x_signed"]
    for batch in range(40):
        await run_ops(dut, [random_op(rng) for _ in range(10)], rng, gaps=batch % 2 == 1,
                      board=board)
        if cross.coverage == cross.size and batch >= 3:
            break
    board.result()
    coverage_db.report_coverage(log.info, bins=False)
    coverage_db.export_to_yaml(os.path.join(os.getcwd(), "coverage_bitfusion.yml"))
    assert cross.coverage == cross.size, f"w' x a' x signed: {cross.coverage}/{cross.size}"


@cocotb.test()
async def extreme_operands(dut) -> None:
    """Most negative (signed) and largest (unsigned) operands at every precision pair over a
    long reduction: the accumulator's extremes, back to back."""
    await start_clock_and_reset(dut, IDLE)
    ops = []
    for signed in (False, True):
        for wb in (2, 4, 8):
            for ab in (2, 4, 8):
                (wlo, whi), (alo, ahi) = operand_range(wb, signed), operand_range(ab, signed)
                ops.append(Op([wlo] * 37, [alo] * 37, wb, ab, signed))
                ops.append(Op([whi] * 37, [ahi] * 37, wb, ab, signed))
                ops.append(Op([wlo] * 37, [ahi] * 37, wb, ab, signed))
    board = Scoreboard("bitfusion extremes")
    await run_ops(dut, ops, np.random.default_rng(0), gaps=False, board=board)
    board.result()


@cocotb.test()
async def reset_in_the_middle_of_a_dot(dut) -> None:
    """Reset between the groups of a dot product: its sum never appears; the next is exact."""
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(2)
    op = Op([-128] * 12, [-128] * 12, 8, 8, True)
    sched, _ = build_schedule([op], rng, gaps=False)
    aborted = await results_of_aborted_schedule(dut, IDLE, sched, "acc", 5, 20)
    board = Scoreboard("bitfusion reset")
    board.expect_equal("results of the aborted dot product", len(aborted), 0)
    await run_ops(dut, [random_op(rng) for _ in range(4)], rng, gaps=False, board=board)
    board.result()
