"""Small program builders: a GEMM or a vector layer tiled for an arch, without the compiler.

They serve SCALE-Sim-style layer sweeps, tests and benchmarks (the compiler's mapper is the
full-featured code generator). Tiling, stated once:

- The tile's array-bound dimensions take the array's size (WS/IS: ``k <= R * f`` and
  ``n`` resp. ``m <= C``; OS: ``m <= R``, ``n <= C``); the streamed dimension takes the largest
  size for which two slots of every operand and of the output fit their buffers.
- ``K`` is split into equal tiles (the fewest that divide ``K`` exactly), so no MAC is padded;
  ``M`` and ``N`` have full tiles plus one run for each class of edge tile.
- Loop order: output tiles outer, ``K`` inner; each iteration loads its weight and input
  tiles and computes; the output tile is stored once, after its last ``K`` step.
"""

from __future__ import annotations

import math

from hwsim.config import Arch
from hwsim.errors import ProgramError
from hwsim.isa import Compute, Layer, Load, Run, Store, Vector

__all__ = ["gemm_layer", "vector_layer"]


def _exact_split(total: int, cap: int) -> int:
    """Smallest tile count ``t >= ceil(total / cap)`` that divides ``total``."""
    t = math.ceil(total / cap)
    while total % t:
        t += 1
    return total // t


def _pieces(total: int, tile: int) -> list[tuple[int, int]]:
    """``(tile size, number of tiles)`` for the full tiles and the edge tile."""
    out = [(tile, total // tile)] if total >= tile else []
    if total % tile:
        out.append((total % tile, 1))
    return out


def gemm_layer(name: str, M: int, K: int, N: int, arch: Arch, dataflow: str = "ws",
               w_bits: int = 8, a_bits: int = 8, acc_bits: int = 32,
               out_bits: int | None = None) -> Layer:
    """``A (M x K) @ W (K x N)`` tiled for ``arch`` (see the module doc).

    >>> from hwsim.config import load_arch
    >>> layer = gemm_layer("fc", M=100, K=48, N=40, arch=load_arch("edge_int8"))
    >>> [(r.count, r.body[2].m, r.body[2].k, r.body[2].n) for r in layer.runs]
    [(6, 100, 16, 16), (3, 100, 16, 8)]
    """
    if dataflow not in arch.array.dataflows:
        raise ProgramError(f"dataflow must be one of {arch.array.dataflows}, not {dataflow!r}")
    out_bits = a_bits if out_bits is None else out_bits
    R, C = arch.array.rows, arch.array.cols
    f = arch.array.pe.k_pack(w_bits, a_bits)
    half = {b: arch.buffers.get(b).size_bits // 2 for b in ("input", "weight", "output")}
    if dataflow == "os":
        m_cap, n_cap = R, C
        k_cap = min(half["input"] // (m_cap * a_bits), half["weight"] // (n_cap * w_bits))
    else:
        k_cap = R * f
        fixed = C  # the stationary side's second dimension: n (WS) or m (IS)
        stream_cap = min(half["input"] // (k_cap * a_bits) if dataflow == "ws"
                         else half["weight"] // (k_cap * w_bits),
                         half["output"] // (fixed * acc_bits))
        m_cap, n_cap = (stream_cap, fixed) if dataflow == "ws" else (fixed, stream_cap)
    if min(k_cap, m_cap, n_cap) < 1:
        raise ProgramError(f"a {dataflow.upper()} tile of layer {name!r} must fit the buffers of "
                           f"{arch.name}, not need more than half of one")
    k = _exact_split(K, k_cap)
    kt = K // k
    runs = []
    for m, m_count in _pieces(M, m_cap):
        for n, n_count in _pieces(N, n_cap):
            body = (
                Load("weight", k * n * w_bits),
                Load("input", m * k * a_bits),
                Compute(dataflow, m, k, n, w_bits, a_bits, acc_bits, deps=(0, 1)),
                Store(m * n * out_bits, every=kt, deps=(2,)),
            )
            runs.append(Run(body, m_count * n_count * kt, f"{name} {m}x{k}x{n}"))
    return Layer(name, tuple(runs), input_bits=M * K * a_bits, weight_bits=K * N * w_bits,
                 output_bits=M * N * out_bits)


def vector_layer(name: str, elements: int, arch: Arch, kind: str = "relu",
                 ops_per_element: int = 1, bits: int = 8) -> Layer:
    """An elementwise layer on the vector unit, chunked to half the input buffer.

    >>> from hwsim.config import load_arch
    >>> [r.count for r in vector_layer("relu", 100_000, load_arch("edge_int8")).runs]
    [6, 1]
    """
    chunk = min(elements, arch.buffers.input.size_bits // (2 * bits),
                arch.buffers.output.size_bits // (2 * bits))
    runs = []
    for size, count in _pieces(elements, chunk):
        body = (Load("input", size * bits), Vector(kind, size, ops_per_element, bits, deps=(0,)),
                Store(size * bits, deps=(1,)))
        runs.append(Run(body, count, f"{name} {size}"))
    return Layer(name, tuple(runs), input_bits=elements * bits, output_bits=elements * bits)
