"""Event-by-event simulation of one layer's (truncated) runs with simpy; used by
:mod:`hwsim.engine`, which documents the model. Times are integer cycles."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Generator
from typing import Any

import simpy

from hwsim._schedule import Key, build, spans
from hwsim.config import Arch
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Instr, Load, Run, Store, Vector
from hwsim.stats import TraceEvent
from hwsim.timing import tile_timing


def _label(ins: Instr) -> str:
    if isinstance(ins, Compute):
        return f"{ins.dataflow} {ins.m}x{ins.k}x{ins.n} w{ins.w_bits}a{ins.a_bits}"
    if isinstance(ins, Load):
        return f"load {ins.buffer} {ins.bits} b"
    if isinstance(ins, Store):
        return f"store {ins.bits} b"
    return f"{ins.kind} {ins.elements}x{ins.ops_per_element}"


class LayerSim:
    """One simpy simulation of ``runs`` truncated to ``counts`` iterations each."""

    def __init__(self, runs: tuple[Run, ...], counts: list[int], arch: Arch, mode: str) -> None:
        self.runs, self.counts, self.arch = runs, counts, arch
        self.env = simpy.Environment()
        bpc, self.latency = arch.dram_bits_per_cycle, arch.dram_latency_cycles
        lanes = arch.vector.ops_per_cycle_total
        # (occupancy, latency of the results, cycles until the operands are read from SRAM,
        #  cycles until the first result is written to the output buffer)
        self.cost: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        for r, run in enumerate(runs):
            for b, ins in enumerate(run.body):
                if isinstance(ins, Compute):
                    t = tile_timing(arch, ins.dataflow, ins.m, ins.k, ins.n, ins.w_bits,
                                    ins.a_bits, mode)
                    self.cost[r, b] = (t.period, t.first, *spans(arch, ins, t.first, mode))
                elif isinstance(ins, Vector):
                    c = math.ceil(ins.ops / lanes)
                    self.cost[r, b] = (c, c, c, 0)
                else:
                    c = math.ceil(ins.bits / bpc)
                    self.cost[r, b] = (c, c, c, 0)
        self.sched = build(runs, counts, arch, mode)
        self.done = {key: self.env.event() for key in self.sched.deps}
        self.t_done: dict[Key, int] = {}
        self.consumed = {key: self.env.event() for key in self.sched.array + self.sched.vector}
        self.drained = {key: self.env.event() for key in self.sched.stores}
        self.t_drained: dict[Key, int] = {}
        self.qwait: dict[Key, int] = {}
        self.primary: list[tuple[int, int, str, Key, Key | None]] = []
        self.events: list[tuple[str, str, int, int, Key]] = []
        self.turn_of = {key: j for j, key in enumerate(self.sched.order)}
        self.turn = [self.env.event() for _ in self.sched.order]

    # -- helpers ---------------------------------------------------------------------------

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

    def _transfer(self, key: Key) -> Generator[simpy.Event, Any, None]:
        j = self.turn_of[key]
        t_req = self.now
        if j > 0:
            yield self.turn[j - 1]
        self.qwait[key] = self.now - t_req
        start = self.now
        dur = self.cost[key[0], key[2]][0]
        yield self.env.timeout(dur)
        self.turn[j].succeed()
        ins = self.runs[key[0]].body[key[2]]
        track = "load DMA" if isinstance(ins, Load) else "store DMA"
        self.events.append((track, _label(ins), start, dur, key))

    # -- processes -------------------------------------------------------------------------

    def _load_dma(self) -> Generator[simpy.Event, Any, None]:
        for key in self.sched.loads:
            waits = self.sched.slot[key]
            if waits:
                yield simpy.AllOf(self.env, [self.consumed[k] for k in waits])
            yield from self._transfer(key)
            self._finish(key, self.now + self.latency)

    def _store_dma(self) -> Generator[simpy.Event, Any, None]:
        for key in self.sched.stores:
            deps = self.sched.deps[key]
            if deps:
                yield simpy.AllOf(self.env, [self.done[k] for k in deps])
            yield from self._transfer(key)
            self.t_drained[key] = self.now
            self.drained[key].succeed()
            self._finish(key, self.now + self.latency)

    def _unit(self, keys: list[Key], track: str) -> Generator[simpy.Event, Any, None]:
        free = 0
        for key in keys:
            r, _, b = key
            body = self.runs[r].body
            occ, first, read, out_start = self.cost[r, b]
            ready, cause, via = free, "dependency", None
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
            self.primary.append((x, occ, cause, key, via))
            self.events.append((track, _label(body[b]), x, occ, key))
            self._finish(key, x + first)
            self._at(self.consumed[key], max(self.now, x + read))

    # -- running and accounting ------------------------------------------------------------

    def run(self) -> None:
        env = self.env
        env.process(self._load_dma())
        env.process(self._store_dma())
        env.process(self._unit(self.sched.array, "array"))
        env.process(self._unit(self.sched.vector, "vector unit"))
        env.run()
        stuck = [k for k, ev in self.done.items() if not ev.processed]
        if stuck:
            raise ProgramError(f"the program deadlocks: instruction {stuck[0]} (run, iteration, "
                               "instr) never completes")
        self.T = max(self.t_done.values())
        self.win_time: dict[tuple[int, int], int] = defaultdict(int)
        self.by_window: dict[tuple[int, int], list[Key]] = defaultdict(list)
        for key, t in self.t_done.items():
            w = (key[0], key[1] // self.runs[key[0]].period)
            self.win_time[w] = max(self.win_time[w], t)
            self.by_window[w].append(key)
        self.win_busy: dict[tuple[int, int], int] = defaultdict(int)
        self.win_gaps: dict[tuple[int, int], dict[str, int]] = defaultdict(
            lambda: defaultdict(int))
        free = 0
        for x, occ, cause, (r, i, _b), via in sorted(self.primary, key=lambda p: p[0]):
            w = (r, i // self.runs[r].period)
            gap = max(0, x - free)
            if gap:
                queued = min(gap, self.qwait.get(via, 0)) if via is not None else 0
                if queued:
                    self.win_gaps[w]["dram_bw"] += queued
                if gap - queued:
                    self.win_gaps[w][cause] += gap - queued
            self.win_busy[w] += max(0, x + occ - max(free, x))
            free = max(free, x + occ)
        self.free_final = free

    def _window(self, r: int, w: int) -> tuple:
        dt = self.win_time[r, w] - self.win_time[r, w - 1]
        return (dt, self.win_busy[r, w], tuple(sorted(self.win_gaps[r, w].items())))

    def periodic(self, r: int, sim_periods: int, max_cyclicity: int = 8,
                 ) -> tuple[int, int, tuple] | None:
        """``(cyclicity c, insertion window, per-cycle increment)`` or ``None`` if run ``r`` is
        not yet periodic.

        Periodic means: in ``span`` consecutive windows before the insertion window, every
        instance completes exactly ``lambda`` cycles after its counterpart ``c`` periods
        earlier, where ``span`` covers how far back any wait reaches. Everything after those
        windows is a function of them (the engine is deterministic and its structure repeats
        every period), so it repeats shifted by ``lambda`` for as long as the run lasts. The
        last windows feel the run's end (waits reaching forward), so the check looks before
        them.
        """
        P = self.runs[r].period
        back, fwd = self.sched.reach[r]
        hi = sim_periods - 1 - -(-fwd // P)
        span = max(1, -(-back // P))
        t = self.t_done
        for c in range(1, max_cyclicity + 1):
            ws = range(hi - span - c, hi)  # also compare the aggregates over 2c windows
            if ws.start - c < 1:
                break
            if not all(self._window(r, w) == self._window(r, w - c) for w in ws):
                continue
            lam = self.win_time[r, hi - 1] - self.win_time[r, hi - 1 - c]
            shift = c * P
            if all(t[k] - t[k[0], k[1] - shift, k[2]] == lam
                   for w in range(hi - span, hi) for k in self.by_window[r, w]):
                lam_b = sum(self._window(r, w)[1] for w in range(hi - c, hi))
                gaps: dict[str, int] = defaultdict(int)
                for w in range(hi - c, hi):
                    for cause, n in self.win_gaps[r, w].items():
                        gaps[cause] += n
                return c, hi, (lam, lam_b, dict(gaps))
        return None

    def extrapolate(self, inserts: list) -> Any:
        """Totals with the closed-form periods inserted; ``None`` if the books do not close."""
        from hwsim.engine import _Timed

        total, busy = self.T, sum(self.win_busy.values())
        stalls: dict[str, int] = defaultdict(int)
        for gaps in self.win_gaps.values():
            for cause, n in gaps.items():
                stalls[cause] += n
        shift_after: list[tuple[int, int, int]] = []  # (run, window, shift)
        for r, ins in enumerate(inserts):
            if ins is None:
                continue
            k, at, (lam_t, lam_b, lam_g) = ins
            total += k * lam_t
            busy += k * lam_b
            for cause, n in lam_g.items():
                stalls[cause] += k * n
            shift_after.append((r, at, k * lam_t))
        drain = self.T - self.free_final
        if drain:
            stalls["drain"] += drain
        if total != busy + sum(stalls.values()):
            return None

        def shift(key: Key) -> int:
            r, i, _b = key
            w = i // self.runs[r].period
            return sum(s for rr, at, s in shift_after if r > rr or (r == rr and w >= at))

        trace = [TraceEvent(track, name, start + shift(key), dur)
                 for track, name, start, dur, key in self.events]
        for r, at, span in shift_after:
            start = self.win_time[r, at - 1] + shift((r, at * self.runs[r].period, 0)) - span
            trace.append(TraceEvent("steady state", f"run {r} ({self.runs[r].name}): "
                                    f"{span} cycles in closed form", start, span))
        return _Timed(total, busy, tuple(sorted((c, n) for c, n in stalls.items() if n)),
                      tuple(sorted(trace, key=lambda e: (e.start, e.track))))
