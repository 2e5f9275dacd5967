"""Cycle-by-cycle functional reference models of the array and its units (docs/timing.md).

These are THE reference the cocotb testbenches check the RTL against, and the ground truth the
closed forms of :mod:`hwsim.timing` are held to. They step every register of the array once per
clock cycle (vectorized over the PEs with numpy), so they are for small sizes only.

Operands are two's complement integers of the given widths (or unsigned with
``signed=False``); accumulators are int64. A precision-scalable PE multiplies one *digit pair*
per cycle: operands are split into digits (:meth:`hwsim.pe.PeConfig.digit_bits`; the top digit
of a signed operand is signed, the others unsigned), each streamed word takes one cycle per
digit pair (weight digit outer, activation digit inner), and partial sums are shifted by the
digits' weights and added. For a bit-parallel 8x8 PE there is one pair and no shift.

>>> import numpy as np
>>> A = [np.array([[1, 2], [3, 4], [5, 6]])]
>>> W = [np.array([[1, 0], [0, 1]])]
>>> r = ws_array(A, W, rows=2, cols=2)
>>> r.outputs[0].tolist(), r.cycles
([[1, 2], [3, 4], [5, 6]], 7)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hwsim.dataflow import OS, WS
from hwsim.fields import shown
from hwsim.pe import PeConfig, bitfusion_bits

__all__ = ["RefResult", "bitfusion_dot", "bitserial_dot", "make_pe", "os_array", "ws_array"]


@dataclass(frozen=True, slots=True)
class RefResult:
    """Outputs per tile, the latency (cycle of the last valid output on the physical array),
    and the cycle each output of each tile is presented valid (``out_cycle[t][m][j]``)."""

    outputs: tuple[np.ndarray, ...]
    cycles: int
    out_cycle: tuple[np.ndarray, ...]


def make_pe(serial: str | None = None, pe: str = "int", int_width: int = 8) -> PeConfig:
    """The PE a reference call models: ``serial`` selects a bit-serial PE, else ``pe``."""
    if serial is not None:
        return PeConfig("bitserial", serial=serial, max_bits=32)
    if pe == "bitfusion":
        return PeConfig("bitfusion", max_bits=16)
    return PeConfig(pe, width_bits=int_width, max_bits=32)


def _check_range(x: np.ndarray, bits: int, signed: bool, what: str) -> None:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if x.size and (x.min() < lo or x.max() > hi):
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"{what} must be {kind} {bits}-bit integers in [{lo}, {hi}]")


def _digits(x: np.ndarray, bits: int, digit: int, signed: bool) -> list[tuple[np.ndarray, int]]:
    """Split ``x`` into ``(digit value, shift)`` pairs with ``x == sum(v << shift)``."""
    n = math.ceil(bits / digit)
    u = np.asarray(x, dtype=np.int64) & ((1 << bits) - 1)
    out = []
    for d in range(n):
        width = min(digit, bits - d * digit)
        v = (u >> (d * digit)) & ((1 << width) - 1)
        if signed and d == n - 1:
            v = np.where(v >= (1 << (width - 1)), v - (1 << width), v)
        out.append((v, d * digit))
    return out


def _pairs(pe: PeConfig, w_bits: int, a_bits: int) -> tuple[int, int, int]:
    """(number of digit pairs p, weight digit width, activation digit width)."""
    wd, ad = pe.digit_bits(w_bits, a_bits)
    nw, na = math.ceil(w_bits / wd), math.ceil(a_bits / ad)
    p = nw * na
    assert p == pe.stream_factor(w_bits, a_bits), "digit pairs must equal the stream factor"
    return p, wd, ad


def _digit_stack(x: np.ndarray, bits: int, digit: int, signed: bool) -> tuple[np.ndarray, list]:
    ds = _digits(x, bits, digit, signed)
    return np.stack([v for v, _ in ds]), [s for _, s in ds]


def ws_array(A: Sequence[np.ndarray], W_tiles: Sequence[np.ndarray], rows: int, cols: int,
             a_bits: int = 8, w_bits: int = 8, serial: str | None = None, *,
             pe: str = "int", int_width: int = 8, signed: bool = True) -> RefResult:
    """Run ``T`` back-to-back weight-stationary tiles cycle by cycle.

    ``W_tiles[t]`` is ``k x n`` (``k <= rows * f``, ``n <= cols``, zero padded), ``A[t]`` is the
    ``M x k`` activation block streamed through it (every tile has the same ``M``). Tile ``u``
    loads its weights from cycle ``u * S`` and streams from ``R + u * S``, where ``S`` is the
    WS record's issue period (:mod:`hwsim.dataflow`, ``max(p * M, R)``); output ``(m, j)`` is
    valid in cycle ``start + p*m + p-1 + R + j``. IS runs on this array with the roles of the
    operands swapped.

    >>> import numpy as np
    >>> r = ws_array([np.array([[3, -1]])], [np.array([[2], [5]])], rows=2, cols=2,
    ...              a_bits=4, w_bits=4, serial="activations")
    >>> int(r.outputs[0][0, 0]), r.cycles, int(r.out_cycle[0][0, 0])
    (1, 8, 7)
    """
    unit = make_pe(serial, pe, int_width)
    R, C, T = rows, cols, len(W_tiles)
    if T == 0 or len(A) != T:
        raise ValueError("ws_array needs one activation block per weight tile, and at least one")
    f = unit.k_pack(w_bits, a_bits)
    p, wdb, adb = _pairs(unit, w_bits, a_bits)
    na = math.ceil(a_bits / adb)
    M = int(np.asarray(A[0]).shape[0])
    Wp = np.zeros((T, R * f, C), dtype=np.int64)
    Ap = np.zeros((T, M, R * f), dtype=np.int64)
    for t in range(T):
        w, a = np.asarray(W_tiles[t], dtype=np.int64), np.asarray(A[t], dtype=np.int64)
        k, n = w.shape
        if k > R * f or n > C or a.shape != (M, k):
            raise ValueError(f"tile {t}: W {w.shape} / A {a.shape} do not fit a {R}x{C} array "
                             f"(k <= {R * f}, n <= {C}, A must be {M} x k)")
        _check_range(w, w_bits, signed, "weights")
        _check_range(a, a_bits, signed, "activations")
        Wp[t, :k, :n], Ap[t, :, :k] = w, a
    Wpe = Wp.reshape(T, R, f, C).transpose(0, 1, 3, 2)              # (T, R, C, f)
    a_dig, a_shift = _digit_stack(Ap.reshape(T, M, R, f), a_bits, adb, signed)  # (na,T,M,R,f)
    S = WS.period(R, C, p * M, "native")  # the drive schedule: tile u issues at u * S
    last = (T - 1) * S + WS.first(R, C, p * M)
    rr, cc = np.arange(R)[:, None], np.arange(C)[None, :]

    banks = np.zeros((2, R, C, f), dtype=np.int64)
    w_pipe = np.zeros((R, C, f), dtype=np.int64)       # weight words travelling down
    w_tgt = np.full((R, C), -1)                           # their target row (-1: empty)
    w_bank = np.zeros((R, C), dtype=np.int64)
    act = np.zeros((R, C, f), dtype=np.int64)             # activation digit registers
    tag = np.full((R, C, 3), -1)                          # (tile, m, q) of each register
    psum = np.zeros((R, C), dtype=np.int64)
    outs = np.zeros((T, M, C), dtype=np.int64)
    out_cycle = np.full((T, M, C), -1)
    cycle, done = 0, 0
    while done < T * M * C:
        if cycle > last + R + C + 4:
            raise AssertionError("reference WS array did not drain")  # model bug guard
        # Weight port: column j's word for row s of tile u enters in cycle u*S + j + (R-1-s).
        rel = cycle - cc[0]
        u, off = rel // S, rel % S
        ok = (rel >= 0) & (u < T) & (off < R)
        new_tgt = np.where(ok, R - 1 - off, -1)
        new_w = np.zeros((C, f), dtype=np.int64)
        if ok.any():
            js = np.nonzero(ok)[0]
            new_w[js] = Wpe[u[js], new_tgt[js], js]
        # Activation inputs: row i of tile t, word m, digit pair q enters in R + t*S + p*m + q + i.
        rel = cycle - R - rr[:, 0]
        t_in, off = rel // S, rel % S
        ok_in = (rel >= 0) & (t_in < T) & (off < p * M)
        m_in, q_in = off // p, off % p
        a_in = np.zeros((R, f), dtype=np.int64)
        if ok_in.any():
            i = np.nonzero(ok_in)[0]
            a_in[i] = a_dig[q_in[i] % na, t_in[i], m_in[i], i]
        tag_in = np.where(ok_in[:, None], np.stack([t_in, m_in, q_in], 1), -1)
        # Shift activations right, take the inputs at column 0.
        act = np.concatenate([a_in[:, None], act[:, :-1]], axis=1)
        tag = np.concatenate([tag_in[:, None], tag[:, :-1]], axis=1)
        valid = tag[..., 0] >= 0
        # Multiply the weight digit of the bank the activation's tile selects.
        bank = banks[np.where(valid, tag[..., 0] % 2, 0), rr, cc]     # (R, C, f)
        dw = np.where(valid, tag[..., 2] // na, 0)
        wdig = _select_digit(bank, w_bits, wdb, dw, signed)
        prod = np.where(valid, (wdig * act).sum(axis=2), 0)
        psum = np.concatenate([np.zeros((1, C), dtype=np.int64), psum[:-1]], axis=0) + prod
        # The bottom row's partial sums: shift-add into the column accumulator.
        bt = tag[R - 1]
        for j in np.nonzero(bt[:, 0] >= 0)[0]:
            t, m, q = bt[j]
            outs[t, m, j] += psum[R - 1, j] << (wdb * (q // na) + a_shift[q % na])
            if q == p - 1:
                out_cycle[t, m, j] = cycle + 1
                done += 1
        # Weight pipeline: words move one row down (the new one enters row 0), and the PE of
        # the target row captures its word into the tile's bank at the end of this cycle,
        # after this cycle's multiplies read the banks.
        w_pipe = np.concatenate([new_w[None], w_pipe[:-1]], axis=0)
        w_tgt = np.concatenate([new_tgt[None], w_tgt[:-1]], axis=0)
        w_bank = np.concatenate([np.where(ok, u % 2, 0)[None], w_bank[:-1]], axis=0)
        hit = w_tgt == rr
        if hit.any():
            hi, hj = np.nonzero(hit)
            banks[w_bank[hit], hi, hj] = w_pipe[hit]
        cycle += 1
    ns = [np.asarray(w).shape[1] for w in W_tiles]
    return RefResult(
        outputs=tuple(outs[t, :, : ns[t]].copy() for t in range(T)),
        cycles=int(out_cycle.max()),
        out_cycle=tuple(out_cycle[t, :, : ns[t]].copy() for t in range(T)),
    )


def _select_digit(x: np.ndarray, bits: int, digit: int, idx: np.ndarray, signed: bool) -> np.ndarray:
    """Digit ``idx`` (per PE, broadcast over the last axis) of ``x``, as :func:`_digits`."""
    n = math.ceil(bits / digit)
    idx = idx[..., None]
    width = np.minimum(digit, bits - idx * digit)
    u = x & ((1 << bits) - 1)
    v = (u >> (idx * digit)) & ((1 << width) - 1)
    if signed:
        top = (idx == n - 1) & (v >= (1 << (width - 1)))
        v = np.where(top, v - (1 << width), v)
    return v


def os_array(A_tiles: Sequence[np.ndarray], B_tiles: Sequence[np.ndarray], rows: int, cols: int,
             a_bits: int = 8, w_bits: int = 8, serial: str | None = None, *,
             pe: str = "int", int_width: int = 8, signed: bool = True) -> RefResult:
    """Run ``T`` back-to-back output-stationary tiles cycle by cycle.

    ``A_tiles[t]`` is ``m x K`` (activations, ``m <= rows``), ``B_tiles[t]`` is ``K x n``
    (weights, ``n <= cols``), one ``K`` for all tiles. With ``K' = ceil(K / f)`` reduction slots
    of ``p`` cycles each, tile ``t`` starts in ``t * S``, where ``S`` is the OS record's issue
    period (:mod:`hwsim.dataflow`, ``max(p*K', R, C)``); row ``i`` of its results is presented
    on the output port in cycle ``start + p*K' + C - 1 + i``.

    >>> import numpy as np
    >>> r = os_array([np.array([[1, 2]])], [np.array([[3], [4]])], rows=2, cols=2)
    >>> int(r.outputs[0][0, 0]), r.cycles
    (11, 4)
    """
    unit = make_pe(serial, pe, int_width)
    R, C, T = rows, cols, len(A_tiles)
    if T == 0 or len(B_tiles) != T:
        raise ValueError("os_array needs one B tile per A tile, and at least one")
    f = unit.k_pack(w_bits, a_bits)
    p, wdb, adb = _pairs(unit, w_bits, a_bits)
    na = math.ceil(a_bits / adb)
    K = int(np.asarray(A_tiles[0]).shape[1])
    Kp = math.ceil(K / f)
    Ap = np.zeros((T, R, Kp * f), dtype=np.int64)
    Bp = np.zeros((T, Kp * f, C), dtype=np.int64)
    for t in range(T):
        a, b = np.asarray(A_tiles[t], dtype=np.int64), np.asarray(B_tiles[t], dtype=np.int64)
        if a.shape[0] > R or a.shape[1] != K or b.shape[0] != K or b.shape[1] > C:
            raise ValueError(f"tile {t}: A {a.shape} / B {b.shape} do not fit a {R}x{C} array "
                             f"with K = {K}")
        _check_range(a, a_bits, signed, "activations")
        _check_range(b, w_bits, signed, "weights")
        Ap[t, : a.shape[0], :K], Bp[t, :K, : b.shape[1]] = a, b
    a_dig, a_shift = _digit_stack(Ap.reshape(T, R, Kp, f), a_bits, adb, signed)  # (na,T,R,Kp,f)
    b_dig, b_shift = _digit_stack(Bp.reshape(T, Kp, f, C), w_bits, wdb, signed)  # (nw,T,Kp,f,C)
    S = OS.period(R, C, p * Kp, "native")  # the drive schedule: tile t issues at t * S
    last = (T - 1) * S + OS.first(R, C, p * Kp)
    ii = np.arange(R)
    jj = np.arange(C)

    a_reg = np.zeros((R, C, f), dtype=np.int64)
    b_reg = np.zeros((R, C, f), dtype=np.int64)
    tag = np.full((R, C, 3), -1)                      # (tile, slot, q) at each PE this cycle
    acc = np.zeros((R, C), dtype=np.int64)
    res = np.zeros((R, C), dtype=np.int64)
    outs = np.zeros((T, R, C), dtype=np.int64)
    out_cycle = np.full((T, R, C), -1)
    for cycle in range(last + 1):
        # Output port: row i of tile t is read from the result registers.
        rel = cycle - (p * Kp + C - 1)
        for t in range(max(0, rel // S - 1), min(T, rel // S + 1)):
            i = rel - t * S
            if 0 <= i < R:
                outs[t, i] = res[i]
                out_cycle[t, i] = cycle
        # Drivers: row i gets (slot, q) of tile t in t*S + p*slot + q + i; column j likewise.
        ok_a, ta, sa, qa = _os_drive(cycle - ii, S, T, p * Kp, p)
        a_in = np.where(ok_a[:, None], a_dig[qa % na, ta, ii, sa], 0)
        tag_in = np.where(ok_a[:, None], np.stack([ta, sa, qa], 1), -1)
        ok_b, tb, sb, qb = _os_drive(cycle - jj, S, T, p * Kp, p)
        b_in = np.where(ok_b[:, None], b_dig[qb // na, tb, sb, :, jj], 0)
        a_reg = np.concatenate([a_in[:, None], a_reg[:, :-1]], axis=1)
        b_reg = np.concatenate([b_in[None], b_reg[:-1]], axis=0)
        tag = np.concatenate([tag_in[:, None], tag[:, :-1]], axis=1)
        valid = tag[..., 0] >= 0
        q = np.where(valid, tag[..., 2], 0)
        shift = np.asarray(b_shift)[q // na] + np.asarray(a_shift)[q % na]
        acc = acc + np.where(valid, (a_reg * b_reg).sum(axis=2) << shift, 0)
        last_tag = valid & (tag[..., 1] == Kp - 1) & (q == p - 1)
        res = np.where(last_tag, acc, res)
        acc = np.where(last_tag, 0, acc)
    ms = [np.asarray(a).shape[0] for a in A_tiles]
    ns = [np.asarray(b).shape[1] for b in B_tiles]
    return RefResult(
        outputs=tuple(outs[t, : ms[t], : ns[t]].copy() for t in range(T)),
        cycles=int(out_cycle.max()),
        out_cycle=tuple(out_cycle[t, : ms[t], : ns[t]].copy() for t in range(T)),
    )


def _os_drive(rel: np.ndarray, S: int, T: int, stream: int, p: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which (valid, tile, slot, digit pair) each skewed lane carries, ``rel`` cycles in."""
    t, off = rel // S, rel % S
    ok = (rel >= 0) & (t < T) & (off < stream)
    return ok, np.where(ok, t, 0), np.where(ok, off // p, 0), np.where(ok, off % p, 0)


def bitserial_dot(w: Sequence[int], a: Sequence[int], w_bits: int, a_bits: int,
                  signed: bool = True, mode: str = "activations") -> tuple[int, int]:
    """One bit-serial dot-product unit, bit by bit: ``(sum_l w_l * a_l, cycle it is valid)``.

    Stripes mode (``"activations"``) takes bit ``b`` of every activation in cycle ``b`` and adds
    ``(sum_l w_l * bit_b(a_l)) << b`` (negated for the sign bit); ``"both"`` walks the
    ``w_bits x a_bits`` bit pairs, one per cycle.

    >>> bitserial_dot([3, -2], [5, 7], w_bits=4, a_bits=4)
    (1, 4)
    >>> bitserial_dot([3, -2], [5, 7], w_bits=4, a_bits=4, mode="both")
    (1, 16)
    """
    wv, av = np.asarray(w, dtype=np.int64), np.asarray(a, dtype=np.int64)
    _check_range(wv, w_bits, signed, "weights")
    _check_range(av, a_bits, signed, "activations")
    if mode not in ("activations", "both"):
        raise ValueError(f"mode must be 'activations' or 'both', not {shown(mode)}")
    w_digits = [(wv, 0)] if mode == "activations" else _digits(wv, w_bits, 1, signed)
    acc, cycle = 0, 0
    for wd, ws in w_digits:
        for ab, as_ in _digits(av, a_bits, 1, signed):   # one activation bit per cycle
            acc += int((wd * ab).sum()) << (ws + as_)
            cycle += 1
    return acc, cycle


def bitfusion_dot(w: Sequence[int], a: Sequence[int], w_bits: int, a_bits: int,
                  signed: bool = True) -> tuple[int, int]:
    """One BitFusion unit of 16 BitBricks computing a dot product, brick by brick.

    Operands are rounded up to ``w', a'`` in {2, 4, 8, 16} and split into 2-bit digits (the top
    one signed when ``signed``, i.e. sign-extended to 3 bits); one product uses
    ``(w'/2) * (a'/2)`` bricks, so ``f = 16 / that`` products are fused per cycle. 16-bit
    operands go through 8-bit slices over ``t`` passes. The sum of a length-``L`` dot product
    is valid in cycle ``t * ceil(L / f)``.

    >>> bitfusion_dot([1, -2, 3, 1], [2, 2, -1, 1], w_bits=4, a_bits=4)
    (-4, 1)
    """
    wv, av = np.asarray(w, dtype=np.int64), np.asarray(a, dtype=np.int64)
    _check_range(wv, w_bits, signed, "weights")
    _check_range(av, a_bits, signed, "activations")
    if wv.shape != av.shape or wv.size == 0:
        raise ValueError("w and a must be non-empty and of the same length")
    wr, ar = bitfusion_bits(w_bits), bitfusion_bits(a_bits)
    ws, as_ = min(wr, 8), min(ar, 8)                      # slice widths per pass
    bricks_per_product = (ws // 2) * (as_ // 2)
    f = 16 // bricks_per_product
    w_bricks = _digits(wv, wr, 2, signed)                 # 2-bit digits over the rounded width
    a_bricks = _digits(av, ar, 2, signed)
    acc, cycle = 0, 0
    for pw in range(wr // ws):                            # temporal passes (16-bit operands)
        for pa in range(ar // as_):
            for g in range(0, wv.size, f):                # one cycle per group of f products
                used = 0
                for dw, sw in w_bricks[pw * (ws // 2):(pw + 1) * (ws // 2)]:
                    for da, sa in a_bricks[pa * (as_ // 2):(pa + 1) * (as_ // 2)]:
                        acc += int((dw[g:g + f] * da[g:g + f]).sum()) << (sw + sa)
                        used += min(f, wv.size - g)
                assert used <= 16, "a BitFusion unit has 16 BitBricks"
                cycle += 1
    return acc, cycle
