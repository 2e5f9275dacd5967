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

import functools
import itertools
import math
from collections.abc import Sequence
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
    periods of history determine the future, and how far the end of a run is felt, which
    includes the next runs' transfers that share the channel with its last ones);
    ``within``: the same without the next runs (what :func:`estimate_reach` estimates). Both
    are measured when first asked for (a run simulated whole needs neither).
    """

    counts: tuple[int, ...] = ()
    array: list[Key] = field(default_factory=list)
    vector: list[Key] = field(default_factory=list)
    loads: list[Key] = field(default_factory=list)
    stores: list[Key] = field(default_factory=list)
    order: list[Key] = field(default_factory=list)
    deps: dict[Key, list[Key]] = field(default_factory=dict)
    slot: dict[Key, list[Key]] = field(default_factory=dict)
    out: dict[Key, list[Key]] = field(default_factory=dict)
    _reach: list[tuple[int, int]] | None = None
    _within: list[tuple[int, int]] | None = None

    @property
    def reach(self) -> list[tuple[int, int]]:
        if self._reach is None:
            self.measure_reach(self.counts)
        assert self._reach is not None
        return self._reach

    @property
    def within(self) -> list[tuple[int, int]]:
        if self._within is None:
            self.measure_reach(self.counts)
        assert self._within is not None
        return self._within

    def measure_reach(self, counts: Sequence[int]) -> None:
        """:attr:`reach` and :attr:`within` of a schedule of ``counts`` iterations per run."""
        runs = len(counts)
        back, fwd = [0] * runs, [0] * runs
        for waits in (self.deps, self.slot, self.out):  # (waiter, waited), loops inlined
            for (r, i, _), keys in waits.items():
                for r2, i2, _ in keys:
                    if r == r2:
                        if i - i2 > back[r]:
                            back[r] = i - i2
                        if i2 - i > fwd[r]:
                            fwd[r] = i2 - i
        for seq in (self.array, self.vector, self.loads, self.stores, self.order):
            for (r2, i2, _), (r, i, _) in pairwise(seq):  # the later one waits for the earlier
                if r == r2:
                    if i - i2 > back[r]:
                        back[r] = i - i2
                    if i2 - i > fwd[r]:
                        fwd[r] = i2 - i
        self._within = list(zip(back, fwd, strict=True))
        # A later run's transfers interleaved with a run's last ones on the channel (loads
        # prefetched into empty slots) are felt from the first of the run's transfers they
        # precede to its end (its last iteration): its last windows are as much its end as
        # those waits reach.
        first_after = [-1] * runs
        top = -1
        for r, i, _ in self.order:
            if r < top and (first_after[r] < 0 or i < first_after[r]):
                first_after[r] = i
            if r > top:
                top = r
        for r, i in enumerate(first_after):
            if i >= 0 and counts[r] - i > fwd[r]:
                fwd[r] = counts[r] - i
        self._reach = list(zip(back, fwd, strict=True))


def _structure(ins: Instr) -> tuple[object, ...]:
    """What :func:`build` reads of an instruction: its kind, pattern, waits, stream and slots,
    and a tile's shape (its nominal spans). Not bits: a schedule is the same for every
    precision and every DRAM speed, which is what keeps the channel's order fixed."""
    if isinstance(ins, Load):
        return ("load", ins.buffer, ins.slots, ins.every, ins.deps, ins.window)
    if isinstance(ins, Compute):
        return ("compute", ins.dataflow, ins.m, ins.k, ins.n, ins.every, ins.deps, ins.window)
    return (ins.op, ins.every, ins.deps, ins.window)


@dataclass(frozen=True, slots=True)
class _Key:
    """Runs, counts and arch, equal by what a schedule depends on (:func:`_structure`, the
    counts, the array's size, the timing mode)."""

    runs: tuple[Run, ...] = field(compare=False, hash=False)
    arch: Arch = field(compare=False, hash=False)
    counts: tuple[int, ...]
    mode: str
    shape: tuple[object, ...]


def build(runs: tuple[Run, ...], counts: list[int], arch: Arch, mode: str) -> Schedule:
    """The schedule of ``runs`` truncated to ``counts`` iterations. Schedules are read-only
    once built and shared by every call with the same structure: the policies of a search
    (other bits) and the points of a sweep (other DRAM, clock or buffers, same tiles) reuse
    the one built first."""
    return _build_cached(_key(runs, counts, arch, mode))


def _key(runs: tuple[Run, ...], counts: list[int], arch: Arch, mode: str) -> _Key:
    shape = (tuple(tuple(_structure(ins) for ins in run.body) for run in runs),
             arch.array.rows, arch.array.cols)
    return _Key(runs, arch, tuple(counts), mode, shape)


def structure_key(runs: tuple[Run, ...], arch: Arch, mode: str) -> object:
    """Hashable, equal for layers whose schedules are the same (:func:`_structure` of every
    instruction, the runs' counts, the array size, the mode)."""
    return _key(runs, [run.count for run in runs], arch, mode)


def clear_cache() -> None:
    _build_cached.cache_clear()
    _estimate_cached.cache_clear()
    _template_cached.cache_clear()


def estimate_reach(runs: tuple[Run, ...], counts: list[int], arch: Arch,
                   mode: str) -> tuple[tuple[int, int], ...]:
    """Per run, how many iterations back and forward its waits reach, from the per-phase
    templates alone (no schedule is built): the reach :meth:`Schedule.measure_reach` finds in
    a schedule of ``counts`` iterations, except for loads pushed behind an earlier run's
    stores (not placed here) and slot waits cut at the prefix's end (counted only where an
    instance has them whole). The engine sizes its first prefix with it; the periodicity
    check then uses the reach measured on the prefix it simulates, so the estimate decides
    how much is simulated, never a result. Cached by structure, as schedules are."""
    return _estimate_cached(_key(runs, counts, arch, mode))


@functools.lru_cache(maxsize=1024)
def _estimate_cached(spec: _Key) -> tuple[tuple[int, int], ...]:
    runs, arch, counts, mode = spec.runs, spec.arch, spec.counts, spec.mode
    noms = [[nominal(arch, ins, mode) for ins in run.body] for run in runs]
    scale = math.lcm(*(f.denominator for nom in noms for pair in nom for f in pair))
    out = []
    for run, nom, n in zip(runs, noms, counts, strict=True):
        P = run.period
        tpl = _template(run.body, P, nom, scale)
        back = fwd = 0
        last = n - P  # the last period's first iteration: a wait counts if some instance has it
        for rel in tpl.deps:
            for o, dis in rel:
                for _, di in dis:
                    if last + o + di >= 0:
                        back = max(back, -di)
        for _, o, _, slot, o2, _, cut in tpl.loads:
            # interior instances (neither before the run's start nor cut at the prefix's end)
            if any(q + o2 >= 0 and q + o + cut <= n for q in range(0, n, P)):
                for di, _ in slot:
                    back, fwd = max(back, -di), max(fwd, di)
        for o, unit in enumerate(tpl.units):
            for _, _, bk in unit:
                if bk is not None and last + o + bk >= 0:
                    back = max(back, -bk)
        for compute in (True, False):  # each unit's program order: the gaps between phases
            active = [o for o, unit in enumerate(tpl.units)
                      if any(is_compute is compute for _, is_compute, _ in unit)]
            if active:
                back = max([back, *(b - a for a, b in pairwise(active))])
                if n > P:  # from the last phase of a period to the first of the next
                    back = max(back, P - active[-1] + active[0])
        loads = [((max(pos + q, floor) if (floor := tpl.floors[b]) is not None else pos + q),
                  1, q // scale + o, b)
                 for b, o, pos, *_ in tpl.loads for q in range(0, n * scale, P * scale)]
        stores = [(pos + q, 0, q // scale + o, b)
                  for b, o, pos in tpl.stores for q in range(0, n * scale, P * scale)]
        for seq2 in (sorted(loads), sorted(stores), sorted(loads + stores)):
            for (_, _, i2, _), (_, _, i, _) in pairwise(seq2):
                back, fwd = max(back, i - i2), max(fwd, i2 - i)
        out.append((min(back, max(n - 1, 0)), min(fwd, max(n - 1, 0))))
    return tuple(out)


@functools.lru_cache(maxsize=128)
def _build_cached(spec: _Key) -> Schedule:
    runs, arch, counts, mode = spec.runs, spec.arch, spec.counts, spec.mode
    sched = Schedule(tuple(counts))
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


@dataclass(frozen=True, slots=True)
class _Template:
    """The per-phase structure of one run body (every wait and DRAM position as an offset
    from the instance's iteration), computed once per body and shifted to each period by
    :func:`_build_run`. ``loads``: (body index, phase, scaled position, slot readers, the
    phase and index of the instance whose slot it writes, where its readers pass the prefix's
    end); ``floors``: per load, the scaled floor of a deep stream (or ``None``); ``stores``:
    (body index, phase, scaled position); ``units``: per phase, (body index, is a compute,
    output-slot offset); ``deps``: per body index, per phase of it, (waited index, offset)."""

    body: tuple[Instr, ...]
    consumers: tuple[tuple[int, ...], ...]
    loads: tuple[tuple[int, int, int, tuple[tuple[int, int], ...], int, int, int], ...]
    floors: dict[int, int | None]
    stores: tuple[tuple[int, int, int], ...]
    store_idx: tuple[int, ...]
    units: tuple[tuple[tuple[int, bool, int | None], ...], ...]
    deps: tuple[tuple[tuple[int, tuple[tuple[int, int], ...]], ...], ...]

    def last_reader(self, b: int, i: int, end: int | None) -> list[tuple[int, int]]:
        """Per consumer of load instance (i, b): its last instance that reads it (before
        iteration ``end`` if given)."""
        body = self.body
        stop = next_instance(body[b], i) - 1
        stop = stop if end is None else min(stop, end - 1)
        out = []
        for c in self.consumers[b]:
            ci = latest_instance(body[c], stop)
            if ci >= i:
                out.append((ci, c))
        return out


def _template(body: tuple[Instr, ...], P: int, nom: list[tuple[Fraction, Fraction]],
              scale: int) -> _Template:
    return _template_cached(body, P, tuple(nom), scale)


@functools.lru_cache(maxsize=1024)
def _template_cached(body: tuple[Instr, ...], P: int, nom: tuple[tuple[Fraction, Fraction], ...],
                     scale: int) -> _Template:
    # phases of the period in which each instruction executes
    phases = [[o for o in range(P) if lo <= o % ins.every < hi]
              for ins in body for lo, hi in [window_of(ins)]]
    in_phase = [set(ph) for ph in phases]
    consumers = tuple(tuple(c for c, other in enumerate(body) if b in other.deps)
                      for b in range(len(body)))

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

    # positions as integers over ``scale``: x + f for an integer x is x * scale + scaled(f)
    read_s = [scaled(f) for f in read_ratio]
    lag_s = [scaled(f) for f in lag_ratio]
    min_read_s = scaled(min_read)

    def stream_prev(members: tuple[int, ...], i: int) -> tuple[int, int]:
        """(iteration, body index) of the stream's instance before iteration ``i``."""
        return max((latest_instance(body[m], i - 1), m) for m in members)

    tpl = _Template(body, consumers, (), {}, (), (), (), ())
    streams = load_streams(body, P)
    loads, floors = [], {}
    for b, ins in enumerate(body):
        if not isinstance(ins, Load):
            continue
        members = streams[b]
        # A deep stream runs ahead inside its run, but not into the run before: no load goes
        # earlier than where double buffering puts the stream's first one.
        first, lead = min((phases[m][0], m) for m in members if phases[m])
        floors[b] = ((stream_prev(members, first)[0] - 1) * scale + read_s[lead]
                     if ins.slots > 2 else None)
        # Every offset below is unchanged when o moves by a multiple of the pattern's own
        # period (the lcm of the stream's and its readers' ``every``): computed once per
        # phase of that, and shifted.
        sub = math.lcm(*(body[m].every for m in members),
                       *(body[c].every for m in members for c in consumers[m]))
        memo: dict[int, tuple[int, tuple[tuple[int, int], ...], int, int, int]] = {}
        for o in phases[b]:
            rel = memo.get(o % sub)
            if rel is None:
                prev_o, _ = stream_prev(members, o)
                o2, b2 = o, b  # the stream's instance ``slots`` back, whose slot it writes
                for _ in range(ins.slots):
                    o2, b2 = stream_prev(members, o2)
                readers = tpl.last_reader(b2, o2, None)
                # no earlier than where the stream's previous instance can be slots - 1 ahead
                free_at = max([prev_o - (ins.slots - 1)] + [ci for ci, _ in readers])
                rel = ((free_at - o) * scale + read_s[b2],
                       tuple((ci - o, c) for ci, c in readers), o2 - o, b2,
                       next_instance(body[b2], o2) - o)  # readers pass the prefix from here
                memo[o % sub] = rel
            pos, slot, d2, b2, cut = rel
            loads.append((b, o, pos + o * scale, slot, o + d2, b2, cut))

    store_idx = tuple(b for b, ins in enumerate(body) if isinstance(ins, Store))
    stores = []
    for b in store_idx:
        for o in phases[b]:
            cap = (next_instance(body[b], o) + 1) * scale + min_read_s
            stores.append((b, o, min(o * scale + lag_s[b], cap)))

    # Output groups: group g ends with the g-th store instance; its first Compute/Vector
    # waits for the drain of group g - 2 (the second-latest store before it).
    active = [[b for b, ins in enumerate(body) if not isinstance(ins, Load | Store)
               and o in in_phase[b]] for o in range(P)]
    units: list[tuple[tuple[int, bool, int | None], ...]] = []
    seen = max((o for o in range(P) if active[o]), default=0) - P  # latest busy phase
    for o in range(P):
        unit = []
        for b in active[o]:
            back = None
            if store_idx and b == active[o][0]:
                s1 = latest_instance(body[store_idx[0]], o - 1)
                if seen <= s1:  # the first Compute/Vector since the store before it
                    back = latest_instance(body[store_idx[0]], s1 - 1) - o
            unit.append((b, isinstance(body[b], Compute), back))
        units.append(tuple(unit))
        if active[o]:
            seen = o
    deps = tuple(_dep_offsets(body, b, phases[b]) for b in range(len(body)))
    return _Template(body, consumers, tuple(loads), floors, tuple(stores), store_idx,
                     tuple(units), deps)


def _dep_offsets(body: tuple[Instr, ...], b: int, phases: list[int],
                 ) -> tuple[tuple[int, tuple[tuple[int, int], ...]], ...]:
    """Per phase of instruction ``b``: (phase, ((waited index, offset), ...)). Offsets repeat
    with the lcm of the ``every`` s involved; computed once per phase of that."""
    ins = body[b]
    sub = math.lcm(ins.every, *(body[d].every for d in ins.deps))
    seen: dict[int, tuple[tuple[int, int], ...]] = {}
    out = []
    for o in phases:
        rel = seen.get(o % sub)
        if rel is None:
            rel = seen[o % sub] = tuple((d, latest_instance(body[d], o) - o) for d in ins.deps)
        out.append((o, rel))
    return tuple(out)


def _build_run(sched: Schedule, r: int, run: Run, n: int, offset: int,
               nom: list[tuple[Fraction, Fraction]], scale: int,
               loads: list[tuple[OrderKey, Key]], stores: list[tuple[OrderKey, Key]]) -> None:
    """Add run ``r``'s first ``n`` iterations (a multiple of its period) to ``sched``.

    Every wait and position is a function of the instruction pattern extended periodically
    (:func:`hwsim.isa.latest_instance`), so it is computed once per phase of the period, as
    an offset from the instance's iteration (:func:`_template`), and shifted; only the
    prefix's edges filter it: waits on iterations before 0, and a slot's last readers cut at
    iteration ``n``.
    """
    P = run.period
    tpl = _template(run.body, P, nom, scale)
    base = offset * scale
    slot_of = sched.slot
    for b, o, pos, slot, o2, b2, cut in tpl.loads:
        floor = tpl.floors[b]
        if floor is not None:
            floor += base
        pos += base
        for q in range(0, n, P):
            i, key = q + o, (r, q + o, b)
            at = pos + q * scale if floor is None else max(pos + q * scale, floor)
            loads.append(((at, 1, offset + i, b), key))
            if q + o2 < 0:
                slot_of[key] = []
            elif i + cut > n:
                slot_of[key] = [(r, ci, c) for ci, c in tpl.last_reader(b2, q + o2, n)]
            else:
                slot_of[key] = [(r, i + ci, c) for ci, c in slot]

    for b, o, pos in tpl.stores:
        pos += base
        for q in range(0, n, P):
            stores.append(((pos + q * scale, 0, offset + q + o, b), (r, q + o, b)))

    store_idx, array, vector, out = tpl.store_idx, sched.array, sched.vector, sched.out
    for q in range(0, n, P):
        for o, unit in enumerate(tpl.units):
            for b, is_compute, back in unit:
                key = (r, q + o, b)
                (array if is_compute else vector).append(key)
                if back is not None and q + o + back >= 0:
                    out[key] = [(r, q + o + back, s) for s in store_idx]
    deps_of = sched.deps
    for b, rel in enumerate(tpl.deps):
        for q in range(0, n, P):
            for o, dis in rel:
                i = q + o
                deps_of[r, i, b] = ([(r, i + di, d) for d, di in dis] if i >= P  # reach < P
                                    else [(r, i + di, d) for d, di in dis if i + di >= 0])
