"""Laws of the accelerator's encoding (hwsim.encoding): executing the two queues by the
accelerator's rules (``replay``) gives every instance exactly the engine's time, and with the
physical slots the encoder assigns no tile's operands or results are overwritten while in
use; over random GEMMs, every loop order and dataflow the mapper has, small arrays, slow and
fast DRAM and deep load streams."""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.ir import Gemm
from compiler.mapping.codegen import RunBlocks, gemm_blocks, gemm_runs
from compiler.mapping.tiling import enumerate_mappings
from hwsim.config import load_arch
from hwsim.encoding import Encoded, Times, encode_layer, engine_times, iter_mismatches, replay
from hwsim.isa import Layer

BASE = load_arch("edge_int8")


def small_arch(rows: int, cols: int, bw_gbps: float, latency_ns: float):
    return dataclasses.replace(
        BASE, array=dataclasses.replace(BASE.array, rows=rows, cols=cols),
        dram=dataclasses.replace(BASE.dram, bw_gbps=bw_gbps, latency_ns=latency_ns))


@st.composite
def mapped_layers(draw):
    """(mapping, its layer, arch): a random GEMM, arch and mapping of any order."""
    arch = small_arch(draw(st.sampled_from([2, 3, 4, 8])), draw(st.sampled_from([2, 4, 5, 8])),
                      draw(st.sampled_from([0.4, 1.6, 3.2, 12.8, 100.0])),
                      draw(st.sampled_from([0.0, 10.0, 50.0, 200.0])))
    gemm = Gemm(draw(st.integers(1, 40)), draw(st.integers(1, 20)), draw(st.integers(1, 20)))
    mappings = list(enumerate_mappings(gemm, 8, 8, 8, arch))
    mp = mappings[draw(st.integers(0, len(mappings) - 1))]
    return mp, Layer("gemm", gemm_runs(mp, out_bits=8)), arch


def layers():
    return mapped_layers().map(lambda case: case[1:])


@settings(max_examples=120, deadline=None)
@given(layers())
def test_replay_is_the_engine_instance_for_instance(case):
    layer, arch = case
    enc = encode_layer(layer, arch)
    mismatches = list(iter_mismatches(replay(enc), engine_times(layer, arch)))
    assert not mismatches, mismatches[:5]


def slot_conflicts(enc: Encoded, times: Times) -> list[str]:
    """Every overwrite of a slot while it is in use, and every operand a tile reads from a
    load that is not in its slot or not waited for: a load into a tile's operand slot after
    the load the tile reads (resident operands included) and before the tile has read it; a
    tile writing an output slot's region before the store of the group that used it last
    has drained it."""
    out = []
    loads: dict[tuple[str, int], list[int]] = {}  # slot -> DMA entries writing it, in order
    for j, d in enumerate(enc.dma):
        if not d.store:
            loads.setdefault((d.buffer, d.slot), []).append(j)
    for t, e in enumerate(enc.tiles):
        issue, _, read = times.tiles[t]
        for buffer, slot, mine in (("input", e.input_slot, e.input_load),
                                   ("weight", e.weight_slot, e.weight_load)):
            d = enc.dma[mine]
            if (d.store, d.buffer, d.slot) != (False, buffer, slot):
                out.append(f"tile {t} reads {buffer} slot {slot} from DMA entry {mine}, "
                           f"which loads {d.buffer} slot {d.slot}")
                continue
            if buffer not in e.resident and mine >= e.after_data:
                out.append(f"tile {t} does not wait for its {buffer} load {mine}")
            if times.dma[mine][2] > issue:
                out.append(f"tile {t} issues before its {buffer} data arrive")
            later = [j for j in loads[buffer, slot] if j > mine]
            if later and times.dma[later[0]][0] < read:
                out.append(f"tile {t}'s {buffer} slot {slot} is reloaded at "
                           f"{times.dma[later[0]][0]}, before it is read at {read}")
    stores: dict[tuple[int, int], list[int]] = {}
    for j, d in enumerate(enc.dma):
        if d.store:
            stores.setdefault((d.slot, d.region), []).append(j)
    for t, e in enumerate(enc.tiles):
        issue = times.tiles[t][0]
        first_write = issue + enc.tile_costs[t][3]
        before = [j for j in stores.get((e.out_slot, e.out_region), [])
                  if enc.dma[j].after <= t]
        if before and times.dma[before[-1]][1] > first_write:
            out.append(f"tile {t} writes output slot {e.out_slot} region {e.out_region} at "
                       f"{first_write}, before its last store ends at "
                       f"{times.dma[before[-1]][1]}")
    return out


@settings(max_examples=120, deadline=None)
@given(layers())
def test_physical_slots_are_never_overwritten_in_use(case):
    layer, arch = case
    enc = encode_layer(layer, arch)
    conflicts = slot_conflicts(enc, replay(enc))
    assert not conflicts, conflicts[:5]


def data_errors(enc: Encoded, times: Times, blocks: list[RunBlocks]) -> list[str]:
    """Where the encoded program would compute something other than the GEMM, with each
    instance's GEMM block (``gemm_blocks``): a tile whose operand load (which
    :func:`slot_conflicts` checks is what its slot holds) moves a block without the tile's
    operand; a store
    whose output group (the tiles writing its slot since the slot's previous store) is not
    exactly the k steps of its block, the first overwriting and the others accumulating
    (groups by slot and region: an nkm nest's hold a partial sum per m tile)."""
    out = []
    tile_block = [blocks[e.key[0]].tile(e.key[1]) for e in enc.tiles]
    for t, e in enumerate(enc.tiles):
        b = tile_block[t]
        for buffer, slot, mine in (("input", e.input_slot, e.input_load),
                                   ("weight", e.weight_slot, e.weight_load)):
            r, i, _ = enc.dma[mine].key
            src = blocks[r].load(i, buffer)
            if not src.holds(b, buffer):
                out.append(f"tile {t} ({b}) reads {buffer} slot {slot} holding {src}")
    since: dict[tuple[int, int], int] = {}  # per slot and region, its open group's start
    for j, d in enumerate(enc.dma):
        if not d.store:
            continue
        r, i, _ = d.key
        want = blocks[r].tile(i)
        group = [t for t in range(since.get((d.slot, d.region), 0), d.after)
                 if (enc.tiles[t].out_slot, enc.tiles[t].out_region) == (d.slot, d.region)]
        since[d.slot, d.region] = d.after
        ks = sorted((tile_block[t].k0, tile_block[t].k) for t in group)
        shapes = {(tile_block[t].m0, tile_block[t].m, tile_block[t].n0, tile_block[t].n)
                  for t in group}
        if shapes != {(want.m0, want.m, want.n0, want.n)}:
            out.append(f"store {j} drains {want}, its group computed {sorted(shapes)}")
        elif [k0 for k0, _ in ks] != list(itertools.accumulate([0] + [k for _, k in ks[:-1]])) \
                or sum(k for _, k in ks) != blocks[r].mp.gemm.K:
            out.append(f"store {j}: its group's k steps {ks} are not the reduction once")
        elif [enc.tiles[t].accumulate for t in group] != [False] + [True] * (len(group) - 1):
            out.append(f"store {j}: its group does not start its sum once")
    return out


@settings(max_examples=150, deadline=None)
@given(mapped_layers())
def test_the_encoded_program_computes_the_gemm(case):
    mp, layer, arch = case
    enc = encode_layer(layer, arch)
    errors = data_errors(enc, replay(enc), gemm_blocks(mp))
    assert not errors, errors[:5]
