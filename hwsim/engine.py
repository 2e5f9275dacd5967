"""The cycle-level engine: simpy processes for the load DMA, the array, the vector unit and the
store DMA, sharing one DRAM channel, with double-buffered SRAM (semantics in :mod:`hwsim.isa`).

Model
-----
- The **array** and the **vector unit** execute their instructions in program order. A compute
  tile occupies the array for its issue period and its results are complete ``first`` cycles
  after issue (:class:`hwsim.timing.TileTiming`), so back-to-back identical tiles take exactly
  the closed form of :mod:`hwsim.timing`. A vector op takes ``ceil(ops / (lanes x
  ops_per_cycle))`` cycles.
- The **DRAM channel** moves one transfer at a time, ``ceil(bits / bits_per_cycle)`` cycles
  each; a load's data arrives ``dram_latency_cycles`` after its transfer. The channel serves
  transfers in one fixed order: a load is placed where its SRAM slot becomes free (two slots
  per load stream: a slot frees when the consumers of the instance two before have finished),
  a store where its results are complete. A fixed order makes the whole engine a monotone
  (max-plus) system: shorter transfers or tiles never make anything later, which is why "more
  bandwidth is never slower" holds as a law rather than usually.
- **Stalls**: see :mod:`hwsim.stats` for the causes and the accounting identity.

Steady state
------------
A run of ``count`` iterations repeats with period ``E`` iterations (``Run.period``). The engine
simulates a bounded prefix of each long run (12 or 13 periods) event by event, checks that the
per-period increments of time, busy and stall cycles have become periodic (with cyclicity 1 or
2), and inserts the remaining periods in closed form: every event after the insertion point
moves later by ``k x lambda``. This is exact for the max-plus system once it is periodic; when
the prefix is not yet periodic the prefix is doubled, up to the whole run. The work therefore
grows with the number of distinct runs (tile kinds), not with the number of tiles or cycles.
Per-layer results are cached on (runs, arch, mode).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from dataclasses import dataclass

from hwsim.config import Arch
from hwsim.energy import ActionCounts, energy_of
from hwsim.errors import ProgramError
from hwsim.isa import Layer, Load, Program, Run, Store, Vector
from hwsim.stats import LayerStats, RunStats, TraceEvent
from hwsim.timing import MODES

__all__ = ["simulate", "simulate_layer"]

log = logging.getLogger(__name__)

_PREFIX = 12  # periods simulated event by event before the steady-state check


def simulate(program: Program, arch: Arch, mode: str = "native", trace: bool = True,
             steady_state: bool = True) -> RunStats:
    """Simulate ``program`` on ``arch``; layers run one after another.

    ``mode``: ``"native"`` or ``"scalesim"`` timing (:mod:`hwsim.timing`); ``trace``: keep the
    tile timeline for :meth:`RunStats.to_perfetto`; ``steady_state=False`` simulates every
    iteration event by event (slow; for checking the closed-form fast-forward).

    >>> from hwsim.config import load_arch
    >>> from hwsim.isa import Compute, Layer, Load, Program, Run, Store
    >>> body = (Load("weight", 16 * 16 * 8), Load("input", 64 * 16 * 8),
    ...         Compute("ws", 64, 16, 16, deps=(0, 1)), Store(64 * 16 * 8, deps=(2,)))
    >>> stats = simulate(Program("p", (Layer("fc", (Run(body, 100),)),)), load_arch("edge_int8"))
    >>> stats.total.macs, stats.cycles >= stats.total.roofline_cycles
    (1638400, True)
    """
    if mode not in MODES:
        raise ProgramError(f"timing mode must be one of {MODES}, not {mode!r}")
    program.validate(arch)
    layers, events, offset = [], [], 0
    for layer in program.layers:
        stats, layer_trace = simulate_layer(layer, arch, mode, steady_state)
        layers.append(stats)
        if trace:
            events += [TraceEvent(e.track, e.name, e.start + offset, e.duration, layer.name)
                       for e in layer_trace]
        offset += stats.cycles
    resources = None
    if arch.fpga is not None:
        from hwsim.resources import fpga_report_or_none

        resources = fpga_report_or_none(arch)
    return RunStats(arch.name, mode, arch.array.clock_mhz, tuple(layers), tuple(events),
                    resources)


def simulate_layer(layer: Layer, arch: Arch, mode: str = "native", steady_state: bool = True,
                   ) -> tuple[LayerStats, tuple[TraceEvent, ...]]:
    """Stats and tile timeline (cycles from the layer's start) of one layer."""
    timed = _timed_runs(layer.runs, arch, mode, steady_state)
    counts, compute_bound, tiles = _counts(layer, arch)
    dram_bits = counts.dram_bits
    seconds = timed.cycles * arch.cycle_ns * 1e-9
    read_bits = sum(ins.bits * run.count // ins.every for run in layer.runs
                    for ins in run.body if isinstance(ins, Load))
    stats = LayerStats(
        name=layer.name,
        cycles=timed.cycles,
        seconds=seconds,
        busy_cycles=timed.busy,
        stall_cycles=timed.stalls,
        compute_bound_cycles=compute_bound,
        memory_bound_cycles=dram_bits / arch.dram_bits_per_cycle,
        macs=counts.total_macs,
        tiles=tiles,
        dram_read_bits=read_bits,
        dram_write_bits=counts.dram_bits - read_bits,
        counts=counts,
        energy=energy_of(counts, arch, seconds),
    )
    return stats, timed.trace


def _counts(layer: Layer, arch: Arch) -> tuple[ActionCounts, float, int]:
    """Exact action counts of a layer (from the program, not from the simulation)."""
    macs: dict = defaultdict(int)
    rd: dict = defaultdict(int)
    wr: dict = defaultdict(int)
    dram = vec = tiles = 0
    bound = 0.0
    for run in layer.runs:
        for ins in run.body:
            n = run.count // ins.every
            if isinstance(ins, Load):
                dram += n * ins.bits
                wr[ins.buffer] += n * ins.bits
            elif isinstance(ins, Store):
                dram += n * ins.bits
                rd["output"] += n * ins.bits
            elif isinstance(ins, Vector):
                vec += n * ins.ops
                rd["output"] += n * ins.elements * ins.bits
                wr["output"] += n * ins.elements * ins.bits
            else:
                tiles += n
                macs[(ins.w_bits, ins.a_bits)] += n * ins.macs
                bound += n * ins.macs / arch.peak_macs_per_cycle(ins.w_bits, ins.a_bits)
                rd["input"] += n * ins.m * ins.k * ins.a_bits
                rd["weight"] += n * ins.k * ins.n * ins.w_bits
                wr["output"] += n * ins.m * ins.n * ins.acc_bits
                if ins.dataflow != "os":  # partial sums are read-modify-written in SRAM
                    rd["output"] += n * ins.m * ins.n * ins.acc_bits
    counts = ActionCounts(
        macs=tuple(sorted(macs.items())), sram_read_bits=tuple(sorted(rd.items())),
        sram_write_bits=tuple(sorted(wr.items())), dram_bits=dram, vector_ops=vec,
    )
    return counts, bound, tiles


@dataclass(frozen=True, slots=True)
class _Timed:
    cycles: int
    busy: int
    stalls: tuple[tuple[str, int], ...]
    trace: tuple[TraceEvent, ...]


@functools.lru_cache(maxsize=4096)
def _timed_runs(runs: tuple[Run, ...], arch: Arch, mode: str, steady_state: bool) -> _Timed:
    """Simulate truncated runs, find each long run's periodic regime, extrapolate."""
    periods = [r.count // r.period for r in runs]
    sim_periods = [g if g <= _PREFIX + 4 or not steady_state else _PREFIX + (g - _PREFIX) % 2
                   for g in periods]
    from hwsim._sim import LayerSim

    while True:
        sim = LayerSim(runs, [s * r.period for s, r in zip(sim_periods, runs, strict=True)],
                       arch, mode)
        sim.run()
        inserts, retry = [], False
        for ri, run in enumerate(runs):
            g, s = periods[ri], sim_periods[ri]
            if g == s:
                inserts.append(None)
                continue
            found = sim.periodic(ri, run.period, s)
            if found is None:
                sim_periods[ri] = g if 2 * s + 4 >= g else 2 * s + (g - 2 * s) % 2
                retry = True
                log.debug("run %d not periodic after %d periods; simulating %d", ri, s,
                          sim_periods[ri])
                continue
            cyc, at, lam = found
            inserts.append(((g - s) // cyc, at, lam))
        if not retry:
            timed = sim.extrapolate(inserts)
            if timed is not None:
                return timed
            log.warning("steady-state accounting did not close; simulating every iteration")
            sim_periods = list(periods)
