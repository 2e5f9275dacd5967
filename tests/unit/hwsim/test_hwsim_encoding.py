"""The accelerator's encoding of a layer (hwsim.encoding): queue contents, slots, waits, and
the instructions it refuses with a message naming them. The laws (replay equals the engine,
slots are never overwritten in use) are in tests/invariants/test_hwsim_encoding_laws.py."""

from __future__ import annotations

import pytest

from hwsim.config import load_arch
from hwsim.encoding import encode_layer, engine_times, replay
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Layer, Load, Run, Store, Vector

ARCH = load_arch("edge_int8")


def demo_layer(count: int = 12) -> Layer:
    """The ISA's example: a weight tile reused by 4 input tiles, stored every step."""
    body = (Load("weight", 16 * 16 * 8, every=4), Load("input", 64 * 16 * 8),
            Compute("ws", 64, 16, 16, deps=(0, 1)), Store(64 * 16 * 32, deps=(2,)))
    return Layer("fc", (Run(body, count=count),))


def test_queues_hold_every_instance_in_its_order():
    enc = encode_layer(demo_layer(), ARCH)
    assert len(enc.tiles) == 12
    assert [e.key[1] for e in enc.tiles] == list(range(12))
    loads = [d for d in enc.dma if not d.store]
    assert sum(d.buffer == "weight" for d in loads) == 3
    assert sum(d.buffer == "input" for d in loads) == 12
    assert sum(d.store for d in enc.dma) == 12
    assert enc.slots == {"input": 2, "weight": 2, "output": 2}
    # double buffering: the j-th load of a stream writes slot j mod 2; groups alternate
    assert [d.slot for d in loads if d.buffer == "input"] == [0, 1] * 6
    assert [e.out_slot for e in enc.tiles] == [0, 1] * 6
    assert not any(e.accumulate for e in enc.tiles)  # one tile per output group
    # a tile reads the slot its own loads wrote
    for e in enc.tiles:
        i = e.key[1]
        assert e.input_slot == i % 2 and e.weight_slot == i // 4 % 2


def test_waits_are_counters_the_engine_times_agree_with():
    layer = demo_layer()
    enc = encode_layer(layer, ARCH)
    for e in enc.tiles:
        assert 0 < e.after_data <= len(enc.dma)
    assert enc.tiles[0].after_drain == enc.tiles[1].after_drain == 0  # two empty out slots
    assert all(e.after_drain for e in enc.tiles[2:])
    assert replay(enc) == engine_times(layer, ARCH)


def test_a_reduction_accumulates_in_its_output_slot():
    body = (Load("weight", 8 * 8 * 8), Load("input", 8 * 8 * 8),
            Compute("ws", 8, 8, 8, deps=(0, 1)), Store(8 * 8 * 8, every=3, deps=(2,)))
    enc = encode_layer(Layer("conv", (Run(body, count=6),)), ARCH)
    assert [e.accumulate for e in enc.tiles] == [False, True, True] * 2
    assert [e.out_slot for e in enc.tiles] == [0, 0, 0, 1, 1, 1]
    assert [d.slot for d in enc.dma if d.store] == [0, 1]


def test_runs_get_slots_of_their_own():
    body = (Load("weight", 64), Load("input", 64), Compute("ws", 4, 4, 4, deps=(0, 1)),
            Store(64, deps=(2,)))
    enc = encode_layer(Layer("fc", (Run(body, 2), Run(body, 2))), ARCH)
    assert enc.slots == {"input": 4, "weight": 4, "output": 4}
    assert [e.input_slot for e in enc.tiles] == [0, 1, 2, 3]
    assert [e.out_slot for e in enc.tiles] == [0, 1, 2, 3]


def test_resident_operands_read_the_slot_an_earlier_run_loaded():
    """An mnk nest's m tile as gemm_runs emits it with few m tiles: its first n tile loads
    the m tile's inputs (every k step at once) and the others read them resident; an Nmnk
    class's first m tile loads the weight block the next class reads."""
    first = (Load("weight", 64), Load("input", 128, every=2),
             Compute("ws", 4, 4, 4, deps=(0, 1)), Store(64, every=2, deps=(2,)))
    other = (Load("weight", 64), Compute("ws", 4, 4, 4, deps=(0,)),
             Store(64, every=2, deps=(1,)))
    block = (Load("input", 64), Compute("ws", 4, 4, 4, deps=(0,)), Store(64, deps=(1,)))
    layer = Layer("mnk", (Run(first, 2), Run(other, 4), Run(block, 2)))
    enc = encode_layer(layer, ARCH)
    inputs = [d for d in enc.dma if d.buffer == "input"]
    weights = [d for d in enc.dma if d.buffer == "weight"]
    assert [e.resident for e in enc.tiles] == ["", ""] + ["input"] * 4 + ["weight"] * 2
    first_input = next(d for d in inputs if d.key[0] == 0)
    assert {e.input_slot for e in enc.tiles[:6]} == {first_input.slot}
    last_weight = max((d for d in weights if d.key[0] == 1), key=lambda d: d.key[1])
    assert {e.weight_slot for e in enc.tiles[6:]} == {last_weight.slot}
    assert replay(enc) == engine_times(layer, ARCH)


def test_an_nkm_group_keeps_a_partial_sum_per_m_tile():
    """nkm as gemm_runs emits it: a weight tile serves the 3 m tiles of each of 2 k steps,
    then each m tile's store. The group is the period, with a region per m tile."""
    body = (Load("weight", 64, every=3), Load("input", 64), Compute("ws", 4, 4, 4, deps=(0, 1)),
            Store(64, every=6, window=(3, 6), deps=(2,)))
    enc = encode_layer(Layer("nkm", (Run(body, count=12),)), ARCH)
    assert [e.out_region for e in enc.tiles] == [0, 1, 2] * 4
    assert [e.out_slot for e in enc.tiles] == [0] * 6 + [1] * 6
    assert [e.accumulate for e in enc.tiles] == ([False] * 3 + [True] * 3) * 2
    assert [(d.slot, d.region) for d in enc.dma if d.store] == \
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


def test_a_resident_operand_nothing_loaded_is_refused():
    body = (Load("input", 64), Compute("ws", 4, 4, 4, deps=(0,)), Store(64, deps=(1,)))
    with pytest.raises(ProgramError, match="weight data that no run before it loads"):
        encode_layer(Layer("odd", (Run(body, 2),)), ARCH)


@pytest.mark.parametrize(("ins", "words"), [
    (Vector("relu", 64), "vector unit"),
    (Load("output", 64), "partial sums"),
    (Load("weight", 64, decode=8, sram_bits=128), "decoder"),
])
def test_what_the_accelerator_lacks_is_refused_by_name(ins, words):
    body = (Load("input", 64), Compute("ws", 4, 4, 4, deps=(0,)), ins, Store(64, deps=(1,)))
    with pytest.raises(ProgramError, match=words) as err:
        encode_layer(Layer("odd", (Run(body, 2),)), ARCH)
    assert "layer 'odd': run 0 instruction 2" in str(err.value)
