"""The engine's model as simpy processes (load DMA, store DMA, array, vector unit); see
:mod:`hwsim.engine` for the model. :func:`hwsim._timeline.play` computes the same times without
an event queue; these processes are asked only when the array and the vector unit record
instances in the same cycle after resuming in the same cycle, where the order in which simpy
resumes them decides which one a stall is charged to. Times are integer cycles."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from hwsim._schedule import Schedule
from hwsim._timeline import Cost, Event, Primary, Timeline, deadlock, label, per_instance
from hwsim.isa import Instr, Load, Run
from hwsim.memory import DramChannel


class _Processes:
    def __init__(self, runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
                 dram: DramChannel) -> None:
        self.runs, self.sched, self.dram = runs, sched, dram
        self.costs = per_instance(runs, sched, cost)
        self.env = simpy.Environment()
        self.done = {x: self.env.event() for x in sched.instances()}
        self.t_done = [-1] * sched.size
        self.consumed = {x: self.env.event() for x in sched.array + sched.vector}
        self.drained = {x: self.env.event() for x in sched.stores}
        self.t_drained: dict[int, int] = {}
        self.qwait = [0] * sched.size
        self.primary: list[Primary] = []
        self.events: list[Event] = []
        self.turn_of = {x: j for j, x in enumerate(sched.order)}
        self.turn = [self.env.event() for _ in sched.order]

    @property
    def now(self) -> int:
        """The simulation time; always an integer cycle, since every delay is one."""
        return int(self.env.now)

    def _at(self, ev: simpy.Event, at: int) -> None:
        if at == self.now:
            ev.succeed()
        else:
            def fire(_: simpy.Event) -> None:
                ev.succeed()

            self.env.timeout(at - self.now).callbacks.append(fire)

    def _finish(self, x: int, at: int) -> None:
        self.t_done[x] = at
        self._at(self.done[x], at)

    def _instruction(self, x: int) -> Instr:
        r, _, b = self.sched.key(x)
        return self.runs[r].body[b]

    def _transfer(self, x: int) -> Generator[simpy.Event, Any, int]:
        """Serve one transfer in its turn on the DRAM channel; returns its arrival cycle."""
        j = self.turn_of[x]
        t_req = self.now
        if j > 0:
            yield self.turn[j - 1]
        dur = self.costs[x][0]
        start, end, arrival = self.dram.serve(t_req, self.now, dur)
        self.qwait[x] = start - t_req
        yield self.env.timeout(end - self.now)
        self.turn[j].succeed()
        ins = self._instruction(x)
        track = "load DMA" if isinstance(ins, Load) else "store DMA"
        self.events.append((track, label(ins), start, dur, x))
        return arrival

    def _load_dma(self) -> Generator[simpy.Event, Any, None]:
        for x in self.sched.loads:
            waits = self.sched.slot[x]
            if waits:
                yield simpy.AllOf(self.env, [self.consumed[x + d] for d in waits])
            arrival = yield from self._transfer(x)
            self._finish(x, arrival)

    def _store_dma(self) -> Generator[simpy.Event, Any, None]:
        for x in self.sched.stores:
            deps = self.sched.deps[x]
            if deps:
                yield simpy.AllOf(self.env, [self.done[x + d] for d in deps])
            arrival = yield from self._transfer(x)
            self.t_drained[x] = self.now
            self.drained[x].succeed()
            self._finish(x, arrival)

    def _unit(self, ids: list[int], track: str) -> Generator[simpy.Event, Any, None]:
        free = port = 0
        for x in ids:
            occ, first, read, out_start, spacing = self.costs[x]
            ready, cause, via = max(free, port - out_start), "dependency", None
            deps = [x + d for d in self.sched.deps[x]]
            if deps:
                yield simpy.AllOf(self.env, [self.done[y] for y in deps])
                latest = max(deps, key=lambda y: self.t_done[y])
                if self.t_done[latest] > ready:
                    ready = self.t_done[latest]
                    dep = self._instruction(latest)
                    if isinstance(dep, Load):
                        cause, via = f"{dep.buffer}_load", latest
            slot = [x + d for d in self.sched.out[x]]
            if slot:
                # The output slot is needed when the first result is written, not at issue.
                yield simpy.AllOf(self.env, [self.drained[y] for y in slot])
                need = max(self.t_drained[y] for y in slot) - out_start
                if need > ready:
                    ready, cause, via = need, "store", None
            t = max(ready, self.now - first)
            free = t + occ
            port = t + out_start + spacing if spacing else 0
            self.primary.append((t, occ, cause, x, via))
            self.events.append((track, label(self._instruction(x)), t, occ, x))
            self._finish(x, t + first)
            self._at(self.consumed[x], max(self.now, t + read))


def play_processes(runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
                   dram: DramChannel) -> Timeline:
    """Simulate ``sched`` event by event; raises :class:`ProgramError` if it deadlocks."""
    p = _Processes(runs, sched, cost, dram)
    env = p.env
    env.process(p._load_dma())
    env.process(p._store_dma())
    env.process(p._unit(sched.array, "array"))
    env.process(p._unit(sched.vector, "vector unit"))
    env.run()
    err = deadlock(sched, p.t_done)
    if err is not None:
        raise err
    return Timeline(p.t_done, p.qwait, sorted(p.primary, key=lambda e: e[0]), p.events)
