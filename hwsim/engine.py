"""The cycle-level engine: the load DMA, the array, the vector unit and the store DMA, sharing
one DRAM channel, with double-buffered SRAM (semantics in :mod:`hwsim.isa`).

Every time in the model is a maximum of earlier times plus fixed delays, so the engine
evaluates them directly, unit by unit in each unit's fixed order (:mod:`hwsim._timeline`, each
unit a generator that runs until a time it waits for is unknown), over a schedule of instances
built once per phase of each run's period (:mod:`hwsim._schedule`). Instances are dense integer
ids and waits are offsets between them, so a schedule is its first period's lists repeated and
every time lives in a list indexed by id.
The same model written as simpy processes (:mod:`hwsim._processes`) is consulted only when the
array and the vector unit issue in the same cycle after resuming in the same cycle, where the
order in which simpy resumes them decides which of the two a stall is charged to.

Model
-----
- The **array** and the **vector unit** execute their instructions in program order. A compute
  tile occupies the array for its issue period and its results are complete ``first`` cycles
  after issue (:class:`hwsim.timing.TileTiming`), so back-to-back identical tiles take exactly
  the closed form of :mod:`hwsim.timing`; on an output-stationary array a tile's first
  results also come ``max(R, C)`` after the previous tile's
  (:meth:`hwsim.dataflow.Dataflow.result_spacing`), which delays a shorter reduction after a
  longer one. A vector op takes ``ceil(ops / (lanes x ops_per_cycle))`` cycles.
- The **DRAM channel** moves one transfer at a time, ``ceil(bits / bits_per_cycle)`` cycles
  each; a load's data arrives ``dram_latency_cycles`` after its transfer. The channel serves
  transfers in one fixed order: a load is placed where its SRAM slot becomes free
  (``Load.slots`` per load stream, two by default: a slot frees when the consumers of the
  stream's instance ``slots`` before have read it, so a deeper stream prefetches further
  ahead within its run, though never earlier than double buffering would place the stream's
  first load), a store where its results are complete; a load that waits for a slot never
  precedes the stores of earlier runs (their computes come first). A fixed order makes the
  whole engine a monotone (max-plus) system: shorter transfers or tiles never make anything
  later, which is why "more bandwidth is never slower" holds as a law rather than usually.
- **Stalls**: see :mod:`hwsim.stats` for the causes and the accounting identity.

Steady state
------------
A run of ``count`` iterations repeats with period ``E`` iterations (``Run.period``). The engine
simulates a bounded prefix of each long run event by event, starting with the fewest periods
in which a check can succeed (the periods that waits reach back and forward over, plus a few)
and doubling while the check fails; a run whose end reaches over most of any prefix (a later
run's loads prefetched ahead of most of its transfers) is simulated whole at once instead.
The check: over the periods that waits reach back over, every instance completes exactly
``lambda`` cycles after its counterpart ``c`` periods earlier (cyclicity ``c`` up to 8), and
the per-period time, busy and stall increments agree. The engine is deterministic and its
structure repeats every period, so the rest of the run then repeats with that shift; the
remaining periods are inserted in closed form (every later event moves by ``k x lambda``),
exactly. The work grows with the number of distinct runs (tile kinds)
and their periods, not with the number of tiles or cycles. Per-layer results are cached on
(runs, the arch's timing parameters, mode): see :class:`_Timing`. A run's end is where its
waits reach forward or where the next runs' transfers (loads prefetched into empty slots)
share the channel with its last ones, whichever is earlier
(:meth:`hwsim._schedule.Schedule.measure_reach`: the waits' reach is recorded from the
templates while building, the channel's order is measured only where a check needs it).

Long periods (a reduction of hundreds of k steps between an output tile's loads and its
store) are cut short and their interior steps inserted in closed form, when the checks of
:mod:`hwsim._interior` show that this is exact; without a trace only.
"""

from __future__ import annotations

import functools
import gc
import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from hwsim import _schedule
from hwsim._interior import Prefix, interior_fast_forward
from hwsim._schedule import estimate_reach, structure_key
from hwsim._sim import LayerSim, Timed
from hwsim.config import Arch
from hwsim.dataflow import check_mode, get_dataflow
from hwsim.energy import ActionCounts, energy_of
from hwsim.isa import Layer, Load, Program, Run, Store, Vector
from hwsim.resources import fpga_report_or_none
from hwsim.stats import LayerStats, RunStats, TraceEvent
from hwsim.timing import clear_cache as clear_tile_timings
from hwsim.timing import tile_timing

__all__ = ["clear_cache", "no_cyclic_gc", "simulate", "simulate_layer"]

log = logging.getLogger(__name__)

_SLACK = 5  # periods beyond the reach of waits in the first prefix tried
# structure of a layer's runs -> the prefix (periods per run) that was periodic last time;
# where to start, never what the result is (the periodicity check decides that)
_PREFIX_HINTS: dict[object, tuple[int, ...]] = {}


def simulate(program: Program, arch: Arch, mode: str = "native", trace: bool = True,
             steady_state: bool = True,
             on_progress: Callable[[int, int], None] | None = None) -> RunStats:
    """Simulate ``program`` on ``arch``; layers run one after another.

    ``mode``: ``"native"`` or ``"scalesim"`` timing (:mod:`hwsim.timing`); ``trace``: keep the
    tile timeline for :meth:`RunStats.to_perfetto`; ``steady_state=False`` simulates every
    iteration event by event (slow; for checking the closed-form fast-forward);
    ``on_progress(layers done, layers)`` is called after each layer.

    >>> from hwsim.config import load_arch
    >>> from hwsim.isa import Compute, Layer, Load, Program, Run, Store
    >>> body = (Load("weight", 16 * 16 * 8), Load("input", 64 * 16 * 8),
    ...         Compute("ws", 64, 16, 16, deps=(0, 1)), Store(64 * 16 * 8, deps=(2,)))
    >>> stats = simulate(Program("p", (Layer("fc", (Run(body, 100),)),)), load_arch("edge_int8"))
    >>> stats.total.macs, stats.cycles >= stats.total.roofline_cycles
    (1638400, True)
    """
    check_mode(mode)
    program.validate(arch, capacity=mode != "scalesim")
    with no_cyclic_gc():
        return _simulate_program(program, arch, mode, trace, steady_state, on_progress)


def _simulate_program(program: Program, arch: Arch, mode: str, trace: bool, steady_state: bool,
                      on_progress: Callable[[int, int], None] | None) -> RunStats:
    layers, events, offset = [], [], 0
    for layer in program.layers:
        stats, layer_trace = simulate_layer(layer, arch, mode, steady_state, trace=trace)
        layers.append(stats)
        if on_progress is not None:
            on_progress(len(layers), len(program.layers))
        if trace:
            events += [TraceEvent(e.track, e.name, e.start + offset, e.duration, layer.name)
                       for e in layer_trace]
        offset += stats.cycles
    resources = None
    if arch.fpga is not None:
        resources = fpga_report_or_none(arch)
    return RunStats(arch.name, mode, arch.array.clock_mhz, tuple(layers), tuple(events),
                    resources)


def simulate_layer(layer: Layer, arch: Arch, mode: str = "native", steady_state: bool = True,
                   trace: bool = True) -> tuple[LayerStats, tuple[TraceEvent, ...]]:
    """Stats and tile timeline (cycles from the layer's start; empty unless ``trace``) of one
    layer."""
    timed = _timed_runs(layer.runs, arch, mode, steady_state, trace)
    counts, bounds, tiles = _counts(layer, arch, mode)
    dram_bits = counts.dram_bits
    seconds = timed.cycles * arch.cycle_ns * 1e-9
    read_bits = sum(ins.bits * run.instances(b) for run in layer.runs
                    for b, ins in enumerate(run.body) if isinstance(ins, Load))
    stats = LayerStats(
        name=layer.name,
        cycles=timed.cycles,
        seconds=seconds,
        busy_cycles=timed.busy,
        stall_cycles=timed.stalls,
        compute_bound_cycles=bounds[0],
        memory_bound_cycles=dram_bits / arch.dram_bits_per_cycle,
        array_bound_cycles=bounds[1],
        vector_bound_cycles=bounds[2],
        macs=counts.total_macs,
        tiles=tiles,
        dram_read_bits=read_bits,
        dram_write_bits=counts.dram_bits - read_bits,
        counts=counts,
        energy=energy_of(counts, arch, seconds),
    )
    return stats, timed.trace if trace else ()


def _counts(layer: Layer, arch: Arch, mode: str) -> tuple[ActionCounts, tuple[float, int, int], int]:
    """Exact action counts of a layer (from the program, not from the simulation), its
    bounds (compute: MACs at the array's peak; array: the tiles' issue periods, so the
    spatial mapping's idle PEs count; vector: the vector ops' cycles) and its tile count."""
    macs: dict = defaultdict(int)
    rd: dict = defaultdict(int)
    wr: dict = defaultdict(int)
    dram = vec = tiles = array = vector = decoded = 0
    bound = 0.0
    lanes = arch.vector.ops_per_cycle_total
    for run in layer.runs:
        for b, ins in enumerate(run.body):
            n = run.instances(b)
            if isinstance(ins, Load):
                dram += n * ins.bits
                wr[ins.buffer] += n * ins.stored_bits
                decoded += n * ins.decode
            elif isinstance(ins, Store):
                dram += n * ins.bits
                rd["output"] += n * ins.bits
            elif isinstance(ins, Vector):
                vec += n * ins.ops
                vector += n * math.ceil(ins.ops / lanes)
                rd["output"] += n * ins.elements * ins.bits
                wr["output"] += n * ins.elements * ins.bits
            else:
                tiles += n
                macs[(ins.w_bits, ins.a_bits)] += n * ins.macs
                bound += n * ins.macs / arch.peak_macs_per_cycle(ins.w_bits, ins.a_bits)
                array += n * tile_timing(arch, ins.dataflow, ins.m, ins.k, ins.n, ins.w_bits,
                                         ins.a_bits, mode).period
                reads, writes = get_dataflow(ins.dataflow).sram_bits(
                    ins.m, ins.k, ins.n, ins.w_bits, ins.a_bits, ins.acc_bits)
                for buffer, bits in reads:
                    rd[buffer] += n * bits
                for buffer, bits in writes:
                    wr[buffer] += n * bits
    counts = ActionCounts(
        macs=tuple(sorted(macs.items())), sram_read_bits=tuple(sorted(rd.items())),
        sram_write_bits=tuple(sorted(wr.items())), dram_bits=dram, vector_ops=vec,
        decoded=decoded,
    )
    return counts, (bound, array, vector), tiles


def clear_cache() -> None:
    """Forget the cached per-layer results, e.g. to time a cold run."""
    _timed_runs_cached.cache_clear()
    _schedule.clear_cache()
    _PREFIX_HINTS.clear()
    clear_tile_timings()


class no_cyclic_gc:
    """Pause the cyclic garbage collector while a program is simulated. The engine builds tens
    of thousands of small tuples and lists, none in a cycle (reference counting frees them);
    each allocation burst would otherwise trigger collections that walk every object the
    process holds (torch's included), which cost 40% of the simulation time. Nests.

    ``freeze``: on leaving, also move everything alive into the collector's permanent
    generation (:func:`gc.freeze`), so later collections never walk it again: for a process
    that does nothing but map and simulate (a sweep's worker), whose per-layer caches grow
    to most of its heap and would be walked by every collection. Only for such a process:
    the mapper and the engine make no reference cycles (a test checks), but anything else
    in the process that did would stay in memory.
    """

    def __init__(self, freeze: bool = False) -> None:
        self.freeze = freeze

    def __enter__(self) -> None:
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            if self.freeze:
                gc.freeze()
            gc.enable()


@dataclass(frozen=True, slots=True)
class _Timing:
    """An arch as the timing model sees it: equal (and hashed) by the parameters a layer's
    times depend on, and nothing else (not buffer sizes, energy tables, area or its name,
    which the program and the energy model account for). Two points of a sweep that differ
    only there, or whose clock and DRAM give the same channel in cycles, share a layer's
    simulation."""

    arch: Arch = field(compare=False, hash=False)
    key: tuple[object, ...]

    @classmethod
    def of(cls, arch: Arch) -> _Timing:
        a = arch.array
        return cls(arch, (a.rows, a.cols, a.pe, arch.dram_channel,
                          arch.vector.ops_per_cycle_total))


def _timed_runs(runs: tuple[Run, ...], arch: Arch, mode: str, steady_state: bool,
                trace: bool) -> Timed:
    """Simulate truncated runs, find each long run's periodic regime, extrapolate (cached
    by what determines the result; with its tile timeline only if ``trace``)."""
    return _timed_runs_cached(runs, _Timing.of(arch), mode, steady_state, trace)


@functools.lru_cache(maxsize=4096)
def _timed_runs_cached(runs: tuple[Run, ...], timing: _Timing, mode: str,
                       steady_state: bool, trace: bool) -> Timed:
    with no_cyclic_gc():
        return _simulate_runs(runs, timing.arch, mode, steady_state, trace)


def _simulate_runs(runs: tuple[Run, ...], arch: Arch, mode: str, steady_state: bool,
                   trace: bool) -> Timed:
    if steady_state and not trace:  # long periods: their interiors in closed form
        timed = interior_fast_forward(
            runs, lambda cut: _prefix(cut, arch, mode, True, False),
            lambda cut, periods: _run_prefix(cut, periods, arch, mode))
        if timed is not None:
            return timed
    prefix = _prefix(runs, arch, mode, steady_state, trace)
    return prefix.timed


def _run_prefix(runs: tuple[Run, ...], periods: list[int], arch: Arch, mode: str) -> LayerSim:
    """The event-by-event simulation of ``periods`` periods of each run."""
    sim = LayerSim(runs, [s * r.period for s, r in zip(periods, runs, strict=True)], arch, mode,
                   trace=False)
    sim.run()
    return sim


def _prefix(runs: tuple[Run, ...], arch: Arch, mode: str, steady_state: bool,
            trace: bool) -> Prefix:
    """Simulate a prefix of each run, long enough for the periodicity check, and extrapolate
    the rest (module doc); every iteration when not ``steady_state``."""
    P = [r.period for r in runs]  # (an lcm over the body: computed once here)
    periods = [r.count // p for r, p in zip(runs, P, strict=True)]
    sim_periods = list(periods)
    if steady_state:
        # The shortest prefix in which the periodicity check can succeed (cyclicity 1): the
        # windows a wait reaches back over, one to compare against, the end's reach, slack.
        reach = estimate_reach(runs, [min(g, 3) * p for g, p in zip(periods, P, strict=True)],
                               arch, mode)
        # (the next run's loads into empty slots share the channel with a run's last
        # transfers, about a period and their streams' depth: its end, measured on the
        # schedule; estimated here so that the first prefix is long enough)
        tails = [p + max((ins.slots for ins in nxt.body if isinstance(ins, Load)), default=-p)
                 for p, nxt in zip(P[:-1], runs[1:], strict=True)] + [0]
        sim_periods = [min(g, -(-back // p) + -(-max(fwd, tail) // p) + _SLACK)
                       for g, p, (back, fwd), tail in zip(periods, P, reach, tails, strict=True)]
        # where the same structure last became periodic (another DRAM speed or bit width in
        # a sweep or a search): start there rather than fail and double again
        hint = _PREFIX_HINTS.get(shape := structure_key(runs, arch, mode))
        if hint is not None:
            sim_periods = [max(a, b) for a, b in zip(sim_periods, hint, strict=True)]
    while True:
        counts = [s * p for s, p in zip(sim_periods, P, strict=True)]
        sim = LayerSim(runs, counts, arch, mode, trace=trace)
        sim.run(windows=sim_periods != periods)  # (the books per window serve the check)
        inserts: list[tuple[int, int, tuple] | None] = []
        cyclicity: list[int] = []
        retry = False
        for ri in range(len(runs)):
            g, s = periods[ri], sim_periods[ri]
            found = sim.periodic(ri, s) if g > s else None
            if found is None or (g - s) % found[0]:
                inserts.append(None)
                cyclicity.append(0)
                if g > s:  # not periodic yet: double; or align the rest to the cyclicity
                    sim_periods[ri] = min(g, 2 * s if found is None else s + (g - s) % found[0])
                    fwd = sim.sched.reach[ri][1]
                    if found is None and fwd > sim.sched.within[ri][1] and 2 * fwd >= counts[ri]:
                        # a later run's transfers, prefetched far ahead, precede most of its
                        # own: its end reaches over most of any prefix (the reach grows with
                        # it), so only the whole run can show it
                        sim_periods[ri] = g
                    retry = True
                    log.debug("run %d: %d periods were not enough; simulating %d", ri, s,
                              sim_periods[ri])
                continue
            cyc, at, lam = found
            inserts.append(((g - s) // cyc, at, lam))
            cyclicity.append(cyc)
        if not retry:
            timed = sim.extrapolate(inserts)
            if timed is not None:
                if steady_state:
                    if len(_PREFIX_HINTS) >= 4096:
                        _PREFIX_HINTS.clear()
                    _PREFIX_HINTS[shape] = tuple(sim_periods)
                return Prefix(sim, list(sim_periods), inserts, cyclicity, timed)
            log.warning("steady-state accounting did not close; simulating every iteration")
            sim_periods = list(periods)
