"""The static structure of a layer's truncated runs, before any timing: which instances exist,
what each one waits for, and the DRAM channel's fixed order (semantics in :mod:`hwsim.isa`,
model in :mod:`hwsim.engine`). :func:`hwsim._timeline.play` only adds the clock.

Every wait and position is a function of the instruction pattern extended periodically
(:func:`hwsim.isa.latest_instance`), so it is computed once per phase of a run's period
(:mod:`hwsim._template`) and shifted to each period of the simulated prefix; the prefix's
edges only filter waits (on iterations before the run, or on readers after the prefix).
Positions in the DRAM order do not depend on where a prefix is cut, so a truncated run ends
exactly as the whole run does. They are exact rationals, kept as integers over one common
denominator.

Instances are dense integer ids, ``bases[r] + iteration * len(body) + index``, and a wait is
an offset from its waiter's id. Both repeat with the period, so a schedule is mostly its
first period's lists repeated (copied at C speed), and the timeline keeps its times in lists
indexed by id. :meth:`Schedule.keyed` gives the same schedule over ``(run, iteration,
index)`` keys, for readers that are not on a hot path (the encoder, the tests).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from hwsim import _template
from hwsim._template import (
    Waits,
    join,
    order_reach,
    places,
    span,
    structure,
    template,
    template_reach,
)
from hwsim.config import Arch
from hwsim.dataflow import get_dataflow
from hwsim.isa import Compute, Instr, Load, Run

Key = tuple[int, int, int]  # (run, iteration, body index)


def nominal(arch: Arch, ins: Instr, mode: str) -> tuple[Fraction, Fraction]:
    """(read span, result latency) of an instruction in units of its issue period, on a
    bit-parallel array (p = f = 1). They place transfers in the DRAM channel's fixed order;
    being independent of bits and of DRAM speed keeps that order, and so the engine's
    monotonicity, the same when those change."""
    if not isinstance(ins, Compute):
        return Fraction(1), Fraction(1)
    return get_dataflow(ins.dataflow).nominal(arch.array.rows, arch.array.cols, ins.m, ins.k,
                                              ins.n, mode)


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
    _load_cause: list[str | None] | None = None

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

    def load_cause(self, runs: Sequence[Run]) -> list[str | None]:
        """Per id, the stall cause of waiting for that instance: ``"<buffer>_load"`` for a
        load, else None (read-only; made once: the buffers are part of the structure)."""
        if self._load_cause is None:
            self._load_cause = self.per_instance(
                [[f"{ins.buffer}_load" if isinstance(ins, Load) else None for ins in run.body]
                 for run in runs])
        return self._load_cause

    def instances(self) -> list[int]:
        """Every instance's id, ascending."""
        return sorted(self.array + self.vector + self.order)

    @property
    def instance_count(self) -> int:
        """How many instances the schedule has (``len(instances())``, without sorting)."""
        return len(self.array) + len(self.vector) + len(self.order)

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


@dataclass(frozen=True, slots=True)
class _Key:
    """Runs, counts and arch, equal by what a schedule depends on (the
    :func:`~hwsim._template.structure` of every instruction, the counts, the array's size, the
    timing mode)."""

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
    shape = (tuple(tuple(structure(ins) for ins in run.body) for run in runs),
             arch.array.rows, arch.array.cols)
    return _Key(runs, arch, tuple(counts), mode, shape)


def structure_key(runs: tuple[Run, ...], arch: Arch, mode: str) -> object:
    """Hashable, equal for layers whose schedules are the same (the
    :func:`~hwsim._template.structure` of every instruction, the runs' counts, the array
    size, the mode)."""
    return _key(runs, [run.count for run in runs], arch, mode)


def clear_cache() -> None:
    _build_cached.cache_clear()
    _estimate_cached.cache_clear()
    _template.clear_cache()


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
        tpl = template(run.body, P, nom, scale)
        assert tpl.ids is not None
        loads: list[int] = []
        stores: list[int] = []
        places(tpl, P, n, scale, n * L, 0, 0, loads, stores)
        back, fwd = join(*template_reach(tpl, tpl.ids, P, n),
                         *(order_reach(seq, n * L, L) for seq in (loads, stores, loads + stores)))
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


def _build_run(sched: Schedule, r: int, run: Run, n: int, offset: int,
               nom: list[tuple[Fraction, Fraction]], scale: int,
               loads: list[int], stores: list[int]) -> None:
    """Add run ``r``'s first ``n`` iterations (a multiple of its period) to ``sched``, and
    its transfers' places in the channel's order to ``loads`` and ``stores`` (see
    :func:`_build_cached`).

    Every wait and position is a function of the instruction pattern extended periodically
    (:func:`hwsim.isa.latest_instance`), so it is computed once per phase of the period, as
    an offset from the instance (:func:`hwsim._template.template`), and repeated; only the prefix's edges
    change it: waits on iterations before 0, and a slot's last readers cut at iteration
    ``n``.
    """
    P, L = run.period, len(run.body)
    tpl = template(run.body, P, nom, scale)
    ids = tpl.ids
    assert ids is not None
    periods, base, size = n // P, sched.bases[r], sched.size
    if not periods:
        sched.local.append((0, 0))
        return
    PL = P * L
    spans = template_reach(tpl, ids, P, n)  # (the slots cut at the prefix's end: below)
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
    places(tpl, P, n, scale, size, base, offset * scale, loads, stores)

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
            spans.append(span(ci - i for ci, _ in cut_readers))
    sched.local.append(join(*spans))
