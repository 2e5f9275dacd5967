"""Event-by-event simulation of one layer's (truncated) runs with simpy; used by
:mod:`hwsim.engine`, which documents the model. Times are integer cycles."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Generator
from fractions import Fraction
from typing import Any

import simpy

from hwsim.config import Arch
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Instr, Load, Run, Store, Vector
from hwsim.stats import TraceEvent
from hwsim.timing import stream_cycles, tile_timing

Key = tuple[int, int, int]  # (run, iteration, body index)


def _exists(ins: Instr, i: int) -> bool:
    e = ins.every
    return i % e == (e - 1 if isinstance(ins, Store) else 0)


def _recent(ins: Instr, i: int) -> int | None:
    """Iteration of the most recent instance of ``ins`` at or before iteration ``i``."""
    e = ins.every
    j = ((i + 1) // e) * e - 1 if isinstance(ins, Store) else (i // e) * e
    return j if j >= 0 else None


def _spans(arch: Arch, ins: Compute, first: int, mode: str) -> tuple[int, int]:
    """(cycles after issue until a tile has read its operands from SRAM, which frees their
    slots; cycles after issue until it writes its first result, which needs its output slot).

    The driver reads SRAM unskewed: WS/IS read the stationary tile in ``R`` cycles, then the
    ``s`` streamed words, and the first result leaves the array ``2R`` cycles after issue; OS
    reads both operand streams in ``s`` cycles and presents its first result row in cycle
    ``s + C - 1``. SCALE-Sim's serialized folds hold operands and results for a whole fold.
    """
    if mode == "scalesim":
        return first, 0
    s = stream_cycles(arch.array, ins.dataflow, ins.m, ins.k, ins.n, ins.w_bits, ins.a_bits)
    if ins.dataflow == "os":
        return s, s + arch.array.cols - 1
    return arch.array.rows + s, 2 * arch.array.rows


def _nominal(arch: Arch, ins: Instr, mode: str) -> tuple[Fraction, Fraction]:
    """(read span, result latency) of an instruction in units of its issue period, on a
    bit-parallel array (p = f = 1). They place transfers in the DRAM channel's fixed order;
    being independent of bits and of DRAM speed keeps that order, and so the engine's
    monotonicity, the same when those change."""
    if not isinstance(ins, Compute) or mode == "scalesim":
        return Fraction(1), Fraction(1)
    R, C = arch.array.rows, arch.array.cols
    if ins.dataflow == "os":
        s = ins.k
        period = max(s, R, C)
        return Fraction(s, period), Fraction(s + R + C - 2, period)
    s = ins.m if ins.dataflow == "ws" else ins.n
    period = max(s, R)
    return Fraction(R + s, period), Fraction(2 * R + C + s - 2, period)


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
                    self.cost[r, b] = (t.period, t.first, *_spans(arch, ins, t.first, mode))
                elif isinstance(ins, Vector):
                    c = math.ceil(ins.ops / lanes)
                    self.cost[r, b] = (c, c, c, 0)
                else:
                    c = math.ceil(ins.bits / bpc)
                    self.cost[r, b] = (c, c, c, 0)
        self.consumers = [
            {b: [c for c, other in enumerate(run.body) if b in other.deps]
             for b in range(len(run.body))} for run in runs
        ]
        self.store_every = [next((i.every for i in run.body if isinstance(i, Store)), None)
                            for run in runs]
        self.done: dict[Key, simpy.Event] = {}
        self.t_done: dict[Key, int] = {}
        self.consumed: dict[Key, simpy.Event] = {}
        self.drained: dict[Key, simpy.Event] = {}
        self.t_drained: dict[Key, int] = {}
        self.qwait: dict[Key, int] = {}
        self.primary: list[tuple[int, int, str, Key, Key | None]] = []
        self.events: list[tuple[str, str, int, int, Key]] = []
        # Fixed DRAM channel order, in units of iterations: a load where its slot frees (the
        # consumers of the instance two before have read their operands), a store where its
        # results are complete, capped so that it precedes every load whose consumer waits for
        # its output slot (which would deadlock). Ties: stores first.
        read_ratio: list[dict[int, Fraction]] = []
        lag_ratio: list[dict[int, Fraction]] = []
        for r, run in enumerate(runs):
            nominal = [_nominal(arch, ins, mode) for ins in run.body]
            read_ratio.append({b: max((nominal[c][0] for c in self.consumers[r][b]),
                                      default=Fraction(1)) for b in range(len(run.body))})
            lag_ratio.append({b: max((nominal[d][1] for d in ins.deps), default=Fraction(1))
                              for b, ins in enumerate(run.body)})
        min_read = [min((read_ratio[r][b] for b, ins in enumerate(run.body)
                         if isinstance(ins, Load)), default=Fraction(1))
                    for r, run in enumerate(runs)]
        loads, stores, self.array, self.vector = [], [], [], []
        offset = 0
        for r, run in enumerate(runs):
            for i in range(counts[r]):
                for b, ins in enumerate(run.body):
                    if not _exists(ins, i):
                        continue
                    key = (r, i, b)
                    self.done[key] = self.env.event()
                    g = offset + i
                    if isinstance(ins, Load):
                        loads.append(((g - ins.every - 1 + read_ratio[r][b], 1, g, b), key))
                    elif isinstance(ins, Store):
                        self.drained[key] = self.env.event()
                        lag = min(lag_ratio[r][b], self.store_every[r] + 1 + min_read[r])
                        stores.append(((g + lag, 0, g, b), key))
                    elif isinstance(ins, Compute):
                        self.consumed[key] = self.env.event()
                        self.array.append(key)
                    else:
                        self.consumed[key] = self.env.event()
                        self.vector.append(key)
            offset += counts[r]
        order = sorted(loads + stores)
        self.turn_of = {key: j for j, (_, key) in enumerate(order)}
        self.turn = [self.env.event() for _ in order]
        self.loads = [key for _, key in sorted(loads)]
        self.stores = [key for _, key in sorted(stores)]

    # -- helpers ---------------------------------------------------------------------------

    def _at(self, ev: simpy.Event, at: int) -> None:
        if at == self.env.now:
            ev.succeed()
        else:
            self.env.timeout(at - self.env.now).callbacks.append(lambda _e: ev.succeed())

    def _finish(self, key: Key, at: int) -> None:
        self.t_done[key] = at
        self._at(self.done[key], at)

    def _slot_free(self, key: Key) -> list[Key]:
        """Instances whose operand reads free the SRAM slot load ``key`` writes into."""
        r, i, b = key
        e = self.runs[r].body[b].every
        if i - 2 * e < 0:
            return []
        last = i - e - 1
        waits = []
        for c in self.consumers[r][b]:
            ci = _recent(self.runs[r].body[c], last)
            if ci is not None and ci >= i - 2 * e:
                waits.append((r, ci, c))
        return waits

    def _out_slot(self, key: Key) -> list[Key]:
        """Stores that must have drained before ``key`` may start writing a new output group."""
        r, i, b = key
        es = self.store_every[r]
        body = self.runs[r].body
        if es is None or i % es or i < 2 * es:
            return []
        first = next(c for c, ins in enumerate(body)
                     if isinstance(ins, Compute | Vector) and _exists(ins, i))
        if first != b:
            return []
        j = i - es - 1
        return [(r, j, c) for c, ins in enumerate(body) if isinstance(ins, Store)]

    def _transfer(self, key: Key) -> Generator[simpy.Event, Any, None]:
        j = self.turn_of[key]
        t_req = self.env.now
        if j > 0:
            yield self.turn[j - 1]
        self.qwait[key] = self.env.now - t_req
        start = self.env.now
        dur = self.cost[key[0], key[2]][0]
        yield self.env.timeout(dur)
        self.turn[j].succeed()
        ins = self.runs[key[0]].body[key[2]]
        track = "load DMA" if isinstance(ins, Load) else "store DMA"
        self.events.append((track, _label(ins), start, dur, key))

    # -- processes -------------------------------------------------------------------------

    def _load_dma(self) -> Generator[simpy.Event, Any, None]:
        for key in self.loads:
            waits = self._slot_free(key)
            if waits:
                yield simpy.AllOf(self.env, [self.consumed[k] for k in waits])
            yield from self._transfer(key)
            self._finish(key, self.env.now + self.latency)

    def _store_dma(self) -> Generator[simpy.Event, Any, None]:
        for key in self.stores:
            r, i, b = key
            deps = [(r, di, d) for d in self.runs[r].body[b].deps
                    if (di := _recent(self.runs[r].body[d], i)) is not None]
            if deps:
                yield simpy.AllOf(self.env, [self.done[k] for k in deps])
            yield from self._transfer(key)
            self.t_drained[key] = self.env.now
            self.drained[key].succeed()
            self._finish(key, self.env.now + self.latency)

    def _unit(self, keys: list[Key], track: str) -> Generator[simpy.Event, Any, None]:
        free = 0
        for key in keys:
            r, i, b = key
            body = self.runs[r].body
            occ, first, read, out_start = self.cost[r, b]
            ready, cause, via = free, "dependency", None
            deps = [(r, di, d) for d in body[b].deps
                    if (di := _recent(body[d], i)) is not None]
            if deps:
                yield simpy.AllOf(self.env, [self.done[k] for k in deps])
                latest = max(deps, key=lambda k: self.t_done[k])
                if self.t_done[latest] > ready:
                    ready = self.t_done[latest]
                    dep = body[latest[2]]
                    if isinstance(dep, Load):
                        cause, via = f"{dep.buffer}_load", latest
            slot = self._out_slot(key)
            if slot:
                # The output slot is needed when the first result is written, not at issue.
                yield simpy.AllOf(self.env, [self.drained[k] for k in slot])
                need = max(self.t_drained[k] for k in slot) - out_start
                if need > ready:
                    ready, cause, via = need, "store", None
            x = max(ready, self.env.now - first)
            free = x + occ
            self.primary.append((x, occ, cause, key, via))
            self.events.append((track, _label(body[b]), x, occ, key))
            self._finish(key, x + first)
            self._at(self.consumed[key], max(self.env.now, x + read))

    # -- running and accounting ------------------------------------------------------------

    def run(self) -> None:
        env = self.env
        env.process(self._load_dma())
        env.process(self._store_dma())
        env.process(self._unit(self.array, "array"))
        env.process(self._unit(self.vector, "vector unit"))
        env.run()
        stuck = [k for k, ev in self.done.items() if not ev.processed]
        if stuck:
            raise ProgramError(f"the program deadlocks: instruction {stuck[0]} (run, iteration, "
                               "instr) never completes")
        self.T = max(self.t_done.values())
        self.win_time: dict[tuple[int, int], int] = defaultdict(int)
        for (r, i, _b), t in self.t_done.items():
            w = (r, i // self.runs[r].period)
            self.win_time[w] = max(self.win_time[w], t)
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

    def periodic(self, r: int, period: int, sim_periods: int) -> tuple[int, int, tuple] | None:
        """``(cyclicity, insertion window, per-cycle increment)`` or ``None`` if not periodic."""
        hi = sim_periods - 3  # the last windows feel the truncation; look before them
        for c in (1, 2):
            ws = range(hi - 2 * c, hi)
            if ws.start - c < 1:
                continue
            if all(self._window(r, w) == self._window(r, w - c) for w in ws):
                lam_t = sum(self._window(r, w)[0] for w in range(hi - c, hi))
                lam_b = sum(self._window(r, w)[1] for w in range(hi - c, hi))
                gaps: dict[str, int] = defaultdict(int)
                for w in range(hi - c, hi):
                    for cause, n in self.win_gaps[r, w].items():
                        gaps[cause] += n
                return c, hi, (lam_t, lam_b, dict(gaps))
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
