"""hwsim.reference: the single units and the output-valid cycles of the array models."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.reference import bitfusion_dot, bitserial_dot, os_array, ws_array


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("mode", ["activations", "both"])
def test_bitserial_dot(signed, mode):
    rng = np.random.default_rng(1)
    for w_bits in (1, 3, 8):
        for a_bits in (1, 4, 8):
            lo_w, hi_w = (-(1 << (w_bits - 1)), 1 << (w_bits - 1)) if signed else (0, 1 << w_bits)
            lo_a, hi_a = (-(1 << (a_bits - 1)), 1 << (a_bits - 1)) if signed else (0, 1 << a_bits)
            w = rng.integers(lo_w, hi_w, 16)
            a = rng.integers(lo_a, hi_a, 16)
            value, cycles = bitserial_dot(w, a, w_bits, a_bits, signed, mode)
            assert value == int(np.dot(w, a))
            assert cycles == (a_bits if mode == "activations" else a_bits * w_bits)


@pytest.mark.parametrize("signed", [True, False])
def test_bitfusion_dot(signed):
    rng = np.random.default_rng(2)
    for w_bits, a_bits, f, t in [(2, 2, 16, 1), (4, 2, 8, 1), (3, 5, 2, 1), (8, 8, 1, 1),
                                 (16, 8, 1, 2), (16, 16, 1, 4), (12, 4, 2, 2)]:
        lo_w, hi_w = (-(1 << (w_bits - 1)), 1 << (w_bits - 1)) if signed else (0, 1 << w_bits)
        lo_a, hi_a = (-(1 << (a_bits - 1)), 1 << (a_bits - 1)) if signed else (0, 1 << a_bits)
        for length in (1, 7, 33):
            w = rng.integers(lo_w, hi_w, length)
            a = rng.integers(lo_a, hi_a, length)
            value, cycles = bitfusion_dot(w, a, w_bits, a_bits, signed)
            assert value == int(np.dot(w, a))
            assert cycles == t * -(-length // f)


def test_out_of_range_operands_are_refused():
    with pytest.raises(ValueError, match=r"weights must be signed 4-bit integers in \[-8, 7\]"):
        bitserial_dot([8], [1], 4, 4)
    with pytest.raises(ValueError, match=r"activations must be unsigned 2-bit"):
        bitfusion_dot([1], [-1], 2, 2, signed=False)


def test_ws_out_cycle_matches_contract():
    rng = np.random.default_rng(3)
    R, C, M, T, p = 3, 4, 5, 3, 3
    A = [rng.integers(-4, 4, (M, 2)) for _ in range(T)]
    W = [rng.integers(-128, 128, (2, 3)) for _ in range(T)]
    r = ws_array(A, W, R, C, a_bits=3, w_bits=8, serial="activations")
    S = max(p * M, R)
    for t in range(T):
        for m in range(M):
            for j in range(3):
                assert r.out_cycle[t][m, j] == R + t * S + p * m + p - 1 + R + j
    assert r.cycles == R + (T - 1) * S + p * M + R + C - 2


def test_os_out_cycle_matches_contract():
    rng = np.random.default_rng(4)
    R, C, K, T = 4, 3, 6, 2
    A = [rng.integers(-128, 128, (2, K)) for _ in range(T)]
    B = [rng.integers(-128, 128, (K, 3)) for _ in range(T)]
    r = os_array(A, B, R, C)
    S = max(K, R, C)
    for t in range(T):
        assert (r.outputs[t] == A[t] @ B[t]).all()
        for i in range(2):
            assert (r.out_cycle[t][i] == t * S + K + C - 1 + i).all()
    assert r.cycles == (T - 1) * S + K + R + C - 2


def test_small_tile_latency_depends_on_physical_array():
    one = [np.array([[1]])]
    assert ws_array(one, one, 2, 2).cycles < ws_array(one, one, 5, 6).cycles
    assert os_array(one, one, 5, 6).cycles == 1 + 5 + 6 - 2


def test_ws_rejects_ragged_or_oversized_tiles():
    with pytest.raises(ValueError, match="do not fit"):
        ws_array([np.ones((2, 3), int)], [np.ones((3, 1), int)], rows=2, cols=2)
