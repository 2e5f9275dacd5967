"""The timeline of one layer's (truncated) runs, evaluated directly: the engine of
:mod:`hwsim.engine` is a max-plus system (every time is a maximum of earlier times plus fixed
delays), so each unit's times follow from the times it waits for, in its fixed order, without
an event queue. :func:`play` advances the DRAM channel, the array and the vector unit in turn,
each as far as the times it waits for are known.

:mod:`hwsim._processes` runs the same model as simpy processes. The two agree on every time;
the processes also fix the order in which the array and the vector unit record instances that
issue in the same cycle, after resuming in the same cycle (the stall accounting charges a gap
to the first of them). :func:`play` returns ``None`` in that one case, and the caller asks the
processes.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from itertools import pairwise

from hwsim._schedule import Schedule
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Instr, Load, Run, Store
from hwsim.memory import DramChannel

Primary = tuple[int, int, str, int, "int | None"]  # (issue, occupancy, stall cause, id, via)
Event = tuple[str, str, int, int, int]  # (track, label, start, duration, id)
# (occupancy, result latency, operand read, first result, spacing of first results)
Cost = tuple[int, int, int, int, int]


@dataclass(slots=True)
class Timeline:
    """Per instance id (:class:`hwsim._schedule.Schedule`; -1 where none): its completion
    time (``t_done``), the cycles a transfer queued behind others on the channel (``qwait``,
    0 for others), and for array and vector instances, when they had read their operands
    (``consumed``) and when their unit resumed to issue them (``resumed``), where known.
    Array and vector instances as ``(issue, occupancy, cause, id, via)`` by issue cycle,
    same-cycle issues in the order the units recorded them (``primary``); trace slices."""

    t_done: list[int]
    qwait: list[int]
    primary: list[Primary]
    events: list[Event]
    consumed: list[int] | None = None
    resumed: list[int] | None = None


def label(ins: Instr) -> str:
    if isinstance(ins, Compute):
        return f"{ins.dataflow} {ins.m}x{ins.k}x{ins.n} w{ins.w_bits}a{ins.a_bits}"
    if isinstance(ins, Load):
        return f"load {ins.buffer} {ins.bits} b"
    if isinstance(ins, Store):
        return f"store {ins.bits} b"
    return f"{ins.kind} {ins.elements}x{ins.ops_per_element}"


def deadlock(sched: Schedule, t_done: list[int]) -> ProgramError | None:
    """The error naming the first instance (by id) that never completes, if any."""
    stuck = next((x for x in sched.instances() if t_done[x] < 0), None)
    if stuck is None:
        return None
    return ProgramError(f"the program deadlocks: instruction {sched.key(stuck)} (run, "
                        "iteration, instr) never completes")


def per_instance(runs: tuple[Run, ...], sched: Schedule,
                 cost: dict[tuple[int, int], Cost]) -> list[Cost]:
    """Each instance's :data:`Cost`, indexed by id."""
    return sched.per_instance([[cost[r, b] for b in range(len(run.body))]
                               for r, run in enumerate(runs)])


class _Play:
    """The state :func:`play` shares between the units: times known so far, and records."""

    def __init__(self, runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
                 dram: DramChannel, record: bool) -> None:
        self.sched, self.dram, self.record = sched, dram, record
        self.costs = per_instance(runs, sched, cost)
        self.labels = sched.per_instance([[label(ins) for ins in run.body] for run in runs]
                                         ) if record else []
        self.load_cause = sched.load_cause(runs)  # (what waiting for an instance is charged to)
        size = sched.size
        self.t_done = [-1] * size
        self.consumed = [-1] * size
        self.drained = [-1] * size
        self.qwait = [0] * size
        self.events: list[Event] = []
        self.primary: list[Primary] = []
        self.resumed = [-1] * size  # the cycle its unit resumed to record it


# Each unit is a generator that advances as far as the times it waits for are known, then
# yields whether it moved since it last yielded; its position and clocks stay in its frame.

def _channel(p: _Play) -> Generator[bool, None, None]:
    """The DRAM channel, serving the schedule's order."""
    order, slot, deps = p.sched.order, p.sched.slot, p.sched.deps
    consumed, t_done, drained, qwait = p.consumed, p.t_done, p.drained, p.qwait
    costs, serve, record, events, labels = p.costs, p.dram.serve, p.record, p.events, p.labels
    now_load = now_store = end = 0  # the end of the transfer before
    j, moved = 0, False
    while j < len(order):
        x = order[j]
        waits = slot[x]
        # a load waits for its slot's last readers to have read, a store for its results
        now, offsets, times = ((now_load, waits, consumed) if waits is not None
                               else (now_store, deps[x], t_done))
        t = 0
        for d in offsets:
            t = times[x + d]
            if t < 0:
                break
            if t > now:
                now = t
        if t < 0:
            yield moved
            moved = False
            continue
        dur = costs[x][0]
        start, end, t_done[x] = serve(now, end, dur)
        qwait[x] = start - now
        if record:
            events.append(("load DMA" if waits is not None else "store DMA", labels[x], start,
                           dur, x))
        if waits is not None:
            now_load = end
        else:
            now_store = drained[x] = end
        j += 1
        moved = True


def _unit(p: _Play, ids: list[int], track: str) -> Generator[bool, None, None]:
    """The array or the vector unit, issuing ``ids`` in program order."""
    deps_of, out_of, costs = p.sched.deps, p.sched.out, p.costs
    t_done, drained, consumed = p.t_done, p.drained, p.consumed
    primary, resumed, load_cause = p.primary, p.resumed, p.load_cause
    record, events, labels = p.record, p.events, p.labels
    # process time, free from, the next first result write no earlier than
    now_u = free = port = 0
    i, moved = 0, False
    while i < len(ids):
        x = ids[i]
        occ, first, read, out_start, spacing = costs[x]
        now, ready, cause, via = now_u, free, "dependency", None
        if port - out_start > ready:  # the previous results are still leaving the array
            ready = port - out_start
        deps = deps_of[x]
        t = 0
        if deps:
            latest, t_latest = 0, -1
            for d in deps:
                t = t_done[x + d]
                if t < 0:
                    break
                if t > t_latest:  # the first of the latest, as max() picks
                    latest, t_latest = d, t
            if t >= 0:
                if t_latest > now:
                    now = t_latest
                if t_latest > ready:
                    ready = t_latest
                    c = load_cause[x + latest]
                    if c is not None:
                        cause, via = c, x + latest
        slot = out_of[x]
        if slot and t >= 0:
            t_slot = -1
            for d in slot:
                t = drained[x + d]
                if t < 0:
                    break
                if t > t_slot:
                    t_slot = t
            if t >= 0:
                if t_slot > now:
                    now = t_slot
                # The output slot is needed when the first result is written, not at issue.
                need = t_slot - out_start
                if need > ready:
                    ready, cause, via = need, "store", None
        if t < 0:
            yield moved
            moved = False
            continue
        issue = ready if ready > now - first else now - first
        free = issue + occ
        port = issue + out_start + spacing if spacing else 0
        primary.append((issue, occ, cause, x, via))
        resumed[x] = now
        if record:
            events.append((track, labels[x], issue, occ, x))
        t_done[x] = issue + first
        consumed[x] = now if now > issue + read else issue + read
        now_u = now
        i += 1
        moved = True


def play(runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
         dram: DramChannel, record: bool = True) -> Timeline | None:
    """Evaluate every time of ``sched``; ``None`` if the array and the vector unit record
    instances in the same cycle after resuming in the same cycle (see the module docstring).
    ``record``: keep the trace slices (``Timeline.events``). Raises :class:`ProgramError` if
    the program deadlocks."""
    p = _Play(runs, sched, cost, dram, record)
    active = [_channel(p), *(_unit(p, ids, track) for ids, track in
                             ((sched.array, "array"), (sched.vector, "vector unit")) if ids)]
    moved = True
    while moved and active:
        moved = False
        for unit in list(active):
            try:
                moved = next(unit) or moved
            except StopIteration:
                active.remove(unit)
                moved = True
    if active:
        err = deadlock(sched, p.t_done)
        assert err is not None
        raise err
    primary = p.primary
    if sched.array and sched.vector:  # one unit issues in program order, so in time order
        resumed = p.resumed
        primary.sort(key=lambda e: (e[0], resumed[e[3]]))
        if any(a[0] == b[0] and resumed[a[3]] == resumed[b[3]] for a, b in pairwise(primary)):
            return None
    return Timeline(p.t_done, p.qwait, primary, p.events, p.consumed, p.resumed)
