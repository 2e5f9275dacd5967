"""The static structure of a layer's truncated runs, before any timing: which instances exist,
what each one waits for, and the DRAM channel's fixed order (semantics in :mod:`hwsim.isa`,
model in :mod:`hwsim.engine`). :func:`hwsim._timeline.play` only adds the clock.

Every wait and position is a function of the instruction pattern extended periodically
(:func:`hwsim.isa.latest_instance`), so it is computed once per phase of a run's period and
shifted to each period of the simulated prefix; the prefix's edges only filter waits (on
iterations before the run, or on readers after the prefix). Positions in the DRAM order do
not depend on where a prefix is cut, so a truncated run ends exactly as the whole run does.
They are exact rationals, kept as integers over one common denominator.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise

from hwsim.config import Arch
from hwsim.dataflow import get_dataflow
from hwsim.isa import (
    Compute,
    Instr,
    Load,
    Run,
    Store,
    latest_instance,
    next_instance,
    window_of,
)

Key = tuple[int, int, int]  # (run, iteration, body index)
OrderKey = tuple[int, int, int, int]  # (scaled position, stores first, iteration, body index)


def nominal(arch: Arch, ins: Instr, mode: str) -> tuple[Fraction, Fraction]:
    """(read span, result latency) of an instruction in units of its issue period, on a
    bit-parallel array (p = f = 1). They place transfers in the DRAM channel's fixed order;
    being independent of bits and of DRAM speed keeps that order, and so the engine's
    monotonicity, the same when those change."""
    if not isinstance(ins, Compute):
        return Fraction(1), Fraction(1)
    return get_dataflow(ins.dataflow).nominal(arch.array.rows, arch.array.cols, ins.m, ins.k,
                                              ins.n, mode)


def load_streams(body: tuple[Instr, ...], period: int) -> dict[int, tuple[int, ...]]:
    """Body index of each load -> the loads of its stream (see :mod:`hwsim.isa`)."""
    by_buffer: dict[str, list[int]] = {}
    for b, ins in enumerate(body):
        if isinstance(ins, Load):
            by_buffer.setdefault(ins.buffer, []).append(b)
    streams: dict[int, tuple[int, ...]] = {}
    for members in by_buffer.values():
        # the pattern repeats every period, so one period shows whether two loads coincide
        disjoint = all(sum(latest_instance(body[b], i) == i for b in members) <= 1
                       for i in range(period))
        for b in members:
            streams[b] = tuple(members) if disjoint else (b,)
    return streams


@dataclass(slots=True)
class Schedule:
    """Instances of ``runs`` truncated to ``counts`` iterations, with their waits.

    ``array``/``vector``: instances in program order; ``order``: loads and stores in the DRAM
    channel's order; ``deps``: the instances each instance's data waits for; ``slot``: for a
    load, the instances whose operand reads free its SRAM slot; ``out``: for the first
    Compute/Vector of an output group, the stores whose drain frees its output slot;
    ``reach``: per run, how many iterations back and forward any wait reaches (so how many
    periods of history determine the future, and how far the end of a run is felt).
    """

    array: list[Key] = field(default_factory=list)
    vector: list[Key] = field(default_factory=list)
    loads: list[Key] = field(default_factory=list)
    stores: list[Key] = field(default_factory=list)
    order: list[Key] = field(default_factory=list)
    deps: dict[Key, list[Key]] = field(default_factory=dict)
    slot: dict[Key, list[Key]] = field(default_factory=dict)
    out: dict[Key, list[Key]] = field(default_factory=dict)
    reach: list[tuple[int, int]] = field(default_factory=list)

    def measure_reach(self, runs: int) -> None:
        back, fwd = [0] * runs, [0] * runs

        def see(pairs: Iterable[tuple[Key, Key]]) -> None:
            for (r, i, _), (r2, i2, _) in pairs:  # (waiter, waited)
                if r == r2:
                    if i - i2 > back[r]:
                        back[r] = i - i2
                    if i2 - i > fwd[r]:
                        fwd[r] = i2 - i

        for waits in (self.deps, self.slot, self.out):
            see((key, k) for key, keys in waits.items() for k in keys)
        for seq in (self.array, self.vector, self.loads, self.stores, self.order):
            see((b, a) for a, b in pairwise(seq))
        self.reach = list(zip(back, fwd, strict=True))


def build(runs: tuple[Run, ...], counts: list[int], arch: Arch, mode: str) -> Schedule:
    sched = Schedule()
    noms = [[nominal(arch, ins, mode) for ins in run.body] for run in runs]
    # Positions are exact rationals; scaled by a common denominator they sort as integers.
    scale = math.lcm(*(f.denominator for nom in noms for pair in nom for f in pair))
    loads: list[tuple[OrderKey, Key]] = []
    stores: list[tuple[OrderKey, Key]] = []
    offset = 0
    for r, run in enumerate(runs):
        # A load that waits for a slot waits for this run's computes, which follow every
        # compute of the earlier runs, some of which wait for the earlier runs' stores: it
        # must not precede those stores on the channel (it would deadlock). Loads into still
        # empty slots may go earlier (prefetch across runs).
        floor = max((k[0] for k, _ in stores), default=None)
        first, first_store, first_dep = len(loads), len(stores), len(sched.deps)
        _build_run(sched, r, run, counts[r], offset, noms[r], scale, loads, stores)
        if floor is not None:
            pushed = set()
            for j in range(first, len(loads)):
                (pos, tie, g, b), key = loads[j]
                if sched.slot[key] and pos < floor:
                    loads[j] = ((floor, tie, g, b), key)
                    pushed.add(key)
            _after_pushed_loads(sched, pushed, floor, stores, first_store, first_dep)
        offset += counts[r]
    loads.sort()
    stores.sort()
    sched.loads = [key for _, key in loads]
    sched.stores = [key for _, key in stores]
    sched.order = [key for _, key in sorted(loads + stores)]
    sched.measure_reach(len(runs))
    return sched


def _after_pushed_loads(sched: Schedule, pushed: set[Key], floor: int,
                        stores: list[tuple[OrderKey, Key]], first: int, first_dep: int) -> None:
    """Move this run's stores that depend, through its computes and vector ops, on a load
    pushed to ``floor`` just after it: served before that load, such a store would wait for
    data that cannot arrive (the channel serves in order), a deadlock. Stores that do not
    depend on a pushed load keep their place, so programs that did not deadlock are timed as
    before. Waits stay inside a run: this run's are the ``sched.deps`` entries from
    ``first_dep`` on (in insertion order)."""
    if not pushed:
        return
    users: dict[Key, list[Key]] = {}
    for key, waits in itertools.islice(sched.deps.items(), first_dep, None):
        for d in waits:
            users.setdefault(d, []).append(key)
    reached, frontier = set(pushed), list(pushed)
    while frontier:
        for user in users.get(frontier.pop(), ()):
            if user not in reached:
                reached.add(user)
                frontier.append(user)
    for j in range(first, len(stores)):
        (pos, tie, g, b), key = stores[j]
        if key in reached and pos <= floor:
            stores[j] = ((floor + 1, tie, g, b), key)


def _build_run(sched: Schedule, r: int, run: Run, n: int, offset: int,
               nom: list[tuple[Fraction, Fraction]], scale: int,
               loads: list[tuple[OrderKey, Key]], stores: list[tuple[OrderKey, Key]]) -> None:
    """Add run ``r``'s first ``n`` iterations (a multiple of its period) to ``sched``.

    Every wait and position is a function of the instruction pattern extended periodically
    (:func:`hwsim.isa.latest_instance`), so it is computed once per phase of the period, as
    an offset from the instance's iteration, and shifted; only the prefix's edges filter it:
    waits on iterations before 0, and a slot's last readers cut at iteration ``n``.
    """
    body, P = run.body, run.period
    # phases of the period in which each instruction executes
    phases = [[o for o in range(P) if lo <= o % ins.every < hi]
              for ins in body for lo, hi in [window_of(ins)]]
    in_phase = [set(ph) for ph in phases]
    consumers = [[c for c, other in enumerate(body) if b in other.deps]
                 for b in range(len(body))]

    # Fixed DRAM channel order, in units of iterations: a load where its slot frees (after
    # the consumers of the stream's instance ``slots`` before have read their operands), a store
    # where its results are complete, capped so that it precedes every load whose consumer
    # waits for its output slot (which would deadlock). Ties: stores first.
    read_ratio = [max((nom[c][0] for c in consumers[b]), default=Fraction(1))
                  for b in range(len(body))]
    lag_ratio = [max((nom[d][1] for d in ins.deps), default=Fraction(1)) for ins in body]
    min_read = min((read_ratio[b] for b, ins in enumerate(body) if isinstance(ins, Load)),
                   default=Fraction(1))

    def scaled(f: Fraction) -> int:
        return f.numerator * (scale // f.denominator)

    def stream_prev(members: tuple[int, ...], i: int) -> tuple[int, int]:
        """(iteration, body index) of the stream's instance before iteration ``i``."""
        return max((latest_instance(body[m], i - 1), m) for m in members)

    def last_reader(b: int, i: int, end: int | None) -> list[tuple[int, int]]:
        """Per consumer of load instance (i, b): its last instance that reads it (before
        iteration ``end`` if given)."""
        stop = next_instance(body[b], i) - 1
        stop = stop if end is None else min(stop, end - 1)
        out = []
        for c in consumers[b]:
            ci = latest_instance(body[c], stop)
            if ci >= i:
                out.append((ci, c))
        return out

    base = offset * scale
    streams = load_streams(body, P)
    for b, ins in enumerate(body):
        if not isinstance(ins, Load):
            continue
        members = streams[b]
        # A deep stream runs ahead inside its run, but not into the run before: no load goes
        # earlier than where double buffering puts the stream's first one.
        first, lead = min((phases[m][0], m) for m in members if phases[m])
        floor = (scaled(stream_prev(members, first)[0] - 1 + read_ratio[lead]) + base
                 if ins.slots > 2 else None)
        for o in phases[b]:
            prev_o, _ = stream_prev(members, o)
            o2, b2 = o, b  # the stream's instance ``slots`` back, whose slot it writes
            for _ in range(ins.slots):
                o2, b2 = stream_prev(members, o2)
            readers = last_reader(b2, o2, None)
            # no earlier than where the stream's previous instance can be slots - 1 ahead
            free_at = max([prev_o - (ins.slots - 1)] + [ci for ci, _ in readers])
            pos = scaled(free_at + read_ratio[b2]) + base
            slot = [(ci - o, c) for ci, c in readers]
            cut = next_instance(body[b2], o2) - o  # readers reach past the prefix from here
            for q in range(0, n, P):
                i, key = q + o, (r, q + o, b)
                at = pos + q * scale if floor is None else max(pos + q * scale, floor)
                loads.append(((at, 1, offset + i, b), key))
                if q + o2 < 0:
                    sched.slot[key] = []
                elif i + cut > n:
                    sched.slot[key] = [(r, ci, c) for ci, c in last_reader(b2, q + o2, n)]
                else:
                    sched.slot[key] = [(r, i + ci, c) for ci, c in slot]

    store_idx = [b for b, ins in enumerate(body) if isinstance(ins, Store)]
    for b in store_idx:
        ins = body[b]
        for o in phases[b]:
            cap = next_instance(ins, o) + 1 + min_read
            pos = scaled(min(o + lag_ratio[b], cap)) + base
            for q in range(0, n, P):
                stores.append(((pos + q * scale, 0, offset + q + o, b), (r, q + o, b)))

    # Output groups: group g ends with the g-th store instance; its first Compute/Vector
    # waits for the drain of group g - 2 (the second-latest store before it).
    active = [[b for b, ins in enumerate(body) if not isinstance(ins, Load | Store)
               and o in in_phase[b]] for o in range(P)]
    units: list[list[tuple[int, bool, int | None]]] = [[] for _ in range(P)]
    seen = max((o for o in range(P) if active[o]), default=0) - P  # latest busy phase
    for o in range(P):
        for b in active[o]:
            back = None
            if store_idx and b == active[o][0]:
                s1 = latest_instance(body[store_idx[0]], o - 1)
                if seen <= s1:  # the first Compute/Vector since the store before it
                    back = latest_instance(body[store_idx[0]], s1 - 1) - o
            units[o].append((b, isinstance(body[b], Compute), back))
        if active[o]:
            seen = o
    for q in range(0, n, P):
        for o in range(P):
            for b, is_compute, back in units[o]:
                key = (r, q + o, b)
                (sched.array if is_compute else sched.vector).append(key)
                if back is not None and q + o + back >= 0:
                    sched.out[key] = [(r, q + o + back, s) for s in store_idx]
    for b, ins in enumerate(body):
        rel = [[(d, latest_instance(body[d], o) - o) for d in ins.deps] for o in phases[b]]
        for q in range(0, n, P):
            for o, dis in zip(phases[b], rel, strict=True):
                i = q + o
                sched.deps[r, i, b] = [(r, i + di, d) for d, di in dis if i + di >= 0]
