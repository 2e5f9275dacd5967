"""hwsim.engine + hwsim.stats: a hand-built program on every shipped config, the accounting
identities, agreement with the closed forms, and the exports."""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
import subprocess
import sys

import pytest
import yaml
from tile_programs import gemm_layer, vector_layer

import hwsim
from hwsim.config import arch_from_dict, load_arch, shipped_configs
from hwsim.engine import simulate
from hwsim.isa import Compute, Layer, Load, Program, Run, Store, Vector
from hwsim.timing import tile_cycles
from hwsim.yamlfile import find_config_file


def hand_program(arch) -> Program:
    """A GEMM (tiled by the builder), a hand-written layer with weight reuse and a fused
    vector op, and an elementwise layer."""
    R, C = arch.array.rows, arch.array.cols
    k, n = R, C
    fused = Layer("fused", (Run((
        Load("weight", k * n * 8, every=3),
        Load("input", 20 * k * 8),
        Compute(arch.array.dataflows[0], 20 if arch.array.dataflows[0] != "os" else min(20, R),
                k, n, deps=(0, 1)),
        Vector("relu", 20 * n, deps=(2,)),
        Store(20 * n * 8, deps=(3,)),
    ), count=30, name="fused"),))
    return Program("hand", (
        gemm_layer("gemm", 70, 3 * R, 2 * C + 3, arch, dataflow=arch.array.dataflows[0]),
        fused,
        vector_layer("act", 5000, arch),
    ))


@pytest.mark.parametrize("name", shipped_configs())
def test_hand_program_runs_on_every_shipped_config(name):
    arch = load_arch(name)
    prog = hand_program(arch)
    stats = simulate(prog, arch)
    assert [layer.name for layer in stats.layers] == ["gemm", "fused", "act"]
    gemm = stats.layer("gemm")
    assert gemm.macs == 70 * 3 * arch.array.rows * (2 * arch.array.cols + 3)
    for layer in (*stats.layers, stats.total):
        assert layer.cycles == layer.busy_cycles + sum(layer.stalls.values())
        assert layer.cycles >= layer.roofline_cycles
        assert 0 < layer.utilization <= 1 or layer.macs == 0
        assert layer.energy_pj > 0
    assert stats.total.cycles == sum(layer.cycles for layer in stats.layers)
    assert stats.total.macs == sum(layer.macs for layer in stats.layers)
    assert stats.total.energy_pj == pytest.approx(sum(ly.energy_pj for ly in stats.layers))
    assert stats.layer("act").counts.vector_ops == 5000
    assert gemm.dram_read_bits >= prog.layers[0].input_bits + prog.layers[0].weight_bits
    assert gemm.dram_write_bits >= prog.layers[0].output_bits


def small_arch(**dram):
    with open(find_config_file("edge_int8")) as fh:
        doc = yaml.safe_load(fh)
    doc = copy.deepcopy(doc)
    doc["dram"].update(dram)
    return arch_from_dict(doc, base=find_config_file("edge_int8").parent)


@pytest.mark.parametrize("mode", ["native", "scalesim"])
@pytest.mark.parametrize(("df", "m", "k", "n"), [("ws", 40, 16, 16), ("os", 16, 50, 16),
                                                ("is", 16, 16, 40), ("ws", 8, 16, 16)])
@pytest.mark.parametrize("count", [1, 2, 7, 500])
def test_compute_bound_run_equals_closed_form(mode, df, m, k, n, count):
    """With negligible memory time, T identical tiles take the closed form of hwsim.timing
    plus one cycle for each of the first two loads and the last store."""
    arch = small_arch(latency_ns=0, bw_gbps=1000.0)
    body = (Load("weight", 8), Load("input", 8), Compute(df, m, k, n, deps=(0, 1)),
            Store(8, deps=(2,)))
    stats = simulate(Program("p", (Layer("l", (Run(body, count),)),)), arch, mode=mode)
    assert stats.cycles == tile_cycles(arch, df, m, k, n, count=count, mode=mode) + 3


def test_steady_state_equals_full_simulation_here():
    arch = load_arch("edge_int8")
    prog = hand_program(arch)
    fast = simulate(prog, arch)
    slow = simulate(prog, arch, steady_state=False)
    assert [ly.cycles for ly in fast.layers] == [ly.cycles for ly in slow.layers]
    assert fast.total.stalls == slow.total.stalls


def test_memory_bound_layer_reports_dram_stalls():
    arch = small_arch(bw_gbps=0.5)
    stats = simulate(Program("p", (gemm_layer("fc", 64, 64, 64, arch),)), arch)
    stalls = stats.total.stalls
    assert stalls.get("dram_bw", 0) + stalls.get("input_load", 0) + \
        stalls.get("weight_load", 0) > stats.total.busy_cycles
    assert stats.cycles >= stats.total.memory_bound_cycles > stats.total.compute_bound_cycles


def test_output_slot_stall_is_attributed_to_store():
    arch = small_arch(latency_ns=0, bw_gbps=1.0)
    body = (Load("weight", 8), Load("input", 8), Compute("ws", 40, 16, 16, deps=(0, 1)),
            Store(40 * 16 * 32, deps=(2,)))
    stats = simulate(Program("p", (Layer("l", (Run(body, 50),)),)), arch)
    assert stats.total.stalls["store"] > stats.total.busy_cycles


def test_exports(tmp_path):
    arch = load_arch("edge_int8")
    stats = simulate(hand_program(arch), arch)
    doc = json.loads(stats.to_json(tmp_path / "s.json"))
    assert doc["total"]["cycles"] == stats.cycles
    assert doc["total"]["energy_pj"]["total_pj"] == pytest.approx(stats.total.energy_pj)
    rows = list(csv.DictReader(io.StringIO(stats.to_csv(tmp_path / "s.csv"))))
    assert [r["layer"] for r in rows] == ["gemm", "fused", "act", "total"]
    assert int(rows[-1]["cycles"]) == stats.cycles
    trace = stats.to_perfetto(tmp_path / "t.json")
    loaded = json.loads((tmp_path / "t.json").read_text())
    assert loaded == json.loads(json.dumps(trace))
    slices = [e for e in loaded["traceEvents"] if e["ph"] == "X"]
    assert slices and all({"ts", "dur", "pid", "tid", "name"} <= set(e) for e in slices)
    tracks = {e["args"]["name"] for e in loaded["traceEvents"] if e["name"] == "thread_name"}
    assert {"array", "load DMA", "store DMA", "vector unit"} <= tracks
    end = max(e["ts"] + e["dur"] for e in slices)
    assert end <= stats.seconds * 1e6 + 1e-6


def test_long_run_trace_marks_the_closed_form_part(tmp_path):
    arch = load_arch("edge_int8")
    stats = simulate(Program("p", (gemm_layer("big", 4096, 256, 4096, arch),)), arch)
    assert stats.total.tiles > 10_000
    assert len(stats.trace) < 2_000
    assert any(e.track == "steady state" for e in stats.trace)
    assert max(e.start + e.duration for e in stats.trace) <= stats.cycles


def test_hwsim_imports_without_torch():
    code = ("import sys, hwsim, hwsim.engine, hwsim.reference, hwsim.resources; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'compiler')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_api_is_exported():
    for name in hwsim.__all__:
        assert hasattr(hwsim, name), name


def test_store_after_a_load_pushed_behind_an_earlier_run_does_not_deadlock():
    """Regression (found by the steady-state property test): run 1's slot-waiting weight load
    is placed after run 0's stores on the DRAM channel; run 1's own store that needs that
    load's data must then come after it too, or the in-order channel waits forever."""
    from hwsim import Compute, Layer, Load, Program, Run, Store, Vector, load_arch, simulate

    arch = load_arch("bitfusion_eyeriss")
    first = Run((Load("weight", 16), Load("input", 8), Compute("is", 1, 1, 2, deps=(0, 1)),
                 Store(16, every=2, deps=(2,))), count=2)
    second = Run((Load("weight", 8), Load("input", 8), Compute("ws", 1, 1, 1, deps=(0, 1)),
                  Vector("relu", 1, deps=(2,)), Store(8, deps=(3,))), count=3)
    program = Program("p", (Layer("l", (first, second)),))
    fast = simulate(program, arch)
    full = simulate(program, arch, steady_state=False)
    assert fast.cycles == full.cycles > 0
    assert fast.total.macs == 2 * 2 + 3


def test_a_deep_stream_does_not_prefetch_into_the_run_before():
    """Regression (found by the steady-state property test): a short run's 8-slot stream,
    all of whose slots start empty, placed its loads up to 7 of its iterations before the run,
    deep inside the previous run, where a truncated previous run could not reproduce their
    effect. A deep stream runs ahead inside its run only (:mod:`hwsim._schedule`), so here it
    times exactly as double buffering does, and the fast-forward equals the full simulation."""
    import dataclasses

    arch = load_arch("bitfusion_eyeriss")
    arch = dataclasses.replace(arch, dram=dataclasses.replace(arch.dram, bw_gbps=0.5,
                                                              latency_ns=0))
    before = Run((Load("weight", 368), Load("input", 184), Compute("os", 1, 23, 2, deps=(0, 1)),
                  Store(16, deps=(2,))), count=8)
    cycles = set()
    for slots in (2, 8):
        short = Run((Load("weight", 8), Load("input", 8, slots=slots),
                     Compute("ws", 1, 1, 1, deps=(0, 1)), Store(8, every=2, deps=(2,))), count=6)
        program = Program("p", (Layer("l", (before, short)),))
        fast = simulate(program, arch, mode="scalesim")
        assert fast.cycles == simulate(program, arch, mode="scalesim", steady_state=False).cycles
        cycles.add(fast.cycles)
    assert len(cycles) == 1


def test_bounds_name_what_limits_a_layer() -> None:
    """The roofline includes the vector unit, and an array left mostly idle by a layer's
    shape is named as such: before, maxpool (vector work) was 'memory bound' against a
    roofline a third of its time, and a depthwise conv that 2000 GB/s of DRAM does not
    speed up was 'memory bound' too."""
    arch = load_arch("edge_int8")
    pool = Layer("pool", (Run((Load("input", 4096 * 8), Vector("maxpool", 4096, 9, 8, deps=(0,)),
                                Store(4096 * 8, deps=(1,))), 16),))
    # k = 9 of 16 rows, n = 1 of 16 columns: a depthwise conv's tiles on a WS array
    depthwise = Layer("dw", (Run((Load("weight", 9 * 8), Load("input", 512 * 9 * 8),
                                  Compute("ws", 512, 9, 1, deps=(0, 1)),
                                  Store(512 * 8, deps=(2,))), 64),))
    stats = simulate(Program("p", (pool, depthwise)), arch)
    pool_stats, dw_stats = stats.layers
    assert pool_stats.bound == "vector"
    assert pool_stats.vector_bound_cycles == 16 * math.ceil(4096 * 9 / 16)
    assert pool_stats.roofline_cycles == pool_stats.vector_bound_cycles <= pool_stats.cycles
    assert dw_stats.bound == "array"
    assert dw_stats.array_bound_cycles == 64 * 512
    assert dw_stats.compute_bound_cycles == 64 * 512 * 9 / 256
    assert stats.total.to_dict()["bound"] in {"compute", "array", "memory", "vector"}


def test_an_os_tile_with_a_shorter_reduction_waits_for_the_previous_results():
    """On an output-stationary 16x16 array a k = 8 edge tile after a k = 64 tile issues
    64 + max(R, C) - 8 = 72 cycles after it (its results leave the array max(R, C) after the
    long tile's, one result register per PE), not max(k, R, C) = 64; the next long tile
    follows it by its own period, 16. The gap is charged to `dependency`. (Found by the
    accelerator's RTL, rtl/accel_core_os.v.)"""
    from hwsim.encoding import engine_times

    arch = small_arch(latency_ns=0, bw_gbps=1000.0)
    body = (Load("weight", 8), Load("input", 8),
            Compute("os", 16, 64, 16, deps=(0, 1), every=2, window=(0, 1)),
            Compute("os", 16, 8, 16, deps=(0, 1), every=2, window=(1, 2)),
            Store(8, every=2, deps=(2, 3)))
    layer = Layer("l", (Run(body, 6),))
    issues = [x for x, _, _ in engine_times(layer, arch).tiles]
    assert [b - a for a, b in itertools.pairwise(issues)] == [72, 16, 72, 16, 72]
    stats = simulate(Program("p", (layer,)), arch)
    assert dict(stats.layers[0].stall_cycles).get("dependency", 0) >= 3 * (72 - 64)
