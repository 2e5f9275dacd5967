"""Running sweeps: reasons for infeasible points, identical results on every executor and
worker count, resume after a stop or a kill, deterministic optuna, the store's guards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwsim.errors import ConfigError
from systolab.search.sweep import StoreError, SweepOutcome, run_sweep, sweep_spec_from_dict
from systolab.search.sweep.objectives import objective_vector


def summary(outcome: SweepOutcome) -> tuple[list[tuple], list[str]]:
    """What must agree between runs: every point's outcome, and the front."""
    points = [(r.id, r.seq, r.feasible, r.reason, sorted(r.metrics.items()))
              for r in outcome.results]
    return points, [r.id for r in outcome.front]


def test_infeasible_points_carry_their_reason(tmp_path: Path, tiny_doc) -> None:
    doc = tiny_doc(constraints={"max_area_mm2": 1.5, "max_latency_ms": 20.0})
    outcome = run_sweep(sweep_spec_from_dict(doc), tmp_path, workers=0)
    by_label = {r.point.label: r for r in outcome.results}
    assert len(outcome.results) == 16  # nothing dropped
    big = by_label["array=32 buffer_kib=64 dataflow=ws"]
    assert not big.feasible and big.reason == "area 1.794 mm^2 > max_area_mm2 1.5 (45 nm CMOS)"
    assert big.metrics == {"area_mm2": pytest.approx(1.7943, abs=1e-4)}
    slow = by_label["array=4 buffer_kib=16 dataflow=ws"]
    assert not slow.feasible and slow.reason.startswith("latency 29.56 ms > max_latency_ms 20")
    assert "energy_uj" in slow.metrics  # simulated before the limit was checked
    assert all(r.reason for r in outcome.results if not r.feasible)
    assert all(r.feasible for r in outcome.front)


def test_fpga_budget_reason(tmp_path: Path, tiny_doc) -> None:
    board = {"part": "tiny", "family": "xc7", "lut": 100000, "ff": 200000, "dsp": 100,
             "bram_36k": 400}
    doc = tiny_doc(axes={"array": [8, 16]}, constraints={"fpga": board},
                   objectives=["latency_ms", "fpga_util"])
    outcome = run_sweep(sweep_spec_from_dict(doc), tmp_path, workers=0)
    ok, over = outcome.results
    assert ok.feasible and ok.metrics["fpga_util"] == pytest.approx(0.64)  # 64 DSPs of 100
    assert not over.feasible
    assert over.reason == "fpga tiny: exceeds 100% of dsp 256/100 (256%)"


def test_process_pool_matches_in_process(tmp_path: Path, tiny_doc) -> None:
    spec = sweep_spec_from_dict(tiny_doc())
    serial = run_sweep(spec, tmp_path / "serial", workers=0)
    pool = run_sweep(spec, tmp_path / "pool", workers=2)
    assert summary(pool) == summary(serial)
    assert 0 < len(serial.front) < sum(r.feasible for r in serial.results)


def test_local_and_ray_give_identical_fronts(tmp_path: Path, tiny_doc) -> None:
    ray = pytest.importorskip("ray")
    spec = sweep_spec_from_dict(tiny_doc())
    local = run_sweep(spec, tmp_path / "local", workers=0)  # == the pool (test above)
    try:
        on_ray = run_sweep(spec, tmp_path / "ray", executor="ray", workers=2)
    finally:
        ray.shutdown()
    assert summary(on_ray) == summary(local)
    assert on_ray.front and [r.id for r in on_ray.front] == [r.id for r in local.front]


def test_stopped_sweep_resumes_to_the_same_front(tmp_path: Path, tiny_doc) -> None:
    spec = sweep_spec_from_dict(tiny_doc(strategy={"kind": "random", "n": 12, "seed": 1}))
    full = run_sweep(spec, tmp_path / "full", workers=0)
    part = run_sweep(spec, tmp_path / "part", workers=0, max_points=5)
    assert not part.complete and part.evaluated == 5 and len(part.results) == 5
    with pytest.raises(StoreError, match="already holds 5 points: pass --resume"):
        run_sweep(spec, tmp_path / "part", workers=0)
    rest = run_sweep(spec, tmp_path / "part", workers=0, resume=True)
    assert rest.complete and rest.evaluated == 7
    assert summary(rest) == summary(full)


KILL_SCRIPT = """
import os, signal, sys
from systolab.search.sweep import run_sweep, sweep_spec_from_dict
import json
spec = sweep_spec_from_dict(json.loads(sys.argv[1]))
def progress(p):
    if p.done == 6:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: a real kill
run_sweep(spec, sys.argv[2], workers=0, on_progress=progress)
"""


def test_killed_sweep_resumes_without_redoing_points(tmp_path: Path, tiny_doc) -> None:
    doc = tiny_doc()
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, json.dumps(doc), str(tmp_path / "k")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    spec = sweep_spec_from_dict(doc)
    resumed = run_sweep(spec, tmp_path / "k", workers=0, resume=True)
    assert resumed.evaluated == 16 - 6
    assert summary(resumed) == summary(run_sweep(spec, tmp_path / "full", workers=0))


def test_optuna_is_deterministic_and_resumes(tmp_path: Path, tiny_doc) -> None:
    pytest.importorskip("optuna")
    spec = sweep_spec_from_dict(tiny_doc(strategy={"kind": "optuna", "n": 12, "seed": 0,
                                                   "batch": 4}))
    a = run_sweep(spec, tmp_path / "a", workers=0)
    b = run_sweep(spec, tmp_path / "b", workers=2)
    assert summary(a) == summary(b) and a.front
    part = run_sweep(spec, tmp_path / "c", workers=0, max_points=3)
    assert not part.complete
    c = run_sweep(spec, tmp_path / "c", workers=0, resume=True)
    assert summary(c) == summary(a)
    vectors = [objective_vector(spec.objectives, r.metrics) for r in a.front]
    assert len(set(vectors)) == len(vectors) or len(vectors) == 1


def test_store_refuses_a_different_sweep(tmp_path: Path, tiny_doc) -> None:
    run_sweep(sweep_spec_from_dict(tiny_doc(axes={"array": [8]})), tmp_path, workers=0)
    other = sweep_spec_from_dict(tiny_doc(axes={"array": [8]}, constraints={"max_area_mm2": 9}))
    with pytest.raises(StoreError, match="holds results of a different sweep"):
        run_sweep(other, tmp_path, workers=0, resume=True)


def test_the_mapping_objective_is_a_sweep_parameter(tmp_path: Path, tiny_doc) -> None:
    """``objective`` sweeps what the mapper minimizes: the same hardware, mapped for energy,
    spends no more energy than mapped for latency, and is no faster (up to what the mapper's
    closed-form scores and the simulation differ by, docs/mapping.md)."""
    doc = tiny_doc(axes={"array": [8], "buffer_kib": [16], "objective": ["latency", "energy"]},
                   constraints={})
    outcome = run_sweep(sweep_spec_from_dict(doc), tmp_path, workers=0)
    by = {r.point.to_dict()["objective"]: r.metrics for r in outcome.results}
    assert by["energy"]["energy_uj"] <= by["latency"]["energy_uj"] * 1.01
    assert by["latency"]["latency_ms"] <= by["energy"]["latency_ms"] * 1.01
    assert by["energy"]["area_mm2"] == by["latency"]["area_mm2"]  # not hardware
    with pytest.raises(ConfigError, match=r"axes.objective\[0\] must be one of latency, "
                                          r"energy, edp, not 'speed'"):
        sweep_spec_from_dict(tiny_doc(axes={"objective": ["speed"]}))


def test_shared_work_gives_the_front_of_point_by_point_evaluation(tmp_path: Path,
                                                                  tiny_doc) -> None:
    """A sweep shares per-layer work between points (schedules by structure, results by the
    timing parameters, points reordered so that neighbours share); every point equals its
    evaluation alone, with every cache cleared first, and so does the front."""
    from compiler.mapping.tiling import clear_caches
    from hwsim.engine import clear_cache
    from systolab.search.pareto import pareto_front
    from systolab.search.sweep import build_context, evaluate_point, plan_points

    doc = tiny_doc(axes={"array": [8, 16], "dataflow": ["ws", "os"], "clock_mhz": [250, 1000],
                         "dram_bw_gbps": [3.2, 6.4, 25.6], "buffer_kib": [16, 64]},
                   constraints={})
    spec = sweep_spec_from_dict(doc)
    shared = run_sweep(spec, tmp_path, workers=0)
    ctx = build_context(spec)
    alone = []
    for seq, point in enumerate(plan_points(spec)):
        clear_caches()
        clear_cache()
        alone.append(evaluate_point(seq, point, ctx))
    assert [(r.id, r.feasible, r.metrics) for r in shared.results] == \
        [(r.id, r.feasible, r.metrics) for r in alone]
    feasible = [r for r in alone if r.feasible]
    front = pareto_front([objective_vector(spec.objectives, r.metrics) for r in feasible])
    assert [r.id for r in shared.front] == [feasible[i].id for i in front]
    assert len(shared.results) == 48


def test_a_simulated_point_makes_no_reference_cycles(tiny_doc) -> None:
    """Sweep workers freeze what each point leaves alive out of the cyclic collector's reach
    (hwsim.engine.no_cyclic_gc): sound only because mapping and simulating a point leave no
    cyclic garbage behind, which this checks on a SCALE-Sim topology and on LeNet-5
    (convolutions, pooling, activations, linear layers)."""
    import gc

    from compiler.mapping.tiling import clear_caches
    from hwsim.engine import clear_cache
    from systolab.search.sweep import build_context, evaluate_point, plan_points

    doc = tiny_doc(axes={"array": [8, 16], "dataflow": ["ws", "os"]}, constraints={})
    doc["workloads"].append({"model": "lenet5", "batch": 1})
    spec = sweep_spec_from_dict(doc)
    ctx = build_context(spec)
    clear_caches()
    clear_cache()
    gc.collect()
    gc.disable()
    try:
        for seq, point in enumerate(plan_points(spec)):
            assert evaluate_point(seq, point, ctx).feasible
            assert gc.collect() == 0, f"point {seq} left cyclic garbage"
    finally:
        gc.enable()
