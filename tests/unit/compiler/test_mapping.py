"""Mapping and code generation: tiles fit, MACs and bits are conserved, choices are visible."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from compiler.errors import MappingError
from compiler.frontend.pytorch import trace
from compiler.ir import Gemm, Graph, Precision
from compiler.mapping import map_gemm, map_model
from compiler.mapping.codegen import GemmTile, gemm_blocks, gemm_runs, tensor_bits
from compiler.mapping.geometry import ConvGeometry
from compiler.mapping.tiling import GemmMapping, enumerate_mappings, mapping_for
from compiler.passes import compile_graph
from compiler.policy import Policy, apply_policy
from hwsim import Compute, Load, Program, Run, Store, load_arch
from hwsim.config import Arch
from hwsim.errors import ProgramError
from hwsim.isa import window_of
from hwsim.timing import tile_timing
from systolab.zoo import get_model

ARCHS = ["edge_int8", "cloud_tpu_int8", "stripes", "loom", "bitfusion_eyeriss", "sparse_int8"]


@pytest.fixture(scope="module")
def resnet18() -> Graph:
    return compile_graph(trace(*get_model("resnet18")))


def _macs(runs: list[Run]) -> int:
    return sum(ins.m * ins.k * ins.n * run.instances(i) for run in runs
               for i, ins in enumerate(run.body) if isinstance(ins, Compute))


def _program_runs(program: Program) -> list[Run]:
    return [run for layer in program.layers for run in layer.runs]


@pytest.mark.parametrize("arch_name", ARCHS)
def test_program_conserves_macs_and_fits_the_arch(resnet18: Graph, arch_name: str) -> None:
    arch = load_arch(arch_name)
    mapped = map_model(resnet18, arch)
    mapped.program.validate(arch)  # tiles fit the array, two slots fit every buffer
    assert _macs(_program_runs(mapped.program)) == resnet18.total_macs


def test_reduction_edge_tile_is_exact() -> None:
    g = Gemm(M=100, N=40, K=147)  # 147 = 9 x 16 + 3: an edge tile along k on a 16-row array
    mp = map_gemm(g, 8, 8, 8, load_arch("edge_int8"))
    assert _macs(list(gemm_runs(mp, out_bits=8))) == g.macs


def test_mapping_is_cached_and_visible(resnet18: Graph) -> None:
    arch = load_arch("edge_int8")
    mapped = map_model(resnet18, arch)
    a = mapped.plan("layer1.0.conv1").mapping
    assert a is mapped.plan("layer1.1.conv1").mapping  # same shape, bits and arch: one mapping
    assert a is not None and a.dataflow in arch.array.dataflows
    assert a.folds[1] == 576 // 16 if a.dataflow == "ws" else True


def test_depthwise_layers_show_their_poor_utilization() -> None:
    g = compile_graph(trace(*get_model("mobilenet_v2")))
    dw = map_model(g, load_arch("edge_int8")).plan("features.2.conv.1.0").mapping
    assert dw is not None and dw.gemm.N == 1 and dw.gemm.groups == 96
    assert dw.gemm.macs / dw.compute_cycles < 0.1 * 16 * 16  # under 10% of the array's peak


def test_a_tensor_is_stored_at_the_width_its_consumers_read_it_at() -> None:
    model, x = get_model("lenet5")
    graph = compile_graph(trace(model, x, policy=Policy.from_dict({"default": {"a_bits": 4}})))
    bits = tensor_bits(graph)
    *inner, last = graph.compute_ops()
    assert all(bits[op.name] == 4 for op in inner)  # read by 4-bit layers (through the pools)
    assert bits[last.name] == 8  # the model's output: nothing reads it


def test_writer_and_reader_agree_on_a_tensors_width(resnet18: Graph) -> None:
    """conv1 at a_bits 2 reads its input at 2 bits, but writes its output at the 8 bits its
    consumers read: conv1 used to write 1.61 Mbit that layer1.0.conv1 read as 5.44 Mbit."""
    graph = apply_policy(resnet18, Policy.from_dict({"layers": {"conv1": {"a_bits": 2}}}))
    bits = tensor_bits(graph)
    assert bits[graph.inputs_of("conv1")[0]] == 2
    assert bits["conv1"] == bits["maxpool"] == 8
    program = map_model(graph, load_arch("edge_int8")).program
    layer = {lay.name: lay for lay in program.layers}
    written = sum(ins.bits * run.instances(i) for run in layer["conv1"].runs
                  for i, ins in enumerate(run.body) if isinstance(ins, Store))
    assert written == graph.op("conv1").output.numel * 8 == layer["maxpool"].input_bits


def _arch_with_max_bits(bits: int) -> Arch:
    arch = load_arch("edge_int8")
    return replace(arch, array=replace(arch.array, pe=replace(arch.array.pe, max_bits=bits)))


def test_unmappable_bits_name_the_op() -> None:
    graph = compile_graph(trace(nn.Sequential(nn.Linear(8, 8)).eval(), torch.randn(1, 8)))
    graph.replace_op(graph.op("0").replace(precision=Precision(16, 16)))
    with pytest.raises(MappingError, match=r"cannot map op '0' \(linear, from .*\) onto "
                                           r"'edge_int8': w_bits must be an integer in 1..8"):
        map_model(graph, _arch_with_max_bits(8))


def _pruned_lenet() -> Graph:
    from torch.nn.utils import prune

    model, x = get_model("lenet5")
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            prune.l1_unstructured(module, "weight", amount=0.75)
    return compile_graph(trace(model, x))


def test_unstructured_sparsity_saves_only_what_the_arch_supports() -> None:
    from systolab.pipeline import simulate_graph

    graph = _pruned_lenet()
    dense_arch = simulate_graph(graph, "edge_int8")
    sparse_arch = simulate_graph(graph, "sparse_int8")
    notes = [p.sparsity.note for p in dense_arch.mapped.plans if p.sparsity]
    assert notes and all("saves nothing" in n for n in notes)
    conv = sparse_arch.mapped.plan(graph.compute_ops()[0].name)
    assert conv.sparsity is not None and "zeros skipped" in conv.sparsity.note
    density = conv.op.sparsity.density
    assert conv.mapping is not None and conv.gemm is not None
    stored = conv.gemm.K * (density * 8 + 1)  # non-zeros plus a bitmap, per output channel
    assert conv.mapping.weight_word_bits * conv.mapping.gemm.K == pytest.approx(stored)
    assert sparse_arch.stats.total.macs < dense_arch.stats.total.macs  # zeros not multiplied
    weights = [layer.weight_bits for layer in sparse_arch.mapped.program.layers]
    dense_weights = [layer.weight_bits for layer in dense_arch.mapped.program.layers]
    assert sum(weights) < 0.5 * sum(dense_weights)
    # Skipping zeros never moves more data: with the same tiles, the dense layer moves the
    # same inputs and more weights (compacting the reduction once inflated input traffic).
    from compiler.mapping.geometry import ConvGeometry
    from compiler.mapping.tiling import traffic

    for plan in sparse_arch.mapped.plans:
        mp = plan.mapping
        if mp is None:
            continue
        dense = mapping_for(mp.gemm, mp.w_bits, mp.a_bits, 8, sparse_arch.arch, mp.dataflow,
                            m_t=mp.m_t, units_per_tile=mp.kplan.per_tile, n_t=mp.n_t,
                            order=mp.order, n_block=mp.n_block,
                            input_word_bits=mp.input_word_bits,
                            geometry=ConvGeometry.of(plan.op))
        assert dense is not None
        pruned_tr, dense_tr = traffic(mp, 8), traffic(dense, 8)
        assert pruned_tr.input == dense_tr.input and pruned_tr.weight < dense_tr.weight


def _layer(mapped, name: str):
    return next(layer for layer in mapped.program.layers if layer.name == name)


def _loaded(layer, buffer: str) -> int:
    return sum(ins.bits * run.instances(i) for run in layer.runs
               for i, ins in enumerate(run.body) if isinstance(ins, Load) and ins.buffer == buffer)


def test_conv_tiles_load_their_input_footprint(resnet18: Graph) -> None:
    """ResNet-18's conv1 (7x7, stride 2, padding 3) on an output-stationary array: a tile of 16
    outputs along a row reads 7 input rows x 37 columns of each of 3 channels, halo included:
    777 bytes (not the 192 the im2col view once spread over it); every tile's footprint moves,
    as the data-movement reference counts."""
    from compiler.mapping.geometry import ConvGeometry
    from compiler.mapping.reference import reference_counts

    arch = load_arch("edge_int8").with_dataflow("os")
    mapped = map_model(resnet18, arch)
    conv1 = _layer(mapped, "conv1")
    loads = {ins.bits for run in conv1.runs for ins in run.body
             if isinstance(ins, Load) and ins.buffer == "input"}
    assert 777 * 8 in loads
    plan = mapped.plan("conv1")
    assert plan.mapping is not None
    ref = reference_counts(plan.mapping, out_bits=8, geometry=ConvGeometry.of(plan.op))
    assert _loaded(conv1, "input") == ref.dram_read_bits["input"] >= 3 * 224 * 224 * 8


def test_weights_stay_resident_when_they_fit(resnet18: Graph) -> None:
    """conv1's 9.4 KB of weights were read from DRAM 784 times (once per tile); a mapping that
    keeps them in SRAM across the tiles reads them once per block."""
    mapped = map_model(resnet18, load_arch("edge_int8"), objective="energy")
    assert _loaded(_layer(mapped, "conv1"), "weight") <= 2 * 64 * 147 * 8


def test_the_mapper_serves_the_objective(resnet18: Graph) -> None:
    """Per layer, the energy objective's mapping spends no more energy than the latency one,
    and the latency objective's is no slower; on ResNet-18's conv1 the energy mapping reads
    its weights once and moves under 1.5 MB (the latency-only mapper moved 8.33 MB)."""
    from hwsim.engine import simulate

    arch = load_arch("edge_int8")
    stats = {}
    for objective in ("latency", "energy", "edp"):
        mapped = map_model(resnet18, arch, objective=objective)
        stats[objective] = {s.name: s for s in simulate(mapped.program, arch,
                                                        trace=False).layers}
    for name, fast in stats["latency"].items():
        frugal = stats["energy"][name]
        assert frugal.energy.total_pj <= fast.energy.total_pj * 1.02, name
        assert fast.cycles <= frugal.cycles * 1.02, name
    conv1 = stats["energy"]["conv1"]
    assert conv1.dram_read_bits + conv1.dram_write_bits < 1.5e6 * 8
    assert sum(s.energy.total_pj for s in stats["energy"].values()) < \
        sum(s.energy.total_pj for s in stats["latency"].values())


def test_forcing_a_dataflow() -> None:
    """``with_dataflow`` restricts the mapper to one of the arch's dataflows, or says which
    it has."""
    from hwsim.errors import ConfigError

    graph = compile_graph(trace(*get_model("lenet5")))
    for dataflow in ("ws", "os", "is"):
        mapped = map_model(graph, load_arch("edge_int8").with_dataflow(dataflow))
        assert {p.mapping.dataflow for p in mapped.plans if p.mapping} == {dataflow}
    with pytest.raises(ConfigError, match=r"dataflow must be 'auto' or one 'sparse_int8' "
                                          r"supports \(ws, os\), not 'is'"):
        load_arch("sparse_int8").with_dataflow("is")


def test_short_tiles_get_deeper_load_streams() -> None:
    """A batch-1 FC layer's weight tiles take one array pass each; the mapper gives the weight
    stream enough slots to cover DRAM latency (tiling module doc), as many as its buffer holds.
    Long tiles get one slot beyond double buffering whenever there is latency at all (the rule
    ignores bandwidth, see the module doc); SCALE-Sim folds, which model no latency, stay
    double buffered."""
    arch = load_arch("stripes")  # 100 ns = 50 cycles of DRAM latency
    fc = Gemm(M=1, N=120, K=400)
    for bits in (8, 2):
        mp = map_gemm(fc, bits, bits, 8, arch)
        period = tile_timing(arch, mp.dataflow, mp.m_t, mp.k_t, mp.n_t, bits, bits).period
        assert (mp.dataflow, mp.order, period) == ("ws", "nmk", 32)
        assert (mp.weight_slots, mp.input_slots) == (2 + math.ceil(50 / 32),) * 2
        for run in gemm_runs(mp, out_bits=8):
            for ins in run.body:
                if isinstance(ins, Load):
                    assert ins.slots == (mp.weight_slots if ins.buffer == "weight"
                                         else mp.input_slots)
                    assert ins.slots * ins.bits <= arch.buffers.get(ins.buffer).size_bits
    big = Gemm(M=3136, N=64, K=576)  # 128 x 32 x 64 WS tiles take 1,024 cycles
    streamed = mapping_for(big, 8, 8, 8, arch, "ws", m_t=128, units_per_tile=32, n_t=64)
    assert streamed is not None and (streamed.weight_slots, streamed.input_slots) == (3, 3)
    # resident blocks follow the same rule, as many as their buffer holds: the 36 KiB weight
    # block fits the 128 KiB buffer 3 times, a 113-row input block (63.6 KiB) twice
    ws = replace(arch, array=replace(arch.array, dataflows=("ws",)))
    resident = map_gemm(big, 8, 8, 8, ws)
    assert (resident.order, resident.weight_slots, resident.input_slots) == ("Nmnk", 3, 2)
    # no more slots than the buffer holds: a 4 KiB weight buffer holds two 2 KiB tiles
    small = replace(arch, buffers=replace(arch.buffers, weight=replace(arch.buffers.weight,
                                                                       size_kib=4)))
    assert map_gemm(fc, 8, 8, 8, small).weight_slots == 2
    assert map_gemm(fc, 8, 8, 8, arch, scalesim=True).weight_slots == 2
    no_latency = replace(arch, dram=replace(arch.dram, latency_ns=0))
    assert map_gemm(fc, 8, 8, 8, no_latency).weight_slots == 2


def test_a_new_dataflow_is_one_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """An output-stationary array holding the output tile transposed (N on the rows, M on the
    columns), added as one record, is accepted by configs and mapped, tiled, simulated and
    costed with nothing else changed."""
    from hwsim.dataflow import DATAFLOWS, Dataflow
    from hwsim.engine import simulate

    monkeypatch.setitem(DATAFLOWS, "ost", Dataflow("ost", "output stationary, transposed",
                                                   rows="n", cols="m", streamed="k",
                                                   fpga_kernel="os_pe"))
    base = load_arch("edge_int8")
    arch = replace(base, array=replace(base.array, rows=8, dataflows=("ost",)))
    model = nn.Sequential(nn.Linear(300, 40)).eval()
    mapped = map_model(compile_graph(trace(model, torch.randn(100, 300))), arch)
    mp = mapped.plans[0].mapping
    assert mp is not None and mp.dataflow == "ost"
    assert mp.n_t <= arch.array.rows and mp.m_t <= arch.array.cols  # N on the 8 rows
    stats = simulate(mapped.program, arch)
    assert stats.total.macs == 100 * 40 * 300
    assert stats.cycles >= stats.total.roofline_cycles


def _bitfusion(rows: int, cols: int, **kib: int) -> Arch:
    """bitfusion_eyeriss with another array shape and buffer sizes (KiB by buffer)."""
    base = load_arch("bitfusion_eyeriss")
    buffers = replace(base.buffers, **{name: replace(getattr(base.buffers, name), size_kib=k)
                                       for name, k in kib.items()})
    return replace(base, array=replace(base.array, rows=rows, cols=cols), buffers=buffers)


def _energy_choice_is_the_best_of_the_space(g: Gemm, arch: Arch, **conv: object) -> GemmMapping:
    """The mapper's least-energy mapping of ``g`` as a convolution of geometry ``conv``,
    checked equal in energy to the best of the whole enumerated space."""
    from compiler.mapping.geometry import ConvGeometry
    from compiler.mapping.tiling import enumerate_mappings, score

    geometry = ConvGeometry(stride=(1, 1), dilation=(1, 1), **conv)  # type: ignore[arg-type]
    chosen = map_gemm(g, 8, 8, 8, arch, geometry=geometry, objective="energy")
    best = min(score(mp, "energy") for mp in enumerate_mappings(g, 8, 8, 8, arch,
                                                                  geometry=geometry))
    assert score(chosen, "energy") == best
    return chosen


def test_a_weight_block_of_one_n_tile_is_a_candidate_when_the_edge_tile_is_blocked_apart() -> None:
    """N = 17 on 4 columns: four full n tiles and an edge one. A block of one n tile makes four
    blocks of full tiles (the edge tile is blocked apart), within MAX_BLOCKS; the mapper used to
    count five and drop the Nmnk order, missing the least-energy mapping of its space."""
    chosen = _energy_choice_is_the_best_of_the_space(
        Gemm(18, 17, 75), _bitfusion(rows=4, cols=4, input=1, weight=1, output=1),
        batch=2, channels=3, height=5, width=5, kernel=(5, 5), pad=(1, 1), out_h=3, out_w=3)
    assert (chosen.order, chosen.n_block) == ("Nmnk", 4)


def test_the_longest_streamed_tile_that_fits_is_a_candidate_with_a_short_edge() -> None:
    """Six output rows of 7 where five rows fit: 35 + 7 is a candidate beside 21 + 21 (the
    even split) and costs less energy on this arch; the mapper used to miss it."""
    chosen = _energy_choice_is_the_best_of_the_space(
        Gemm(42, 13, 12), _bitfusion(rows=16, cols=16, input=1, weight=1, output=4),
        batch=1, channels=3, height=3, width=4, kernel=(2, 2), pad=(2, 2), out_h=6, out_w=7)
    assert (chosen.dataflow, chosen.m_t) == ("ws", 35)


def _check_blocks(mp, geometry=None) -> None:
    """Law of gemm_blocks over one mapping: each compute instance's block has its tile's
    shape; the blocks cover the GEMM exactly once; each load moves its block (its bits); and
    a tile's operands lie within the block of the load it reads: the latest instance of the
    load it waits for, or for a resident operand (its run loads none) the latest load of
    that buffer in an earlier run."""
    g, kp = mp.gemm, mp.kplan
    cover = np.zeros((g.M, g.N, g.K), int)
    latest: dict[str, GemmTile] = {}  # per buffer, the last block an earlier run loaded
    for run, blocks in zip(gemm_runs(mp, out_bits=8), gemm_blocks(mp, geometry), strict=True):
        loaded: dict[str, GemmTile] = {}
        for i in range(run.count):
            for ins in run.body:
                lo, hi = window_of(ins)
                if not lo <= i % ins.every < hi:
                    continue
                if isinstance(ins, Load):
                    blk = blocks.load(i, ins.buffer)
                    if ins.buffer == "weight":
                        assert ins.bits == blk.k * blk.n * 8, (run.name, i, blk)
                    else:
                        footprint = blocks.tile_class.footprint
                        assert ins.bits == blk.k // kp.unit * footprint * 8, (run.name, i, blk)
                    loaded[ins.buffer] = blk
                elif isinstance(ins, Compute):
                    t = blocks.tile(i)
                    assert (t.m, t.k, t.n) == (ins.m, ins.k, ins.n), (run.name, i)
                    assert t.k0 // (kp.per_tile * kp.unit) == \
                        (t.k0 + t.k - 1) // (kp.per_tile * kp.unit), "a band stays in its k tile"
                    cover[t.m0:t.m0 + t.m, t.n0:t.n0 + t.n, t.k0:t.k0 + t.k] += 1
                    deps = {run.body[d].buffer for d in ins.deps}
                    for buffer in ("input", "weight"):
                        src = loaded[buffer] if buffer in deps else latest[buffer]
                        assert src.holds(t, buffer), (buffer, t, src)
        latest.update(loaded)
    assert (cover == 1).all()


@pytest.mark.parametrize(("M", "N", "K"), [(20, 10, 11), (7, 5, 16), (33, 9, 3), (40, 13, 9)])
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_gemm_blocks_cover_the_gemm_once_and_lie_in_their_loads(M, N, K, dataflow):
    """Every mapping of the mapper's space on a 4 x 4 array, all four orders (mnk and Nmnk
    split into first-n / other-n and first-m runs, resident operands): the law of
    ``_check_blocks``."""
    arch = replace(load_arch("edge_int8"), array=replace(load_arch("edge_int8").array, rows=4,
                                                         cols=4))
    orders = set()
    for mp in enumerate_mappings(Gemm(M, N, K), 8, 8, 8, arch):
        if mp.dataflow == dataflow:
            _check_blocks(mp)
            orders.add(mp.order)
    assert orders >= {"nmk", "mnk", "Nmnk"}


def test_gemm_blocks_name_what_they_do_not_know():
    arch = load_arch("edge_int8")
    grouped = mapping_for(Gemm(64, 8, 32, groups=2), 8, 8, 8, arch, "ws", m_t=64,
                          units_per_tile=16, n_t=8, order="nmk")
    assert grouped is not None
    with pytest.raises(ProgramError, match=r"nests of one group .*, not 2 groups"):
        gemm_blocks(grouped)
    conv = mapping_for(Gemm(64, 8, 27), 8, 8, 8, arch, "ws", m_t=16, units_per_tile=3, n_t=8,
                       order="nmk", geometry=_GEOMETRIES[0])
    assert conv is not None
    with pytest.raises(ProgramError, match="units of 9 without a geometry"):
        gemm_blocks(conv)


def _geometry(batch: int, channels: int, hw: int, kernel: int, stride: int, pad: int,
              dilation: int = 1) -> ConvGeometry:
    out = (hw + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    return ConvGeometry(batch, channels, hw, hw, (kernel, kernel), (stride, stride),
                        (pad, pad), (dilation, dilation), out, out)


# ResNet-18's 3x3 block conv and stem, its 1x1 stride-2 shortcut, a 5x5 valid conv, a dilated one
_GEOMETRIES = [_geometry(1, 3, 8, 3, 1, 1), _geometry(2, 3, 9, 7, 2, 3), _geometry(2, 4, 7, 1, 2, 0),
               _geometry(1, 2, 9, 5, 1, 0), _geometry(1, 2, 9, 3, 2, 2, 2)]


@pytest.mark.parametrize("geometry", _GEOMETRIES, ids=lambda g: f"k{g.kernel[0]}s{g.stride[0]}")
@pytest.mark.parametrize("m_cap", [1, 3, 4, 8, 16, 40])
def test_tile_starts_are_the_tiles_classes_and_cover_every_output_once(
        geometry: ConvGeometry, m_cap: int) -> None:
    """Law: the tiles ``tile_starts`` places make the classes of ``tiles`` (size, count and
    each tile's footprint, recounted from the positions it covers), and together cover every
    output position exactly once."""
    g = geometry
    cover = np.zeros(g.batch * g.out_h * g.out_w, int)
    plane = g.out_h * g.out_w
    for c, starts in zip(g.tiles(m_cap), g.tile_starts(m_cap), strict=True):
        assert len(starts) == c.count
        for m0 in starts:
            cover[m0:m0 + c.size] += 1
            pixels = set()
            for p in range(m0, m0 + c.size):
                assert p // plane == m0 // plane, "a tile stays within one image"
                oh, ow = divmod(p % plane, g.out_w)
                pixels |= {(oh * g.stride[0] - g.pad[0] + i * g.dilation[0],
                            ow * g.stride[1] - g.pad[1] + j * g.dilation[1])
                           for i in range(g.kernel[0]) for j in range(g.kernel[1])}
            assert len({(y, x) for y, x in pixels
                        if 0 <= y < g.height and 0 <= x < g.width}) == c.footprint
    assert (cover == 1).all()


@pytest.mark.parametrize(("geometry", "dataflow", "m_t", "per_tile", "n_t", "order"),
                         [(_GEOMETRIES[0], "ws", 16, 3, 4, "nmk"),
                          (_GEOMETRIES[1], "ws", 16, 1, 4, "nmk"),
                          (_GEOMETRIES[1], "os", 4, 3, 4, "nmk"),
                          (_GEOMETRIES[2], "ws", 8, 4, 3, "nmk"),
                          (_GEOMETRIES[3], "os", 4, 2, 2, "nmk"),
                          (_GEOMETRIES[0], "ws", 16, 3, 4, "mnk"),
                          (_GEOMETRIES[3], "os", 4, 2, 2, "mnk")])
def test_gemm_blocks_of_a_convolution_cover_its_gemm_once(geometry, dataflow, m_t, per_tile,
                                                           n_t, order):
    """A convolution's nest, WS bands included (4 x 4 array: a 3x3 or 7x7 channel is longer
    than the reduction axis): the law of ``_check_blocks``, with footprints."""
    g = geometry
    arch = replace(load_arch("edge_int8"), array=replace(load_arch("edge_int8").array, rows=4,
                                                         cols=4))
    M, N, K = g.batch * g.out_h * g.out_w, 6, g.channels * g.taps
    mp = mapping_for(Gemm(M, N, K), 8, 8, 8, arch, dataflow, m_t=m_t, units_per_tile=per_tile,
                     n_t=n_t, order=order, geometry=g)
    assert mp is not None
    assert (mp.kplan.bands > 1) == (dataflow == "ws" and g.taps > 1)  # OS streams k: no bands
    _check_blocks(mp, g)
