"""The per-phase template of one run body, on which :mod:`hwsim._schedule` builds schedules:
every wait and DRAM position of an instance as an offset from its iteration, computed once
per phase of the run's period (once per phase of a shorter sub-period where the pattern
repeats sooner) and cached per body. :class:`Ids` turns it into one period's instance ids
and waits as offsets between ids (:data:`Waits`), with how far each wait reaches; a schedule
repeats those lists for each period and patches the prefix's edges.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from hwsim.isa import Compute, Instr, Load, Store, latest_instance, next_instance, window_of

Waits = tuple[int, ...]  # the waited instances, as offsets from the waiting instance's id


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


@dataclass(frozen=True, slots=True)
class Template:
    """The per-phase structure of one run body (every wait and DRAM position as an offset
    from the instance's iteration), computed once per body and shifted to each period by
    :func:`hwsim._schedule.build`. ``loads``: (body index, phase, scaled position, slot
    readers, the phase and index of the instance whose slot it writes, where its readers pass
    the prefix's end); ``floors``: per load, the scaled floor of a deep stream (or ``None``);
    ``stores``: (body index, phase, scaled position); ``units``: per phase, (body index, is a
    compute, output-slot offset); ``deps``: per body index, per phase of it, (waited index,
    offset); ``ids``: the same over one period's instance ids (:class:`Ids`). ``body``: the
    first body of its structure (:func:`structure`) to be asked for: only that is read of it."""

    body: tuple[Instr, ...]
    consumers: tuple[tuple[int, ...], ...]
    loads: tuple[tuple[int, int, int, tuple[tuple[int, int], ...], int, int, int], ...]
    floors: dict[int, int | None]
    stores: tuple[tuple[int, int, int], ...]
    store_idx: tuple[int, ...]
    units: tuple[tuple[tuple[int, bool, int | None], ...], ...]
    deps: tuple[tuple[tuple[int, tuple[tuple[int, int], ...]], ...], ...]
    ids: Ids | None = None

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


def structure(ins: Instr) -> tuple[object, ...]:
    """What a template and a schedule read of an instruction: its kind, pattern, waits,
    stream and slots, and a tile's shape (its nominal spans). Not bits: a schedule is the
    same for every precision and every DRAM speed, which is what keeps the channel's order
    fixed."""
    if isinstance(ins, Load):
        return ("load", ins.buffer, ins.slots, ins.every, ins.deps, ins.window)
    if isinstance(ins, Compute):
        return ("compute", ins.dataflow, ins.m, ins.k, ins.n, ins.every, ins.deps, ins.window)
    return (ins.op, ins.every, ins.deps, ins.window)


@dataclass(frozen=True, slots=True)
class _Body:
    """A run body, equal (and hashed) by the :func:`structure` of its instructions: bodies
    that differ only in bits (another precision of the same tiles) share one template."""

    body: tuple[Instr, ...] = dataclasses.field(compare=False, hash=False)
    shape: tuple[tuple[object, ...], ...]


def template(body: tuple[Instr, ...], P: int, nom: list[tuple[Fraction, Fraction]],
              scale: int) -> Template:
    """The template of ``body`` (a period of ``P``; ``nom``, ``scale``: the instructions'
    nominal spans and their common denominator, as :func:`hwsim._schedule.build` has them),
    cached by structure: its ``body`` is the first of that structure to be asked for."""
    return _template_cached(_Body(body, tuple(structure(ins) for ins in body)), P, tuple(nom),
                            scale)


@functools.lru_cache(maxsize=1024)
def _template_cached(key: _Body, P: int, nom: tuple[tuple[Fraction, Fraction], ...],
                     scale: int) -> Template:
    body = key.body
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

    tpl = Template(body, consumers, (), {}, (), (), (), ())
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
    tpl = Template(body, consumers, tuple(loads), floors, tuple(stores), store_idx,
                    tuple(units), deps)
    return dataclasses.replace(tpl, ids=_ids(tpl, P))


@dataclass(frozen=True, slots=True)
class Ids:
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


def span(offsets: Iterable[int]) -> tuple[int, int]:
    """(iterations back, forward) that waits ``offsets`` iterations away reach."""
    offsets = list(offsets)
    return max([0, *(-d for d in offsets)]), max([0, *offsets])


def join(*reaches: tuple[int, int]) -> tuple[int, int]:
    return max([0, *(b for b, _ in reaches)]), max([0, *(f for _, f in reaches)])


def _ids(tpl: Template, P: int) -> Ids:
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
                tuple(ci * L + c - b for ci, c in readers), span(ci for ci, _ in readers))
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
    return Ids(tuple(deps), tuple(first), tuple(slot), tuple(out), tuple(edges),
                tuple(array), tuple(vector), (deps_reach, 0), (first_reach, 0),
                tuple(slot_reach), tuple(out_reach), span(-d for d in steps),
                span(-d for d in wrap))


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


def template_reach(tpl: Template, ids: Ids, P: int, n: int) -> list[tuple[int, int]]:
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


def places(tpl: Template, P: int, n: int, scale: int, size: int, base: int, at0: int,
            loads: list[int], stores: list[int]) -> None:
    """Append the places in the channel's order (:func:`hwsim._schedule.build`) of ``n``
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


def order_reach(placed: list[int], size: int, L: int) -> tuple[int, int]:
    """What the channel's order of one run's transfers (their places) reaches: the later one
    waits for the earlier."""
    its = [c % size // L for c in sorted(placed)]
    steps = list(map(operator.sub, its[1:], its[:-1]))
    return max([0, *steps]), -min([0, *steps])


def clear_cache() -> None:
    """Forget the templates (to time a cold run)."""
    _template_cached.cache_clear()
