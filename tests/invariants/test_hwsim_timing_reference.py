"""Law: the closed forms of hwsim.timing equal the cycle-by-cycle reference model exactly, and
the reference computes the GEMM (its outputs equal numpy's matmul), over randomized shapes,
bit widths, signedness, PE kinds and array sizes (docs/timing.md)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.config import ArrayConfig
from hwsim.reference import make_pe, os_array, ws_array
from hwsim.timing import tile_cycles

PE_CHOICES = [
    {"serial": None, "pe": "int", "int_width": 8},
    {"serial": None, "pe": "int", "int_width": 4},
    {"serial": "activations"},
    {"serial": "both"},
    {"serial": None, "pe": "bitfusion"},
]


@st.composite
def cases(draw):
    kw = draw(st.sampled_from(PE_CHOICES))
    hi = 4 if kw.get("serial") == "both" else 16 if kw.get("pe") == "bitfusion" else 12
    w_bits = draw(st.integers(1, hi))
    a_bits = draw(st.integers(1, hi))
    return {
        "kw": kw, "w_bits": w_bits, "a_bits": a_bits,
        "R": draw(st.integers(1, 5)), "C": draw(st.integers(1, 5)), "T": draw(st.integers(1, 3)),
        "signed": draw(st.booleans()), "seed": draw(st.integers(0, 2**31)),
    }


def operands(rng, bits, shape, signed):
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    return rng.integers(lo, hi, size=shape)


def array_of(case) -> ArrayConfig:
    return ArrayConfig(case["R"], case["C"], ("ws", "os", "is"), make_pe(**case["kw"]), 100.0)


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(1, 6))
def test_ws_closed_form_equals_reference(case, M):
    rng = np.random.default_rng(case["seed"])
    arr = array_of(case)
    R, C, T = case["R"], case["C"], case["T"]
    f = arr.pe.k_pack(case["w_bits"], case["a_bits"])
    W, A = [], []
    for _ in range(T):
        k, n = int(rng.integers(1, R * f + 1)), int(rng.integers(1, C + 1))
        W.append(operands(rng, case["w_bits"], (k, n), case["signed"]))
        A.append(operands(rng, case["a_bits"], (M, k), case["signed"]))
    r = ws_array(A, W, R, C, a_bits=case["a_bits"], w_bits=case["w_bits"],
                 signed=case["signed"], **case["kw"])
    for t in range(T):
        assert (r.outputs[t] == A[t] @ W[t]).all()
    assert r.cycles == tile_cycles(arr, "ws", M, 1, 1, case["w_bits"], case["a_bits"], count=T)


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(1, 8))
def test_os_closed_form_equals_reference(case, K):
    rng = np.random.default_rng(case["seed"])
    arr = array_of(case)
    R, C, T = case["R"], case["C"], case["T"]
    A, B = [], []
    for _ in range(T):
        m, n = int(rng.integers(1, R + 1)), int(rng.integers(1, C + 1))
        A.append(operands(rng, case["a_bits"], (m, K), case["signed"]))
        B.append(operands(rng, case["w_bits"], (K, n), case["signed"]))
    r = os_array(A, B, R, C, a_bits=case["a_bits"], w_bits=case["w_bits"],
                 signed=case["signed"], **case["kw"])
    for t in range(T):
        assert (r.outputs[t] == A[t] @ B[t]).all()
    assert r.cycles == tile_cycles(arr, "os", 1, K, 1, case["w_bits"], case["a_bits"], count=T)


@settings(max_examples=30, deadline=None)
@given(cases(), st.integers(1, 6))
def test_is_closed_form_equals_reference_with_roles_swapped(case, N):
    """IS holds A^T (k x m) in the array and streams the N weight columns: C^T = W^T A^T."""
    rng = np.random.default_rng(case["seed"])
    arr = array_of(case)
    R, C, T = case["R"], case["C"], case["T"]
    f = arr.pe.k_pack(case["w_bits"], case["a_bits"])
    At, Wt = [], []
    for _ in range(T):
        k, m = int(rng.integers(1, R * f + 1)), int(rng.integers(1, C + 1))
        At.append(operands(rng, case["a_bits"], (k, m), case["signed"]))   # stationary A^T
        Wt.append(operands(rng, case["w_bits"], (N, k), case["signed"]))   # streamed W^T
    # the stationary operand takes the weight slot of the WS model, the streamed one the input
    r = ws_array(Wt, At, R, C, a_bits=case["w_bits"], w_bits=case["a_bits"],
                 signed=case["signed"], **case["kw"])
    for t in range(T):
        assert (r.outputs[t].T == (Wt[t] @ At[t]).T).all()
    # the PE's stream factor is symmetric in (w, a) for every kind except Stripes, whose
    # serial operand is the streamed one: here the weights
    assert r.cycles == tile_cycles(arr, "is", 1, 1, N, case["a_bits"], case["w_bits"], count=T)
