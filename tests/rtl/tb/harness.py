"""Testbench pieces every kernel shares: clock and reset, the cycle timebase, a driver that
plays a per-cycle schedule while a monitor records, operand ranges and port packing helpers,
seeded randomness and a scoreboard.

Cycle numbering follows docs/timing.md: cycle 0 is the cycle whose rising edge samples the
first input. Drivers write and monitors read at the falling edge in the middle of a cycle, so
"the value presented in cycle c" is what the monitor reads at the falling edge before edge c,
on every simulator alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge

CLOCK_NS = 10

log = logging.getLogger("cocotb.tb")


def param(dut, name: str) -> int:
    """A Verilog parameter of the DUT, read back from the simulator."""
    return int(getattr(dut, name).value)


def seeded_rng(offset: int = 0) -> np.random.Generator:
    """The test's generator, from cocotb's seed (printed in the log, settable to replay)."""
    return np.random.default_rng(cocotb.RANDOM_SEED + offset)


def operand_range(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest ``bits``-bit operand, two's complement if ``signed``."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def random_operands(rng: np.random.Generator, bits: int, signed: bool, size) -> np.ndarray:
    """Uniform operands over :func:`operand_range`."""
    lo, hi = operand_range(bits, signed)
    return rng.integers(lo, hi + 1, size=size)


def pack(values: Iterable[int], width: int) -> int:
    """Pack lane values (lane 0 in the low bits) into one vector; negatives in two's complement."""
    mask = (1 << width) - 1
    word = 0
    for lane, value in enumerate(values):
        word |= (int(value) & mask) << (lane * width)
    return word


def lane(value, width: int, index: int, signed: bool = True) -> int:
    """Lane ``index`` of a packed port value (a cocotb LogicArray); raises on X/Z in it."""
    bits = str(value)
    total = len(bits)
    v = int(bits[total - (index + 1) * width : total - index * width], 2)
    if signed and v >> (width - 1):
        v -= 1 << width
    return v


class Timebase:
    """Cycle index of the current falling edge, relative to the cycle a driver calls 0."""

    def __init__(self) -> None:
        self._t0_ns: float | None = None

    def mark_cycle0(self) -> None:
        self._t0_ns = get_sim_time(unit="ns")

    @property
    def started(self) -> bool:
        return self._t0_ns is not None

    def now(self) -> int:
        assert self._t0_ns is not None, "no driver has marked cycle 0 yet"
        return round((get_sim_time(unit="ns") - self._t0_ns) / CLOCK_NS)


def set_idle(dut, idle: Mapping[str, int]) -> None:
    for name, value in idle.items():
        getattr(dut, name).value = value


async def pulse_reset(dut, idle: Mapping[str, int], cycles: int = 2,
                      hold_inputs: bool = False) -> None:
    """Hold reset for ``cycles`` rising edges and release it at a falling edge. The inputs go
    idle as reset rises, or with ``hold_inputs`` only as it falls (so a test can check that
    reset overrides inputs still being driven)."""
    if not hold_inputs:
        set_idle(dut, idle)
    dut.rst.value = 1
    await ClockCycles(dut.clk, cycles)
    await FallingEdge(dut.clk)
    if hold_inputs:
        set_idle(dut, idle)
    dut.rst.value = 0


async def start_clock_and_reset(dut, idle: Mapping[str, int], reset_cycles: int = 3) -> None:
    """Start the clock, hold reset with all inputs idle, release it at a falling edge."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    await pulse_reset(dut, idle, reset_cycles)


@dataclass
class Schedule:
    """Input port values per cycle; ports not named in a cycle take their idle value."""

    idle: dict[str, int]
    cycles: dict[int, dict[str, int]] = field(default_factory=dict)

    def set(self, cycle: int, port: str, value: int) -> None:
        self.cycles.setdefault(cycle, {})[port] = value

    def set_lane(self, cycle: int, port: str, index: int, width: int, value: int) -> None:
        """Set lane ``index`` (``width`` bits, two's complement) of a packed port."""
        row = self.cycles.setdefault(cycle, {})
        mask = (1 << width) - 1
        word = row.get(port, self.idle[port]) & ~(mask << (index * width))
        row[port] = word | ((int(value) & mask) << (index * width))

    @property
    def length(self) -> int:
        return max(self.cycles, default=-1) + 1


class ScheduleDriver:
    """Plays a :class:`Schedule` onto the DUT's ports, one cycle per falling edge.

    The first falling edge it drives is cycle 0 of the timebase.
    """

    def __init__(self, dut, timebase: Timebase) -> None:
        self.dut = dut
        self.timebase = timebase

    async def play(self, schedule: Schedule) -> None:
        await FallingEdge(self.dut.clk)
        self.timebase.mark_cycle0()
        for cycle in range(schedule.length):
            if cycle:
                await FallingEdge(self.dut.clk)
            values = {**schedule.idle, **schedule.cycles.get(cycle, {})}
            for name, value in values.items():
                getattr(self.dut, name).value = value
        await FallingEdge(self.dut.clk)
        set_idle(self.dut, schedule.idle)


class ValidMonitor:
    """Records ``(cycle, signed value of port)`` at every falling edge with ``out_valid`` high."""

    def __init__(self, dut, timebase: Timebase, port: str) -> None:
        self.dut, self.timebase, self.port = dut, timebase, port
        self.results: list[tuple[int, int]] = []

    async def run(self) -> None:
        while True:
            await FallingEdge(self.dut.clk)
            if int(self.dut.out_valid.value) and self.timebase.started:
                value = getattr(self.dut, self.port).value.to_signed()
                self.results.append((self.timebase.now(), value))


async def play_and_record(dut, timebase: Timebase, schedule: Schedule, monitor,
                          tail_cycles: int) -> None:
    """Play ``schedule`` while ``monitor.run()`` records, and ``tail_cycles`` more for the
    last results to leave the DUT."""
    recording = cocotb.start_soon(monitor.run())
    await ScheduleDriver(dut, timebase).play(schedule)
    await ClockCycles(dut.clk, tail_cycles)
    recording.cancel()


async def results_of_aborted_schedule(dut, idle: Mapping[str, int], schedule: Schedule, port: str,
                                      run_cycles: int, settle_cycles: int) -> list[tuple[int, int]]:
    """Play ``schedule``, pulse reset ``run_cycles`` into it (at a falling edge, the driver
    stopped), wait ``settle_cycles`` and return what ``port`` put out meanwhile: a reset in
    the middle of an operation must abort it, so the list should be empty."""
    timebase = Timebase()
    monitor = ValidMonitor(dut, timebase, port)
    recording = cocotb.start_soon(monitor.run())
    driver = cocotb.start_soon(ScheduleDriver(dut, timebase).play(schedule))
    await ClockCycles(dut.clk, run_cycles)
    await FallingEdge(dut.clk)
    driver.cancel()
    await pulse_reset(dut, idle)
    await ClockCycles(dut.clk, settle_cycles)
    recording.cancel()
    return monitor.results


class Scoreboard:
    """Compares observed items with expected ones and keeps every mismatch for the report."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.errors: list[str] = []
        self.checked = 0

    def expect_equal(self, what: str, got: object, expected: object) -> None:
        self.checked += 1
        if got != expected:
            self.errors.append(f"{what}: got {got}, expected {expected}")

    def result(self) -> None:
        """Raise with the first mismatches if any; log the number of checks otherwise."""
        if self.errors:
            shown = "\n  ".join(self.errors[:10])
            raise AssertionError(
                f"{self.name}: {len(self.errors)} of {self.checked} checks failed:\n  {shown}"
            )
        assert self.checked > 0, f"{self.name}: nothing was checked"
        log.info("%s: %d checks passed", self.name, self.checked)
