"""A layer's program as the RTL accelerator (``rtl/accel.v``) executes it: its runs unrolled
into two in-order queues whose waits are counters, as a decoupled access/execute machine
keeps them.

The engine (:mod:`hwsim.engine`) evaluates a layer's runs as a max-plus system over
instances (:mod:`hwsim._schedule` fixes what waits for what, :mod:`hwsim._timeline` adds the
clock). The accelerator executes the same instances from two queues:

- the **DMA queue**: every load and store, in the DRAM channel's fixed order
  (:attr:`hwsim._schedule.Schedule.order`);
- the **tile queue**: every array tile, in program order.

Every wait of the engine becomes one counter comparison, because each kind of event
completes in queue order (the tiles' closed forms make a later tile read its operands and
finish after an earlier one; the channel serves in order):

- a tile issues once the first ``after_data`` DMA entries have their data in SRAM, and once
  DMA entry ``after_drain - 1`` (the store that drains its output slot) ends by the tile's
  first result write (the DMA plans transfers ahead, so that end is known in time:
  :func:`replay`);
- a load starts once the first ``after`` tiles have read their operands (its SRAM slot is
  free), a store once the first ``after`` tiles are complete (its results are in the slot).

:func:`replay` evaluates those rules; the tests hold it equal, instance for instance, to the
engine (:func:`engine_times`), which is what the RTL is held to.

Slots are per stream: each load stream of a run gets ``slots`` SRAM slots of its buffer, and
each run two output slots, none shared with another run (the engine lets a run's first loads
and first output groups go ahead of the previous run's reads and drains, which only separate
slots allow). :attr:`Encoded.slots` says how many each buffer needs; the accelerator lays
each over as many of its SRAM slots as the largest load into it fills (a resident block
spans several). An operand a run does not load (``mnk`` and ``Nmnk`` nests keep inputs or a
weight block resident across runs) is read from the slot of its buffer's latest load in an
earlier run (:attr:`TileEntry.resident`). An ``nkm`` nest's output group keeps a partial sum
per m tile in regions of its slot (:attr:`TileEntry.out_region`).

Not encodable yet (a :class:`hwsim.errors.ProgramError` names the instruction): vector
instructions, loads into the output buffer (partial sums from DRAM), decoded weight loads.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

from hwsim._schedule import Key, Keyed
from hwsim._sim import LayerSim
from hwsim._template import load_streams
from hwsim.config import Arch
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Layer, Load, Store, window_of
from hwsim.timing import check_mode

__all__ = ["DmaEntry", "Encoded", "TileEntry", "Times", "encode_layer", "engine_times",
           "iter_mismatches", "replay"]


@dataclass(frozen=True, slots=True)
class DmaEntry:
    """One transfer, in the channel's order.

    ``buffer``: ``input`` or ``weight`` for a load, ``output`` for a store; ``slot``: its
    physical slot in that buffer; ``beats``: cycles it holds the channel; ``after``: a load
    starts once the first ``after`` tiles have read their operands (its slot is free), a
    store once the first ``after`` tiles are complete (its results are in the slot); a
    store drains ``region`` of its slot (:class:`TileEntry`)."""

    key: Key
    store: bool
    buffer: str
    slot: int
    bits: int
    beats: int
    after: int
    region: int = 0


@dataclass(frozen=True, slots=True)
class TileEntry:
    """One array tile, in program order: ``m x k x n`` reading ``input_slot`` and
    ``weight_slot``, writing ``out_slot`` (adding to it when ``accumulate``: not the first
    tile of its output group). It issues once the first ``after_data`` DMA entries have their
    data in SRAM, and writes its first result once the first ``after_drain`` DMA entries
    have left the channel (0: no wait).

    An operand the tile's run does not load is *resident*: ``resident`` names it
    (``"input"``, ``"weight"`` or ``""``), and its slot is that of the latest load of its
    buffer in an earlier run (an ``mnk`` nest's inputs, loaded with an m tile's first n
    tile and read by the others; an ``Nmnk`` weight block, loaded with a class's first m
    tile). The tile does not wait for it: the earlier run's tiles, which precede it on the
    array, did.

    ``out_region``: the partial sum of its output group it adds to, when the group holds
    several (an ``nkm`` nest keeps one per m tile across the k steps; 0 otherwise).
    ``input_load`` and ``weight_load``: the DMA entries whose data the tile reads (which
    wrote ``input_slot`` and ``weight_slot``)."""

    key: Key
    dataflow: str
    m: int
    k: int
    n: int
    w_bits: int
    a_bits: int
    input_slot: int
    weight_slot: int
    out_slot: int
    accumulate: bool
    after_data: int
    after_drain: int
    resident: str = ""
    out_region: int = 0
    input_load: int = -1
    weight_load: int = -1


@dataclass(frozen=True, slots=True)
class Encoded:
    """A layer's two queues and what executing them needs: physical slots per buffer
    (``input``, ``weight``, ``output``), the channel's latency in cycles, and per tile its
    (occupancy, result latency, operand read span, first result write, spacing of first
    result writes) in cycles."""

    name: str
    dma: tuple[DmaEntry, ...]
    tiles: tuple[TileEntry, ...]
    slots: dict[str, int]
    latency: int
    tile_costs: tuple[tuple[int, int, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class Times:
    """Per DMA entry (start, end, done); per tile (issue, done, operands read); the layer's
    cycles (the last done)."""

    dma: tuple[tuple[int, int, int], ...]
    tiles: tuple[tuple[int, int, int], ...]
    cycles: int


def encode_layer(layer: Layer, arch: Arch, mode: str = "native") -> Encoded:
    """The queues of ``layer`` on ``arch`` (module doc). Raises :class:`ProgramError` for an
    instruction the accelerator does not execute."""
    check_mode(mode)
    runs = layer.runs
    for r, run in enumerate(runs):
        for b, ins in enumerate(run.body):
            _check_encodable(layer.name, r, b, ins)
    sim = LayerSim(runs, [run.count for run in runs], arch, mode, trace=False)
    sched = sim.sched.keyed()
    tile_index = {key: t for t, key in enumerate(sched.array)}
    dma_index = {key: j for j, key in enumerate(sched.order)}
    slot_of, slots = _load_slots(layer, sched)
    out_of, accumulate, out_slots = _output_slots(layer, sched)

    dma = []
    for key in sched.order:
        r, _, b = key
        ins = runs[r].body[b]
        if isinstance(ins, Load):
            after = 1 + max((tile_index[k] for k in sched.slot[key]), default=-1)
            buffer, slot = ins.buffer, slot_of[key]
        else:
            assert isinstance(ins, Store), "checked: the channel carries loads and stores"
            after = 1 + max((tile_index[k] for k in sched.deps[key]), default=-1)
            buffer, (slot, region) = "output", out_of[key]
        dma.append(DmaEntry(key, isinstance(ins, Store), buffer, slot, ins.bits,
                            sim.cost[r, b][0], after, region if isinstance(ins, Store) else 0))

    loaded_before = _loaded_before(layer, sched)
    tiles = []
    for key in sched.array:
        r, _, b = key
        ins = runs[r].body[b]
        assert isinstance(ins, Compute), "checked: the array runs computes only"
        source = {}  # per operand, the load instance whose data the tile reads
        for d in sched.deps[key]:
            dep = runs[d[0]].body[d[2]]
            if not isinstance(dep, Load):
                raise ProgramError(f"layer {layer.name!r}: run {r} instruction {b} waits for "
                                   f"a {dep.op}; the accelerator's tiles wait for loads only")
            source[dep.buffer] = d
        resident = [buf for buf in ("input", "weight") if buf not in source]
        for buf in resident:
            earlier = loaded_before.get((r, buf))
            if earlier is None:
                raise ProgramError(f"layer {layer.name!r}: run {r} instruction {b} reads "
                                   f"{buf} data that no run before it loads")
            source[buf] = earlier
        a, w = source["input"], source["weight"]
        after_data = 1 + max((dma_index[d] for d in sched.deps[key]), default=-1)
        after_drain = 1 + max((dma_index[s] for s in sched.out.get(key, ())), default=-1)
        tiles.append(TileEntry(key, ins.dataflow, ins.m, ins.k, ins.n, ins.w_bits, ins.a_bits,
                               slot_of[a], slot_of[w], out_of[key][0], accumulate[key],
                               after_data, after_drain, "".join(resident), out_of[key][1],
                               dma_index[a], dma_index[w]))
    costs = tuple(sim.cost[key[0], key[2]] for key in sched.array)
    return Encoded(layer.name, tuple(dma), tuple(tiles),
                   {**slots, "output": out_slots}, arch.dram_channel.latency_cycles, costs)


def _check_encodable(name: str, r: int, b: int, ins: object) -> None:
    where = f"layer {name!r}: run {r} instruction {b}"
    if isinstance(ins, Load):
        if ins.buffer == "output":
            raise ProgramError(f"{where} loads partial sums into the output buffer; the "
                               "accelerator loads only input and weight tiles")
        if ins.decode:
            raise ProgramError(f"{where} is a decoded weight load; the accelerator has no "
                               "weight decoder")
    elif not isinstance(ins, Compute | Store):
        raise ProgramError(f"{where} is a {getattr(ins, 'op', type(ins).__name__)} "
                           "instruction; the accelerator has no vector unit")


def _load_slots(layer: Layer, sched: Keyed) -> tuple[dict[Key, int], dict[str, int]]:
    """Physical slot of every load instance: the j-th instance of a stream writes the
    stream's slot ``j mod slots``; every stream of every run has slots of its own."""
    streams = [load_streams(run.body, run.period) for run in layer.runs]
    by_stream: dict[tuple[int, tuple[int, ...]], list[Key]] = {}
    for key in sched.loads:
        by_stream.setdefault((key[0], streams[key[0]][key[2]]), []).append(key)
    slot_of: dict[Key, int] = {}
    used = {"input": 0, "weight": 0}
    for (r, members), keys in by_stream.items():
        first = layer.runs[r].body[members[0]]
        assert isinstance(first, Load)
        base, depth = used[first.buffer], first.slots
        for j, key in enumerate(sorted(keys, key=lambda k: (k[1], k[2]))):
            slot_of[key] = base + j % depth
        used[first.buffer] = base + depth
    return slot_of, used


def _loaded_before(layer: Layer, sched: Keyed) -> dict[tuple[int, str], Key]:
    """Per (run r, buffer), the last load instance into that buffer (in program order) of
    the runs before r: what r's tiles read if r loads none."""
    last: dict[tuple[int, str], Key] = {}  # per (run, buffer), the run's last load
    for key in sched.loads:
        r, i, b = key
        ins = layer.runs[r].body[b]
        assert isinstance(ins, Load)
        known = last.get((r, ins.buffer))
        if known is None or (i, b) > known[1:]:
            last[r, ins.buffer] = key
    before: dict[tuple[int, str], Key] = {}
    running: dict[str, Key] = {}
    for r in range(len(layer.runs)):
        for buf, key in running.items():
            before[r, buf] = key
        for buf in ("input", "weight"):
            if (r, buf) in last:
                running[buf] = last[r, buf]
    return before


def _output_slots(layer: Layer, sched: Keyed,
                  ) -> tuple[dict[Key, tuple[int, int]], dict[Key, bool], int]:
    """Output slot and region of every tile and store, and whether a tile adds to its
    region: a run's output groups alternate between the run's two slots. A group is the
    iterations up to and including a store instance; where the run's store executes ``w > 1``
    times per period (its window: an ``nkm`` nest's stores, one per m tile after the last k
    step), it is the period, holding ``w`` partial sums: iteration ``i`` adds to region
    ``i % every % w`` (the m tile, the fastest loop of nkm), the store at window position
    ``q`` drains region ``q``."""
    out_of: dict[Key, tuple[int, int]] = {}
    accumulate: dict[Key, bool] = {}
    stores_before: dict[int, list[int]] = {}  # per run, iterations of its store instances
    for r, i, _ in sched.stores:
        stores_before.setdefault(r, []).append(i)
    windows = {}  # per run with regions: (every, lo, w) of its store
    for r, run in enumerate(layer.runs):
        store = next((ins for ins in run.body if isinstance(ins, Store)), None)
        if store is not None and (w := window_of(store)[1] - window_of(store)[0]) > 1:
            windows[r] = (store.every, window_of(store)[0], w)

    def group_of(r: int, i: int) -> tuple[int, int]:
        if r in windows:
            every, _, w = windows[r]
            return i // every, i % every % w
        return bisect_left(stores_before.get(r, []), i), 0

    started: set[tuple[int, int, int]] = set()
    for key in sched.array:
        r, i, _ = key
        group, region = group_of(r, i)
        out_of[key] = (2 * r + group % 2, region)
        accumulate[key] = (r, group, region) in started
        started.add((r, group, region))
    for r, i, b in sched.stores:
        if r in windows:
            every, lo, _ = windows[r]
            out_of[r, i, b] = (2 * r + i // every % 2, i % every - lo)
        else:
            out_of[r, i, b] = (2 * r + bisect_left(stores_before[r], i) % 2, 0)
    return out_of, accumulate, 2 * len(layer.runs)


def replay(enc: Encoded) -> Times:
    """Execute the queues by the accelerator's rules, each unit in its order:

    - a DMA entry starts when the channel is free (the entry before it has ended) and its
      wait holds, holds the channel ``beats`` cycles, and its data are in SRAM (a store's in
      DRAM) ``latency`` cycles after it ends;
    - a tile issues when the array is free (the previous tile's occupancy has passed, and
      its first result write comes ``spacing`` after the previous tile's: an OS array's
      results leave it a row per cycle), its data are in SRAM, and the store that drains
      its output slot ends by the tile's first result write (``out`` cycles after issue);
      it is complete ``first`` cycles after issue;
    - a tile releases its operands' slots ``read`` cycles after issue (its last operand
      read), but not before the end of the latest drain a tile has waited for.

    The DMA *plans* each entry as soon as the times it depends on are known, which is when
    the tile it waits for issues (the closed forms give that tile's read and completion
    times): its start is then the later of those times and the previous entry's end, which
    is planned already. So the end of a store is known before the tile that waits for it
    issues, however long the store still queues; this function checks that it always is.
    """
    dma_t: list[tuple[int, int, int]] = []
    planned: list[int] = []  # when each DMA entry's times are known
    tile_t: list[tuple[int, int, int]] = []
    free = channel = drained = port = 0
    j = t = 0
    while j < len(enc.dma) or t < len(enc.tiles):
        moved = False
        while j < len(enc.dma):
            d = enc.dma[j]
            if d.after > len(tile_t):
                break
            wait = known = 0
            if d.after:
                issue, done, read = tile_t[d.after - 1]
                wait, known = (done if d.store else read), issue
            start = max(channel, wait)
            channel = start + d.beats
            dma_t.append((start, channel, channel + enc.latency))
            planned.append(max(known, planned[-1] if planned else 0))
            j, moved = j + 1, True
        while t < len(enc.tiles):
            e = enc.tiles[t]
            if e.after_data > len(dma_t) or e.after_drain > len(dma_t):
                break
            occ, first, read, out, spacing = enc.tile_costs[t]
            issue = max(free, port - out)
            if e.after_data:
                issue = max(issue, dma_t[e.after_data - 1][2])
            if e.after_drain:
                end = dma_t[e.after_drain - 1][1]
                issue = max(issue, end - out)
                drained = max(drained, end)
                assert planned[e.after_drain - 1] <= issue, "a drain's end is known in time"
            free = issue + occ
            port = issue + out + spacing if spacing else 0
            tile_t.append((issue, issue + first, max(issue + read, drained)))
            t, moved = t + 1, True
        if not moved:
            raise ProgramError(f"layer {enc.name!r}: the queues deadlock at DMA entry {j} "
                               f"and tile {t}")
    cycles = max((d for _, _, d in dma_t), default=0)
    cycles = max([cycles, *(d for _, d, _ in tile_t)])
    return Times(tuple(dma_t), tuple(tile_t), cycles)


def engine_times(layer: Layer, arch: Arch, mode: str = "native") -> Times:
    """The engine's time of every instance of ``layer`` (every iteration simulated), in the
    order of :func:`encode_layer`'s queues."""
    runs = layer.runs
    sim = LayerSim(runs, [run.count for run in runs], arch, mode, trace=True)
    sim.run()
    held = {x: (s, s + d) for track, _, s, d, x in sim.events if track.endswith("DMA")}
    issue = {x: t for t, _, _, x, _ in sim.primary}
    assert sim.consumed is not None
    dma = tuple((*held[k], sim.t_done[k]) for k in sim.sched.order)
    tiles = tuple((issue[k], sim.t_done[k], sim.consumed[k]) for k in sim.sched.array)
    return Times(dma, tiles, sim.T)


def iter_mismatches(a: Times, b: Times) -> Iterator[str]:
    """Where two timings of one encoded layer differ, as readable lines."""
    for j, (x, y) in enumerate(zip(a.dma, b.dma, strict=True)):
        if x != y:
            yield f"DMA entry {j}: (start, end, done) {x} != {y}"
    for t, (x, y) in enumerate(zip(a.tiles, b.tiles, strict=True)):
        if x != y:
            yield f"tile {t}: (issue, done, read) {x} != {y}"
    if a.cycles != b.cycles:
        yield f"cycles {a.cycles} != {b.cycles}"
