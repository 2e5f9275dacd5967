"""Hand-tiled programs for the engine's tests: a GEMM or an elementwise layer as a few runs.

The compiler's mapper (:mod:`compiler.mapping`) is the project's tiler; these builders exist
so that hwsim's tests can feed the engine realistic programs without the compiler. Tiling,
stated once, over the dataflow's roles (:mod:`hwsim.dataflow`):

- the spatial dimensions take the array's size (:meth:`hwsim.dataflow.Dataflow.caps`); the
  streamed one the largest size for which two slots of every tensor it spans fit its buffer;
- ``K`` is split into equal tiles (the fewest that divide ``K`` exactly), so no MAC is padded;
  ``M`` and ``N`` have full tiles plus one run for each class of edge tile;
- output tiles outer, ``K`` inner: each iteration loads its weight and input tiles and
  computes; the output tile is stored once, after its last ``K`` step.

>>> from hwsim.config import load_arch
>>> layer = gemm_layer("fc", M=100, K=48, N=40, arch=load_arch("edge_int8"))
>>> [(r.count, r.body[2].m, r.body[2].k, r.body[2].n) for r in layer.runs]
[(6, 100, 16, 16), (3, 100, 16, 8)]
"""

from __future__ import annotations

import math

from hwsim.config import Arch
from hwsim.dataflow import TENSOR_DIMS, get_dataflow
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
    """``A (M x K) @ W (K x N)`` tiled for ``arch`` (see the module doc)."""
    if dataflow not in arch.array.dataflows:
        raise ProgramError(f"dataflow must be one of {arch.array.dataflows}, not {dataflow!r}")
    df = get_dataflow(dataflow)
    out_bits = a_bits if out_bits is None else out_bits
    f = arch.array.pe.k_pack(w_bits, a_bits)
    cap = dict(zip("mkn", df.caps(arch.array.rows, arch.array.cols, f), strict=True))
    word = {"input": a_bits, "weight": w_bits, "output": acc_bits}
    fits = []
    for tensor, dims in TENSOR_DIMS.items():
        if df.streamed in dims:
            other = cap[dims[0] if dims[1] == df.streamed else dims[1]]
            fits.append(arch.buffers.get(tensor).slot_bits(2) // (other * word[tensor]))
    cap[df.streamed] = min(fits)
    if min(cap.values()) < 1:
        raise ProgramError(f"a {dataflow.upper()} tile of layer {name!r} must fit the buffers of "
                           f"{arch.name}, not need more than half of one")
    k = _exact_split(K, cap["k"])
    kt = K // k
    runs = []
    for m, m_count in _pieces(M, cap["m"]):
        for n, n_count in _pieces(N, cap["n"]):
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
    chunk = min(elements, arch.buffers.input.slot_bits(2) // bits,
                arch.buffers.output.slot_bits(2) // bits)
    runs = []
    for size, count in _pieces(elements, chunk):
        body = (Load("input", size * bits), Vector(kind, size, ops_per_element, bits, deps=(0,)),
                Store(size * bits, deps=(1,)))
        runs.append(Run(body, count, f"{name} {size}"))
    return Layer(name, tuple(runs), input_bits=elements * bits, output_bits=elements * bits)
