"""The static structure of a layer's truncated runs, before any timing: which instances exist,
what each one waits for, and the DRAM channel's fixed order (semantics in :mod:`hwsim.isa`,
model in :mod:`hwsim.engine`). :func:`hwsim._timeline.play` only adds the clock.

Every wait and position is a function of the instruction pattern extended periodically
(:func:`hwsim.isa.latest_instance`), so it is computed once per phase of a run's period and
shifted to each period of the simulated prefix; the prefix's edges only filter waits (on
iterations before the run, or on readers after the prefix). Positions in the DRAM order do
not depend on where a prefix is cut, so a truncated run ends exactly as the whole run does.
They are exact rationals, kept as integers over one common denominator.

Instances are dense integer ids, ``bases[r] + iteration * len(body) + index``, and a wait is
an offset from its waiter's id. Both repeat with the period, so a schedule is mostly its
first period's lists repeated (copied at C speed), and the timeline keeps its times in lists
indexed by id. :meth:`Schedule.keyed` gives the same schedule over ``(run, iteration,
index)`` keys, for readers that are not on a hot path (the encoder, the tests).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
import operator
from collections.abc import Iterable, Sequence
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
Waits = tuple[int, ...]  # the waited instances, as offsets from the waiting instance's id


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
        seen: set[int] = set()
        disjoint = True
        for b in members:
            lo, hi = window_of(body[b])
            every = body[b].every
            phases = {i for i in range(period) if lo <= i % every < hi}
            disjoint = disjoint and not phases & seen
            seen |= phases
        for b in members:
            streams[b] = tuple(members) if disjoint else (b,)
    return streams


@dataclass(slots=True)
class Schedule:
    """Instances of ``runs`` truncated to ``counts`` iterations, with their waits.

    Instance ids: run ``r``'s iteration ``i``, body index ``b`` is ``bases[r] + i *
    lengths[r] + b``; ids of instructions that do not execute in an iteration are unused.
    ``array``/``vector``: ids in program order; ``loads``/``stores``/``order``: loads,
    stores, and both in the DRAM channel's order. Per id, as offsets from it (:data:`Waits`):
    ``deps``, the instances its data waits for; ``slot``, for a load, the instances whose
    operand reads free its SRAM slot (``None`` for other instructions); ``out``, for the
    first Compute/Vector of an output group, the stores whose drain frees its output slot.
    ``local``: per run, how many iterations back and forward its waits and its units'
    program orders reach (recorded while building; the channel's order is measured).
    ``reach``: per run, how many iterations back and forward any wait reaches (so how many
    periods of history determine the future, and how far the end of a run is felt, which
    includes the next runs' transfers that share the channel with its last ones);
    ``within``: the same without the next runs (what :func:`estimate_reach` estimates). Both
    are measured when first asked for (a run simulated whole needs neither).
    """

    counts: tuple[int, ...]
    lengths: tuple[int, ...]
    bases: tuple[int, ...]
    size: int
    array: list[int] = field(default_factory=list)
    vector: list[int] = field(default_factory=list)
    loads: list[int] = field(default_factory=list)
    stores: list[int] = field(default_factory=list)
    order: list[int] = field(default_factory=list)
    deps: list[Waits] = field(default_factory=list)
    slot: list[Waits | None] = field(default_factory=list)
    out: list[Waits] = field(default_factory=list)
    local: list[tuple[int, int]] = field(default_factory=list)
    _reach: list[tuple[int, int]] | None = None
    _within: list[tuple[int, int]] | None = None

    def id(self, r: int, i: int, b: int) -> int:
        """The id of run ``r``'s iteration ``i``, body index ``b``."""
        return self.bases[r] + i * self.lengths[r] + b

    def key(self, x: int) -> Key:
        """``(run, iteration, body index)`` of id ``x``."""
        r = bisect.bisect_right(self.bases, x) - 1
        i, b = divmod(x - self.bases[r], self.lengths[r])
        return r, i, b

    def per_instance(self, per_run: Sequence[Sequence[object]]) -> list:
        """A list indexed by id from one value per body index of each run."""
        out: list = []
        for values, n in zip(per_run, self.counts, strict=True):
            out += list(values) * n
        return out

    def instances(self) -> list[int]:
        """Every instance's id, ascending."""
        return sorted(self.array + self.vector + self.order)

    def keyed(self) -> Keyed:
        """The same schedule over ``(run, iteration, body index)`` keys."""
        key = self.key
        deps = {key(x): [key(x + d) for d in self.deps[x]] for x in self.instances()}
        slot = {key(x): [key(x + d) for d in self.slot[x] or ()] for x in self.loads}
        out = {key(x): [key(x + d) for d in self.out[x]]
               for x in self.array + self.vector if self.out[x]}
        array, vector, loads, stores, order = ([key(x) for x in seq] for seq in (
            self.array, self.vector, self.loads, self.stores, self.order))
        return Keyed(array, vector, loads, stores, order, deps, slot, out)

    @property
    def reach(self) -> list[tuple[int, int]]:
        if self._reach is None:
            self.measure_reach()
        assert self._reach is not None
        return self._reach

    @property
    def within(self) -> list[tuple[int, int]]:
        if self._within is None:
            self.measure_reach()
        assert self._within is not None
        return self._within

    def measure_reach(self) -> None:
        """:attr:`reach` and :attr:`within`."""
        counts, bases, lengths = self.counts, self.bases, self.lengths
        runs = len(counts)
        back, fwd = [b for b, _ in self.local], [f for _, f in self.local]
        ends = (*bases[1:], self.size)
        first_after = [-1] * runs
        for seq in (self.loads, self.stores, self.order):
            # the later one waits for the earlier (waits and the units' orders: ``local``)
            channel = seq is self.order
            r = prev_r = top = -1
            lo = hi = base = prev_i = 0
            L = 1
            for x in seq:
                if not lo <= x < hi:  # (the run changes rarely along the channel)
                    r = bisect.bisect_right(bases, x) - 1
                    lo, hi, base, L = bases[r], ends[r], bases[r], lengths[r]
                i = (x - base) // L
                if r == prev_r:
                    if i - prev_i > back[r]:
                        back[r] = i - prev_i
                    elif prev_i - i > fwd[r]:
                        fwd[r] = prev_i - i
                if channel:
                    if r < top:
                        if first_after[r] < 0 or i < first_after[r]:
                            first_after[r] = i
                    elif r > top:
                        top = r
                prev_r, prev_i = r, i
        self._within = list(zip(back, fwd, strict=True))
        # A later run's transfers interleaved with a run's last ones on the channel (loads
        # prefetched into empty slots) are felt from the first of the run's transfers they
        # precede to its end (its last iteration): its last windows are as much its end as
        # those waits reach (``first_after``, measured above).
        for r, i in enumerate(first_after):
            if i >= 0 and counts[r] - i > fwd[r]:
                fwd[r] = counts[r] - i
        self._reach = list(zip(back, fwd, strict=True))


@dataclass(slots=True)
class Keyed:
    """A :class:`Schedule` over ``(run, iteration, body index)`` keys: the same sequences,
    and per instance the waited instances (``deps`` holds every instance; ``slot`` every
    load; ``out`` the instances that wait for a drain)."""

    array: list[Key]
    vector: list[Key]
    loads: list[Key]
    stores: list[Key]
    order: list[Key]
    deps: dict[Key, list[Key]]
    slot: dict[Key, list[Key]]
    out: dict[Key, list[Key]]


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
        P, L = run.period, len(run.body)
        if n < P:
            out.append((0, 0))
            continue
        tpl = _template(run.body, P, nom, scale)
        assert tpl.ids is not None
        loads: list[int] = []
        stores: list[int] = []
        _places(tpl, P, n, scale, n * L, 0, 0, loads, stores)
        back, fwd = _join(*_template_reach(tpl, tpl.ids, P, n),
                          *(_order_reach(seq, n * L, L) for seq in (loads, stores,
                                                                    loads + stores)))
        out.append((min(back, max(n - 1, 0)), min(fwd, max(n - 1, 0))))
    return tuple(out)


@functools.lru_cache(maxsize=128)
def _build_cached(spec: _Key) -> Schedule:
    runs, arch, counts, mode = spec.runs, spec.arch, spec.counts, spec.mode
    lengths = tuple(len(run.body) for run in runs)
    bases = tuple(itertools.accumulate((n * L for n, L in zip(counts, lengths, strict=True)),
                                       initial=0))
    sched = Schedule(tuple(counts), lengths, bases[:-1], bases[-1])
    noms = [[nominal(arch, ins, mode) for ins in run.body] for run in runs]
    # Positions are exact rationals; scaled by a common denominator they sort as integers.
    # A transfer's place in the channel's order is (position, stores first, iteration, body
    # index), and ids ascend with (iteration, body index) across runs: each place is one
    # integer, ``(2 * position + is a load) * size + id``, so the order is a sort of ints.
    scale = math.lcm(*(f.denominator for nom in noms for pair in nom for f in pair))
    loads: list[int] = []
    stores: list[int] = []
    offset = 0
    for r, run in enumerate(runs):
        # A load that waits for a slot waits for this run's computes, which follow every
        # compute of the earlier runs, some of which wait for the earlier runs' stores: it
        # must not precede those stores on the channel (it would deadlock). Loads into still
        # empty slots may go earlier (prefetch across runs).
        floor = (max(stores) // sched.size >> 1) if stores else None
        first, first_store = len(loads), len(stores)
        _build_run(sched, r, run, counts[r], offset, noms[r], scale, loads, stores)
        if floor is not None:
            size, slot, pushed = sched.size, sched.slot, set()
            below = (2 * floor + 1) * size  # a load placed before ``floor``
            for j in range(first, len(loads)):
                c = loads[j]
                if c < below and slot[x := c % size]:
                    loads[j] = below + x
                    pushed.add(x)
            _after_pushed_loads(sched, r, pushed, floor, stores, first_store)
        offset += counts[r]
    loads.sort()
    stores.sort()
    size = sched.size
    sched.loads = [c % size for c in loads]
    sched.stores = [c % size for c in stores]
    sched.order = [c % size for c in sorted(loads + stores)]
    return sched


def _after_pushed_loads(sched: Schedule, r: int, pushed: set[int], floor: int,
                        stores: list[int], first: int) -> None:
    """Move run ``r``'s stores that depend, through its computes and vector ops, on a load
    pushed to ``floor`` just after it: served before that load, such a store would wait for
    data that cannot arrive (the channel serves in order), a deadlock. Stores that do not
    depend on a pushed load keep their place, so programs that did not deadlock are timed as
    before. Waits stay inside a run. ``stores``: places in the channel's order (see
    :func:`_build_cached`), run ``r``'s from ``first`` on."""
    if not pushed:
        return
    base, deps = sched.bases[r], sched.deps
    users: dict[int, list[int]] = {}
    for y in range(base, base + sched.counts[r] * sched.lengths[r]):
        for d in deps[y]:
            users.setdefault(y + d, []).append(y)
    reached, frontier = set(pushed), list(pushed)
    while frontier:
        for user in users.get(frontier.pop(), ()):
            if user not in reached:
                reached.add(user)
                frontier.append(user)
    size = sched.size
    for j in range(first, len(stores)):
        c = stores[j]
        if (x := c % size) in reached and c < (2 * floor + 1) * size:
            stores[j] = 2 * (floor + 1) * size + x


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
    ids: _Ids | None = None

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
    tpl = _Template(body, consumers, tuple(loads), floors, tuple(stores), store_idx,
                    tuple(units), deps)
    return dataclasses.replace(tpl, ids=_ids(tpl, P))


@dataclass(frozen=True, slots=True)
class _Ids:
    """A template over one period's instance ids (``o * len(body) + b`` for phase ``o``),
    waits as offsets between ids (:data:`Waits`). ``deps``: per id, in a period after the
    first; ``first_deps``: in the first (waits before the run's start dropped); ``slot``: per
    id, a load's slot readers (``None``: not a load) in the interior of a prefix; ``out``:
    per id, the stores whose drain frees its output slot; ``out_edges``: (id, iteration
    offset) of each ``out`` wait, which is dropped where it reaches before the run;
    ``array``/``vector``: ids in the unit's program order. Reaches, as (iterations back,
    forward): ``deps_reach``/``first_reach`` of ``deps``/``first_deps``; ``slot_reach`` of
    each load of the template's ``loads``; ``out_reach`` of each ``out_edges`` wait;
    ``unit_reach`` of the units' program orders within a period and ``wrap_reach`` from one
    period to the next."""

    deps: tuple[Waits, ...]
    first_deps: tuple[Waits, ...]
    slot: tuple[Waits | None, ...]
    out: tuple[Waits, ...]
    out_edges: tuple[tuple[int, int], ...]
    array: tuple[int, ...]
    vector: tuple[int, ...]
    deps_reach: tuple[int, int]
    first_reach: tuple[int, int]
    slot_reach: tuple[tuple[int, int], ...]
    out_reach: tuple[tuple[int, int], ...]
    unit_reach: tuple[int, int]
    wrap_reach: tuple[int, int]


def _span(offsets: Iterable[int]) -> tuple[int, int]:
    """(iterations back, forward) that waits ``offsets`` iterations away reach."""
    offsets = list(offsets)
    return max([0, *(-d for d in offsets)]), max([0, *offsets])


def _join(*reaches: tuple[int, int]) -> tuple[int, int]:
    return max([0, *(b for b, _ in reaches)]), max([0, *(f for _, f in reaches)])


def _ids(tpl: _Template, P: int) -> _Ids:
    L = len(tpl.body)
    deps: list[Waits] = [()] * (P * L)
    first = list(deps)
    # A phase's waits repeat with a sub-period, as shared objects of the template: each is
    # turned into offsets (and its reach) once per object.
    deps_reach = first_reach = 0
    for b, rel in enumerate(tpl.deps):
        memo: dict[int, tuple[Waits, int]] = {}
        for o, dis in rel:
            found = memo.get(id(dis))
            if found is None:
                found = memo[id(dis)] = (tuple(di * L + d - b for d, di in dis),
                                         max([0, *(-di for _, di in dis)]))
            deps[o * L + b], reach = found
            if reach > deps_reach:
                deps_reach = reach
            if o >= reach:
                first[o * L + b] = found[0]
                if reach > first_reach:
                    first_reach = reach
            else:
                first[o * L + b] = tuple(di * L + d - b for d, di in dis if o + di >= 0)
                first_reach = max([first_reach, *(-di for _, di in dis if o + di >= 0)])
    slot: list[Waits | None] = [None] * (P * L)
    slot_reach = []
    by_readers: dict[tuple[int, int], tuple[Waits, tuple[int, int]]] = {}
    for b, o, _, readers, *_ in tpl.loads:
        found2 = by_readers.get((id(readers), b))
        if found2 is None:
            found2 = by_readers[id(readers), b] = (
                tuple(ci * L + c - b for ci, c in readers), _span(ci for ci, _ in readers))
        slot[o * L + b] = found2[0]
        slot_reach.append(found2[1])
    out: list[Waits] = [()] * (P * L)
    edges: list[tuple[int, int]] = []
    out_reach = []
    array: list[int] = []
    vector: list[int] = []
    for o, unit in enumerate(tpl.units):
        for b, is_compute, back in unit:
            (array if is_compute else vector).append(o * L + b)
            if back is not None:
                out[o * L + b] = tuple(back * L + s - b for s in tpl.store_idx)
                edges.append((o * L + b, o + back))
                out_reach.append((max(0, -back), max(0, back)))
    # the units' program orders: from each instance to the next, within a period and across
    steps: list[int] = []
    wrap: list[int] = []
    for seq in (array, vector):
        steps += [b // L - a // L for a, b in pairwise(seq)]
        if seq:
            wrap.append(P + seq[0] // L - seq[-1] // L)
    return _Ids(tuple(deps), tuple(first), tuple(slot), tuple(out), tuple(edges),
                tuple(array), tuple(vector), (deps_reach, 0), (first_reach, 0),
                tuple(slot_reach), tuple(out_reach), _span(-d for d in steps),
                _span(-d for d in wrap))


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
               loads: list[int], stores: list[int]) -> None:
    """Add run ``r``'s first ``n`` iterations (a multiple of its period) to ``sched``, and
    its transfers' places in the channel's order to ``loads`` and ``stores`` (see
    :func:`_build_cached`).

    Every wait and position is a function of the instruction pattern extended periodically
    (:func:`hwsim.isa.latest_instance`), so it is computed once per phase of the period, as
    an offset from the instance (:func:`_template`), and repeated; only the prefix's edges
    change it: waits on iterations before 0, and a slot's last readers cut at iteration
    ``n``.
    """
    P, L = run.period, len(run.body)
    tpl = _template(run.body, P, nom, scale)
    ids = tpl.ids
    assert ids is not None
    periods, base, size = n // P, sched.bases[r], sched.size
    if not periods:
        sched.local.append((0, 0))
        return
    PL = P * L
    spans = _template_reach(tpl, ids, P, n)  # (the slots cut at the prefix's end: below)
    sched.deps += ids.first_deps
    sched.deps += ids.deps * (periods - 1)
    slot_of, out_of = sched.slot, sched.out
    slot_of += ids.slot * periods
    out_of += ids.out * periods
    for x, reach in ids.out_edges:  # drains before the run's start: none to wait for
        for q in range(0, n, P):
            if q + reach >= 0:
                break
            out_of[base + q * L + x] = ()
    sched.array += [s + x for s in range(base, base + n * L, PL) for x in ids.array]
    sched.vector += [s + x for s in range(base, base + n * L, PL) for x in ids.vector]
    _places(tpl, P, n, scale, size, base, offset * scale, loads, stores)

    for b, o, _, _, o2, b2, cut in tpl.loads:
        x0 = base + o * L + b
        # a slot written before the run's start has no readers to wait for; one whose
        # readers pass the prefix's end waits for its last readers inside it
        for q in range(0, n, P):
            if q + o2 >= 0:
                break
            slot_of[x0 + q * L] = ()
        for q in range(n - P, -1, -P):
            i = q + o
            if i + cut <= n or q + o2 < 0:
                break
            cut_readers = tpl.last_reader(b2, q + o2, n)
            slot_of[x0 + q * L] = tuple((ci - i) * L + c - b for ci, c in cut_readers)
            spans.append(_span(ci - i for ci, _ in cut_readers))
    sched.local.append(_join(*spans))


def _template_reach(tpl: _Template, ids: _Ids, P: int, n: int) -> list[tuple[int, int]]:
    """What the waits and units' orders of ``n`` iterations of a run reach, as far as the
    template has them: the waits some period of the prefix has (not those of slots cut at
    the prefix's end)."""
    spans = [ids.first_reach, ids.unit_reach]
    if n > P:
        spans += [ids.deps_reach, ids.wrap_reach]
    spans += [rr for (_, edge), rr in zip(ids.out_edges, ids.out_reach, strict=True)
              if n - P + edge >= 0]
    for (_, o, _, _, o2, _, cut), rr in zip(tpl.loads, ids.slot_reach, strict=True):
        q0 = max(0, -(o2 // P) * P)  # the first period whose slot was written in the run
        if q0 < n and q0 + o + cut <= n:  # there, it waits for the template's readers
            spans.append(rr)
    return spans


def _places(tpl: _Template, P: int, n: int, scale: int, size: int, base: int, at0: int,
            loads: list[int], stores: list[int]) -> None:
    """Append the places in the channel's order (see :func:`_build_cached`) of ``n``
    iterations' transfers of a run whose ids start at ``base`` and positions at ``at0``."""
    L = len(tpl.body)
    # A place is linear in the period's first iteration q, except in the first periods of
    # a deep stream, which its floor holds back: those are placed apart, the rest by periods
    # from where the floor no longer holds.
    step, const = 2 * scale * size + L, 2 * at0 * size + base
    linear: dict[int, list[int]] = {}  # first period -> places at q = 0
    for b, o, pos, *_ in tpl.loads:
        a = (2 * pos + 1) * size + o * L + b
        floor, held = tpl.floors[b], 0
        if floor is not None and floor > pos:
            held = min(n // P, -(-(floor - pos) // (P * scale)))
            at = (2 * (floor + at0) + 1) * size + base + o * L + b
            loads += [at + q * L for q in range(0, held * P, P)]
        linear.setdefault(held, []).append(a)
    for held, placed in linear.items():
        loads += [a + q * step + const for q in range(held * P, n, P) for a in placed]
    placed = [2 * pos * size + o * L + b for b, o, pos in tpl.stores]
    stores += [a + q * step + const for q in range(0, n, P) for a in placed]


def _order_reach(places: list[int], size: int, L: int) -> tuple[int, int]:
    """What the channel's order of one run's transfers reaches (the later one waits for the
    earlier)."""
    its = [c % size // L for c in sorted(places)]
    steps = list(map(operator.sub, its[1:], its[:-1]))
    return max([0, *steps]), -min([0, *steps])
