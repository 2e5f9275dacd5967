"""Event-by-event simulation of one layer's (truncated) runs, and the accounting the
steady-state fast-forward of :mod:`hwsim.engine` (which documents the model) reads: per
period ("window") of each run, its completion time, busy time and stalls. The times come from
:func:`hwsim._timeline.play`, or from the simpy processes of :mod:`hwsim._processes` where the
two units' order in one cycle needs them. Times are integer cycles."""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from hwsim._schedule import build
from hwsim._timeline import Cost, play
from hwsim.config import Arch
from hwsim.dataflow import get_dataflow
from hwsim.isa import Compute, Load, Run, Vector
from hwsim.stats import TraceEvent
from hwsim.timing import stream_cycles, tile_timing


@dataclass(slots=True)
class Timed:
    """A layer's time, busy time and stalls; its trace is built when first asked for."""

    cycles: int
    busy: int
    stalls: tuple[tuple[str, int], ...]
    make_trace: Callable[[], tuple[TraceEvent, ...]]
    _trace: tuple[TraceEvent, ...] | None = None

    @property
    def trace(self) -> tuple[TraceEvent, ...]:
        if self._trace is None:
            self._trace = self.make_trace()
        return self._trace



class LayerSim:
    """One simulation of ``runs`` truncated to ``counts`` iterations each."""

    def __init__(self, runs: tuple[Run, ...], counts: list[int], arch: Arch, mode: str,
                 trace: bool = True) -> None:
        """``trace``: keep the tile timeline (:attr:`Timed.trace`; otherwise it is empty)."""
        self.runs, self.counts, self.arch, self.trace = runs, counts, arch, trace
        self.periods = [run.period for run in runs]
        self.dram = arch.dram_channel
        lanes = arch.vector.ops_per_cycle_total
        # (occupancy, latency of the results, cycles until the operands are read from SRAM,
        #  cycles until the first result is written to the output buffer, cycles from it to
        #  the next tile's first result write at least)
        self.cost: dict[tuple[int, int], Cost] = {}
        for r, run in enumerate(runs):
            for b, ins in enumerate(run.body):
                if isinstance(ins, Compute):
                    t = tile_timing(arch, ins.dataflow, ins.m, ins.k, ins.n, ins.w_bits,
                                    ins.a_bits, mode)
                    s = stream_cycles(arch.array, ins.dataflow, ins.m, ins.k, ins.n,
                                      ins.w_bits, ins.a_bits)
                    df = get_dataflow(ins.dataflow)
                    R, C = arch.array.rows, arch.array.cols
                    self.cost[r, b] = (t.period, t.first, *df.spans(R, C, s, mode),
                                       df.result_spacing(R, C, mode))
                elif isinstance(ins, Vector):
                    c = math.ceil(ins.ops / lanes)
                    self.cost[r, b] = (c, c, c, 0, 0)
                else:
                    c = self.dram.transfer_cycles(ins.bits)
                    if isinstance(ins, Load) and ins.decode:  # the decoder holds the channel
                        assert arch.weight_decoder is not None, "validated: decode needs one"
                        c = max(c, arch.weight_decoder.decode_cycles(ins.decode))
                    self.cost[r, b] = (c, c, c, 0, 0)
        self.sched = build(runs, counts, arch, mode)

    # -- running and accounting ------------------------------------------------------------

    def run(self, windows: bool = True) -> None:
        """Simulate and keep the books per window, which :meth:`periodic` reads; without
        ``windows`` (every run simulated whole), one window per run."""
        timeline = play(self.runs, self.sched, self.cost, self.dram, record=self.trace)
        if timeline is None:  # rare, and simpy takes a while to import
            from hwsim._processes import play_processes

            timeline = play_processes(self.runs, self.sched, self.cost, self.dram)
        self.t_done, self.qwait = timeline.t_done, timeline.qwait
        self.consumed, self.resumed = timeline.consumed, timeline.resumed
        self.primary, self.events = timeline.primary, timeline.events
        t_done, sched = self.t_done, self.sched
        # a window (run r's period w) is a range of ids: its time is their latest
        win_time: dict[tuple[int, int], int] = defaultdict(int)
        # ids per period
        spans = [p * len(r.body) for p, r in zip(self.periods, self.runs, strict=True)]
        covered = 0  # ids in windows
        for r, (base, n, span) in enumerate(zip(sched.bases, self.counts, spans, strict=True)):
            for w in range(n // self.periods[r] if windows else 0):
                lo = base + w * span
                win_time[r, w] = max(0, max(t_done[lo:lo + span]))
                covered += span
        self.win_time = win_time
        self.T = max(win_time.values()) if covered == sched.size and covered else \
            max(t_done, default=0)
        if not windows:
            spans = [n * len(r.body) + 1 for n, r in zip(self.counts, self.runs, strict=True)]
        # Windows are numbered across runs (``first[r] + w``) while the books are kept, which
        # follow the issues (by cycle) and so move between runs rarely.
        first = list(itertools.accumulate((-(-n * len(run.body) // span) for n, run, span
                                           in zip(self.counts, self.runs, spans, strict=True)),
                                          initial=0))
        busy = [0] * first[-1]
        gaps: dict[int, dict[str, int]] = {}
        qwait, bases, ends = self.qwait, sched.bases, (*sched.bases[1:], sched.size)
        free = lo = hi = base = span = w0 = 0
        g, g_lo, g_hi, added = -1, 0, 0, 0  # the window of the last issue: its ids, its busy
        for x, occ, cause, key, via in self.primary:  # by issue cycle
            if not g_lo <= key < g_hi:
                if g >= 0:
                    busy[g] += added
                if not lo <= key < hi:
                    r = bisect.bisect_right(bases, key) - 1
                    lo, hi, base, span, w0 = bases[r], ends[r], bases[r], spans[r], first[r]
                g = w0 + (key - base) // span
                g_lo = base + (g - w0) * span
                g_hi, added = min(g_lo + span, hi), 0
            if x > free:
                gap = x - free
                queued = min(gap, qwait[via]) if via is not None else 0
                if queued or gap - queued:
                    books = gaps.setdefault(g, defaultdict(int))
                    if queued:
                        books["dram_bw"] += queued
                    if gap - queued:
                        books[cause] += gap - queued
                added += occ
                free = x + occ
            elif x + occ > free:
                added += x + occ - free
                free = x + occ
        if g >= 0:
            busy[g] += added
        win_busy: dict[tuple[int, int], int] = defaultdict(int)
        self.win_gaps: dict[tuple[int, int], dict[str, int]] = defaultdict(
            lambda: defaultdict(int))
        for r in range(len(self.runs)):
            for g in range(first[r], first[r + 1]):
                win_busy[r, g - first[r]] = busy[g]
                if g in gaps:
                    self.win_gaps[r, g - first[r]] = gaps[g]
        self.win_busy = win_busy
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
        P = self.periods[r]
        back, fwd = self.sched.reach[r]
        hi = sim_periods - 1 - -(-fwd // P)
        span = max(1, -(-back // P))
        t, L = self.t_done, len(self.runs[r].body)
        for c in range(1, max_cyclicity + 1):
            ws = range(hi - span - c, hi)  # also compare the aggregates over 2c windows
            if ws.start - c < 1:
                break
            if not all(self._window(r, w) == self._window(r, w - c) for w in ws):
                continue
            lam = self.win_time[r, hi - 1] - self.win_time[r, hi - 1 - c]
            shift = c * P * L  # ids c periods back
            lo, hi_id = self.sched.id(r, (hi - span) * P, 0), self.sched.id(r, hi * P, 0)
            if all(a < 0 or (b >= 0 and a - b == lam)
                   for a, b in zip(t[lo:hi_id], t[lo - shift:hi_id - shift], strict=True)):
                lam_b = sum(self._window(r, w)[1] for w in range(hi - c, hi))
                gaps: dict[str, int] = defaultdict(int)
                for w in range(hi - c, hi):
                    for cause, n in self.win_gaps[r, w].items():
                        gaps[cause] += n
                return c, hi, (lam, lam_b, dict(gaps))
        return None

    def extrapolate(self, inserts: list) -> Timed | None:
        """Totals with the closed-form periods inserted; ``None`` if the books do not close."""
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

        # every event of run r after window at[r] moves by own[r], every event of a later run
        # by the shifts of all earlier runs
        at_of = {r: at for r, at, _ in shift_after}
        own = {r: s for r, _, s in shift_after}
        before, acc = [], 0
        for r in range(len(self.runs)):
            before.append(acc)
            acc += own.get(r, 0)
        periods = self.periods
        events = self.events
        markers = []
        for r, at, span in shift_after:
            start = self.win_time[r, at - 1] + before[r] + own[r] - span
            markers.append(TraceEvent("steady state", f"run {r} ({self.runs[r].name}): "
                                      f"{span} cycles in closed form", start, span))

        if not self.trace:
            return Timed(total, busy, tuple(sorted((c, n) for c, n in stalls.items() if n)),
                         tuple)

        def trace() -> tuple[TraceEvent, ...]:
            out = []
            for track, name, start, dur, x in events:
                r, i, _ = self.sched.key(x)
                s = before[r]
                if r in own and i // periods[r] >= at_of[r]:
                    s += own[r]
                out.append(TraceEvent(track, name, start + s, dur))
            out += markers
            return tuple(sorted(out, key=lambda e: (e.start, e.track)))

        return Timed(total, busy, tuple(sorted((c, n) for c, n in stalls.items() if n)), trace)
