"""The static structure of a layer's truncated runs, before any timing: which instances exist,
what each one waits for, and the DRAM channel's fixed order (semantics in :mod:`hwsim.isa`,
model in :mod:`hwsim.engine`). :class:`hwsim._sim.LayerSim` only adds the clock.

Everything is precomputed per (run, body index) from the instance iterations inside the
simulated prefix, so the simulation itself does no modular arithmetic. Positions in the DRAM
order come from the pattern extended periodically (:func:`hwsim.isa.latest_instance`), so they
do not depend on where a prefix is cut: a truncated run ends exactly as the whole run does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise

from hwsim.config import Arch
from hwsim.isa import (
    Compute,
    Instr,
    Load,
    Run,
    Store,
    latest_instance,
    next_instance,
    window_of,
)
from hwsim.timing import stream_cycles

Key = tuple[int, int, int]  # (run, iteration, body index)
OrderKey = tuple[Fraction, int, int, int]  # (position in iterations, stores first, iter, body)


def nominal(arch: Arch, ins: Instr, mode: str) -> tuple[Fraction, Fraction]:
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


def spans(arch: Arch, ins: Compute, first: int, mode: str) -> tuple[int, int]:
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


def load_streams(body: tuple[Instr, ...], period: int) -> dict[int, tuple[int, ...]]:
    """Body index of each load -> the loads of its stream (see :mod:`hwsim.isa`)."""
    by_buffer: dict[str, list[int]] = {}
    for b, ins in enumerate(body):
        if isinstance(ins, Load):
            by_buffer.setdefault(ins.buffer, []).append(b)
    streams: dict[int, tuple[int, ...]] = {}
    for members in by_buffer.values():
        # the pattern repeats every period, so one period shows whether two loads coincide
        disjoint = all(sum(latest_instance(body[b], i) == i for b in members) <= 1
                       for i in range(period))
        for b in members:
            streams[b] = tuple(members) if disjoint else (b,)
    return streams


@dataclass(slots=True)
class Schedule:
    """Instances of ``runs`` truncated to ``counts`` iterations, with their waits.

    ``array``/``vector``: instances in program order; ``order``: loads and stores in the DRAM
    channel's order; ``deps``: the instances each instance's data waits for; ``slot``: for a
    load, the instances whose operand reads free its SRAM slot; ``out``: for the first
    Compute/Vector of an output group, the stores whose drain frees its output slot;
    ``reach``: per run, how many iterations back and forward any wait reaches (so how many
    periods of history determine the future, and how far the end of a run is felt).
    """

    array: list[Key] = field(default_factory=list)
    vector: list[Key] = field(default_factory=list)
    loads: list[Key] = field(default_factory=list)
    stores: list[Key] = field(default_factory=list)
    order: list[Key] = field(default_factory=list)
    deps: dict[Key, list[Key]] = field(default_factory=dict)
    slot: dict[Key, list[Key]] = field(default_factory=dict)
    out: dict[Key, list[Key]] = field(default_factory=dict)
    reach: list[tuple[int, int]] = field(default_factory=list)

    def measure_reach(self, runs: int) -> None:
        back, fwd = [0] * runs, [0] * runs

        def see(waiter: Key, waited: Key) -> None:
            if waiter[0] == waited[0]:
                d = waiter[1] - waited[1]
                back[waiter[0]] = max(back[waiter[0]], d)
                fwd[waiter[0]] = max(fwd[waiter[0]], -d)

        for waits in (self.deps, self.slot, self.out):
            for key, keys in waits.items():
                for k in keys:
                    see(key, k)
        for seq in (self.array, self.vector, self.loads, self.stores, self.order):
            for a, b in pairwise(seq):
                see(b, a)
        self.reach = list(zip(back, fwd, strict=True))


def build(runs: tuple[Run, ...], counts: list[int], arch: Arch, mode: str) -> Schedule:
    sched = Schedule()
    loads: list[tuple[OrderKey, Key]] = []
    stores: list[tuple[OrderKey, Key]] = []
    offset = 0
    for r, run in enumerate(runs):
        # A load that waits for a slot waits for this run's computes, which follow every
        # compute of the earlier runs, some of which wait for the earlier runs' stores: it
        # must not precede those stores on the channel (it would deadlock). Loads into still
        # empty slots may go earlier (prefetch across runs).
        floor = max((k[0] for k, _ in stores), default=None)
        first = len(loads)
        _build_run(sched, r, run, counts[r], offset, arch, mode, loads, stores)
        if floor is not None:
            for j in range(first, len(loads)):
                (pos, tie, g, b), key = loads[j]
                if sched.slot[key] and pos < floor:
                    loads[j] = ((floor, tie, g, b), key)
        offset += counts[r]
    sched.loads = [key for _, key in sorted(loads)]
    sched.stores = [key for _, key in sorted(stores)]
    sched.order = [key for _, key in sorted(loads + stores)]
    sched.measure_reach(len(runs))
    return sched


def _build_run(sched: Schedule, r: int, run: Run, n: int, offset: int, arch: Arch, mode: str,
               loads: list[tuple[OrderKey, Key]], stores: list[tuple[OrderKey, Key]]) -> None:
    body = run.body
    iters = []  # instance iterations of each body instruction inside the prefix
    for ins in body:
        lo, hi = window_of(ins)
        iters.append([q + o for q in range(0, n, ins.every) for o in range(lo, hi)])
    consumers = [[c for c, other in enumerate(body) if b in other.deps]
                 for b in range(len(body))]

    # Fixed DRAM channel order, in units of iterations: a load where its slot frees (after
    # the consumers of the stream's instance two before have read their operands), a store
    # where its results are complete, capped so that it precedes every load whose consumer
    # waits for its output slot (which would deadlock). Ties: stores first.
    nom = [nominal(arch, ins, mode) for ins in body]
    read_ratio = [max((nom[c][0] for c in consumers[b]), default=Fraction(1))
                  for b in range(len(body))]
    lag_ratio = [max((nom[d][1] for d in ins.deps), default=Fraction(1)) for ins in body]
    min_read = min((read_ratio[b] for b, ins in enumerate(body) if isinstance(ins, Load)),
                   default=Fraction(1))

    def stream_prev(members: tuple[int, ...], i: int) -> tuple[int, int]:
        """(iteration, body index) of the stream's instance before iteration ``i``."""
        return max((latest_instance(body[m], i - 1), m) for m in members)

    def last_reader(b: int, i: int, end: int | None) -> list[tuple[int, int]]:
        """Per consumer of load instance (i, b): its last instance that reads it (before
        iteration ``end`` if given)."""
        stop = next_instance(body[b], i) - 1
        stop = stop if end is None else min(stop, end - 1)
        out = []
        for c in consumers[b]:
            ci = latest_instance(body[c], stop)
            if ci >= i:
                out.append((ci, c))
        return out

    streams = load_streams(body, run.period)
    for b, ins in enumerate(body):
        if not isinstance(ins, Load):
            continue
        members = streams[b]
        for i in iters[b]:
            prev_i, _ = stream_prev(members, i)
            i2, b2 = stream_prev(members, prev_i)
            free_at = max([prev_i - 1] + [ci for ci, _ in last_reader(b2, i2, None)])
            key = (r, i, b)
            loads.append(((offset + free_at + read_ratio[b2], 1, offset + i, b), key))
            sched.slot[key] = [(r, ci, c) for ci, c in last_reader(b2, i2, n)] if i2 >= 0 else []

    store_idx = [b for b, ins in enumerate(body) if isinstance(ins, Store)]
    for b in store_idx:
        ins = body[b]
        for i in iters[b]:
            cap = next_instance(ins, i) + 1 + min_read
            stores.append(((offset + min(i + lag_ratio[b], cap), 0, offset + i, b), (r, i, b)))

    # Output groups: group g ends with the g-th store instance; its first Compute/Vector
    # waits for the drain of group g - 2.
    store_iters = iters[store_idx[0]] if store_idx else []
    group, seen = 0, -1
    for i in range(n):
        for b, ins in enumerate(body):
            if isinstance(ins, Load | Store) or latest_instance(ins, i) != i:
                continue
            key = (r, i, b)
            (sched.array if isinstance(ins, Compute) else sched.vector).append(key)
            while group < len(store_iters) and store_iters[group] < i:
                group += 1
            if store_idx and group != seen:
                seen = group
                if group >= 2:
                    sched.out[key] = [(r, store_iters[group - 2], s) for s in store_idx]
    for b, ins in enumerate(body):
        for i in iters[b]:
            sched.deps[r, i, b] = [(r, di, d) for d in ins.deps
                                   if (di := latest_instance(body[d], i)) >= 0]
