"""The memories, modelled once: the on-chip SRAM buffers and the DRAM channel.

**Buffers.** Three SRAM buffers, one per tensor of a tile (:data:`BUFFER_NAMES`: input,
weight, output), each ``size_kib`` in ``banks`` banks with a port of ``bytes_per_cycle`` to
the array. A buffer is cut into slots of equal size (:meth:`BufferConfig.slot_bits`): two
for double buffering, more for a deep load stream (:class:`hwsim.isa.Load` ``slots``).

**DRAM.** One channel of ``bw_gbps`` (1e9 bytes/s), a fixed ``latency_ns`` and ``pj_per_bit``.
At the array's clock (:class:`DramChannel`, built by :attr:`hwsim.config.Arch.dram_channel`):

- a transfer of ``b`` bits occupies the channel ``ceil(b / bits_per_cycle)`` cycles;
- transfers are served one at a time, in the channel's fixed order, each starting when it is
  requested and the one before it has ended (the wait is its queueing on the channel);
- a load's data arrive ``latency_cycles`` after its transfer ends (a store's write likewise).

Both engine paths (:mod:`hwsim._timeline` and the simpy processes of :mod:`hwsim._processes`)
serve transfers through :meth:`DramChannel.serve`; the mapper reads the same channel.

>>> channel = DramConfig(12.8, 100, 8.0).channel(clock_mhz=500.0)
>>> channel.bits_per_cycle, channel.latency_cycles, channel.transfer_cycles(1000)
(204.8, 50, 5)
>>> channel.serve(requested=10, free=12, cycles=5)   # (start, end, data arrive)
(12, 17, 67)
"""

from __future__ import annotations

import math
from dataclasses import InitVar, dataclass, field
from typing import ClassVar

from hwsim.errors import ConfigError
from hwsim.fields import (
    NONNEGATIVE_NUMBER,
    POSITIVE_INT,
    POSITIVE_NUMBER,
    Check,
    Checked,
    nested,
    shown,
    within,
)

__all__ = ["BUFFER_NAMES", "BufferConfig", "Buffers", "DramChannel", "DramConfig"]

BUFFER_NAMES = ("input", "weight", "output")
"""The SRAM buffers, one per tensor of a tile (the tensors of :mod:`hwsim.dataflow`)."""


@dataclass(frozen=True, slots=True)
class BufferConfig(Checked):
    """One on-chip SRAM buffer. ``bytes_per_cycle`` is its port width to the array."""

    CHECKS: ClassVar[dict[str, Check]] = {
        "size_kib": within(POSITIVE_INT, None, 2**20, "1 GiB, beyond any on-chip SRAM"),
        "banks": within(POSITIVE_INT, None, 4_096, "beyond any SRAM macro count"),
        "bytes_per_cycle": within(POSITIVE_INT, None, 65_536, "a 512 Kib port, beyond any "
                                  "SRAM built")}
    size_kib: int
    banks: int = field(default=1, kw_only=True)
    bytes_per_cycle: int
    where: InitVar[str] = "buffer"

    @property
    def size_bits(self) -> int:
        return self.size_kib * 1024 * 8

    def slot_bits(self, slots: int = 2) -> int:
        """Bits of one of ``slots`` equal slots (two: double buffering)."""
        return self.size_bits // slots


@dataclass(frozen=True, slots=True)
class Buffers(Checked):
    """The input, weight and output buffers (:data:`BUFFER_NAMES`)."""

    CHECKS: ClassVar[dict[str, Check]] = {
        name: nested(BufferConfig) for name in BUFFER_NAMES}
    input: BufferConfig
    weight: BufferConfig
    output: BufferConfig
    where: InitVar[str] = "buffers"


    def get(self, name: str) -> BufferConfig:
        if name not in BUFFER_NAMES:
            raise ConfigError(f"buffer must be one of {BUFFER_NAMES}, not {shown(name)}")
        return getattr(self, name)

    def all(self) -> tuple[BufferConfig, ...]:
        return (self.input, self.weight, self.output)


@dataclass(frozen=True, slots=True)
class DramConfig(Checked):
    """Off-chip memory: one channel of ``bw_gbps`` (1e9 bytes/s), fixed latency, pJ/bit."""

    CHECKS: ClassVar[dict[str, Check]] = {
        "bw_gbps": within(POSITIVE_NUMBER, 0.01, 10**6, "10 MB/s to 1 PB/s, which stands for "
                          "'never the bottleneck': an HBM3 stack gives about 1 TB/s"),
        "latency_ns": within(NONNEGATIVE_NUMBER, None, 10**6, "1 ms; DRAM answers in about "
                             "100 ns"),
        "pj_per_bit": within(NONNEGATIVE_NUMBER, None, 1_000, "DRAM costs 4 to 30 pJ/bit")}
    bw_gbps: float
    latency_ns: float
    pj_per_bit: float
    where: InitVar[str] = "dram"

    def bits_per_cycle(self, clock_mhz: float) -> float:
        """Bandwidth in bits per cycle of a ``clock_mhz`` clock."""
        return self.bw_gbps * 8e9 / (clock_mhz * 1e6)

    def latency_cycles(self, clock_mhz: float) -> int:
        """Latency in whole cycles of a ``clock_mhz`` clock."""
        return math.ceil(self.latency_ns / (1000.0 / clock_mhz))

    def channel(self, clock_mhz: float) -> DramChannel:
        """The channel as an array clocked at ``clock_mhz`` sees it."""
        return DramChannel(self.bits_per_cycle(clock_mhz), self.latency_cycles(clock_mhz))


@dataclass(frozen=True, slots=True)
class DramChannel:
    """The DRAM channel at the array's clock (the model in the module doc)."""

    bits_per_cycle: float
    latency_cycles: int

    def transfer_cycles(self, bits: int) -> int:
        """Cycles a transfer of ``bits`` occupies the channel."""
        return math.ceil(bits / self.bits_per_cycle)

    def serve(self, requested: int, free: int, cycles: int) -> tuple[int, int, int]:
        """(start, end, arrival) of a transfer of ``cycles`` requested at ``requested`` when
        the channel is free from ``free``: it starts when both hold, and its data arrive
        ``latency_cycles`` after it ends."""
        start = requested if requested >= free else free
        end = start + cycles
        return start, end, end + self.latency_cycles
