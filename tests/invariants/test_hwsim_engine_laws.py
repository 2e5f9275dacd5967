"""Laws of the engine (DESIGN.md section 7), over random programs, arches and bits:

- cycles >= roofline bound (max of MACs / peak and DRAM bits / bandwidth);
- MACs are conserved by tiling (a tiled GEMM reports exactly M x K x N);
- DRAM traffic >= the unique tensor bits;
- energy == sum over actions of count x unit cost (+ static power x time);
- more DRAM bandwidth is never slower; enough SRAM slots per load stream hide DRAM latency;
- fewer bits are never slower on bit-serial and BitFusion PEs (same tiles);
- the steady-state fast-forward equals the event-by-event simulation of every iteration, also
  for windowed runs (edge tiles and reuse, :mod:`hwsim.isa`);
- the direct max-plus evaluation (:mod:`hwsim._timeline`) computes the same times as the simpy
  processes (:mod:`hwsim._processes`), and whenever it answers, the same stall accounting;
- time accounting closes: cycles == busy + stalls.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tile_programs import gemm_layer

from hwsim._processes import play_processes
from hwsim._sim import LayerSim
from hwsim._timeline import play
from hwsim.config import load_arch
from hwsim.engine import simulate, simulate_layer
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Layer, Load, Program, Run, Store, Vector

ARCHS = {n: load_arch(n) for n in ("edge_int8", "stripes", "loom", "bitfusion_eyeriss",
                                     "fpga_zynq7020")}
LAWS = settings(max_examples=25, deadline=None)


def with_dram(arch, bw=None, latency=None):
    dram = dataclasses.replace(arch.dram, bw_gbps=bw if bw is not None else arch.dram.bw_gbps,
                               latency_ns=latency if latency is not None
                               else arch.dram.latency_ns)
    return dataclasses.replace(arch, dram=dram)


@st.composite
def gemms(draw):
    arch = ARCHS[draw(st.sampled_from(sorted(ARCHS)))]
    arch = with_dram(arch, bw=draw(st.sampled_from([0.5, 4.0, 12.8, 100.0])),
                     latency=draw(st.sampled_from([0, 50, 200])))
    bits_hi = 4 if arch.array.pe.serial == "both" else 8
    return arch, gemm_layer(
        "g", draw(st.integers(1, 300)), draw(st.integers(1, 300)), draw(st.integers(1, 300)),
        arch, dataflow=draw(st.sampled_from(arch.array.dataflows)),
        w_bits=draw(st.integers(1, bits_hi)), a_bits=draw(st.integers(1, bits_hi)))


@st.composite
def hand_runs(draw, arch, w_bits=8, a_bits=8):
    """A random body: weight reuse, optional fused vector op, grouped stores."""
    R, C = arch.array.rows, arch.array.cols
    df = draw(st.sampled_from(arch.array.dataflows))
    f = arch.array.pe.k_pack(8, 8)
    m = draw(st.integers(1, 40)) if df != "os" else draw(st.integers(1, R))
    n = draw(st.integers(1, C)) if df != "is" else draw(st.integers(1, 40))
    k = draw(st.integers(1, R * f)) if df != "os" else draw(st.integers(1, 60))
    if df == "is":
        m = min(m, C)
    e_w = draw(st.sampled_from([1, 2, 3]))
    e_s = draw(st.sampled_from([1, 2]))
    body = [Load("weight", k * n * w_bits, every=e_w), Load("input", m * k * a_bits),
            Compute(df, m, k, n, w_bits, a_bits, deps=(0, 1))]
    if draw(st.booleans()):
        body.append(Vector("relu", m * n, deps=(2,)))
    body.append(Store(m * n * a_bits, every=e_s, deps=(len(body) - 1,)))
    count = math.lcm(e_w, e_s) * draw(st.integers(1, 60))
    return Run(with_slots(draw, body), count)


def with_slots(draw, body) -> tuple:
    """``body`` with a drawn number of SRAM slots per load stream (2 most often)."""
    slots = {b: draw(st.sampled_from([2, 2, 3, 5, 8])) for b in ("weight", "input")}
    return tuple(dataclasses.replace(ins, slots=slots[ins.buffer]) if isinstance(ins, Load)
                 else ins for ins in body)


@st.composite
def windowed_runs(draw, arch):
    """A random loop nest as the compiler emits it: ``Kt`` reduction steps with an edge step
    (full and edge variants of loads and computes), and one reuse pattern: none, weights
    reused by ``Mb`` m blocks (order n, k, m; no k edge) or inputs reused by ``Nt`` n tiles
    (order m, n, k)."""
    R, C = arch.array.rows, arch.array.cols
    df = draw(st.sampled_from(arch.array.dataflows))
    m = draw(st.integers(1, 40)) if df == "ws" else draw(st.integers(1, min(R, C)))
    n = draw(st.integers(1, C)) if df != "is" else draw(st.integers(1, 40))
    k_cap = R * arch.array.pe.k_pack(8, 8) if df != "os" else 60
    k = draw(st.integers(1, k_cap))
    k_e = draw(st.integers(1, k))
    Kt = draw(st.integers(1, 5))
    reuse = draw(st.sampled_from(["none", "weight", "input"]))
    vec = draw(st.booleans())
    if reuse == "weight":
        Mb = draw(st.integers(1, 3))
        P = Kt * Mb
        body = [Load("weight", k * n * 8, every=Mb), Load("input", m * k * 8),
                Compute(df, m, k, n, deps=(0, 1))]
        if vec:
            body.append(Vector("relu", m * n, every=P, window=((Kt - 1) * Mb, P), deps=(2,)))
        body.append(Store(m * n * 8, every=P, window=((Kt - 1) * Mb, P),
                          deps=(len(body) - 1,)))
        return Run(with_slots(draw, body), P * draw(st.integers(1, 40)))
    Nt = draw(st.integers(2, 3)) if reuse == "input" else 1
    full, edge = (0, Kt - 1), (Kt - 1, Kt)
    body = [Load("input", m * k_e * 8, every=Nt * Kt, window=edge)]
    if Kt > 1:
        body += [Load("input", m * k * 8, every=Nt * Kt, window=full),
                 Load("weight", k * n * 8, every=Kt, window=full),
                 Compute(df, m, k, n, every=Kt, window=full, deps=(1, 2))]
    body += [Load("weight", k_e * n * 8, every=Kt, window=edge)]
    body += [Compute(df, m, k_e, n, every=Kt, window=edge, deps=(0, len(body) - 1))]
    if vec:
        body.append(Vector("relu", m * n, every=Kt, window=edge, deps=(len(body) - 1,)))
    body.append(Store(m * n * 8, every=Kt, deps=(len(body) - 1,)))
    return Run(with_slots(draw, body), Nt * Kt * draw(st.integers(1, 40)))


@LAWS
@given(gemms())
def test_roofline_conservation_traffic_energy(case):
    arch, layer = case
    stats = simulate(Program("p", (layer,)), arch)
    total = stats.total
    peak = arch.peak_macs_per_cycle(layer.runs[0].body[2].w_bits, layer.runs[0].body[2].a_bits)
    assert total.cycles >= total.macs / peak
    assert total.cycles >= (total.dram_read_bits + total.dram_write_bits) / arch.dram_bits_per_cycle
    assert total.cycles >= total.roofline_cycles
    # DRAM traffic >= unique tensor bits
    assert total.dram_read_bits >= layer.input_bits + layer.weight_bits
    assert total.dram_write_bits >= layer.output_bits
    # energy = sum of counts x unit cost, recomputed from the program here
    t = arch.energy
    macs = sum(run.count * ins.macs for run in layer.runs for ins in run.body
               if isinstance(ins, Compute))
    assert macs == total.macs
    expect_mac = sum(run.count * ins.macs * arch.array.pe.mac_pj(t, arch.area, ins.w_bits, ins.a_bits)
                     for run in layer.runs for ins in run.body if isinstance(ins, Compute))
    dram = sum(run.instances(b) * ins.bits for run in layer.runs
               for b, ins in enumerate(run.body) if isinstance(ins, Load | Store))
    static_mw = (t.static_mw_per_mm2 * arch.array.pes * arch.array.pe.area_um2(arch.area) * 1e-6
                 + t.static_mw_per_mib_sram * sum(b.size_kib for b in arch.buffers.all()) / 1024)
    e = total.energy
    assert e.mac_pj == pytest.approx(expect_mac)
    assert e.dram_pj == pytest.approx(dram * arch.dram.pj_per_bit)
    assert e.static_pj == pytest.approx(static_mw * 1e-3 * total.seconds * 1e12)
    sram = sum(n * t.sram_read_pj_per_bit(arch.buffers.get(b).size_kib)
               for b, n in total.counts.sram_read_bits)
    sram += sum(n * t.sram_write_pj_per_bit(arch.buffers.get(b).size_kib)
                for b, n in total.counts.sram_write_bits)
    assert e.sram_pj == pytest.approx(sram)
    assert e.total_pj == pytest.approx(e.mac_pj + e.sram_pj + e.dram_pj + e.vector_pj
                                       + e.static_pj)
    assert total.cycles == total.busy_cycles + sum(total.stalls.values())


@LAWS
@given(st.sampled_from(sorted(ARCHS)), st.integers(1, 200), st.integers(1, 200),
       st.integers(1, 200))
def test_macs_conserved_by_tiling(name, M, K, N):
    arch = ARCHS[name]
    for df in arch.array.dataflows:
        layer = gemm_layer("g", M, K, N, arch, dataflow=df)
        assert simulate(Program("p", (layer,)), arch).total.macs == M * K * N


@LAWS
@given(gemms(), st.sampled_from([1.5, 2.0, 10.0]))
def test_more_bandwidth_is_never_slower(case, factor):
    arch, layer = case
    prog = Program("p", (layer,))
    slow = simulate(prog, arch).cycles
    fast = simulate(prog, with_dram(arch, bw=arch.dram.bw_gbps * factor)).cycles
    assert fast <= slow


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from(sorted(ARCHS)))
def test_enough_slots_hide_dram_latency(data, name):
    """With a slot per tile in flight beyond double buffering, a run pays DRAM latency about
    once (its first load, its last store), not once per tile."""
    arch = with_dram(ARCHS[name], bw=data.draw(st.sampled_from([4.0, 50.0])), latency=0)
    run = data.draw(st.one_of(windowed_runs(arch), hand_runs(arch)))
    lat_ns = data.draw(st.sampled_from([100, 400]))
    lat = math.ceil(lat_ns * arch.array.clock_mhz / 1000)
    deep = Run(tuple(dataclasses.replace(ins, slots=2 + lat) if isinstance(ins, Load) else ins
                     for ins in run.body), run.count)

    def cycles(r, latency_ns):  # unvalidated: so many slots need not fit the buffers
        return simulate_layer(Layer("l", (r,)), with_dram(arch, latency=latency_ns),
                              trace=False)[0].cycles

    assert cycles(deep, lat_ns) <= cycles(deep, 0) + 2 * lat


@LAWS
@given(st.data(), st.sampled_from(["stripes", "loom", "bitfusion_eyeriss"]))
def test_fewer_bits_is_never_slower(data, name):
    arch = with_dram(ARCHS[name], bw=data.draw(st.sampled_from([1.0, 12.8, 100.0])))
    hi = 4 if name == "loom" else 16
    w_bits = data.draw(st.integers(2, hi))
    a_bits = data.draw(st.integers(2, hi))
    run = data.draw(hand_runs(arch, w_bits, a_bits))
    w_lo = data.draw(st.integers(1, w_bits))
    a_lo = data.draw(st.integers(1, a_bits))

    def at(wb: int, ab: int) -> Program:
        body = []
        for ins in run.body:
            if isinstance(ins, Compute):
                ins = dataclasses.replace(ins, w_bits=wb, a_bits=ab)
            elif isinstance(ins, Load) and ins.buffer == "weight":
                ins = dataclasses.replace(ins, bits=ins.bits // w_bits * wb)
            elif isinstance(ins, Load | Store):
                ins = dataclasses.replace(ins, bits=ins.bits // a_bits * ab)
            body.append(ins)
        return Program("p", (Layer("l", (Run(tuple(body), run.count),)),))

    assert simulate(at(w_lo, a_lo), arch).cycles <= simulate(at(w_bits, a_bits), arch).cycles


def assert_fast_forward_exact(runs, arch, mode):
    """The steady-state fast-forward of one layer of ``runs`` equals simulating every
    iteration: cycles, busy cycles and stalls. Returns the fast result."""
    prog = Program("p", (Layer("l", runs),))
    fast = simulate(prog, arch, mode=mode)
    slow = simulate(prog, arch, mode=mode, steady_state=False)
    assert fast.cycles == slow.cycles
    assert fast.total.busy_cycles == slow.total.busy_cycles
    assert fast.total.stalls == slow.total.stalls
    return fast


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(sorted(ARCHS)), st.sampled_from(["native", "scalesim"]))
def test_steady_state_equals_full_simulation(data, name, mode):
    arch = with_dram(ARCHS[name], bw=data.draw(st.sampled_from([0.5, 4.0, 50.0])),
                     latency=data.draw(st.sampled_from([0, 100])))
    runs = tuple(data.draw(hand_runs(arch)) for _ in range(data.draw(st.integers(1, 3))))
    assert_fast_forward_exact(runs, arch, mode)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(sorted(ARCHS)), st.sampled_from(["native", "scalesim"]))
def test_steady_state_equals_full_simulation_windowed(data, name, mode):
    arch = with_dram(ARCHS[name], bw=data.draw(st.sampled_from([0.5, 4.0, 50.0])),
                     latency=data.draw(st.sampled_from([0, 100])))
    runs = tuple(data.draw(st.one_of(windowed_runs(arch), hand_runs(arch)))
                 for _ in range(data.draw(st.integers(1, 3))))
    fast = assert_fast_forward_exact(runs, arch, mode)
    assert fast.total.macs == sum(run.instances(b) * ins.macs for run in runs
                                  for b, ins in enumerate(run.body) if isinstance(ins, Compute))


@LAWS
@given(st.data(), st.sampled_from(sorted(ARCHS)), st.sampled_from([1.5, 4.0]))
def test_more_bandwidth_is_never_slower_windowed(data, name, factor):
    arch = with_dram(ARCHS[name], bw=data.draw(st.sampled_from([0.5, 4.0, 50.0])))
    prog = Program("p", (Layer("l", (data.draw(windowed_runs(arch)),)),))
    fast = with_dram(arch, bw=arch.dram.bw_gbps * factor)
    assert simulate(prog, fast).cycles <= simulate(prog, arch).cycles


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from(sorted(ARCHS)), st.sampled_from(["native", "scalesim"]))
def test_direct_evaluation_equals_simpy_processes(data, name, mode):
    """Same completion and queueing times; the units' records agree in the order the stall
    sweep reads them (by issue cycle), unless :func:`play` declines a same-cycle tie. Prefixes
    of any whole number of periods, so runs are also cut inside a long one."""
    arch = with_dram(ARCHS[name], bw=data.draw(st.sampled_from([0.5, 4.0, 50.0])),
                     latency=data.draw(st.sampled_from([0, 100])))
    runs = tuple(data.draw(st.one_of(windowed_runs(arch), hand_runs(arch)))
                 for _ in range(data.draw(st.integers(1, 3))))
    counts = [run.period * data.draw(st.integers(1, run.count // run.period)) for run in runs]
    sim = LayerSim(runs, counts, arch, mode)
    try:
        want = play_processes(runs, sim.sched, sim.cost, sim.dram)
    except ProgramError as err:
        with pytest.raises(ProgramError, match="deadlocks"):
            play(runs, sim.sched, sim.cost, sim.dram)
        assert "deadlocks" in str(err)
        return
    got = play(runs, sim.sched, sim.cost, sim.dram)
    if got is None:  # a same-cycle tie between the units: only simpy knows the order
        assert sim.sched.array and sim.sched.vector
        return
    assert got.t_done == want.t_done
    assert got.qwait == want.qwait
    assert got.primary == want.primary
    assert sorted(got.events) == sorted(want.events)
