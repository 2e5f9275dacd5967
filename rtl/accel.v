// A small decoupled access/execute accelerator: one DMA unit on one DRAM channel, double-
// buffered (multi-slot) input and weight SRAMs, a systolic array and an output buffer that
// accumulates partial sums, driven by two in-order queues whose waits are counters. It
// executes the programs hwsim.encoding.encode_layer emits for a layer, with the timing
// hwsim.encoding.replay computes, cycle for cycle.
//
// DATAFLOW picks the array: 0 = weight stationary (ws_array, accel_core_ws), 1 = output
// stationary (os_array, accel_core_os). Everything around the datapath (DMA, queues, waits,
// stall counters) is the same for both; only the tile costs (accel_tiles) and the datapath
// differ.
//
// Submodules: accel_dma (DMA queue, channel, SRAM writes, store reads), accel_tiles (tile
// queue, issue, progress counters, stall accounting), accel_core_ws or accel_core_os (SRAMs,
// array driver with its im2col address generator, output path), accel_inbuf (input SRAM,
// one read port per array row), accel_kstep and accel_pstep (the address generator's
// steps), accel_outbuf (output buffer), accel_delay (skew registers).
//
// Use:
//   1. With `busy` low, write the program: per cycle one entry, prog_we = 1, prog_sel = 0
//      for the DMA queue (prog_d_*) or 1 for the tile queue (prog_t_*), at prog_addr.
//      Buffers: 0 input, 1 weight, 2 output. A DMA entry's DRAM descriptor is an element
//      address, a row stride in elements, rows (SRAM rows) and columns, and a plane of
//      `wrap` rows with planes `pstride` elements apart: row r starts at element
//      addr + (r / wrap) * pstride + (r % wrap) * stride (a GEMM tile: wrap = rows; input
//      m x k, weight k x n, store m x n; a resident block of several tiles' operands, an
//      mnk or Nmnk nest's: the slot layout below). A convolution's input load moves its
//      tile's footprint (NHWC map): fh planes (input rows) of wrap = fw pixels, one SRAM row
//      per pixel holding the load's channels; a 1x1 convolution with a stride gathers one
//      pixel per output (stride and pstride skip the others). `after` as in
//      hwsim.encoding.DmaEntry; `off`: a store's first output-slot row (its region's,
//      region * m; 0 for a load and for a store of a one-region group). A tile entry: m, k,
//      n, its slots, accumulate, after_data, after_drain as in hwsim.encoding.TileEntry, its
//      first input and weight rows in its slots (in_off, w_off: 0 but for a block's tiles),
//      its first output-slot row (out_off = out_region * m), and its im2col walk (GEO_W-bit two's
//      complement; accel_core_ws.v, accel_pstep.v, accel_kstep.v): its first output's
//      column ow0 and window origin relative to the footprint (bh0, bw0; base0 =
//      bh0 * fw + bw0), the footprint's fh x fw pixels, rstep = sh * fw - (out_w - 1) * sw
//      (the address step to the next output row), its first K element in the input slot
//      (channel kc0, kernel row kh0, column kw0; koff0 = kh0 * fw + kw0). A GEMM tile (and a
//      gathered 1x1 one): fh = 1, fw = m, the rest 0. Its costs come from m, k, R and C
//      (docs/timing.md), convolution or not: WS occ = max(m, R), read = R + m, out = 2R,
//      first = 2R + m + C - 2; OS occ = max(k, R, C), read = k, out = k + C - 1,
//      first = k + R + C - 2 (accel_tiles).
//      Slot shapes: input slots hold IN_DEPTH rows (a load's rows: m for a GEMM, the
//      footprint for a convolution) of R (WS, k <= R) or KDEPTH (OS, k <= KDEPTH) elements;
//      WS weight slots R rows of C, OS ones KDEPTH rows of C; output slots DEPTH rows of C
//      (m <= DEPTH; OS m <= R). An OS program also keeps accel_core_os's contract on
//      consecutive tiles.
//      Slot layout: the DMA writes a load's row r at flat row slot * (rows of a slot) + r of
//      its buffer, so a load of more rows than a slot holds runs on into the following
//      slots (the program gives it that many: the test bench maps each of the encoding's
//      slots onto as many consecutive ones as its largest load needs). A tile reads an
//      operand from flat row slot * (rows of a slot) + off on. Resident blocks (k_t: a full
//      array k tile, R on WS):
//        * an input block (m rows x all of K) is k-chunk-major: row j * m + mm holds GEMM
//          row mm's elements j * k_t .. (j+1) * k_t - 1 (DRAM: wrap = m, pstride = k_t,
//          stride = K; the last chunk's columns past K are never read); the tile of k step
//          j reads it at in_off = j * m;
//        * a weight block (all of K x b n tiles of n columns) is n-tile-major: row t * K + kk
//          holds K row kk of n tile t (DRAM: wrap = K, pstride = n, stride = N); the tile of
//          n tile t and k step j reads it at w_off = t * K + j * k_t.
//      A streamed load (one tile's operand, a convolution's footprint) is read at offset 0.
//      Output regions: an output slot holds one output group's partial sums; an nkm nest's
//      group keeps one per m tile of its class (m rows each): region j is rows j * m ..
//      (j+1) * m - 1 from the slot's first row, where the tiles of m tile j write or add
//      their results (out_off = j * m) and its store reads them (off = j * m). A group of
//      more rows than a slot holds runs on into the following output slots (flat row
//      slot * DEPTH + row, as loads do; the test bench gives it that many). Other nests'
//      groups are one region (offsets 0).
//      The layer's im2col constants come on cv_* (sampled with `start`): kernel KH x KW,
//      stride sh, sw, outputs per row out_w, wrap_w = (out_w - 1) * sw; a GEMM (or gathered
//      1x1) layer: 1, 1, 1, 1, 0, 0. Convolutions supported: one group, dilation 1, kernel
//      >= stride (footprint rows and columns are intervals), and 1x1 with a stride and no
//      padding (gathered).
//   2. Set n_dma and n_tiles and pulse `start` for one cycle. The cycle after the edge that
//      samples `start` is cycle 0 of the layer: `busy` is high and `cycle` counts from 0.
//   3. The layer has ended in the first cycle in which every DMA entry is done and every
//      tile is complete; `cycles` holds that cycle's index, `done` rises with the next edge
//      and `busy` falls. Stall counters are valid then.
//
// DRAM port (the channel is serialized by the DMA; the memory is always ready):
//   * dram_req in the start cycle of a transfer, with dram_we (store), dram_buf, the
//     descriptor (dram_addr, dram_stride, dram_wrap, dram_pstride, dram_rows, dram_cols),
//     dram_beats (it holds the channel beats cycles) and dram_tag (entry index);
//   * load rows come back on dram_rvalid/rtag/rrow/rdata, one SRAM row (rrow) per cycle; the
//     DMA writes each into its slot; the load is done after its last row (rows - 1);
//   * a store's row r is on dram_wvalid/wtag/wrow/wdata in cycle start + 1 + r; the memory
//     acknowledges the whole store with dram_bvalid/btag, and it is done after that.
// The test bench's memory (tests/rtl/tb/tb_accel.py) presents load row r in cycle start + L +
// ceil((r+1) * beats / rows) - 1 and the store acknowledgement in cycle start + beats + L - 1,
// so every transfer is done from cycle end + L, as hwsim.encoding.replay has it.
//
// Monitor outputs: ev_dma_start (+idx) in a transfer's start cycle; ev_dma_done (+idx) in the
// first cycle it is done; ev_tile_issue (+idx) in a tile's issue cycle, with ev_tile_read_at,
// the cycle it releases its operand slots (the loads into them wait for it); ev_tile_done
// (+idx) in the first cycle the tile is complete.
//
// BROKEN = 1 breaks the DMA's in-order service (accel_dma); for the test suite only.
`default_nettype none

module accel #(
    parameter integer ROWS      = 4,
    parameter integer COLS      = 4,
    parameter integer A_W       = 8,
    parameter integer W_W       = 8,
    parameter integer ACC_W     = 32,
    parameter integer IN_SLOTS  = 16,
    parameter integer W_SLOTS   = 16,
    parameter integer OUT_SLOTS = 8,
    parameter integer DEPTH     = 16,   // rows of an input (WS) or output slot: the largest m
    parameter integer DATAFLOW  = 0,    // 0: weight stationary, 1: output stationary
    parameter integer KDEPTH    = 16,   // OS: the longest k (input row, weight slot rows)
    parameter integer IN_DEPTH  = 64,   // rows of an input slot: the largest load (footprint)
    parameter integer DQ_DEPTH  = 256,  // DMA queue entries
    parameter integer TQ_DEPTH  = 128,  // tile queue entries
    parameter integer TS_W      = 24,   // cycle counters and timestamps
    parameter integer ADDR_W    = 24,   // DRAM element addresses
    parameter integer DIM_W     = 16,   // rows, columns, m, k, n
    parameter integer BEATS_W   = 16,
    parameter integer SLOT_W    = 4,
    parameter integer GEO_W     = 12,   // im2col coordinates (two's complement)
    parameter integer BROKEN    = 0,
    parameter integer QA_W      = (DQ_DEPTH > 1) ? $clog2(DQ_DEPTH) : 1,
    parameter integer TA_W      = (TQ_DEPTH > 1) ? $clog2(TQ_DEPTH) : 1,
    parameter integer PA_W      = (QA_W > TA_W) ? QA_W : TA_W,
    // an input slot row: WS R elements, OS KDEPTH; the DRAM read port carries one SRAM row
    parameter integer IN_ROW_W  = (DATAFLOW != 0) ? KDEPTH * A_W : ROWS * A_W,
    parameter integer RD_W      = (IN_ROW_W > COLS * W_W) ? IN_ROW_W : COLS * W_W
) (
    input  wire               clk,
    input  wire               rst,
    // program port
    input  wire               prog_we,
    input  wire               prog_sel,
    input  wire [PA_W-1:0]    prog_addr,
    input  wire               prog_d_store,
    input  wire [1:0]         prog_d_buf,
    input  wire [SLOT_W-1:0]  prog_d_slot,
    input  wire [ADDR_W-1:0]  prog_d_addr,
    input  wire [ADDR_W-1:0]  prog_d_stride,
    input  wire [DIM_W-1:0]   prog_d_wrap,
    input  wire [ADDR_W-1:0]  prog_d_pstride,
    input  wire [DIM_W-1:0]   prog_d_rows,
    input  wire [DIM_W-1:0]   prog_d_cols,
    input  wire [BEATS_W-1:0] prog_d_beats,
    input  wire [TA_W:0]      prog_d_after,
    input  wire [DIM_W-1:0]   prog_d_off,
    input  wire [DIM_W-1:0]   prog_t_m,
    input  wire [DIM_W-1:0]   prog_t_k,
    input  wire [DIM_W-1:0]   prog_t_n,
    input  wire [SLOT_W-1:0]  prog_t_in_slot,
    input  wire [SLOT_W-1:0]  prog_t_w_slot,
    input  wire [SLOT_W-1:0]  prog_t_out_slot,
    input  wire [DIM_W-1:0]   prog_t_in_off,
    input  wire [DIM_W-1:0]   prog_t_w_off,
    input  wire [DIM_W-1:0]   prog_t_out_off,
    input  wire               prog_t_acc,
    input  wire [QA_W:0]      prog_t_after_data,
    input  wire [QA_W:0]      prog_t_after_drain,
    input  wire [GEO_W-1:0]   prog_t_ow0,
    input  wire [GEO_W-1:0]   prog_t_bh0,
    input  wire [GEO_W-1:0]   prog_t_bw0,
    input  wire [GEO_W-1:0]   prog_t_base0,
    input  wire [GEO_W-1:0]   prog_t_fh,
    input  wire [GEO_W-1:0]   prog_t_fw,
    input  wire [GEO_W-1:0]   prog_t_rstep,
    input  wire [GEO_W-1:0]   prog_t_kc0,
    input  wire [GEO_W-1:0]   prog_t_kh0,
    input  wire [GEO_W-1:0]   prog_t_kw0,
    input  wire [GEO_W-1:0]   prog_t_koff0,
    input  wire [QA_W:0]      n_dma,
    input  wire [TA_W:0]      n_tiles,
    // the layer's im2col constants, sampled with `start`
    input  wire [GEO_W-1:0]   cv_kh,
    input  wire [GEO_W-1:0]   cv_kw,
    input  wire [GEO_W-1:0]   cv_sh,
    input  wire [GEO_W-1:0]   cv_sw,
    input  wire [GEO_W-1:0]   cv_out_w,
    input  wire [GEO_W-1:0]   cv_wrap_w,
    // run control
    input  wire               start,
    output reg                busy,
    output reg                done,
    output reg  [TS_W-1:0]    cycle,
    output reg  [TS_W-1:0]    cycles,
    // DRAM channel
    output wire               dram_req,
    output wire               dram_we,
    output wire [1:0]         dram_buf,
    output wire [QA_W-1:0]    dram_tag,
    output wire [ADDR_W-1:0]  dram_addr,
    output wire [ADDR_W-1:0]  dram_stride,
    output wire [DIM_W-1:0]   dram_wrap,
    output wire [ADDR_W-1:0]  dram_pstride,
    output wire [DIM_W-1:0]   dram_rows,
    output wire [DIM_W-1:0]   dram_cols,
    output wire [BEATS_W-1:0] dram_beats,
    input  wire               dram_rvalid,
    input  wire [QA_W-1:0]    dram_rtag,
    input  wire [DIM_W-1:0]   dram_rrow,
    input  wire [RD_W-1:0]    dram_rdata,
    output wire               dram_wvalid,
    output wire [QA_W-1:0]    dram_wtag,
    output wire [DIM_W-1:0]   dram_wrow,
    output wire [COLS*ACC_W-1:0] dram_wdata,
    input  wire               dram_bvalid,
    input  wire [QA_W-1:0]    dram_btag,
    // monitor events
    output wire               ev_dma_start,
    output wire [QA_W-1:0]    ev_dma_start_idx,
    output wire               ev_dma_done,
    output wire [QA_W-1:0]    ev_dma_done_idx,
    output wire               ev_tile_issue,
    output wire [TA_W-1:0]    ev_tile_issue_idx,
    output wire [TS_W-1:0]    ev_tile_read_at,
    output wire               ev_tile_done,
    output wire [TA_W-1:0]    ev_tile_done_idx,
    // accounting (docs/timing.md, "Stalls"), valid once `done`
    output wire [TS_W-1:0]    busy_cycles,
    output wire [TS_W-1:0]    st_input_load,
    output wire [TS_W-1:0]    st_weight_load,
    output wire [TS_W-1:0]    st_dram_bw,
    output wire [TS_W-1:0]    st_store,
    output wire [TS_W-1:0]    st_dependency,
    output reg  [TS_W-1:0]    st_drain
);
    wire go = start && !busy;

    wire               tl_ready;
    wire [TA_W-1:0]    tl_idx;
    wire [TS_W-1:0]    tl_read_ts, tl_done_ts;
    wire [QA_W:0]      dma_done_cnt;
    wire               dma_all_done, tiles_all_done;
    wire [QA_W-1:0]    lk_data_idx, lk_drain_idx;
    wire [TS_W-1:0]    lk_data_done_ts, lk_data_qwait, lk_drain_end;
    wire               lk_data_weight, lk_drain_planned;
    wire               sram_we, sram_buf;
    wire [SLOT_W-1:0]  sram_slot, ob_rd_slot;
    wire [DIM_W-1:0]   sram_row, ob_rd_row;
    wire               issue, bank, acc;
    wire [SLOT_W-1:0]  in_slot, w_slot, out_slot;
    wire [DIM_W-1:0]   in_off, w_off, out_off;
    wire [DIM_W-1:0]   m, k, n;
    wire [TS_W-1:0]    arr_free;
    localparam integer GEO_BITS = 11 * GEO_W;
    wire [GEO_BITS-1:0] geo;
    reg  [6*GEO_W-1:0]  layer;   // the im2col constants of the running layer

    always @(posedge clk) begin
        if (go) layer <= {cv_kh, cv_kw, cv_sh, cv_sw, cv_out_w, cv_wrap_w};
    end

    accel_dma #(
        .DQ_DEPTH(DQ_DEPTH), .QA_W(QA_W), .TA_W(TA_W), .TS_W(TS_W), .ADDR_W(ADDR_W),
        .DIM_W(DIM_W), .BEATS_W(BEATS_W), .SLOT_W(SLOT_W), .BROKEN(BROKEN)
    ) u_dma (
        .clk(clk), .rst(rst),
        .prog_we(prog_we && !prog_sel), .prog_addr(prog_addr[QA_W-1:0]),
        .prog_store(prog_d_store), .prog_buf(prog_d_buf), .prog_slot(prog_d_slot),
        .prog_daddr(prog_d_addr), .prog_stride(prog_d_stride), .prog_wrap(prog_d_wrap),
        .prog_pstride(prog_d_pstride), .prog_rows(prog_d_rows),
        .prog_cols(prog_d_cols), .prog_beats(prog_d_beats), .prog_after(prog_d_after),
        .prog_off(prog_d_off),
        .n_dma(n_dma), .go(go), .run(busy), .now(cycle),
        .tl_idx(tl_idx), .tl_ready(tl_ready), .tl_read_ts(tl_read_ts),
        .tl_done_ts(tl_done_ts),
        .dram_req(dram_req), .dram_we(dram_we), .dram_buf(dram_buf), .dram_tag(dram_tag),
        .dram_addr(dram_addr), .dram_stride(dram_stride), .dram_wrap(dram_wrap),
        .dram_pstride(dram_pstride), .dram_rows(dram_rows),
        .dram_cols(dram_cols), .dram_beats(dram_beats),
        .dram_rvalid(dram_rvalid), .dram_rtag(dram_rtag), .dram_rrow(dram_rrow),
        .dram_wvalid(dram_wvalid), .dram_wtag(dram_wtag), .dram_wrow(dram_wrow),
        .dram_bvalid(dram_bvalid), .dram_btag(dram_btag),
        .sram_we(sram_we), .sram_buf(sram_buf), .sram_slot(sram_slot), .sram_row(sram_row),
        .ob_rd_slot(ob_rd_slot), .ob_rd_row(ob_rd_row),
        .done_cnt(dma_done_cnt), .all_done(dma_all_done),
        .lk_data_idx(lk_data_idx), .lk_data_done_ts(lk_data_done_ts),
        .lk_data_qwait(lk_data_qwait), .lk_data_weight(lk_data_weight),
        .lk_drain_idx(lk_drain_idx), .lk_drain_planned(lk_drain_planned),
        .lk_drain_end(lk_drain_end),
        .ev_start(ev_dma_start), .ev_start_idx(ev_dma_start_idx),
        .ev_done(ev_dma_done), .ev_done_idx(ev_dma_done_idx)
    );

    accel_tiles #(
        .ROWS(ROWS), .COLS(COLS), .DATAFLOW(DATAFLOW), .TQ_DEPTH(TQ_DEPTH), .TA_W(TA_W), .QA_W(QA_W),
        .TS_W(TS_W), .DIM_W(DIM_W), .SLOT_W(SLOT_W), .GEO_BITS(GEO_BITS)
    ) u_tiles (
        .clk(clk), .rst(rst),
        .prog_we(prog_we && prog_sel), .prog_addr(prog_addr[TA_W-1:0]),
        .prog_m(prog_t_m), .prog_k(prog_t_k), .prog_n(prog_t_n),
        .prog_in_slot(prog_t_in_slot), .prog_w_slot(prog_t_w_slot),
        .prog_out_slot(prog_t_out_slot), .prog_in_off(prog_t_in_off),
        .prog_w_off(prog_t_w_off), .prog_out_off(prog_t_out_off), .prog_acc(prog_t_acc),
        .prog_after_data(prog_t_after_data), .prog_after_drain(prog_t_after_drain),
        .prog_geo({prog_t_ow0, prog_t_bh0, prog_t_bw0, prog_t_base0, prog_t_fh, prog_t_fw,
                   prog_t_rstep, prog_t_kc0, prog_t_kh0, prog_t_kw0, prog_t_koff0}),
        .n_tiles(n_tiles), .go(go), .run(busy), .now(cycle),
        .dma_done_cnt(dma_done_cnt),
        .lk_data_idx(lk_data_idx), .lk_data_done_ts(lk_data_done_ts),
        .lk_data_qwait(lk_data_qwait), .lk_data_weight(lk_data_weight),
        .lk_drain_idx(lk_drain_idx), .lk_drain_planned(lk_drain_planned),
        .lk_drain_end(lk_drain_end),
        .tl_idx(tl_idx), .tl_ready(tl_ready), .tl_read_ts(tl_read_ts),
        .tl_done_ts(tl_done_ts), .all_done(tiles_all_done),
        .issue(issue), .bank(bank), .in_slot(in_slot), .w_slot(w_slot),
        .out_slot(out_slot), .in_off(in_off), .w_off(w_off), .out_off(out_off), .acc(acc),
        .m(m), .k(k), .n(n), .geo(geo), .issue_idx(ev_tile_issue_idx),
        .issue_read_at(ev_tile_read_at),
        .ev_done(ev_tile_done), .ev_done_idx(ev_tile_done_idx),
        .arr_free(arr_free), .busy_cycles(busy_cycles),
        .st_input_load(st_input_load), .st_weight_load(st_weight_load),
        .st_dram_bw(st_dram_bw), .st_store(st_store), .st_dependency(st_dependency)
    );
    assign ev_tile_issue = issue;

    generate
        if (DATAFLOW != 0) begin : g_os
            accel_core_os #(
                .ROWS(ROWS), .COLS(COLS), .A_W(A_W), .W_W(W_W), .ACC_W(ACC_W),
                .IN_SLOTS(IN_SLOTS), .W_SLOTS(W_SLOTS), .OUT_SLOTS(OUT_SLOTS), .DEPTH(DEPTH),
                .KDEPTH(KDEPTH), .IN_DEPTH(IN_DEPTH), .SLOT_W(SLOT_W), .DIM_W(DIM_W),
                .GEO_W(GEO_W), .RD_W(RD_W)
            ) u_core (
                .clk(clk), .rst(rst),
                .sram_we(sram_we), .sram_buf(sram_buf), .sram_slot(sram_slot),
                .sram_row(sram_row), .sram_data(dram_rdata),
                .ob_rd_slot(ob_rd_slot), .ob_rd_row(ob_rd_row), .ob_rd_data(dram_wdata),
                .issue(issue), .bank(bank), .in_slot(in_slot), .w_slot(w_slot),
                .out_slot(out_slot), .in_off(in_off), .w_off(w_off), .out_off(out_off),
                .acc(acc), .m(m),
                .k(k), .n(n), .geo(geo), .layer(layer)
            );
        end else begin : g_ws
            accel_core_ws #(
                .ROWS(ROWS), .COLS(COLS), .A_W(A_W), .W_W(W_W), .ACC_W(ACC_W),
                .IN_SLOTS(IN_SLOTS), .W_SLOTS(W_SLOTS), .OUT_SLOTS(OUT_SLOTS), .DEPTH(DEPTH),
                .IN_DEPTH(IN_DEPTH), .SLOT_W(SLOT_W), .DIM_W(DIM_W), .GEO_W(GEO_W), .RD_W(RD_W)
            ) u_core (
                .clk(clk), .rst(rst),
                .sram_we(sram_we), .sram_buf(sram_buf), .sram_slot(sram_slot),
                .sram_row(sram_row), .sram_data(dram_rdata),
                .ob_rd_slot(ob_rd_slot), .ob_rd_row(ob_rd_row), .ob_rd_data(dram_wdata),
                .issue(issue), .bank(bank), .in_slot(in_slot), .w_slot(w_slot),
                .out_slot(out_slot), .in_off(in_off), .w_off(w_off), .out_off(out_off),
                .acc(acc), .m(m),
                .k(k), .n(n), .geo(geo), .layer(layer)
            );
        end
    endgenerate

    // ---- the layer's cycle count ------------------------------------------------------
    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            done <= 1'b0;
        end else if (go) begin
            busy  <= 1'b1;
            done  <= 1'b0;
            cycle <= {TS_W{1'b0}};
        end else if (busy) begin
            if (dma_all_done && tiles_all_done) begin
                busy     <= 1'b0;
                done     <= 1'b1;
                cycles   <= cycle;
                st_drain <= cycle - arr_free;
            end else begin
                cycle <= cycle + 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
