"""Fast-forward inside long periods: a run whose period is ``P`` iterations of one repeating
step between a few boundary steps (a reduction of ``P`` k tiles between an output tile's
first load and its store) is simulated with its periods cut to ``K`` steps, and each period's
``P - K`` missing steps are inserted in closed form, exactly.

The engine's steady-state fast-forward (:mod:`hwsim.engine`) needs several whole periods
simulated before a run shows its periodic regime; with periods of hundreds of k steps that is
thousands of instances per layer, almost all of them identical steps in a period's interior.

Which runs: every instruction runs every iteration (``every`` 1) or once per period
(``every`` = ``P``) in a window whose ends lie within :data:`EDGE` phases of the period's
start or end. Cutting a period to ``K`` phases keeps each window's ends at the same distance
from the nearer boundary (:func:`compress`); the channel order, which places each transfer by
its iteration, is the same near every boundary.

Why it is exact, and what is checked. The interior may repeat in blocks of ``c`` steps (a
channel that serves three loads in the time of two steps, say). Let run ``A`` keep ``K``
phases per period and run ``B`` ``K + c``: ``B`` is ``A`` with one block inserted in every
period, after phase ``m``. :func:`interior_fast_forward` simulates both (same prefix of
periods; ``A`` with the outer fast-forward) and requires:

1. *The block repeats* in ``A``: in every simulated period, over the checked phases up to
   ``m``, every instance completes, is read and resumes its unit exactly ``delta`` cycles
   after its counterpart ``c`` steps earlier, queues as long on the channel and issues with
   the same gap and cause; and every wait of those steps reaches back within the checked
   phases or before the period's interior (a long wait). So the state that determines the
   next step, the events within the waits' reach, repeats shifted by ``delta``: an inserted
   block repeats it once more.
2. *The insertion only shifts* (``B`` against ``A``): every array and vector instance of ``B``
   before the insertion equals its counterpart in ``A``, and every one after it its
   counterpart shifted by the inserted blocks' ``delta`` s, with the same busy cycles, gaps
   and stall causes; transfers move as much or less (a load prefetched into the next run,
   ahead of the last insertions, arrives earlier against its readers); the end moves by
   every insertion. So no long wait decides any time or cause after an insertion. More
   insertions move a long wait's waiter later against its target (targets lie before the
   insertion), so a wait that decides nothing with one insertion decides nothing with more.

Then inserting ``(P - K) / c`` blocks per period adds, per period, that many ``delta`` s to
every later time, and the inserted blocks' busy and stall cycles: the totals of the run with
``P`` phases. ``K`` is chosen so that ``P - K`` is a multiple of every ``c`` up to 4. Anything
that fails a check falls back to simulating the run as it is.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections import defaultdict
from collections.abc import Callable

from hwsim._sim import LayerSim, Timed
from hwsim.isa import Load, Run, Store, window_of

log = logging.getLogger(__name__)

__all__ = ["EDGE", "KEEP", "MIN_PERIOD", "Prefix", "compress", "interior_fast_forward"]

MIN_PERIOD = 64
"""Runs with shorter periods are simulated as they are."""

KEEP = 24
"""Phases a cut period keeps, at least: the boundary steps, the first steps of a period
(where the units settle) and the interior steps checked."""

EDGE = 2
"""How near a period's start or end a once-per-period instruction's window may end."""

BLOCKS = 12
"""``P - K`` is a multiple of this: of every interior cyclicity up to 4."""

Issued = tuple[int, int, int, str, "int | None"]  # issue, busy, gap, cause, via


@dataclasses.dataclass(frozen=True, slots=True)
class Prefix:
    """What the engine's prefix-and-extrapolate made of some runs: the simulation of the
    prefix, per run the periods simulated, the outer insertion ``(k, at, increments)`` (or
    ``None``) and its cyclicity, and the totals."""

    sim: LayerSim
    periods: list[int]
    inserts: list
    cyclicity: list[int]
    timed: Timed


def cut_lengths(runs: tuple[Run, ...], keep: int) -> tuple[int, ...] | None:
    """Per run, the phases its periods keep when cut to about ``keep`` (0: not cut; ``P -
    kept`` a multiple of :data:`BLOCKS`), or ``None`` if no run is cut or a long run's pattern
    is not boundary-local (module doc)."""
    lengths = []
    for run in runs:
        P = run.period
        kept = keep + (P - keep) % BLOCKS
        if P < MIN_PERIOD or kept + 2 * EDGE >= P:
            lengths.append(0)
            continue
        for ins in run.body:
            if ins.every == 1:
                continue
            if ins.every != P or any(EDGE < x < P - EDGE for x in window_of(ins)):
                return None
        lengths.append(kept)
    return tuple(lengths) if any(lengths) else None


def compress(runs: tuple[Run, ...], lengths: tuple[int, ...]) -> tuple[Run, ...]:
    """``runs`` with the periods of run ``r`` cut to ``lengths[r]`` phases (0: as it is), each
    window's ends kept at their distance from the nearer boundary."""
    out = []
    for run, kept in zip(runs, lengths, strict=True):
        if not kept:
            out.append(run)
            continue
        P = run.period
        body = []
        for ins in run.body:
            if ins.every != 1:
                lo, hi = (x if x <= EDGE else x - (P - kept) for x in window_of(ins))
                ins = dataclasses.replace(ins, every=kept, window=(lo, hi))
            body.append(ins)
        out.append(Run(tuple(body), run.count // P * kept, run.name))
    return tuple(out)


def _issued(sim: LayerSim) -> dict[int, Issued]:
    """Per primary instance id: its issue cycle, the busy cycles it adds, the gap before it,
    what the gap is charged to and the transfer it waited for, as :meth:`LayerSim.run`
    accounts them."""
    out: dict[int, Issued] = {}
    free = 0
    for x, occ, cause, key, via in sim.primary:
        if x > free:
            out[key] = (x, occ, x - free, cause, via)
            free = x + occ
        elif x + occ > free:
            out[key] = (x, x + occ - free, 0, "", None)
            free = x + occ
        else:
            out[key] = (x, 0, 0, "", None)
    return out


def _books(sim: LayerSim, issued: Issued, shift: int) -> tuple:
    """An issue as the books see it, ``shift`` cycles earlier: when, the busy cycles it adds,
    and the gap before it split into queueing on the channel and its cause."""
    x, added, gap, cause, via = issued
    queued = min(gap, sim.qwait[via]) if gap and via is not None else 0
    return (x - shift, added, gap, queued, cause if gap - queued else "")


def _step_ids(sim: LayerSim, r: int, i: int) -> list[int]:
    """The ids of run ``r``'s iteration ``i`` that were simulated."""
    x0, t = sim.sched.id(r, i, 0), sim.t_done
    return [x for x in range(x0, x0 + len(sim.runs[r].body)) if t[x] >= 0]


def _repeats(sim: LayerSim, issued: dict[int, Issued], r: int, first: int, last: int,
             c: int) -> int | None:
    """``delta`` if run ``r``'s steps ``first..last`` each repeat the step ``c`` before,
    shifted by ``delta`` (check 1 of the module doc), else ``None``."""
    t, qwait = sim.t_done, sim.qwait
    tables = [table for table in (sim.consumed, sim.resumed) if table is not None]
    shift = c * len(sim.runs[r].body)  # ids c steps back
    delta = None
    for i in range(first, last + 1):
        now, before = _step_ids(sim, r, i), _step_ids(sim, r, i - c)
        if not now or [k - shift for k in now] != before:
            return None
        for k, k0 in zip(now, before, strict=True):
            d = t[k] - t[k0]
            if delta is None:
                delta = d
            if d != delta or d <= 0:
                return None
            for table in tables:  # (-1: not an array or vector instance)
                if (table[k] < 0) != (table[k0] < 0) or (
                        table[k] >= 0 and table[k] - table[k0] != d):
                    return None
            if qwait[k] != qwait[k0]:
                return None
            a, b = issued.get(k), issued.get(k0)
            if (a is None) != (b is None):
                return None
            if a is not None and b is not None:
                via = a[4] if a[4] is None else a[4] - shift
                if _books(sim, a, d) != _books(sim, b, 0) or via != b[4]:
                    return None
    return delta


def _reach_ok(sim: LayerSim, r: int, base: int, first: int, last: int) -> bool:
    """Whether every wait of run ``r``'s steps ``first..last`` (period starting at ``base``)
    reaches back at most as many steps as they are, or before the period's interior (step
    ``base + EDGE`` or earlier: a long wait). A step after them, which repeats one of them,
    then waits only on them and on what lies before the interior."""
    deps, slot, L = sim.sched.deps, sim.sched.slot, len(sim.runs[r].body)
    reach = last - first + 1
    for i in range(first, last + 1):
        for k in _step_ids(sim, r, i):
            b = k - sim.sched.id(r, i, 0)
            for d in (*deps[k], *(slot[k] or ())):  # (waits stay inside a run)
                waited = i + (b + d) // L
                if waited > base + EDGE and i - waited > reach:
                    return False
    return True


def interior_fast_forward(runs: tuple[Run, ...], steady: Callable[[tuple[Run, ...]], Prefix],
                          prefix: Callable[[tuple[Run, ...], list[int]], LayerSim],
                          ) -> Timed | None:
    """The totals of ``runs`` by the fast-forward of the module doc, or ``None`` where it
    does not apply or a check fails. ``steady(runs)`` is the engine's prefix-and-extrapolate,
    ``prefix(runs, periods)`` its event-by-event simulation of ``periods`` periods per run."""
    slots = max((ins.slots for run in runs for ins in run.body
                 if isinstance(ins, Load) and ins.every == 1), default=2)
    keep = max(KEEP, 2 * (slots + 6) + 2 * EDGE + 6)
    shortest = min((p for p in (r.period for r in runs) if p >= MIN_PERIOD), default=0)
    while 3 * keep <= shortest:  # (worth it while the two cut periods are the shorter)
        lengths = cut_lengths(runs, keep)
        if lengths is None:
            return None
        found = _try(runs, lengths, steady, prefix, slots)
        if found is None or isinstance(found, Timed):
            return found
        keep *= 2
    return None


def _try(runs: tuple[Run, ...], lengths: tuple[int, ...],
         steady: Callable[[tuple[Run, ...]], Prefix],
         prefix: Callable[[tuple[Run, ...], list[int]], LayerSim],
         slots: int) -> Timed | bool | None:
    """:func:`interior_fast_forward` with periods cut to ``lengths``: the totals, ``None``
    if it does not apply, ``False`` if an interior did not repeat (a longer cut period may)."""
    a = steady(compress(runs, lengths))
    if a.sim.counts != [p * q for p, q in zip(a.periods, a.sim.periods, strict=True)]:
        log.debug("cut to %s: the accounting fell back to every iteration", lengths)
        return None
    sim_a = a.sim
    if sim_a.consumed is None or sim_a.resumed is None:
        return None  # (simulated as processes: not recorded)
    issued_a = _issued(sim_a)

    # check 1, per cut run and simulated period: the interior's block c and its delta
    blocks: list[int] = [0] * len(runs)
    deltas: dict[tuple[int, int], int] = {}
    for r, kept in enumerate(lengths):
        if not kept:
            continue
        m = kept - EDGE - 3  # the insertion follows phase m
        for c in range(1, 5):
            span = slots + 3 + c  # steps checked: the waits' reach and a block
            ok = m - span - c > EDGE + 4
            found = {}
            for w in range(a.periods[r] if ok else 0):
                base = w * kept
                delta = _repeats(sim_a, issued_a, r, base + m - span + 1, base + m, c)
                if delta is None or not _reach_ok(sim_a, r, base, base + m - span + 1,
                                                   base + m):
                    ok = False
                    break
                found[w] = delta
            if ok:
                blocks[r] = c
                deltas.update({(r, w): d for w, d in found.items()})
                break
        else:
            log.debug("cut to %d: run %d's interior does not repeat", kept, r)
            return False
    b_lengths = tuple(kept + blocks[r] if kept else 0 for r, kept in enumerate(lengths))
    sim_b = prefix(compress(runs, b_lengths), a.periods)
    issued_b = _issued(sim_b)

    # every event of a run moves by the blocks inserted in the runs before it
    before = [0] * len(runs)
    for r in range(1, len(runs)):
        before[r] = before[r - 1] + sum(deltas.get((r - 1, w), 0)
                                        for w in range(a.periods[r - 1]))
    # check 2: B is A with a block inserted after phase m of every cut period
    moved = _moved(sim_a, sim_b, issued_a, issued_b, lengths, blocks, deltas, before,
                   a.periods)
    if moved is not None:
        log.debug("cut to %s: inserting a block moves %s by %s, not %d", lengths, *moved)
        return False
    last = len(runs) - 1
    if before[last] + sum(deltas.get((last, w), 0)
                                               for w in range(a.periods[last])) != sim_b.T - sim_a.T:
        log.debug("cut to %s: the end moves by other than the insertions", lengths)
        return False
    inserted = sum(len(_step_ids(sim_b, r, w * (kept + blocks[r]) + kept - EDGE - 2 + j))
                   for r, kept in enumerate(lengths) if kept
                   for w in range(a.periods[r]) for j in range(blocks[r]))
    if sim_b.sched.instance_count != sim_a.sched.instance_count + inserted:
        log.debug("cut to %s: inserting blocks changed the instances", lengths)
        return None

    # the totals: A's, plus per cut period its blocks, each as A's block ending at phase m
    total, busy = a.timed.cycles, a.timed.busy
    stalls: dict[str, int] = defaultdict(int, dict(a.timed.stalls))
    for r, kept in enumerate(lengths):
        if not kept:
            continue
        c, m = blocks[r], kept - EDGE - 3
        n_blocks = (runs[r].period - kept) // c
        times = [1] * a.periods[r]  # the outer fast-forward repeats windows [at - cyc, at)
        if a.inserts[r] is not None:
            k, at, _ = a.inserts[r]
            for w in range(at - a.cyclicity[r], at):
                times[w] += k
        for w, n in enumerate(times):
            block_busy, block_gaps = 0, defaultdict[str, int](int)
            for j in range(c):
                step_busy, step_gaps = _step_books(sim_a, issued_a, r, w * kept + m - j)
                block_busy += step_busy
                for cause, g in step_gaps.items():
                    block_gaps[cause] += g
            total += n * n_blocks * deltas[r, w]
            busy += n * n_blocks * block_busy
            for cause, g in block_gaps.items():
                stalls[cause] += n * n_blocks * g
    if total != busy + sum(stalls.values()):
        log.debug("cut to %s: the books do not close", lengths)
        return None
    return Timed(total, busy, tuple(sorted((c, n) for c, n in stalls.items() if n)), tuple)


def _moved(sim_a: LayerSim, sim_b: LayerSim, issued_a: dict[int, Issued],
           issued_b: dict[int, Issued], lengths: tuple[int, ...], blocks: list[int],
           deltas: dict[tuple[int, int], int], before: list[int], periods: list[int],
           ) -> tuple[tuple[int, int, int], int | None, int] | None:
    """Check 2 of the module doc: ``None`` if every instance of ``B`` is its counterpart in
    ``A`` shifted by the blocks inserted before it (array and vector instances exactly, with
    the same books; transfers by as much or less), else the first that is not, ``((run,
    iteration, index), its move, the shift)``.

    A period of a cut run is two stretches of iterations, each matched to consecutive
    iterations of ``A`` at one shift: phases up to ``m``, and the inserted block with the
    phases after it (the block copies the ``c`` phases before it). Compared per stretch and
    body index, over strided slices of the completion times."""
    t_b, t_a = sim_b.t_done, sim_a.t_done
    id_a, id_b = sim_a.sched.id, sim_b.sched.id
    for r, (kept, c) in enumerate(zip(lengths, blocks, strict=True)):
        body, n_a = sim_a.runs[r].body, sim_a.counts[r]
        L = len(body)
        if kept:
            if sim_b.counts[r] != periods[r] * (kept + c):
                return (r, 0, 0), None, 0
            m = kept - EDGE - 3
            own = list(itertools.accumulate((deltas[r, w] for w in range(periods[r])),
                                            initial=0))
            # (first iteration in B, first in A, iterations, shift)
            stretches = [s for w in range(periods[r]) for s in (
                (w * (kept + c), w * kept, m + 1, before[r] + own[w]),
                (w * (kept + c) + m + 1, w * kept + m + 1 - c, kept + c - m - 1,
                 before[r] + own[w] + deltas[r, w]))]
        else:
            stretches = [(0, 0, sim_b.counts[r], before[r])]
        for i_b, i_a, n, shift in stretches:
            if i_a + n > n_a:  # (B runs past A: nothing there to match)
                return (r, i_b, 0), None, shift
            x_b, x_a = id_b(r, i_b, 0), id_a(r, i_a, 0)
            for b, ins in enumerate(body):
                primary = not isinstance(ins, (Load, Store))
                lo_b, lo_a = x_b + b, x_a + b
                for j, (t, ta) in enumerate(zip(t_b[lo_b:lo_b + n * L:L],
                                                t_a[lo_a:lo_a + n * L:L], strict=True)):
                    if t < 0:
                        continue
                    if ta < 0 or (t - ta != shift if primary else t - ta > shift):
                        return (r, i_b + j, b), None if ta < 0 else t - ta, shift
                    if primary:
                        is_b, is_a = issued_b[lo_b + j * L], issued_a[lo_a + j * L]
                        if is_b[1] != is_a[1] or is_b[2] != is_a[2] or (is_b[2] and (
                                _books(sim_b, is_b, shift) != _books(sim_a, is_a, 0))):
                            return (r, i_b + j, b), t - ta, shift
    return None


def _step_books(sim: LayerSim, issued: dict[int, Issued], r: int,
                i: int) -> tuple[int, dict[str, int]]:
    """Busy cycles and stall cycles by cause that run ``r``'s step ``i`` adds, as
    :meth:`LayerSim.run` splits them (a gap's queueing on the channel is ``dram_bw``)."""
    busy, gaps = 0, defaultdict[str, int](int)
    for key in _step_ids(sim, r, i):
        x = issued.get(key)
        if x is None:
            continue
        _, added, gap, queued, cause = _books(sim, x, 0)
        busy += added
        if queued:
            gaps["dram_bw"] += queued
        if gap - queued:
            gaps[cause] += gap - queued
    return busy, dict(gaps)
