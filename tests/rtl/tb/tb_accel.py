"""cocotb testbench of the accelerator (rtl/accel.v): whole GEMM layers, as hwsim's code
generator emits them, executed with real data and checked cycle for cycle.

Pieces (as in cocotb's matrix_multiplier example), wired once per layer by :func:`run_layer`:

- reference model (accel_program.py; the layers in accel_cases.py and accel_conv.py): the
  encoded program, its DRAM descriptors, physical slots, row offsets (operand blocks,
  output regions) and im2col walks, random int8 operands, the layer's output (``A @ W``, or
  the convolution computed directly), the times of ``hwsim.encoding.replay`` and the
  engine's stalls;
- driver (:func:`load_program`): writes both queues through the program port and pulses
  ``start``; the falling edge after the start edge is cycle 0 of the layer;
- DRAM model and monitor (:class:`DramAndMonitor`): serves the channel (load row r in cycle
  start + L + ceil((r+1) * beats / rows) - 1, store acknowledged in cycle end + L - 1, so
  every transfer is done from end + L) and records every event pulse with its cycle (a
  tile's operand release cycle as the accelerator fixes it at issue);
- checker (:func:`check_layer`): every output value, every DMA entry's (start, end, done),
  every tile's (issue, done, read), the cycle count, busy and stall counters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import cocotb
import numpy as np
from accel_cases import directed_cases, random_case
from accel_conv import directed_conv_cases, random_conv_case
from accel_program import (
    BUFFER_CODE,
    DATAFLOWS,
    Descriptor,
    Limits,
    Program,
    Unfit,
    build_program,
)
from cocotb.triggers import FallingEdge
from harness import Scoreboard, Timebase, lane, log, param, seeded_rng, start_clock_and_reset

GEO_PORTS = {f: f"prog_t_{f}" for f in ("ow0", "bh0", "bw0", "base0", "fh", "fw", "rstep",
                                         "kc0", "kh0", "kw0", "koff0")}  # TileGeo's fields
REG_PORTS = {f: f"cv_{f}" for f in ("kh", "kw", "sh", "sw", "out_w", "wrap_w")}  # LayerRegs'
PROG_PORTS = ("prog_we", "prog_sel", "prog_addr", "prog_d_store", "prog_d_buf", "prog_d_slot",
              "prog_d_addr", "prog_d_stride", "prog_d_wrap", "prog_d_pstride", "prog_d_rows",
              "prog_d_cols", "prog_d_beats", "prog_d_after", "prog_d_off", "prog_t_m",
              "prog_t_k", "prog_t_n",
              "prog_t_in_slot", "prog_t_w_slot", "prog_t_out_slot", "prog_t_in_off",
              "prog_t_w_off", "prog_t_out_off", "prog_t_acc",
              "prog_t_after_data", "prog_t_after_drain", *GEO_PORTS.values())
IDLE = {**dict.fromkeys(PROG_PORTS, 0), **dict.fromkeys(REG_PORTS.values(), 0),
        "n_dma": 0, "n_tiles": 0, "start": 0,
        "dram_rvalid": 0, "dram_rtag": 0, "dram_rrow": 0, "dram_rdata": 0,
        "dram_bvalid": 0, "dram_btag": 0}
STALL_PORTS = {"input_load": "st_input_load", "weight_load": "st_weight_load",
               "dram_bw": "st_dram_bw", "store": "st_store", "dependency": "st_dependency",
               "drain": "st_drain"}


@dataclass(frozen=True)
class AccelParams:
    rows: int
    cols: int
    a_w: int
    w_w: int
    acc_w: int
    limits: Limits

    @classmethod
    def of(cls, dut) -> AccelParams:
        slots = {"input": param(dut, "IN_SLOTS"), "weight": param(dut, "W_SLOTS"),
                 "output": param(dut, "OUT_SLOTS")}
        lim = Limits(param(dut, "ROWS"), param(dut, "COLS"), DATAFLOWS[param(dut, "DATAFLOW")],
                     param(dut, "DEPTH"), param(dut, "KDEPTH"), param(dut, "DQ_DEPTH"),
                     param(dut, "TQ_DEPTH"), slots, param(dut, "IN_DEPTH"),
                     param(dut, "GEO_W"), param(dut, "DIM_W"))
        return cls(lim.rows, lim.cols, param(dut, "A_W"), param(dut, "W_W"),
                   param(dut, "ACC_W"), lim)


def pack(values, width: int) -> int:
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


# ---- driver ------------------------------------------------------------------------------

async def load_program(dut, p: AccelParams, prog: Program, timebase: Timebase) -> None:
    """Write both queues, one entry per cycle, then pulse ``start``; returns at the falling
    edge of cycle 0, which it marks on ``timebase``."""
    for j, (d, dd, slot, off) in enumerate(zip(prog.enc.dma, prog.desc, prog.dma_slot,
                                               prog.dma_off, strict=True)):
        await FallingEdge(dut.clk)
        for port, v in (("prog_we", 1), ("prog_sel", 0), ("prog_addr", j),
                        ("prog_d_store", int(d.store)), ("prog_d_buf", BUFFER_CODE[d.buffer]),
                        ("prog_d_slot", slot), ("prog_d_addr", dd.addr),
                        ("prog_d_stride", dd.stride), ("prog_d_wrap", dd.wrap or dd.rows),
                        ("prog_d_pstride", dd.pstride), ("prog_d_rows", dd.rows),
                        ("prog_d_cols", dd.cols), ("prog_d_beats", d.beats),
                        ("prog_d_after", d.after), ("prog_d_off", off)):
            getattr(dut, port).value = v
    mask = (1 << p.limits.geo_w) - 1  # two's complement fields
    for t, (e, geo, op) in enumerate(zip(prog.enc.tiles, prog.geo, prog.operands,
                                         strict=True)):
        await FallingEdge(dut.clk)
        for name, port in GEO_PORTS.items():
            getattr(dut, port).value = getattr(geo, name) & mask
        for port, v in (("prog_we", 1), ("prog_sel", 1), ("prog_addr", t),
                        ("prog_t_m", e.m), ("prog_t_k", e.k), ("prog_t_n", e.n),
                        ("prog_t_in_slot", op.in_slot), ("prog_t_w_slot", op.w_slot),
                        ("prog_t_in_off", op.in_off), ("prog_t_w_off", op.w_off),
                        ("prog_t_out_slot", op.out_slot), ("prog_t_out_off", op.out_off),
                        ("prog_t_acc", int(e.accumulate)),
                        ("prog_t_after_data", e.after_data),
                        ("prog_t_after_drain", e.after_drain)):
            getattr(dut, port).value = v
    await FallingEdge(dut.clk)
    dut.prog_we.value = 0
    dut.n_dma.value = len(prog.enc.dma)
    dut.n_tiles.value = len(prog.enc.tiles)
    for name, port in REG_PORTS.items():
        getattr(dut, port).value = getattr(prog.regs, name)
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    timebase.mark_cycle0()


# ---- DRAM model and monitor --------------------------------------------------------------

@dataclass
class Observed:
    """Cycles of every event the accelerator reported, per entry index."""

    dma_start: dict[int, int] = field(default_factory=dict)
    dma_done: dict[int, int] = field(default_factory=dict)
    tile_issue: dict[int, int] = field(default_factory=dict)
    tile_read: dict[int, int] = field(default_factory=dict)  # as fixed at issue
    tile_done: dict[int, int] = field(default_factory=dict)
    repeated: list[str] = field(default_factory=list)
    protocol: list[str] = field(default_factory=list)

    def record(self, what: str, idx: int, cycle: int) -> None:
        seen = getattr(self, what)
        if idx in seen:
            self.repeated.append(f"{what} of entry {idx} in cycles {seen[idx]} and {cycle}")
        else:
            seen[idx] = cycle


class DramAndMonitor:
    """The DRAM behind the channel (always ready; the accelerator serializes it) and the
    monitor of the event outputs, one pass per falling edge."""

    def __init__(self, dut, p: AccelParams, prog: Program, timebase: Timebase) -> None:
        self.dut, self.p, self.prog, self.timebase = dut, p, prog, timebase
        self.L = prog.enc.latency
        self.out = np.full(prog.case.M * prog.case.N, np.iinfo(np.int64).min, dtype=np.int64)
        self.responses: dict[int, tuple[str, int, int, int]] = {}  # cycle -> response
        self.requests: dict[int, tuple[int, int, bool]] = {}       # tag -> (start, beats, we)
        self.seen = Observed()
        self.finished_at: int | None = None

    def _request(self, c: int) -> None:
        d = self.dut
        tag, we, beats = int(d.dram_tag.value), int(d.dram_we.value), int(d.dram_beats.value)
        addr, stride = int(d.dram_addr.value), int(d.dram_stride.value)
        rows, cols = int(d.dram_rows.value), int(d.dram_cols.value)
        wrap, pstride = int(d.dram_wrap.value), int(d.dram_pstride.value)
        self.requests[tag] = (c, beats, bool(we), addr, stride, cols)
        if we:
            self._respond(c + beats + self.L - 1, ("b", tag, 0, 0))
            return
        width = self.p.a_w if int(d.dram_buf.value) == 0 else self.p.w_w
        if not 1 <= rows <= beats:
            self.seen.protocol.append(f"load {tag}: {rows} rows in {beats} beats")
        if not 1 <= wrap <= rows or rows % wrap:
            self.seen.protocol.append(f"load {tag}: {rows} rows in planes of {wrap}")
            wrap = rows
        desc = Descriptor(addr, stride, rows, cols, wrap, pstride)
        for r in range(rows):
            at = desc.row_addr(r)
            elems = self.prog.dram[at: at + cols]
            self._respond(c + self.L + -(-(r + 1) * beats // rows) - 1,
                          ("r", tag, r, pack(elems, width)))

    def _respond(self, cycle: int, resp) -> None:
        if cycle in self.responses:
            self.seen.protocol.append(f"two DRAM responses in cycle {cycle}")
        self.responses[cycle] = resp

    def _store_row(self) -> None:
        d = self.dut
        tag, row = int(d.dram_wtag.value), int(d.dram_wrow.value)
        _, _, _, addr, stride, cols = self.requests[tag]
        base = addr + row * stride - self.prog.out_base
        word = d.dram_wdata.value  # columns >= cols may be unwritten (X)
        for c in range(cols):
            try:
                self.out[base + c] = lane(word, self.p.acc_w, c)
            except ValueError:
                self.seen.protocol.append(f"store {tag} row {row} column {c} is X")

    async def run(self, limit: int) -> None:
        d, seen = self.dut, self.seen
        driving = False
        while True:
            c = self.timebase.now()
            if int(d.ev_dma_start.value):
                seen.record("dma_start", int(d.ev_dma_start_idx.value), c)
                self._request(c)
            if int(d.ev_dma_done.value):
                seen.record("dma_done", int(d.ev_dma_done_idx.value), c)
            if int(d.ev_tile_issue.value):
                idx = int(d.ev_tile_issue_idx.value)
                seen.record("tile_issue", idx, c)
                seen.record("tile_read", idx, int(d.ev_tile_read_at.value))
            if int(d.ev_tile_done.value):
                seen.record("tile_done", int(d.ev_tile_done_idx.value), c)
            if int(d.dram_wvalid.value):
                self._store_row()
            resp = self.responses.pop(c, None)
            if resp is not None:
                kind, tag, row, data = resp
                d.dram_rvalid.value = int(kind == "r")
                d.dram_bvalid.value = int(kind == "b")
                d.dram_rtag.value = tag if kind == "r" else 0
                d.dram_btag.value = tag if kind == "b" else 0
                d.dram_rrow.value = row
                d.dram_rdata.value = data
                driving = True
            elif driving:
                d.dram_rvalid.value = 0
                d.dram_bvalid.value = 0
                driving = False
            if int(d.done.value):
                self.finished_at = c
                return
            if c > limit:
                return
            await FallingEdge(d.clk)


# ---- checker -----------------------------------------------------------------------------

def check_layer(board: Scoreboard, prog: Program, mon: DramAndMonitor, dut) -> None:
    enc, exp, seen = prog.enc, prog.expected, mon.seen
    board.expect_equal("layer finished", mon.finished_at is not None, True)
    board.expect_equal("events reported twice", seen.repeated[:3], [])
    board.expect_equal("DRAM protocol", seen.protocol[:3], [])
    want = prog.reference.ravel()
    bad = np.flatnonzero(mon.out != want)
    N = prog.case.N
    board.expect_equal("wrong output values (first: (row, col), got, want)",
                       [((int(i) // N, int(i) % N), int(mon.out[i]), int(want[i]))
                        for i in bad[:3]], [])
    for j, d in enumerate(enc.dma):
        start = seen.dma_start.get(j)
        got = (start, None if start is None else start + d.beats, seen.dma_done.get(j))
        board.expect_equal(f"DMA entry {j} key {d.key} {d.buffer} (start, end, done)",
                           got, exp.dma[j])
    for t, e in enumerate(enc.tiles):
        got = (seen.tile_issue.get(t), seen.tile_done.get(t), seen.tile_read.get(t))
        board.expect_equal(f"tile {t} key {e.key} (issue, done, read)", got, exp.tiles[t])
    if mon.finished_at is None:  # the counters below are not valid
        return
    board.expect_equal("cycles", int(dut.cycles.value), exp.cycles)
    # the array's books: RTL counters = the engine's accounting applied to replay's times
    got_stalls = tuple(sorted((cause, int(getattr(dut, port).value))
                              for cause, port in STALL_PORTS.items()
                              if int(getattr(dut, port).value)))
    board.expect_equal("busy cycles", int(dut.busy_cycles.value), prog.busy)
    board.expect_equal("stall cycles by cause", got_stalls, prog.stalls)
    # and the engine itself: its times (every instance) and its own stats
    board.expect_equal("engine times equal replay's", prog.engine == exp, True)
    board.expect_equal("busy cycles vs engine", int(dut.busy_cycles.value), prog.engine_busy)
    board.expect_equal("stalls vs engine", got_stalls, prog.engine_stalls)
    board.expect_equal("cycles vs engine", int(dut.cycles.value), prog.engine_cycles)


async def run_layer(dut, p: AccelParams, prog: Program) -> None:
    timebase = Timebase()
    await load_program(dut, p, prog, timebase)
    mon = DramAndMonitor(dut, p, prog, timebase)
    await mon.run(limit=prog.expected.cycles + 4 * (p.rows + p.cols) + 100)
    board = Scoreboard(f"layer {prog.case.name} ({prog.case.M}x{prog.case.N}x{prog.case.K}, "
                       f"{p.limits.dataflow}, bpc {prog.case.bpc}, L {prog.case.latency})")
    check_layer(board, prog, mon, dut)
    mp = prog.mapping
    log.info("%s: %s, tiles (m_t, k_t, n_t) = (%d, %d, %d)%s, %d transfers, %d tiles, "
             "%d cycles, logical slots %s", prog.case.name, mp.order, mp.m_t,
             mp.kplan.per_tile, mp.n_t, f", n_block {mp.n_block}" if mp.n_block else "",
             len(prog.enc.dma), len(prog.enc.tiles), prog.expected.cycles, prog.enc.slots)
    board.result()


def random_programs(p: AccelParams, rng: np.random.Generator, count: int) -> list[Program]:
    """``count`` random layers that fit the build (unfit draws are redrawn)."""
    progs: list[Program] = []
    draws = 0
    while len(progs) < count:
        draws += 1
        assert draws < 50 * count, "random layers keep missing the build's limits"
        case = random_case(rng, p.rows, p.cols, len(progs), p.limits.dataflow)
        try:
            progs.append(build_program(case, p.limits, rng))
        except Unfit:
            continue
    return progs


@cocotb.test()
async def directed_layers(dut) -> None:
    """Layers shaped after real ones in nmk, mnk, Nmnk and nkm nests (accel_cases.directed_cases),
    back to back without reset: values, every transfer's and tile's cycles, cycles, busy
    and stalls."""
    p = AccelParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng()
    for case in directed_cases(p.rows, p.cols, p.limits.dataflow):
        await run_layer(dut, p, build_program(case, p.limits, rng))


@cocotb.test()
async def directed_convs(dut) -> None:
    """Convolutions shaped after zoo layers (module accel_conv.directed_conv_cases), each on
    the first of its mappings (nmk, or the mnk, Nmnk or nkm its case names) that fits the build:
    the same checks as a GEMM layer."""
    p = AccelParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(2)
    for case in directed_conv_cases(p.rows, p.cols):
        await run_layer(dut, p, build_program(case, p.limits, rng))


@cocotb.test()
async def random_convs(dut) -> None:
    """Seeded random convolutions (kernel, stride, padding, map, channels), mappings and DRAM
    speeds and latencies."""
    p = AccelParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(3)
    log.info("random convolutions from numpy seed %d", cocotb.RANDOM_SEED + 3)
    count = int(os.environ.get("SYSTOLAB_ACCEL_RANDOM_CONVS", "6"))
    progs: list[Program] = []
    draws = 0
    while len(progs) < count:
        draws += 1
        assert draws < 50 * count, "random convolutions keep missing the build's limits"
        try:
            progs.append(build_program(random_conv_case(rng, len(progs)), p.limits, rng))
        except Unfit:
            continue
    for prog in progs:
        await run_layer(dut, p, prog)


@cocotb.test()
async def random_layers(dut) -> None:
    """Seeded random GEMM shapes, mappings (nmk, mnk, Nmnk or nkm, in the build's dataflow) and
    DRAM speeds and latencies."""
    p = AccelParams.of(dut)
    await start_clock_and_reset(dut, IDLE)
    rng = seeded_rng(1)
    log.info("random layers from numpy seed %d", cocotb.RANDOM_SEED + 1)
    count = int(os.environ.get("SYSTOLAB_ACCEL_RANDOM_LAYERS", "10"))
    for prog in random_programs(p, rng, count):
        await run_layer(dut, p, prog)
