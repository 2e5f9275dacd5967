"""Laws of the accelerator's encoding (hwsim.encoding): executing the two queues by the
accelerator's rules (``replay``) gives every instance exactly the engine's time, and with the
physical slots the encoder assigns no tile's operands or results are overwritten while in
use; over random GEMMs, every loop order and dataflow the mapper has, small arrays, slow and
fast DRAM and deep load streams."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.ir import Gemm
from compiler.mapping.codegen import gemm_runs
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
def layers(draw):
    arch = small_arch(draw(st.sampled_from([2, 3, 4, 8])), draw(st.sampled_from([2, 4, 5, 8])),
                      draw(st.sampled_from([0.4, 1.6, 3.2, 12.8, 100.0])),
                      draw(st.sampled_from([0.0, 10.0, 50.0, 200.0])))
    gemm = Gemm(draw(st.integers(1, 40)), draw(st.integers(1, 20)), draw(st.integers(1, 20)))
    mappings = list(enumerate_mappings(gemm, 8, 8, 8, arch))
    mp = mappings[draw(st.integers(0, len(mappings) - 1))]
    return Layer("gemm", gemm_runs(mp, out_bits=8)), arch


@settings(max_examples=120, deadline=None)
@given(layers())
def test_replay_is_the_engine_instance_for_instance(case):
    layer, arch = case
    enc = encode_layer(layer, arch)
    mismatches = list(iter_mismatches(replay(enc), engine_times(layer, arch)))
    assert not mismatches, mismatches[:5]


def slot_conflicts(enc: Encoded, times: Times) -> list[str]:
    """Every overwrite of a slot while it is in use: a load into a tile's operand slot after
    the load the tile reads (resident operands included) and before the tile has read it; a
    tile writing an output slot
    before the store of the group that used it last has drained it."""
    out = []
    loads: dict[tuple[str, int], list[int]] = {}  # slot -> DMA entries writing it, in order
    for j, d in enumerate(enc.dma):
        if not d.store:
            loads.setdefault((d.buffer, d.slot), []).append(j)
    for t, e in enumerate(enc.tiles):
        issue, _, read = times.tiles[t]
        for buffer, slot in (("input", e.input_slot), ("weight", e.weight_slot)):
            # the load the tile waits for; a resident operand's, the last one started by
            # its issue (which data those are, the RTL bench checks value by value)
            writers = [j for j in loads.get((buffer, slot), [])
                       if (times.dma[j][0] <= issue if buffer in e.resident
                           else j < e.after_data)]
            if not writers:
                out.append(f"tile {t} reads {buffer} slot {slot}, which nothing loaded")
                continue
            mine = writers[-1]
            if times.dma[mine][2] > issue:
                out.append(f"tile {t} issues before its {buffer} data arrive")
            later = [j for j in loads[buffer, slot] if j > mine]
            if later and times.dma[later[0]][0] < read:
                out.append(f"tile {t}'s {buffer} slot {slot} is reloaded at "
                           f"{times.dma[later[0]][0]}, before it is read at {read}")
    stores: dict[int, list[int]] = {}
    for j, d in enumerate(enc.dma):
        if d.store:
            stores.setdefault(d.slot, []).append(j)
    for t, e in enumerate(enc.tiles):
        issue = times.tiles[t][0]
        first_write = issue + enc.tile_costs[t][3]
        before = [j for j in stores.get(e.out_slot, []) if enc.dma[j].after <= t]
        if before and times.dma[before[-1]][1] > first_write:
            out.append(f"tile {t} writes output slot {e.out_slot} at {first_write}, before "
                       f"its last store ends at {times.dma[before[-1]][1]}")
    return out


@settings(max_examples=120, deadline=None)
@given(layers())
def test_physical_slots_are_never_overwritten_in_use(case):
    layer, arch = case
    enc = encode_layer(layer, arch)
    conflicts = slot_conflicts(enc, replay(enc))
    assert not conflicts, conflicts[:5]
