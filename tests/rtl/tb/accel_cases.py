"""The GEMM layers the accelerator's testbench runs (tb_accel.py; accel_conv.py has the
convolutions): directed ones shaped after real layers and shrunk to the build's array, per
dataflow and loop order, and seeded random ones. accel_program.build_program makes each a
program."""

from __future__ import annotations

import numpy as np
from accel_program import LayerCase


def directed_cases(R: int, C: int, dataflow: str = "ws") -> list[LayerCase]:
    """Small linear layers shaped after real ones, shrunk to an R x C array, with edge tiles
    in m, k and n; DRAM latency shorter and longer than a tile; bandwidth- and nearly
    compute-bound; stores backing up; deep load streams (slots > 2)."""
    if dataflow == "os":
        return _os_directed_cases(R, C)

    def _case(name: str, M: int, N: int, K: int, bpc: int, latency: int,
              m_t: int) -> LayerCase:  # tiles as large as the array and the layer allow
        return LayerCase(name, M, N, K, bpc, latency, (m_t, min(R, K), min(C, N)))

    k_edge = R + 2 if R > 2 else R + 1   # one full k tile and an edge one
    n_edge = C + 2 if C > 2 else C + 1
    return [
        # LeNet-300-100 fc3 (100 -> 10), K shrunk, batch 6: edges in m, k and n
        _case("lenet_fc3", 6, 10, k_edge, 8, 4, 4),
        # a 1x1 convolution over a 4x4 map (M = H * W), latency longer than a tile
        _case("conv1x1_4x4", 16, n_edge, 2 * R, 8 * (n_edge - C), 40, 8),
        # one k step per output tile on a slow channel: the stores back up
        _case("stores_back_up", 12, C, R, 8, 6, 2),
        # long activation streams on a channel as fast as the SRAM write port takes
        _case("nearly_compute_bound", 32, C, 2 * R, 8 * min(R, C), 2, 16),
        # a slow channel under everything
        _case("bandwidth_bound", 8, 2 * C, 2 * R, 4, 10, 4),
        # high latency: the mapper deepens the load streams
        _case("deep_streams", 8, C, 2 * R, 16, 30, 4),
        *_resident_cases(R, C, "ws"),
        *_nkm_cases(R, C, "ws"),
    ]


def _os_directed_cases(R: int, C: int) -> list[LayerCase]:
    """The OS counterparts: tiles m <= R, n <= C, the reduction k streamed, up to 2 max(R, C)
    long (the builds' KDEPTH covers it up to 8 x 8), and a 1-long k edge tile right after a
    long one (the engine spaces its results from the long tile's, as os_array needs)."""
    S = max(R, C)

    def _case(name: str, M: int, N: int, K: int, bpc: int, latency: int,
              k_t: int) -> LayerCase:  # m and n tiles as large as the array and the layer allow
        return LayerCase(name, M, N, K, bpc, latency, (min(R, M), k_t, min(C, N)))

    return [
        # LeNet-300-100 fc3 shrunk: edges in m and n, a k edge tile (2S, then S)
        _case("lenet_fc3_os", R + 1, C + 1, 3 * S, 8, 4, 2 * S),
        # one k tile longer than R and C, latency longer than a tile
        _case("long_k_os", 2 * R, C, S + 3, 16, 40, S + 3),
        # short reductions on a slow channel: the stores back up
        _case("stores_back_up_os", 3 * R, C, max(1, S // 2), 8, 6, max(1, S // 2)),
        # long reductions on the fastest channel the weight SRAM takes (a C-wide row per
        # cycle); still bandwidth-bound: that SRAM write port caps the channel
        _case("fast_channel_os", 4 * R, C, 2 * S, 8 * C, 2, 2 * S),
        # a slow channel under everything; two k steps accumulate in the output slot
        _case("bandwidth_bound_os", 2 * R, 2 * C, 2 * S, 4, 10, S),
        # high latency: the mapper deepens the load streams
        _case("deep_streams_os", 2 * R, C, 2 * S, 16, 24, S),
        # a k edge of 1 after 2S: its results wait for the long tile's to leave the array
        _case("short_k_edge_os", R, C, 2 * S + 1, 8, 2, 2 * S),
        *_resident_cases(R, C, "os"),
        *_nkm_cases(R, C, "os"),
    ]


def _resident_cases(R: int, C: int, dataflow: str) -> list[LayerCase]:
    """mnk and Nmnk nests (codegen.gemm_runs) with edge tiles in m, k and n (n tiles: two
    full, one edge): few m tiles (each m tile's first n tile a run of its own, the others
    reading its inputs resident) and a class of eight (one run); an Nmnk weight block per n
    tile size, and blocks of one n tile (a class's first m tile loads the block, the other
    classes read it resident)."""
    if dataflow == "ws":  # m streams: short and long m tiles; k as the array holds
        few, many, K = (4, 10), (2, 17), (R + 2 if R > 2 else R + 1)
        k_t = R
    else:  # m on the rows: m tiles of R; a long reduction in three k steps, the last 1 long
        S = max(R, C)
        few, many, K, k_t = (R, 2 * R + 1), (R, 8 * R + 1), 2 * S + 1, S
    N = 2 * C + 1

    def _case(name: str, m: tuple[int, int], bpc: int, latency: int, order: str,
              n_block: int = 0) -> LayerCase:
        return LayerCase(f"{name}_{dataflow}", m[1], N, K, bpc, latency, (m[0], k_t, C),
                         order=order, n_block=n_block)

    return [
        _case("mnk_first_and_other_n", few, 8, 6, "mnk"),
        _case("mnk_one_run", many, 8, 3, "mnk"),
        _case("Nmnk_one_block", few, 8, 4, "Nmnk", 2 * C),
        _case("Nmnk_blocks", many, 8, 30, "Nmnk", C),
    ]


def _nkm_cases(R: int, C: int, dataflow: str) -> list[LayerCase]:
    """nkm nests (codegen.gemm_runs): each weight tile serves every m tile of its class, whose
    partial sums stay in regions of the output slot across two k steps (k exact: nkm has
    one k tile size), each stored after the last k step; m tiles of a full class and an
    edge class (a run each), n tiles two full and one edge. On a slow channel the stores,
    one per m tile in a window of the period, back up; the class of many m tiles holds more
    rows than an output slot (DEPTH 16 on the test builds), so its regions run on into the
    next slot."""
    if dataflow == "ws":  # m streams: m tiles of 4 (3 and an edge of 2), of 8 (3 and 3)
        few, many, k_t = (4, 14), (8, 27), R
    else:  # m on the rows: tiles of R, three and an edge of 1, or more than 16 rows of them
        few, many, k_t = (R, 3 * R + 1), (R, -(-17 // R) * R + 1), max(R, C)
    N = 2 * C + 1

    def _case(name: str, m: tuple[int, int], bpc: int, latency: int) -> LayerCase:
        return LayerCase(f"{name}_{dataflow}", m[1], N, 2 * k_t, bpc, latency, (m[0], k_t, C),
                         order="nkm")

    return [
        _case("nkm_stores_back_up", few, 8, 6),
        _case("nkm_regions_past_a_slot", many, 8, 3),
    ]


def random_case(rng: np.random.Generator, R: int, C: int, index: int,
                dataflow: str = "ws") -> LayerCase:
    """A random GEMM, mapping and channel (speed and latency) for an R x C array."""
    if dataflow == "os":  # m on the rows, so fewer rows; k streamed, so longer reductions
        M = int(rng.integers(1, 2 * R + 3))
        N = int(rng.integers(1, 2 * C + 2))
        K = int(rng.integers(1, 3 * max(R, C) + 2))
    else:
        M = int(rng.integers(1, 21))
        N = int(rng.integers(1, 2 * C + 2))
        K = int(rng.integers(1, 2 * R + 2))
    bpc = int(rng.choice([2, 4, 8, 16, 32]))
    latency = int(rng.choice([1, 3, 8, 20, 50]))
    return LayerCase(f"random_{index}", M, N, K, bpc, latency, None, int(rng.integers(0, 64)))
