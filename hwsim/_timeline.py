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
    """The state of :func:`play`: times known so far and each unit's position."""

    def __init__(self, runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
                 dram: DramChannel, record: bool) -> None:
        self.sched, self.dram, self.record = sched, dram, record
        self.costs = per_instance(runs, sched, cost)
        self.labels = sched.per_instance([[label(ins) for ins in run.body] for run in runs]
                                         ) if record else []
        # stall cause of waiting for an instance: its buffer's load, else None
        self.load_cause = sched.per_instance(
            [[f"{ins.buffer}_load" if isinstance(ins, Load) else None for ins in run.body]
             for run in runs])
        size = sched.size
        self.t_done = [-1] * size
        self.consumed = [-1] * size
        self.drained = [-1] * size
        self.qwait = [0] * size
        self.events: list[Event] = []
        self.j = 0  # the next transfer of the channel order
        self.end = 0  # the end of the transfer before it
        self.now_load = self.now_store = 0
        # per unit: (instances, track, [next position, process time, free from, the next
        # first result write no earlier than])
        self.units = [(ids, track, [0, 0, 0, 0]) for ids, track in
                      ((sched.array, "array"), (sched.vector, "vector unit")) if ids]
        self.primary: list[Primary] = []
        self.resumed = [-1] * size  # the cycle its unit resumed to record it

    def channel(self) -> bool:
        """Advance the DRAM channel; whether it moved."""
        order, slot, deps = self.sched.order, self.sched.slot, self.sched.deps
        consumed, t_done, costs, serve = self.consumed, self.t_done, self.costs, self.dram.serve
        j0 = j = self.j
        end = self.end
        while j < len(order):
            x = order[j]
            waits = slot[x]
            if waits is not None:  # a load waits for its slot's last readers
                now = self.now_load
                for d in waits:
                    t = consumed[x + d]
                    if t < 0:
                        break
                    if t > now:
                        now = t
                else:
                    t = 0
            else:  # a store waits for its results
                now = self.now_store
                for d in deps[x]:
                    t = t_done[x + d]
                    if t < 0:
                        break
                    if t > now:
                        now = t
                else:
                    t = 0
            if t < 0:
                break
            dur = costs[x][0]
            start, end, t_done[x] = serve(now, end, dur)
            self.qwait[x] = start - now
            if self.record:
                self.events.append(("load DMA" if waits is not None else "store DMA",
                                    self.labels[x], start, dur, x))
            if waits is not None:
                self.now_load = end
            else:
                self.now_store = end
                self.drained[x] = end
            j += 1
        self.j, self.end = j, end
        return j > j0

    def unit(self, ids: list[int], track: str, state: list[int]) -> bool:
        """Advance the array or the vector unit; whether it moved."""
        deps_of, out_of, costs = self.sched.deps, self.sched.out, self.costs
        t_done, drained, consumed = self.t_done, self.drained, self.consumed
        primary, resumed, load_cause = self.primary, self.resumed, self.load_cause
        i0 = i = state[0]
        now_u, free, port = state[1], state[2], state[3]
        while i < len(ids):
            x = ids[i]
            occ, first, read, out_start, spacing = costs[x]
            now, ready, cause, via = now_u, free, "dependency", None
            if port - out_start > ready:  # the previous results are still leaving the array
                ready = port - out_start
            deps = deps_of[x]
            if deps:
                latest, t_latest = 0, -1
                for d in deps:
                    t = t_done[x + d]
                    if t < 0:
                        break
                    if t > t_latest:  # the first of the latest, as max() picks
                        latest, t_latest = d, t
                if t < 0:
                    break
                if t_latest > now:
                    now = t_latest
                if t_latest > ready:
                    ready = t_latest
                    c = load_cause[x + latest]
                    if c is not None:
                        cause, via = c, x + latest
            slot = out_of[x]
            if slot:
                t_slot = -1
                for d in slot:
                    t = drained[x + d]
                    if t < 0:
                        break
                    if t > t_slot:
                        t_slot = t
                if t < 0:
                    break
                if t_slot > now:
                    now = t_slot
                # The output slot is needed when the first result is written, not at issue.
                need = t_slot - out_start
                if need > ready:
                    ready, cause, via = need, "store", None
            x_issue = ready if ready > now - first else now - first
            free = x_issue + occ
            port = x_issue + out_start + spacing if spacing else 0
            primary.append((x_issue, occ, cause, x, via))
            resumed[x] = now
            if self.record:
                self.events.append((track, self.labels[x], x_issue, occ, x))
            t_done[x] = x_issue + first
            consumed[x] = now if now > x_issue + read else x_issue + read
            now_u = now
            i += 1
        state[0], state[1], state[2], state[3] = i, now_u, free, port
        return i > i0


def play(runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
         dram: DramChannel, record: bool = True) -> Timeline | None:
    """Evaluate every time of ``sched``; ``None`` if the array and the vector unit record
    instances in the same cycle after resuming in the same cycle (see the module docstring).
    ``record``: keep the trace slices (``Timeline.events``). Raises :class:`ProgramError` if
    the program deadlocks."""
    p = _Play(runs, sched, cost, dram, record)
    moved = True
    while moved:
        moved = p.channel()
        for ids, track, state in p.units:
            moved = p.unit(ids, track, state) or moved
    if p.j < len(sched.order) or any(state[0] < len(ids) for ids, _, state in p.units):
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
