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

from hwsim._schedule import Key, Schedule
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Instr, Load, Run, Store
from hwsim.memory import DramChannel

Primary = tuple[int, int, str, Key, "Key | None"]  # (issue, occupancy, stall cause, key, via)
Event = tuple[str, str, int, int, Key]  # (track, label, start, duration, key)
# (occupancy, result latency, operand read, first result, spacing of first results)
Cost = tuple[int, int, int, int, int]


@dataclass(slots=True)
class Timeline:
    """Completion time of every instance (``t_done``); cycles each transfer queued behind
    others on the channel (``qwait``); array and vector instances as ``(issue, occupancy,
    cause, key, via)`` by issue cycle, same-cycle issues in the order the units recorded them
    (``primary``); trace slices; when each array and vector instance had read its operands
    (``consumed``) and when its unit resumed to issue it (``resumed``), where known."""

    t_done: dict[Key, int]
    qwait: dict[Key, int]
    primary: list[Primary]
    events: list[Event]
    consumed: dict[Key, int] | None = None
    resumed: dict[Key, int] | None = None


def label(ins: Instr) -> str:
    if isinstance(ins, Compute):
        return f"{ins.dataflow} {ins.m}x{ins.k}x{ins.n} w{ins.w_bits}a{ins.a_bits}"
    if isinstance(ins, Load):
        return f"load {ins.buffer} {ins.bits} b"
    if isinstance(ins, Store):
        return f"store {ins.bits} b"
    return f"{ins.kind} {ins.elements}x{ins.ops_per_element}"


def deadlock(sched: Schedule, t_done: dict[Key, int]) -> ProgramError | None:
    """The error naming the first instance (in schedule order) that never completes, if any."""
    if len(t_done) == len(sched.deps):
        return None
    stuck = next(k for k in sched.deps if k not in t_done)
    return ProgramError(f"the program deadlocks: instruction {stuck} (run, iteration, "
                        "instr) never completes")


class _Play:
    """The state of :func:`play`: times known so far and each unit's position."""

    def __init__(self, runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
                 dram: DramChannel, record: bool) -> None:
        self.sched, self.cost, self.dram, self.record = sched, cost, dram, record
        self.labels = {(r, b): label(ins) for r, run in enumerate(runs)
                       for b, ins in enumerate(run.body)} if record else {}
        # stall cause of waiting for instruction (r, b): its buffer's load, else None
        self.load_cause = {(r, b): f"{ins.buffer}_load" if isinstance(ins, Load) else None
                           for r, run in enumerate(runs) for b, ins in enumerate(run.body)}
        self.t_done: dict[Key, int] = {}
        self.consumed: dict[Key, int] = {}
        self.drained: dict[Key, int] = {}
        self.qwait: dict[Key, int] = {}
        self.events: list[Event] = []
        self.ends: list[int] = []  # end of the j-th transfer of the channel order
        self.now_load = self.now_store = 0
        # per unit: (instances, track, [next position, process time, free from, the next
        # first result write no earlier than])
        self.units = [(keys, track, [0, 0, 0, 0]) for keys, track in
                      ((sched.array, "array"), (sched.vector, "vector unit")) if keys]
        self.primary: list[Primary] = []
        self.resumed: dict[Key, int] = {}  # the cycle its unit resumed to record it

    def channel(self) -> bool:
        """Advance the DRAM channel; whether it moved."""
        order, ends, slot, deps = self.sched.order, self.ends, self.sched.slot, self.sched.deps
        consumed, t_done, cost, serve = self.consumed, self.t_done, self.cost, self.dram.serve
        j0 = j = len(ends)
        while j < len(order):
            key = order[j]
            waits = slot.get(key)
            if waits is not None:  # a load waits for its slot's last readers
                now = self.now_load
                for k in waits:
                    t = consumed.get(k)
                    if t is None:
                        return j > j0
                    if t > now:
                        now = t
            else:  # a store waits for its results
                now = self.now_store
                for k in deps[key]:
                    t = t_done.get(k)
                    if t is None:
                        return j > j0
                    if t > now:
                        now = t
            dur = cost[key[0], key[2]][0]
            start, end, t_done[key] = serve(now, ends[j - 1] if j else 0, dur)
            self.qwait[key] = start - now
            ends.append(end)
            if self.record:
                self.events.append(("load DMA" if waits is not None else "store DMA",
                                    self.labels[key[0], key[2]], start, dur, key))
            if waits is not None:
                self.now_load = end
            else:
                self.now_store = end
                self.drained[key] = end
            j += 1
        return j > j0

    def unit(self, keys: list[Key], track: str, state: list[int]) -> bool:
        """Advance the array or the vector unit; whether it moved."""
        deps_of, out_of, cost = self.sched.deps, self.sched.out, self.cost
        t_done, drained, consumed = self.t_done, self.drained, self.consumed
        primary, resumed, load_cause = self.primary, self.resumed, self.load_cause
        i0 = i = state[0]
        now_u, free, port = state[1], state[2], state[3]
        while i < len(keys):
            key = keys[i]
            occ, first, read, out_start, spacing = cost[key[0], key[2]]
            now, ready, cause, via = now_u, free, "dependency", None
            if port - out_start > ready:  # the previous results are still leaving the array
                ready = port - out_start
            deps = deps_of[key]
            if deps:
                latest, t_latest, known = deps[0], -1, True
                for k in deps:
                    t = t_done.get(k)
                    if t is None:
                        known = False
                        break
                    if t > t_latest:  # the first of the latest, as max() picks
                        latest, t_latest = k, t
                if not known:
                    break
                if t_latest > now:
                    now = t_latest
                if t_latest > ready:
                    ready = t_latest
                    c = load_cause[latest[0], latest[2]]
                    if c is not None:
                        cause, via = c, latest
            slot = out_of.get(key)
            if slot:
                t_slot, known = -1, True
                for k in slot:
                    t = drained.get(k)
                    if t is None:
                        known = False
                        break
                    if t > t_slot:
                        t_slot = t
                if not known:
                    break
                if t_slot > now:
                    now = t_slot
                # The output slot is needed when the first result is written, not at issue.
                need = t_slot - out_start
                if need > ready:
                    ready, cause, via = need, "store", None
            x = ready if ready > now - first else now - first
            free = x + occ
            port = x + out_start + spacing if spacing else 0
            primary.append((x, occ, cause, key, via))
            resumed[key] = now
            if self.record:
                self.events.append((track, self.labels[key[0], key[2]], x, occ, key))
            t_done[key] = x + first
            consumed[key] = now if now > x + read else x + read
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
        for keys, track, state in p.units:
            moved = p.unit(keys, track, state) or moved
    err = deadlock(sched, p.t_done)
    if err is not None:
        raise err
    primary = p.primary
    if sched.array and sched.vector:  # one unit issues in program order, so in time order
        resumed = p.resumed
        primary.sort(key=lambda e: (e[0], resumed[e[3]]))
        if any(a[0] == b[0] and resumed[a[3]] == resumed[b[3]] for a, b in pairwise(primary)):
            return None
    return Timeline(p.t_done, p.qwait, primary, p.events, p.consumed, p.resumed)
