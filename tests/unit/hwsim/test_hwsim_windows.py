"""Instruction windows (hwsim.isa): edge tiles and reuse inside one run, checked against the
same work written without windows."""

from __future__ import annotations

import dataclasses

import pytest

from hwsim.config import load_arch
from hwsim.engine import simulate
from hwsim.isa import Compute, Layer, Load, Program, Run, Store

ARCH = load_arch("edge_int8")  # 16 x 16, WS and OS


def with_dram(bw_gbps: float, latency_ns: float | None = None):
    dram = dataclasses.replace(ARCH.dram, bw_gbps=bw_gbps, latency_ns=ARCH.dram.latency_ns
                               if latency_ns is None else latency_ns)
    return dataclasses.replace(ARCH, dram=dram)


def k_edge_body(df: str, m: int, n: int, k: int, k_edge: int, Kt: int) -> tuple:
    """Output tile ``m x n`` over ``Kt`` reduction steps: ``Kt - 1`` of ``k``, one of
    ``k_edge``; loads and computes split into full and edge variants, as the compiler emits."""
    full, edge = (0, Kt - 1), (Kt - 1, Kt)
    return (
        Load("weight", k * n * 8, every=Kt, window=full),
        Load("weight", k_edge * n * 8, every=Kt, window=edge),
        Load("input", m * k * 8, every=Kt, window=full),
        Load("input", m * k_edge * 8, every=Kt, window=edge),
        Compute(df, m, k, n, every=Kt, window=full, deps=(0, 2)),
        Compute(df, m, k_edge, n, every=Kt, window=edge, deps=(1, 3)),
        Store(m * n * 8, every=Kt, deps=(5,)),
    )


def layer(*runs: Run) -> Program:
    return Program("p", (Layer("l", runs),))


@pytest.mark.parametrize("bw", [0.5, 4.0, 100.0])
@pytest.mark.parametrize(("df", "m", "n", "k"), [("ws", 64, 16, 16), ("os", 16, 16, 40)])
def test_edge_variants_of_the_full_size_equal_one_instruction(bw, df, m, n, k):
    """Split into full/edge variants of the same shape, a run must be timed exactly like the
    unsplit run: the variants form one load stream with the same two slots."""
    arch, Kt = with_dram(bw), 5
    split = layer(Run(k_edge_body(df, m, n, k, k, Kt), count=Kt * 40))
    plain = layer(Run((Load("weight", k * n * 8), Load("input", m * k * 8),
                       Compute(df, m, k, n, deps=(0, 1)), Store(m * n * 8, every=Kt, deps=(2,))),
                      count=Kt * 40))
    a, b = simulate(split, arch), simulate(plain, arch)
    assert (a.cycles, a.total.stalls, a.total.counts) == (b.cycles, b.total.stalls, b.total.counts)
    assert [(e.start, e.duration) for e in a.trace] == [(e.start, e.duration) for e in b.trace]


@pytest.mark.parametrize(("df", "m", "n", "k", "k_edge"), [("ws", 64, 16, 16, 5),
                                                          ("os", 16, 16, 40, 7)])
def test_k_edge_conserves_macs_and_equals_the_unrolled_tiles(df, m, n, k, k_edge):
    """``K = 3k + k_edge`` per output tile, 30 output tiles. Unrolled, each tile is its own
    one-iteration run (runs share the units and the pipeline does not drain between them).
    Counts, traffic and energy must match exactly; with memory made negligible the array
    runs the same tile sequence back to back, so cycles must match too (with real memory the
    two differ legitimately: unrolled runs have no double-buffering constraint between
    them)."""
    Kt, tiles = 4, 30
    windowed = layer(Run(k_edge_body(df, m, n, k, k_edge, Kt), count=Kt * tiles))
    unrolled = []
    for _ in range(tiles):
        for step in range(Kt):
            kk = k if step < Kt - 1 else k_edge
            body: tuple = (Load("weight", kk * n * 8), Load("input", m * kk * 8),
                           Compute(df, m, kk, n, deps=(0, 1)))
            if step == Kt - 1:
                body += (Store(m * n * 8, deps=(2,)),)
            unrolled.append(Run(body, 1))
    unrolled_prog = layer(*unrolled)
    for arch in (ARCH, with_dram(1e6, 0)):
        a, b = simulate(windowed, arch), simulate(unrolled_prog, arch)
        assert a.total.macs == b.total.macs == m * n * (3 * k + k_edge) * tiles
        assert a.total.counts == b.total.counts
        assert (a.total.dram_read_bits, a.total.dram_write_bits) == \
            (b.total.dram_read_bits, b.total.dram_write_bits)
        assert a.total.energy.mac_pj == b.total.energy.mac_pj
        assert a.total.energy.sram_pj == pytest.approx(b.total.energy.sram_pj)
        assert a.cycles == a.total.busy_cycles + sum(a.total.stalls.values())
    fast = with_dram(1e6, 0)
    a, b = simulate(windowed, fast), simulate(unrolled_prog, fast)
    assert a.cycles == b.cycles
    assert a.total.energy == b.total.energy


def test_full_window_equals_every_one():
    """``every=P, window=(0, P)`` executes in every iteration: the same as ``every=1``."""
    arch = with_dram(2.0)
    body = (Load("weight", 16 * 16 * 8), Load("input", 40 * 16 * 8),
            Compute("ws", 40, 16, 16, deps=(0, 1)), Store(40 * 16 * 8, every=3, deps=(2,)))
    wide = tuple(dataclasses.replace(ins, every=3, window=(0, 3)) if i < 3 else ins
                 for i, ins in enumerate(body))
    a, b = simulate(layer(Run(body, 300)), arch), simulate(layer(Run(wide, 300)), arch)
    assert (a.cycles, a.total.stalls, a.total.counts) == (b.cycles, b.total.stalls, b.total.counts)


def test_weight_reuse_across_m_blocks_loads_each_weight_once():
    """Order (n, k, m): the weight tile of step k is loaded once and reused by Mb m blocks;
    each m block is stored after its last k."""
    M, K, N, Mb, Kt, Nt, m, k, n = 4 * 64, 3 * 16, 2 * 16, 4, 3, 2, 64, 16, 16
    body = (Load("weight", k * n * 8, every=Mb), Load("input", m * k * 8),
            Compute("ws", m, k, n, deps=(0, 1)),
            Store(m * n * 8, every=Kt * Mb, window=((Kt - 1) * Mb, Kt * Mb), deps=(2,)))
    prog = Program("p", (Layer("l", (Run(body, Nt * Kt * Mb),), M * K * 8, K * N * 8,
                                M * N * 8),))
    stats = simulate(prog, ARCH)
    assert stats.total.macs == M * K * N
    assert stats.total.dram_read_bits == K * N * 8 + Nt * M * K * 8  # weights once
    assert stats.total.dram_write_bits == M * N * 8  # every output tile once
    slow = simulate(prog, ARCH, steady_state=False)
    assert (stats.cycles, stats.total.stalls) == (slow.cycles, slow.total.stalls)


def test_input_reuse_across_n_tiles_loads_each_input_once():
    """Order (m, n, k) with a k edge: the input row block (Kt tiles) is loaded in the first n
    tile only and reused by the other Nt - 1."""
    m, n, k, k_edge, Kt, Nt, Mb = 64, 16, 16, 9, 3, 4, 20
    P = Nt * Kt
    body = list(k_edge_body("ws", m, n, k, k_edge, Kt))
    body[2] = Load("input", m * k * 8, every=P, window=(0, Kt - 1))
    body[3] = Load("input", m * k_edge * 8, every=P, window=(Kt - 1, Kt))
    prog = layer(Run(tuple(body), Mb * P))
    stats = simulate(prog, ARCH)
    K, N, M = 2 * k + k_edge, Nt * n, Mb * m
    assert stats.total.macs == M * K * N
    assert stats.total.dram_read_bits == M * K * 8 + Mb * K * N * 8  # inputs once
    assert stats.total.dram_write_bits == M * N * 8
    slow = simulate(prog, ARCH, steady_state=False)
    assert (stats.cycles, stats.total.stalls) == (slow.cycles, slow.total.stalls)
