"""Law: the fast-forward inside long periods (hwsim._interior) gives exactly what simulating
every iteration gives (cycles, busy cycles, stalls by cause), over random reductions long
enough to use it, on every kind of array, DRAM speed and SRAM slot depth; and it is used.
Also the regression it found in the outer fast-forward: a run whose last transfers share the
channel with the next run's prefetched loads is as long as that reaches (hwsim._schedule)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hwsim._interior as interior
from hwsim import engine
from hwsim.config import load_arch
from hwsim.isa import Compute, Load, Run, Store

ARCHS = {n: load_arch(n) for n in ("edge_int8", "stripes", "bitfusion_eyeriss",
                                     "fpga_zynq7020")}


def with_dram(arch, bw: float, latency: float):
    return dataclasses.replace(arch, dram=dataclasses.replace(arch.dram, bw_gbps=bw,
                                                              latency_ns=latency))


def reduction_runs(P: int, periods: int, slots: int, first: bool, edge: bool,
                   k: int = 16, m: int = 16, n: int = 16) -> tuple[Run, ...]:
    """An output tile's reduction of ``P`` k steps (weights and inputs streamed every step,
    an edge k tile last if ``edge``, the store once per period), ``periods`` output tiles,
    after a one-period run that also loads a resident block if ``first``."""
    def body(block: bool) -> tuple:
        loads = [Load("weight", k * n * 8, slots=slots), Load("input", m * k * 8, slots=slots)]
        if block:
            loads.append(Load("weight", 4 * k * n * 8, every=P, slots=slots))
        deps = tuple(range(len(loads)))
        computes = [Compute("os", m, k, n, deps=deps, every=P, window=(0, P - 1)),
                    Compute("os", m, k // 2, n, deps=deps, every=P, window=(P - 1, P))] \
            if edge else [Compute("os", m, k, n, deps=deps)]
        c = len(loads)
        return (*loads, *computes, Store(m * n * 8, every=P,
                                         deps=tuple(range(c, c + len(computes)))))

    runs = [Run(body(True), P)] if first else []
    return (*runs, Run(body(False), P * periods))


def exact(runs: tuple[Run, ...], arch) -> engine.Timed:
    fast = engine._simulate_runs(runs, arch, "native", True, False)
    slow = engine._prefix(runs, arch, "native", False, False).timed
    assert (fast.cycles, fast.busy, fast.stalls) == (slow.cycles, slow.busy, slow.stalls)
    return fast


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(ARCHS)), st.integers(interior.MIN_PERIOD, 220),
       st.integers(1, 12), st.integers(2, 5), st.booleans(), st.booleans(),
       st.sampled_from([0.5, 4.0, 12.8, 100.0]), st.sampled_from([0, 100, 400]))
def test_the_interior_fast_forward_equals_every_iteration(name, P, periods, slots, first, edge,
                                                          bw, latency) -> None:
    arch = with_dram(ARCHS[name], bw, latency)
    side = min(16, arch.array.rows, arch.array.cols)  # (an OS tile: m on rows, n on columns)
    exact(reduction_runs(P, periods, slots, first, edge, m=side, n=side), arch)


def test_it_is_used_where_it_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a long reduction it answers (and answers what every iteration gives), with a
    fraction of the instances simulated."""
    used = []
    real = interior.interior_fast_forward

    def spy(*args):
        used.append(real(*args))
        return used[-1]

    monkeypatch.setattr(engine, "interior_fast_forward", spy)
    arch = load_arch("edge_int8")
    exact(reduction_runs(500, 40, 3, first=True, edge=True), arch)
    assert used and used[0] is not None


def test_only_boundary_local_patterns_are_cut() -> None:
    runs = reduction_runs(100, 4, 2, first=False, edge=True)
    lengths = interior.cut_lengths(runs, 24)
    assert lengths == (28,)  # 100 - 28 is a multiple of every interior cyclicity up to 4
    (run,) = interior.compress(runs, lengths)
    assert run.count == 4 * 28 and run.period == 28
    assert [ins.window for ins in run.body if ins.every != 1] == [(0, 27), (27, 28), (27, 28)]
    mid = (Load("weight", 8), Compute("os", 4, 4, 4, deps=(0,)),
           Store(8, every=100, window=(50, 51), deps=(1,)))
    assert interior.cut_lengths((Run(mid, 400),), 24) is None  # a store mid-period
    other = (Load("weight", 8, every=4), Compute("os", 4, 4, 4, deps=(0,)),
             Store(8, every=100, deps=(1,)))
    assert interior.cut_lengths((Run(other, 400),), 24) is None  # an every that is neither
    assert interior.cut_lengths(reduction_runs(40, 4, 2, False, False), 24) is None  # short


def test_a_run_ends_where_the_next_runs_prefetched_loads_reach() -> None:
    """MobileNetV2's features.1.conv.0.0 on edge_int8: the outer fast-forward used to insert
    periods copied from windows that the next run's prefetched loads reach into, one cycle
    off (401,621 against 401,620, every iteration simulated)."""
    from compiler.frontend.pytorch import trace
    from compiler.mapping import map_model
    from compiler.passes import compile_graph
    from systolab.zoo import get_model

    model, x = get_model("mobilenet_v2")
    arch = load_arch("edge_int8")
    program = map_model(compile_graph(trace(model, x)), arch).program
    runs = next(layer.runs for layer in program.layers if layer.name == "features.1.conv.0.0")
    outer = engine._prefix(runs, arch, "native", True, False).timed  # (no interior)
    every = engine._prefix(runs, arch, "native", False, False).timed
    assert (outer.cycles, outer.busy, outer.stalls) == (every.cycles, every.busy, every.stalls)
    assert every.cycles == 401_620
