"""hwsim.isa: serialization round trip and the validator's pinned messages."""

from __future__ import annotations

import pytest
from tile_programs import gemm_layer

from hwsim.config import load_arch
from hwsim.errors import ProgramError
from hwsim.isa import (
    Compute,
    Layer,
    Load,
    Program,
    Run,
    Store,
    Vector,
    latest_instance,
    next_instance,
)


def prog(*body, count=4) -> Program:
    return Program("p", (Layer("l", (Run(tuple(body), count),)),))


GOOD = (Load("weight", 64, every=2), Load("input", 64), Compute("ws", 4, 4, 4, deps=(0, 1)),
        Vector("relu", 16, deps=(2,)), Store(64, every=2, deps=(3,)))


def test_round_trip():
    p = prog(*GOOD)
    p.validate(load_arch("edge_int8"))
    assert Program.from_json(p.to_json()) == p
    assert p.tiles == 4


WINDOWED = (Load("weight", 64, every=4, window=(0, 3)), Load("weight", 16, every=4, window=(3, 4)),
            Compute("ws", 4, 4, 4, every=4, window=(0, 3), deps=(0,)),
            Compute("ws", 4, 1, 4, every=4, window=(3, 4), deps=(1,)),
            Store(64, every=4, deps=(3,)))


def test_windows_round_trip_and_count_instances():
    p = prog(*WINDOWED, count=8)
    p.validate(load_arch("edge_int8"))
    back = Program.from_json(p.to_json())
    assert back == p and back.layers[0].runs[0].body[0].window == (0, 3)
    run = p.layers[0].runs[0]
    assert [run.instances(b) for b in range(5)] == [6, 2, 6, 2, 2]
    assert p.tiles == 8


@pytest.mark.parametrize(("ins", "i", "latest", "after"), [
    (Load("input", 8, every=4), 5, 4, 8),                      # default (0, 1)
    (Store(8, every=4), 5, 3, 7),                              # default (3, 4)
    (Load("input", 8, every=6, window=(2, 4)), 1, -3, 2),      # before the run: negative
    (Load("input", 8, every=6, window=(2, 4)), 2, 2, 3),
    (Load("input", 8, every=6, window=(2, 4)), 5, 3, 8),
])
def test_instance_arithmetic(ins, i, latest, after):
    assert latest_instance(ins, i) == latest
    assert next_instance(ins, i) == after


def test_gemm_is_a_handful_of_instructions():
    layer = gemm_layer("big", 10_000, 4096, 1000, load_arch("edge_int8"))
    instrs = sum(len(r.body) for r in layer.runs)
    tiles = sum(r.count for r in layer.runs)
    assert instrs <= 16 and tiles > 10_000


@pytest.mark.parametrize(("p", "message"), [
    (prog(Load("weight", 64), Compute("ws", 4, 4, 4, deps=(1,))),
     r"layer 0 \('l'\) run 0 instr 1 \(compute\): deps must name earlier instructions \(0\.\.0\), not 1"),
    (prog(Load("weights", 64)), r"instr 0 \(load\): buffer must be one of"),
    (prog(Load("input", 0)), r"instr 0 \(load\): bits must be a positive integer, not 0"),
    (prog(Load("input", 8, every=3)), r"every must divide the run count 4, not 3"),
    (prog(Load("input", 8), count=0), r"run 0: count must be a positive integer, not 0"),
    (prog(Load("input", 8), Load("input", 8, deps=(0,))), r"deps must be empty for a load"),
    (prog(Load("input", 8), Store(8, deps=(0,))), r"a store must depend on computes or vector"),
    (prog(Vector("relu", 0)), r"elements must be a positive integer, not 0"),
    (Program("p", ()), r"program 'p' must have at least one layer"),
    (prog(Load("input", 8, every=4, window=(2, 5))),
     r"layer 0 \('l'\) run 0 instr 0 \(load\): window must be a pair \(lo, hi\) with "
     r"0 <= lo < hi <= every = 4, not \(2, 5\)"),
    (prog(Load("input", 8, every=4, window=(2, 2))), r"window must be a pair .* not \(2, 2\)"),
    (prog(Load("input", 8, every=4, window=(-1, 2))), r"window must be a pair .* not \(-1, 2\)"),
    (prog(Load("input", 8, every=2, window=(0, 1, 2))),  # type: ignore[arg-type]
     r"window must be a pair .* not \(0, 1, 2\)"),
    (prog(Compute("ws", 4, 4, 4, every=3, window=(0, 2))),
     r"instr 0 \(compute\): every must divide the run count 4, not 3"),
    (prog(Load("input", 8), Compute("ws", 4, 4, 4, deps=(0,)), Store(8, every=2, deps=(1,)),
          Store(8, every=2, window=(0, 1), deps=(1,))),
     r"run 0: all stores of a body must share one 'window', not \[None, \(0, 1\)\]"),
])
def test_validator_messages(p, message):
    with pytest.raises(ProgramError, match=message):
        p.validate()


def test_validator_checks_against_arch():
    arch = load_arch("edge_int8")
    with pytest.raises(ProgramError, match=r"instr 0 \(compute\): WS tile k must be at most 16"):
        prog(Compute("ws", 4, 17, 4)).validate(arch)
    with pytest.raises(ProgramError, match=r"bits must fit 2 times \(its slots\) in the 64 KiB"):
        prog(Load("input", 64 * 1024 * 8)).validate(arch)
    prog(Load("input", 16 * 1024 * 8, slots=4)).validate(arch)
    with pytest.raises(ProgramError, match=r"bits must fit 5 times \(its slots\) in the 64 KiB"):
        prog(Load("input", 16 * 1024 * 8, slots=5)).validate(arch)
    with pytest.raises(ProgramError, match=r"instr 1 \(load\): slots must be the same for all "
                       r"input loads of a run \(3\), not 2"):
        prog(Load("input", 8, slots=3), Load("input", 8)).validate(arch)
    with pytest.raises(ProgramError, match=r"slots must be an integer of at least 2 \(double "
                       r"buffering\), not 1"):
        prog(Load("input", 8, slots=1)).validate(arch)
    with pytest.raises(ProgramError, match=r"dataflow must be one of \('ws', 'os'\) on fpga_zynq"):
        prog(Compute("is", 4, 4, 4)).validate(load_arch("fpga_zynq7020"))


def test_from_json_rejects_unknown_op():
    with pytest.raises(ProgramError, match=r"instruction op must be one of"):
        Program.from_dict({"name": "p", "layers": [{"name": "l", "runs": [
            {"count": 1, "body": [{"op": "jump"}]}]}]})
