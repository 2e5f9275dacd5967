"""Laws of data movement and of the mapper's search, over random layers, arches and bits:

- the engine's counts of a mapped GEMM (DRAM reads per tensor, DRAM writes, SRAM reads and
  writes per buffer, MACs) equal an independent reference that walks the mapping's tiles
  (:mod:`compiler.mapping.reference`), and the mapper's own traffic estimate equals both;
- traffic is never below the compulsory footprint of each tensor at its stored width;
- the mapper finds the best mapping of its space for the objective: an exhaustive
  enumeration of the same space finds nothing better.
"""

from __future__ import annotations

import dataclasses
import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from compiler.errors import MappingError
from compiler.ir import Gemm
from compiler.mapping.codegen import gemm_runs
from compiler.mapping.geometry import ConvGeometry
from compiler.mapping.reference import reference_counts
from compiler.mapping.tiling import (
    OBJECTIVES,
    ORDERS,
    GemmMapping,
    enumerate_mappings,
    map_gemm,
    mapping_for,
    score,
    traffic,
)
from hwsim.config import Arch, load_arch
from hwsim.engine import simulate_layer
from hwsim.isa import Layer, Load, Program

BASES = {n: load_arch(n) for n in ("edge_int8", "stripes", "bitfusion_eyeriss", "sparse_int8",
                                   "deep_compression_int8")}
LAWS = settings(max_examples=200, deadline=None)


@st.composite
def layers(draw: st.DrawFn, max_side: int = 12) -> tuple[Gemm, ConvGeometry | None]:
    """A convolution (its GEMM and geometry: kernel, stride, padding, dilation, groups,
    batch) or a plain GEMM."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    n = draw(st.integers(1, 20))
    if draw(st.booleans()):
        k = draw(st.sampled_from([1, 2, 3, 5]))
        s, p, d = (draw(st.sampled_from(v)) for v in ([1, 2, 3], [0, 1, 2], [1, 1, 2]))
        h, w = draw(st.integers(k, max_side)), draw(st.integers(k, max_side))
        oh, ow = ((x + 2 * p - d * (k - 1) - 1) // s + 1 for x in (h, w))
        assume(oh > 0 and ow > 0)
        batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 5))
        geometry = ConvGeometry(batch, channels, h, w, (k, k), (s, s), (p, p), (d, d), oh, ow)
        return Gemm(M=batch * oh * ow, N=n, K=channels * k * k, groups=groups), geometry
    return Gemm(M=draw(st.integers(1, 40)), N=n, K=draw(st.integers(1, 40)),
                groups=groups), None


@st.composite
def arches(draw: st.DrawFn, dataflow: bool = True) -> Arch:
    """A shipped arch with a random array shape, buffer sizes and (optionally) one dataflow."""
    base = BASES[draw(st.sampled_from(sorted(BASES)))]
    rows, cols = draw(st.sampled_from([(4, 4), (4, 8), (8, 4), (16, 16)]))
    kib = st.sampled_from([1, 2, 4, 64])
    b = base.buffers
    buffers = dataclasses.replace(
        b, input=dataclasses.replace(b.input, size_kib=draw(kib)),
        weight=dataclasses.replace(b.weight, size_kib=draw(kib)),
        output=dataclasses.replace(b.output, size_kib=draw(kib)))
    array = dataclasses.replace(base.array, rows=rows, cols=cols)
    if dataflow:
        array = dataclasses.replace(array, dataflows=(draw(st.sampled_from(array.dataflows)),))
    return dataclasses.replace(base, array=array, buffers=buffers)


def _bits(arch: Arch, draw: st.DrawFn) -> int:
    return draw(st.sampled_from([b for b in (2, 4, 8) if b <= arch.array.pe.max_bits]))


def _compulsory_input(g: Gemm, geometry: ConvGeometry | None) -> int:
    """Input elements some output reads (all groups), counted pixel by pixel."""
    if geometry is None:
        return g.M * g.K * g.groups
    x = geometry
    rows = {o * x.stride[0] - x.pad[0] + t * x.dilation[0]
            for o in range(x.out_h) for t in range(x.kernel[0])} & set(range(x.height))
    cols = {o * x.stride[1] - x.pad[1] + t * x.dilation[1]
            for o in range(x.out_w) for t in range(x.kernel[1])} & set(range(x.width))
    return x.batch * x.channels * len(rows) * len(cols) * g.groups


@LAWS
@given(layer=layers(), arch=arches(), data=st.data())
def test_the_engine_moves_what_the_reference_counts(layer, arch, data) -> None:
    g, geometry = layer
    bits = _bits(arch, data.draw)
    w_word = data.draw(st.sampled_from([None, bits / 2 + 1]))  # dense, or a compressed format
    a_word = data.draw(st.sampled_from([None, 4.0, 8.0]))  # the input tensor's stored width
    k_scale = data.draw(st.sampled_from([1.0, 0.6]))  # zero skipping
    out_bits = data.draw(st.sampled_from([4, 8]))
    # weights coded in DRAM (Deep Compression) on an arch that decodes them
    code = data.draw(st.sampled_from([None, (bits / 3 + 0.4, 0.7), (2.3, 1.0)])) \
        if arch.weight_decoder is not None else None
    try:
        best = map_gemm(g, bits, bits, out_bits, arch, w_word, a_word, geometry=geometry,
                        k_scale=k_scale, objective=data.draw(st.sampled_from(OBJECTIVES)),
                        weight_code=code)
    except MappingError:
        assume(False)
    order = data.draw(st.sampled_from(ORDERS))  # every order, on the chosen tiles
    n_tiles = math.ceil(g.N / best.n_t)
    mp = mapping_for(g, bits, bits, out_bits, arch, best.dataflow, m_t=best.m_t,
                     units_per_tile=best.kplan.per_tile, n_t=best.n_t, order=order,
                     n_block=best.n_t * data.draw(st.integers(1, n_tiles)),
                     weight_word_bits=w_word, input_word_bits=a_word, geometry=geometry,
                     k_scale=k_scale, weight_code=code) or best
    _check_against_reference(mp, out_bits, arch, geometry)


def _check_against_reference(mp: GemmMapping, out_bits: int, arch: Arch,
                             geometry: ConvGeometry | None) -> None:
    g = mp.gemm
    layer = Layer("gemm", gemm_runs(mp, out_bits=out_bits))
    Program("p", (layer,)).validate(arch)  # tiles fit the array, every stream its buffer
    stats, _ = simulate_layer(layer, arch, trace=False)
    ref = reference_counts(mp, out_bits=out_bits, geometry=geometry)
    engine_reads = {b: sum(ins.bits * run.instances(i) for run in layer.runs
                           for i, ins in enumerate(run.body)
                           if isinstance(ins, Load) and ins.buffer == b)
                    for b in ("weight", "input")}
    assert engine_reads == {b: ref.dram_read_bits.get(b, 0) for b in ("weight", "input")}
    assert stats.dram_read_bits == sum(engine_reads.values())
    assert stats.dram_write_bits == ref.dram_write_bits == g.M * g.N * g.groups * out_bits
    assert dict(stats.counts.sram_read_bits) == ref.sram_read_bits
    assert dict(stats.counts.sram_write_bits) == ref.sram_write_bits
    assert stats.macs == ref.macs
    assert stats.counts.decoded == ref.decoded
    assert (ref.decoded > 0) == (mp.weight_dram_bits is not None)
    tr = traffic(mp, out_bits)
    assert (tr.weight, tr.input, tr.output) == (ref.dram_read_bits.get("weight", 0),
                                                ref.dram_read_bits.get("input", 0),
                                                ref.dram_write_bits)
    # never below each tensor's compulsory footprint at its stored width
    assert tr.weight >= g.K * g.N * g.groups * mp.dram_weight_word - 1
    assert tr.input >= _compulsory_input(g, geometry) * mp.input_word_bits - 1


def test_reference_examples() -> None:
    """Regression cases the random search found, kept explicit."""
    arch = load_arch("edge_int8")
    # outputs that read only padding load nothing (a 1x1 image, stride 2, padding 1)
    pad_only = ConvGeometry(1, 1, 1, 1, (1, 1), (2, 2), (1, 1), (1, 1), 2, 2)
    mp = map_gemm(Gemm(M=4, N=1, K=1), 2, 2, 4, arch, geometry=pad_only)
    _check_against_reference(mp, 4, arch, pad_only)
    conv1 = ConvGeometry(1, 3, 224, 224, (7, 7), (2, 2), (3, 3), (1, 1), 112, 112)
    g = Gemm(M=112 * 112, N=64, K=147)
    for dataflow in ("ws", "os", "is"):
        one = dataclasses.replace(arch, array=dataclasses.replace(arch.array,
                                                                   dataflows=(dataflow,)))
        mp = map_gemm(g, 8, 8, 8, one, geometry=conv1, objective="energy")
        assert traffic(mp, 8).input >= 3 * 224 * 224 * 8  # every pixel is read


def _exhaustive_best(g: Gemm, geometry: ConvGeometry | None, bits: int, arch: Arch,
                     objective: str) -> tuple[float, ...] | None:
    found = [score(mp, objective)
             for mp in enumerate_mappings(g, bits, bits, 8, arch, geometry=geometry)]
    return min(found) if found else None


@settings(max_examples=100, deadline=None)
@given(layer=layers(max_side=8), arch=arches(dataflow=False), data=st.data())
def test_the_mapper_finds_the_best_of_its_space(layer, arch, data) -> None:
    g, geometry = layer
    assume(g.M <= 64 and g.groups == 1)  # the enumeration visits every streamed length
    bits = _bits(arch, data.draw)
    objective = data.draw(st.sampled_from(OBJECTIVES))
    best = _exhaustive_best(g, geometry, bits, arch, objective)
    try:
        mp = map_gemm(g, bits, bits, 8, arch, geometry=geometry, objective=objective)
    except MappingError:
        assert best is None  # nothing fits, and the enumeration agrees
        return
    assert best is not None
    assert score(mp, objective)[0] <= best[0] * (1 + 1e-12)
