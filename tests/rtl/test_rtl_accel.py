"""The accelerator (rtl/accel.v) executes whole GEMM and convolution layers as hwsim's code
generator emits them, with real data, cycle for cycle as ``hwsim.encoding.replay`` times them.

Each build runs four cocotb tests (tests/rtl/tb/tb_accel.py): ``directed_layers`` (GEMM
layers shaped after real ones: edge tiles in m, k and n, DRAM latency shorter and longer than
a tile, bandwidth- and nearly compute-bound, stores backing up, deep load streams; and the
loop orders the mapper picks most: ``mnk`` with few m tiles, each m tile's first n tile a run
of its own and the others reading its input block resident, and with a class of eight m
tiles in one run; ``Nmnk`` with one weight block per n tile size and with blocks of one n
tile, a class's first m tile loading the block and the other classes reading it resident;
``nkm``, each weight tile serving every m tile of its class, whose partial sums stay in
regions of the output slot across two k steps, running on into the next slot where they
outgrow one, their stores backing up), ``directed_convs`` (convolutions shaped after zoo
layers and shrunk: ResNet-18's 3x3 block conv, its 3x3 stride-2 downsampling conv, its 1x1
stride-2 shortcut and its 7x7 stride-2 stem, LeNet-5's 5x5 valid conv, the block conv in
mnk and Nmnk nests and a 1x1 conv in an nkm nest; WS k tiles cut into bands where a
channel's taps outrun the array), ``random_convs`` and ``random_layers`` (seeded random
shapes, mappings and channels, a random GEMM's loop order too;
``SYSTOLAB_ACCEL_RANDOM_CONVS`` and ``SYSTOLAB_ACCEL_RANDOM_LAYERS`` set how many). Each
layer checks every output value (a convolution's against the convolution computed directly),
every transfer's start, end and done cycle, every tile's issue, completion and operand
release cycle, the cycle count, and the busy and stall counters against the engine's
accounting. The layer choice comes from the DUT's parameters (array, dataflow, slot depths)
and the seed, so a build serves all of its layers. The cases are kept out of
``rtl_sim.SUITE_CASES``. A convolution's input loads move its tiles' footprints; the core's
im2col address generator reads them (rtl/accel.v's header). A resident load moves a whole
block into consecutive slots, and each tile reads its operands at row offsets into it; an
nkm tile writes, and its m tile's store reads, its output region at a row offset too
(rtl/accel.v, "Slot layout", "Output regions"). Python-only tests below check the program's
walk fields, its block layouts, output regions and offsets, and the geometries and nests
the generator refuses.

DATAFLOW=1 builds run output-stationary programs (tiles m <= R, n <= C, the reduction k
streamed), the others weight-stationary ones. OS layers whose replayed times break
rtl/accel_core_os.v's contract on consecutive tiles (a short k edge tile right after a long
one) are redrawn: os_array cannot meet hwsim's times for them (accel_core_os.v's header).
"""

from __future__ import annotations

import numpy as np
import pytest
import rtl_sim

pytestmark = pytest.mark.rtl

# (parameters, simulators): 8x8 and 16x16 on Verilator only, to keep the suite short.
# 32 slots per buffer: every run has slots of its own (its load streams' and two output
# slots, hwsim.encoding), and mnk and Nmnk programs have many runs (an m tile's first n tile
# apart from the others, a class's first m tile apart) and blocks spanning several slots; a
# convolution cut into row segments has many runs too (edge segments of a padded map form
# classes of their own). DATAFLOW 1 builds the output-stationary datapath: KDEPTH 64 holds
# a 7x7 input channel (the stem's k tile).
SLOTS = {"IN_SLOTS": 32, "W_SLOTS": 32, "OUT_SLOTS": 32, "SLOT_W": 5}
OS = {"DATAFLOW": 1, "KDEPTH": 64}
CASES: list[tuple[dict[str, int], tuple[str, ...]]] = [
    ({"ROWS": 2, "COLS": 2, **SLOTS}, ("icarus", "verilator")),
    ({"ROWS": 4, "COLS": 4, **SLOTS}, ("icarus", "verilator")),
    ({"ROWS": 3, "COLS": 5, **SLOTS}, ("icarus", "verilator")),
    ({"ROWS": 8, "COLS": 8, **SLOTS}, ("verilator",)),
    ({"ROWS": 16, "COLS": 16, **SLOTS}, ("verilator",)),
    ({"ROWS": 2, "COLS": 2, **SLOTS, **OS}, ("icarus", "verilator")),
    ({"ROWS": 4, "COLS": 4, **SLOTS, **OS}, ("icarus", "verilator")),
    ({"ROWS": 3, "COLS": 5, **SLOTS, **OS}, ("icarus", "verilator")),
    ({"ROWS": 8, "COLS": 8, **SLOTS, **OS}, ("verilator",)),
]


def _case_id(params: dict[str, int]) -> str:
    return "-".join(f"{k}{v}" for k, v in params.items())


@pytest.mark.parametrize("case", CASES, ids=[_case_id(p) for p, _ in CASES])
def test_accel_layers(simulator: str, case: tuple[dict[str, int], tuple[str, ...]]) -> None:
    params, sims = case
    if simulator not in sims:
        pytest.skip(f"{_case_id(params)} runs on {', '.join(sims)} only (run time)")
    rtl_sim.assert_all_passed(rtl_sim.run_kernel(simulator, "accel", params))


def test_broken_dma_arbitration_is_caught(simulator: str) -> None:
    """BROKEN=1 lets a load go ahead of an older store on the channel: the timing, value and
    DRAM protocol checks must fail in both tests."""
    result = rtl_sim.run_kernel(simulator, "accel", {"ROWS": 2, "COLS": 2, **SLOTS, "BROKEN": 1})
    assert result.passed, f"no cocotb test ran ({result.log_hint})"
    caught = set(result.failed)
    assert {"directed_layers", "random_layers"} <= caught, (
        f"the broken DMA slipped through: only {sorted(caught)} failed ({result.log_hint})"
    )


def test_a_short_k_os_tile_waits_for_the_long_one_s_results() -> None:
    """The RTL found it: an OS tile issued max(k, R, C) after the previous one whatever its
    own k, so after a k = 8 tile a k = 1 edge tile's results met the previous tile's on
    os_array's port (4x4: issues 66 and 74, both rows in cycle 78). The engine now spaces
    first results max(R, C) apart: the edge tile issues at 66 + 8 + 4 - 1 = 77, and the
    layer runs on the RTL (its directed OS cases include such edges)."""
    import numpy as np
    from accel_program import LayerCase, Limits, build_program

    lim = Limits(4, 4, "os", 16, 16, 256, 128, {"input": 16, "weight": 16, "output": 8})
    prog = build_program(LayerCase("short_k_edge", 4, 4, 9, 8, 2, (4, 8, 4)), lim,
                         np.random.default_rng(0))
    (i0, _, _), (i1, _, _) = prog.expected.tiles[:2]
    assert (i0, i1) == (66, 77)
    assert prog.engine == prog.expected


@pytest.mark.parametrize(("change", "message"), [
    ({"groups": 2}, "groups must be 1, not 2"),
    ({"dilation": 2}, "dilation must be 1, not 2"),
    ({"kernel": 2, "stride": 3}, "a 2x2 kernel with stride 3 .* not supported"),
    ({"kernel": 1, "stride": 2, "pad": 1}, "a 1x1 kernel with stride 2 .* not supported"),
])
def test_convolutions_the_address_generator_cannot_walk_are_named(change, message) -> None:
    from accel_conv import ConvCase
    from accel_program import Unfit

    fields = {"name": "conv", "batch": 1, "cin": 2, "height": 8, "width": 8, "cout": 2,
              "kernel": 3, "stride": 1, "pad": 1, "bpc": 8, "latency": 4, **change}
    with pytest.raises(Unfit, match=message):
        ConvCase(**fields)


def test_a_conv_layer_s_program_moves_footprints_and_walks_im2col() -> None:
    """ResNet-18's 3x3 stride-1 pad-1 conv on a 4x4 WS build (bands of 4 K elements): each
    input load moves its tile's footprint, and the im2col that the tiles' walks read from
    their slots (the RTL's accel_kstep and accel_pstep, replayed in Python) times the
    weights they load sums to the convolution: the program's fields mean what the RTL
    reads, checked without a simulator."""
    import numpy as np
    from accel_conv import ConvCase
    from accel_program import Limits, build_program

    from compiler.mapping.codegen import gemm_blocks

    lim = Limits(4, 4, "ws", 16, 16, 256, 128, {"input": 16, "weight": 16, "output": 8})
    case = ConvCase("block", 1, 4, 6, 6, 5, 3, 1, 1, 8, 3)
    prog = build_program(case, lim, np.random.default_rng(0))
    assert prog.mapping.kplan.bands > 1
    blocks = gemm_blocks(prog.mapping, case.geometry)
    W = prog.dram[prog.out_base - case.K * case.N:prog.out_base].reshape(case.K, case.N)
    loads = {j: np.stack([prog.dram[dd.row_addr(i):dd.row_addr(i) + dd.cols]
                          for i in range(dd.rows)])
             for j, (d, dd) in enumerate(zip(prog.enc.dma, prog.desc, strict=True))
             if d.buffer == "input"}
    r = prog.regs
    got = np.zeros((case.M, case.N), np.int64)
    for e, g in zip(prog.enc.tiles, prog.geo, strict=True):
        slot = loads[max(j for j in loads if j < e.after_data
                         and prog.enc.dma[j].slot == e.input_slot)]
        kr = [(g.kc0, g.kh0, g.kw0, g.koff0)]
        while len(kr) < e.k:  # accel_kstep
            c, kh, kw, off = kr[-1]
            kr.append((c, kh, kw + 1, off + 1) if kw + 1 < r.kw else
                      (c, kh + 1, 0, off + g.fw - r.kw + 1) if kh + 1 < r.kh else
                      (c + 1, 0, 0, 0))
        pos = [(g.ow0, g.bh0, g.bw0, g.base0)]
        while len(pos) < e.m:  # accel_pstep
            ow, bh, bw, base = pos[-1]
            pos.append((0, bh + r.sh, bw - r.wrap_w, base + g.rstep) if ow + 1 == r.out_w
                       else (ow + 1, bh, bw + r.sw, base + r.sw))
        a = np.array([[slot[base + off][c] if 0 <= bh + kh < g.fh and 0 <= bw + kw < g.fw
                       else 0 for c, kh, kw, off in kr] for _, bh, bw, base in pos])
        b = blocks[e.key[0]].tile(e.key[1])
        got[b.m0:b.m0 + b.m, b.n0:b.n0 + b.n] += a @ W[b.k0:b.k0 + b.k, b.n0:b.n0 + b.n]
    assert (got == prog.reference).all()


def _sram_replay(prog, lim) -> np.ndarray:
    """The GEMM ``prog`` stores when its loads write their rows at flat SRAM row
    ``slot * slot rows + row`` (every row once its first one arrives), each tile reads its
    operands from its slots' first rows plus its row offsets (once it issues) and writes or
    adds its results at flat output row ``out_slot * DEPTH + out_off + mm`` (at its first
    result write), and each store reads its rows from ``slot * DEPTH + off`` on (as it
    starts), as rtl/accel_core_ws.v, rtl/accel_core_os.v and rtl/accel_dma.v do; the times
    are replay's."""
    mem: dict[str, dict[int, np.ndarray]] = {"input": {}, "weight": {}, "output": {}}
    events = []  # (cycle, 0: a store reads / 1: a load's rows land / 2: a tile, index)
    for j, d in enumerate(prog.enc.dma):
        start = prog.expected.dma[j][0]
        events.append((start, 0, j) if d.store else (start + prog.enc.latency, 1, j))
    events += [(t[0] + prog.enc.tile_costs[i][3], 2, i)
               for i, t in enumerate(prog.expected.tiles)]
    case = prog.case
    out = np.full((case.M, case.N), np.iinfo(np.int64).min, np.int64)
    for _, kind, i in sorted(events):
        if kind < 2:
            d, dd = prog.enc.dma[i], prog.desc[i]
            base = prog.dma_slot[i] * lim.slot_shape(d.buffer)[0]
            for r in range(dd.rows):
                at = dd.row_addr(r)
                if d.store:
                    at -= prog.out_base
                    out.flat[at:at + dd.cols] = mem["output"][base + prog.dma_off[i] + r][:dd.cols]
                else:
                    mem[d.buffer][base + r] = prog.dram[at:at + dd.cols]
            continue
        e, op = prog.enc.tiles[i], prog.operands[i]
        a0 = op.in_slot * lim.slot_shape("input")[0] + op.in_off
        w0 = op.w_slot * lim.slot_shape("weight")[0] + op.w_off
        a = np.stack([mem["input"][a0 + mm][:e.k] for mm in range(e.m)])
        w = np.stack([mem["weight"][w0 + kk][:e.n] for kk in range(e.k)])
        o0 = op.out_slot * lim.depth + op.out_off
        for mm, row in enumerate(a @ w):
            mem["output"][o0 + mm] = row + (mem["output"][o0 + mm] if e.accumulate else 0)
    return out


@pytest.mark.parametrize(("rows", "cols", "dataflow"),
                         [(2, 2, "ws"), (3, 5, "ws"), (4, 4, "os"), (3, 5, "os")])
def test_resident_blocks_are_laid_out_where_their_tiles_read_them(rows, cols, dataflow
                                                                   ) -> None:
    """mnk and Nmnk programs (and the nmk ones) on the test builds' slots: input blocks
    k-chunk-major, weight blocks n-tile-major, each over consecutive physical slots, and
    every tile's row offsets pick its operands out of them; nkm programs keep a partial sum
    per m tile in regions of their output slots (some running on into the next slot), where
    its tiles add and its store reads; so the stores move A @ W (checked without a
    simulator; the RTL adds the offsets where this function does)."""
    from accel_cases import directed_cases
    from accel_program import Limits, build_program

    lim = Limits(rows, cols, dataflow, 16, 64, 256, 128, dict.fromkeys(
        ("input", "weight", "output"), 32))
    rng = np.random.default_rng(0)
    orders = set()
    for case in directed_cases(rows, cols, dataflow):
        prog = build_program(case, lim, rng)
        order = prog.mapping.order
        orders.add(order)
        assert (_sram_replay(prog, lim) == prog.reference).all(), case.name
        assert any(op.in_off for op in prog.operands) == (order in ("mnk", "Nmnk"))
        assert any(op.w_off for op in prog.operands) == (order == "Nmnk")
        assert any(prog.dma_off) == any(op.out_off for op in prog.operands) == (order == "nkm")
        if case.name.startswith("nkm_regions_past_a_slot"):
            assert max(op.out_off + e.m for op, e in zip(prog.operands, prog.enc.tiles,
                                                         strict=True)) > lim.depth
    assert orders == {"nmk", "mnk", "Nmnk", "nkm"}


def test_a_resident_conv_nest_over_several_k_tiles_is_named() -> None:
    """An mnk (or Nmnk) convolution's input block is one SRAM k tile's footprint: a nest
    over two k tiles is refused by name (nkm streams its footprints and runs)."""
    from accel_conv import ConvCase
    from accel_program import Limits, Unfit, build_program

    lim = Limits(4, 4, "ws", 16, 16, 256, 128, dict.fromkeys(("input", "weight", "output"), 32))
    case = ConvCase("conv", 1, 4, 6, 6, 9, 3, 1, 1, 8, 3, (12, 2, 4), order="mnk")
    with pytest.raises(Unfit, match=r"an mnk nest of a convolution needs one SRAM k tile .*not 2"):
        build_program(case, lim, np.random.default_rng(0))
