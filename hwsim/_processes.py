"""The engine's model as simpy processes (load DMA, store DMA, array, vector unit); see
:mod:`hwsim.engine` for the model. :func:`hwsim._timeline.play` computes the same times without
an event queue; these processes are asked only when the array and the vector unit record
instances in the same cycle after resuming in the same cycle, where the order in which simpy
resumes them decides which one a stall is charged to. Times are integer cycles."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from hwsim._schedule import Key, Schedule
from hwsim._timeline import Cost, Event, Primary, Timeline, deadlock, label
from hwsim.isa import Load, Run
from hwsim.memory import DramChannel


class _Processes:
    def __init__(self, runs: tuple[Run, ...], sched: Schedule, cost: dict[tuple[int, int], Cost],
                 dram: DramChannel) -> None:
        self.runs, self.sched, self.cost, self.dram = runs, sched, cost, dram
        self.env = simpy.Environment()
        self.done = {key: self.env.event() for key in sched.deps}
        self.t_done: dict[Key, int] = {}
        self.consumed = {key: self.env.event() for key in sched.array + sched.vector}
        self.drained = {key: self.env.event() for key in sched.stores}
        self.t_drained: dict[Key, int] = {}
        self.qwait: dict[Key, int] = {}
        self.primary: list[Primary] = []
        self.events: list[Event] = []
        self.turn_of = {key: j for j, key in enumerate(sched.order)}
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

    def _finish(self, key: Key, at: int) -> None:
        self.t_done[key] = at
        self._at(self.done[key], at)

    def _transfer(self, key: Key) -> Generator[simpy.Event, Any, int]:
        """Serve one transfer in its turn on the DRAM channel; returns its arrival cycle."""
        j = self.turn_of[key]
        t_req = self.now
        if j > 0:
            yield self.turn[j - 1]
        dur = self.cost[key[0], key[2]][0]
        start, end, arrival = self.dram.serve(t_req, self.now, dur)
        self.qwait[key] = start - t_req
        yield self.env.timeout(end - self.now)
        self.turn[j].succeed()
        ins = self.runs[key[0]].body[key[2]]
        track = "load DMA" if isinstance(ins, Load) else "store DMA"
        self.events.append((track, label(ins), start, dur, key))
        return arrival

    def _load_dma(self) -> Generator[simpy.Event, Any, None]:
        for key in self.sched.loads:
            waits = self.sched.slot[key]
            if waits:
                yield simpy.AllOf(self.env, [self.consumed[k] for k in waits])
            arrival = yield from self._transfer(key)
            self._finish(key, arrival)

    def _store_dma(self) -> Generator[simpy.Event, Any, None]:
        for key in self.sched.stores:
            deps = self.sched.deps[key]
            if deps:
                yield simpy.AllOf(self.env, [self.done[k] for k in deps])
            arrival = yield from self._transfer(key)
            self.t_drained[key] = self.now
            self.drained[key].succeed()
            self._finish(key, arrival)

    def _unit(self, keys: list[Key], track: str) -> Generator[simpy.Event, Any, None]:
        free = port = 0
        for key in keys:
            r, _, b = key
            body = self.runs[r].body
            occ, first, read, out_start, spacing = self.cost[r, b]
            ready, cause, via = max(free, port - out_start), "dependency", None
            deps = self.sched.deps[key]
            if deps:
                yield simpy.AllOf(self.env, [self.done[k] for k in deps])
                latest = max(deps, key=lambda k: self.t_done[k])
                if self.t_done[latest] > ready:
                    ready = self.t_done[latest]
                    dep = body[latest[2]]
                    if isinstance(dep, Load):
                        cause, via = f"{dep.buffer}_load", latest
            slot = self.sched.out.get(key)
            if slot:
                # The output slot is needed when the first result is written, not at issue.
                yield simpy.AllOf(self.env, [self.drained[k] for k in slot])
                need = max(self.t_drained[k] for k in slot) - out_start
                if need > ready:
                    ready, cause, via = need, "store", None
            x = max(ready, self.now - first)
            free = x + occ
            port = x + out_start + spacing if spacing else 0
            self.primary.append((x, occ, cause, key, via))
            self.events.append((track, label(body[b]), x, occ, key))
            self._finish(key, x + first)
            self._at(self.consumed[key], max(self.now, x + read))


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
    err = deadlock(sched, {k: 0 for k, ev in p.done.items() if ev.processed})
    if err is not None:
        raise err
    return Timeline(p.t_done, p.qwait, sorted(p.primary, key=lambda e: e[0]), p.events)
