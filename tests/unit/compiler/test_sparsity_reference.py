"""Law: the reduction the mapper shrinks for sparsity is the one the array runs once it compacts
the zeros away. On the cycle-by-cycle reference array (hwsim.reference), a 2:4 tile whose rows
are gathered by its metadata, and a tile whose all-zero activation columns are dropped
(Cnvlutin), compute the dense product in the closed-form cycles of the compacted k; and the
code generator emits every reduction tile at ``ceil(k * k_scale)``, with ``k_scale`` what
:func:`compiler.mapping.sparsity.sparsity_effect` says, which the engine runs event by event
in the cycles of its steady-state fast-forward."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
import torch
from torch import nn

from compiler.compression.activations import with_input_density
from compiler.compression.nm import nm_of, prune_nm
from compiler.frontend.pytorch import trace
from compiler.ir import Graph
from compiler.mapping.codegen import gemm_runs
from compiler.mapping.plan import GemmMapping
from compiler.mapping.sparsity import sparsity_effect
from compiler.passes import compile_graph
from hwsim.config import ArrayConfig, load_arch
from hwsim.engine import simulate
from hwsim.isa import Compute, Layer
from hwsim.reference import make_pe, os_array, ws_array
from hwsim.timing import tile_cycles
from systolab.pipeline import Simulation, simulate_graph

ARRAYS = [(4, 4), (8, 8), (12, 8)]
SEEDS = range(4)
DENSITY = 0.5  # the input density set on every compute op of the Cnvlutin graph
LAYERS = ("conv", "fc")


# --- operands and compaction --------------------------------------------------------------


def array_of(rows: int, cols: int) -> ArrayConfig:
    return ArrayConfig(rows, cols, ("ws", "os"), make_pe(), 100.0)


def int8(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Signed 8-bit operands with no zero among them (so the only zeros are the ones placed)."""
    x = rng.integers(-128, 127, size=shape)
    return np.where(x >= 0, x + 1, x)


def prune_2_4(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``w`` (``k x n``) pruned to 2:4 along k with one pattern for all its columns (the 2
    rows of each group of 4 with the largest magnitude over the tile), and the kept rows."""
    k = w.shape[0]
    assert k % 4 == 0
    mass = np.abs(w).sum(axis=1).reshape(k // 4, 4)
    keep = np.sort(np.argsort(-mass, axis=1, kind="stable")[:, :2], axis=1)
    keep = (keep + 4 * np.arange(k // 4)[:, None]).ravel()
    pruned = np.zeros_like(w)
    pruned[keep] = w[keep]
    return pruned, keep


def nm_tile(rng: np.random.Generator, m: int, k: int, n: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(A, the 2:4 pruned W, the gathered A', the compacted W') of one random tile."""
    a, w = int8(rng, (m, k)), int8(rng, (k, n))
    pruned, keep = prune_2_4(w)
    assert nm_of(torch.from_numpy(pruned.T.copy())) == (2, 4)  # [out, in], as the front end
    return a, pruned, a[:, keep], pruned[keep]


def skip_tile(rng: np.random.Generator, m: int, k: int, n: int, zeros: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(A with ``zeros`` all-zero columns, W, A without them, W without their rows)."""
    a, w = int8(rng, (m, k)), int8(rng, (k, n))
    a[:, rng.choice(k, size=zeros, replace=False)] = 0
    keep = np.flatnonzero(a.any(axis=0))  # the non-zero inputs the tile's rows share
    assert keep.size == k - zeros
    return a, w, a[:, keep], w[keep]


# --- the mapped models ------------------------------------------------------------------------


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(8, 16, 3, padding=1), relu=nn.ReLU(),
                                     flat=nn.Flatten(), fc=nn.Linear(16 * 6 * 6, 10))).eval()


X = torch.randn(1, 8, 6, 6, generator=torch.Generator().manual_seed(1))


@cache
def graph(kind: str) -> Graph:
    """``"nm"``: conv and fc pruned to 2:4; ``"acts"``: dense, input density 0.5 each."""
    model = net()
    if kind == "nm":
        for name in LAYERS:
            prune_nm(getattr(model, name), 2, 4)
    g = compile_graph(trace(model, X))
    return with_input_density(g, dict.fromkeys(LAYERS, DENSITY)) if kind == "acts" else g


@cache
def sim(kind: str, arch: str, dataflow: str = "auto") -> Simulation:
    return simulate_graph(graph(kind), arch, trace=False, dataflow=dataflow)


def mapping(kind: str, arch: str, name: str, dataflow: str = "auto") -> GemmMapping:
    mp = sim(kind, arch, dataflow).mapped.plan(name).mapping
    assert mp is not None
    return mp


def layer(s: Simulation, name: str) -> Layer:
    return next(la for la in s.mapped.program.layers if la.name == name)


def computes(runs) -> list[Compute]:
    return [ins for run in runs for ins in run.body if isinstance(ins, Compute)]


def expected_k_scale(kind: str, arch: str) -> float:
    """What the shipped config promises: 2:4 runs half of each reduction; Cnvlutin the
    non-zero inputs stretched by its imbalance; an array without support, all of it."""
    support = load_arch(arch).sparsity
    if kind == "nm" and support.nm == (2, 4):
        return 2 / 4
    if kind == "acts" and support.activation_skip:
        return min(1.0, DENSITY * support.imbalance)
    return 1.0


CASES = [("nm", "sparse_nm_int8"), ("acts", "cnvlutin_int8")]
DATAFLOWS = ["auto", "ws", "os"]


# --- 1. N:M on the reference array --------------------------------------------------------


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize(("rows", "cols"), ARRAYS)
@pytest.mark.parametrize("seed", SEEDS)
def test_a_2_4_tile_gathered_by_its_metadata_computes_the_pruned_product_in_half_k(
        dataflow: str, rows: int, cols: int, seed: int) -> None:
    rng = np.random.default_rng(seed if dataflow == "ws" else 100 + seed)
    half = mapping("nm", "sparse_nm_int8", "conv")  # the mapper's k_scale for a 2:4 layer
    k = 4 * int(rng.integers(1, rows // 4 + 1))
    m = int(rng.integers(1, 7 if dataflow == "ws" else rows + 1))  # (OS holds m on its rows)
    n, count = int(rng.integers(1, cols + 1)), int(rng.integers(1, 4))
    tiles = [nm_tile(rng, m, k, n) for _ in range(count)]
    array = ws_array if dataflow == "ws" else os_array
    r = array([t[2] for t in tiles], [t[3] for t in tiles], rows, cols)
    for (a, pruned, *_), out in zip(tiles, r.outputs, strict=True):
        assert np.array_equal(out, a @ pruned)
    assert tiles[0][3].shape[0] == half.array_k(k) == math.ceil(k * 2 / 4)
    assert r.cycles == tile_cycles(array_of(rows, cols), dataflow, m, half.array_k(k), n,
                                   count=count)


# --- 2. activation skipping on the reference array -----------------------------------------


def _skip_case(rng: np.random.Generator, rows: int) -> tuple[int, int]:
    k = int(rng.integers(1, rows + 1))
    return k, int(rng.integers(0, k))  # at least one non-zero input survives


def _mapper_k_of_skipped(k: int, zeros: int) -> tuple[int, int]:
    """The mapper's array k for a tile of ``k`` inputs with ``zeros`` of them zero: with no
    imbalance, and with Cnvlutin's."""
    mp = mapping("acts", "cnvlutin_int8", "conv")
    density = (k - zeros) / k
    imbalance = load_arch("cnvlutin_int8").sparsity.imbalance
    return (replace(mp, k_scale=density).array_k(k),
            replace(mp, k_scale=min(1.0, density * imbalance)).array_k(k))


@pytest.mark.parametrize(("rows", "cols"), ARRAYS)
@pytest.mark.parametrize("seed", SEEDS)
def test_dropping_a_ws_tiles_zero_activation_columns_keeps_the_product_at_the_compacted_k(
        rows: int, cols: int, seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    k, zeros = _skip_case(rng, rows)
    m, n, count = int(rng.integers(1, 7)), int(rng.integers(1, cols + 1)), int(rng.integers(1, 4))
    tiles = [skip_tile(rng, m, k, n, zeros) for _ in range(count)]
    r = ws_array([t[2] for t in tiles], [t[3] for t in tiles], rows, cols)
    for (a, w, *_), out in zip(tiles, r.outputs, strict=True):
        assert np.array_equal(out, a @ w)
    exact, padded = _mapper_k_of_skipped(k, zeros)
    assert exact == k - zeros <= padded  # the imbalance never undercounts the compacted k
    assert r.cycles == tile_cycles(array_of(rows, cols), "ws", m, k - zeros, n, count=count)


@pytest.mark.parametrize(("rows", "cols"), ARRAYS)
@pytest.mark.parametrize("seed", SEEDS)
def test_dropping_an_os_tiles_zero_activation_columns_keeps_the_product_at_the_compacted_k(
        rows: int, cols: int, seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    k, zeros = _skip_case(rng, rows)
    m, n, count = int(rng.integers(1, rows + 1)), int(rng.integers(1, cols + 1)), \
        int(rng.integers(1, 4))
    tiles = [skip_tile(rng, m, k, n, zeros) for _ in range(count)]
    r = os_array([t[2] for t in tiles], [t[3] for t in tiles], rows, cols)
    for (a, w, *_), out in zip(tiles, r.outputs, strict=True):
        assert np.array_equal(out, a @ w)
    exact, padded = _mapper_k_of_skipped(k, zeros)
    assert exact == k - zeros <= padded
    assert r.cycles == tile_cycles(array_of(rows, cols), "os", m, k - zeros, n, count=count)
    if padded > exact:  # on OS the reduction streams: the padded k costs its cycles
        assert tile_cycles(array_of(rows, cols), "os", m, padded, n, count=count) > r.cycles


# --- 3. mapper -> program -> engine ----------------------------------------------------------


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize(("kind", "arch"), CASES)
def test_every_emitted_compute_runs_its_dense_k_tile_times_the_layers_k_scale(
        kind: str, arch: str, dataflow: str) -> None:
    s = sim(kind, arch, dataflow)
    for name in LAYERS:
        plan = s.mapped.plan(name)
        mp = plan.mapping
        assert mp is not None
        scale = sparsity_effect(plan.op, s.arch).k_scale
        assert scale == mp.k_scale == expected_k_scale(kind, arch) < 1.0
        emitted = computes(layer(s, name).runs)
        dense = computes(gemm_runs(replace(mp, k_scale=1.0), out_bits=8))
        assert emitted and len(emitted) == len(dense)
        assert {c.k for c in dense} == {k for _, k in mp.kplan.parts()}  # the dense k tiles
        for got, full in zip(emitted, dense, strict=True):
            assert got.k == max(1, math.ceil(full.k * scale)) < full.k
            assert replace(got, k=full.k) == full  # only k changed


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("kind", ["nm", "acts"])
def test_an_array_without_sparsity_support_runs_the_same_layers_at_the_dense_k(
        kind: str, dataflow: str) -> None:
    s = sim(kind, "edge_int8", dataflow)
    for name in LAYERS:
        plan = s.mapped.plan(name)
        mp = plan.mapping
        assert mp is not None and plan.sparsity is not None
        assert sparsity_effect(plan.op, s.arch).k_scale == mp.k_scale == 1.0
        assert "saves nothing" in plan.sparsity.note
        emitted = computes(layer(s, name).runs)
        assert emitted == computes(gemm_runs(mp, out_bits=8))
        assert {c.k for c in emitted} == {k for _, k in mp.kplan.parts()}


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize(("kind", "arch"), [*CASES, ("nm", "edge_int8"), ("acts", "edge_int8")])
def test_the_engine_event_by_event_takes_the_cycles_of_its_steady_state_fast_forward(
        kind: str, arch: str, dataflow: str) -> None:
    s = sim(kind, arch, dataflow)
    s.mapped.program.validate(s.arch)  # the shrunk tiles are well formed and fit the array
    full = simulate(s.mapped.program, s.arch, trace=False, steady_state=False)
    assert full.cycles == s.stats.cycles
    assert [la.cycles for la in full.layers] == [la.cycles for la in s.stats.layers]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_each_emitted_2_4_tile_run_compacted_on_the_reference_array_takes_its_closed_form(
        dataflow: str) -> None:
    """End to end: a random 2:4 tile at each emitted compute's dense shape, gathered to the
    emitted k, computes the pruned product on the reference array of the shipped config in
    the closed-form cycles of the instruction."""
    s = sim("nm", "sparse_nm_int8", dataflow)
    arr = s.arch.array
    rng = np.random.default_rng(7)
    for name in LAYERS:
        mp = mapping("nm", "sparse_nm_int8", name, dataflow)
        dense = computes(gemm_runs(replace(mp, k_scale=1.0), out_bits=8))
        shapes = {(got.dataflow, got.m, full.k, got.n, got.k, got.w_bits, got.a_bits)
                  for got, full in zip(computes(layer(s, name).runs), dense, strict=True)}
        for df, m, k, n, k_array, w_bits, a_bits in sorted(shapes):
            assert (w_bits, a_bits) == (8, 8) and k % 4 == 0
            a, pruned, a_kept, w_kept = nm_tile(rng, m, k, n)
            assert w_kept.shape[0] == k_array
            run = ws_array if df == "ws" else os_array
            r = run([a_kept], [w_kept], arr.rows, arr.cols)
            assert np.array_equal(r.outputs[0], a @ pruned)
            assert r.cycles == tile_cycles(s.arch, df, m, k_array, n, w_bits, a_bits)


@pytest.mark.parametrize(("kind", "arch"), CASES)
def test_on_ws_skipping_packs_more_stored_weights_into_the_array_rows(kind: str, arch: str) -> None:
    """A WS array holds a k tile on its rows: compacted, the tile spans the rows with the
    non-zeros of more than their number (2R dense weights on a 2:4 array), so the layer needs
    fewer tiles and fewer cycles than on the same array without skipping."""
    for name in LAYERS:
        sparse = mapping(kind, arch, name, "ws")
        dense = mapping(kind, "edge_int8", name, "ws")
        rows = load_arch(arch).array.rows
        assert dense.k_t <= rows < sparse.k_t
        assert sparse.array_k(sparse.k_t) <= rows
        assert sparse.compute_cycles < dense.compute_cycles


@pytest.mark.parametrize("k", range(1, 65))
def test_an_exact_share_compacts_to_exactly_its_non_zeros(k: int) -> None:
    """ceil(k * share) without the float error of the product: 14 non-zeros of 25 (0.56)
    compact to 14, not 15."""
    from compiler.mapping.plan import compacted_k, dense_k_cap

    for nonzero in range(1, k + 1):
        assert compacted_k(k, nonzero / k) == nonzero
    for cap in (4, 16, 17):
        for share in (0.5, 0.56, 0.65, 1 / 3):
            assert compacted_k(dense_k_cap(cap, share), share) <= cap < compacted_k(
                dense_k_cap(cap, share) + 1, share)
