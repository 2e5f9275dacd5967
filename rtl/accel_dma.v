// The accelerator's DMA unit: the DMA queue and the one DRAM channel it serves in order.
//
// The DMA plans ahead (docs/timing.md, "As a machine executes it"): a planner walks the
// queue in order, one entry per cycle, as soon as the tile the entry waits for issues (tile
// after - 1, in its issue cycle: its operand release and completion cycles are fixed then),
// and sets
//     start = max(end of the previous entry, that tile's release (load) or completion
//                 (store)),   end = start + beats.
// So a store's end is known before it starts, which the tile waiting for its output slot
// needs. Entry j then starts in its planned cycle: it presents the request on the DRAM port
// (dram_req with descriptor, beats and tag = j) and holds the channel until end. A load's
// rows come back tagged (dram_rvalid/rtag/rrow) and are written into its SRAM slot as they
// arrive; a store reads row off + r of its output slot (off: the entry's output row offset,
// its region's first row) in cycle start + 1 + r and hands it to DRAM as its row r
// (dram_wvalid/wtag/wrow, data from the output buffer). An entry is done when its
// last row arrived (load) or DRAM acknowledged it (store, dram_bvalid/btag); `done_cnt`
// counts done entries from the next cycle on.
//
// Per entry it keeps its planned start and end, its done cycle and, for a load, the cycles it
// queued on the channel (start - request, request = max(end of the previous load, the cycle
// its wait held)); the tile controller looks them up for its drain wait and its stall
// accounting.
//
// BROKEN = 1 is a deliberate fault for the test suite (tests/rtl/test_rtl_accel.py): the
// planner queues a load behind the previous load only, so a ready load goes ahead of an
// older store still on (or waiting for) the channel. Never set it outside tests.
`default_nettype none

module accel_dma #(
    parameter integer DQ_DEPTH = 256,
    parameter integer QA_W     = 8,
    parameter integer TA_W     = 7,
    parameter integer TS_W     = 24,
    parameter integer ADDR_W   = 24,
    parameter integer DIM_W    = 16,
    parameter integer BEATS_W  = 16,
    parameter integer SLOT_W   = 4,
    parameter integer BROKEN   = 0
) (
    input  wire               clk,
    input  wire               rst,
    // program port
    input  wire               prog_we,
    input  wire [QA_W-1:0]    prog_addr,
    input  wire               prog_store,
    input  wire [1:0]         prog_buf,
    input  wire [SLOT_W-1:0]  prog_slot,
    input  wire [ADDR_W-1:0]  prog_daddr,
    input  wire [ADDR_W-1:0]  prog_stride,
    input  wire [DIM_W-1:0]   prog_wrap,
    input  wire [ADDR_W-1:0]  prog_pstride,
    input  wire [DIM_W-1:0]   prog_rows,
    input  wire [DIM_W-1:0]   prog_cols,
    input  wire [BEATS_W-1:0] prog_beats,
    input  wire [TA_W:0]      prog_after,
    input  wire [DIM_W-1:0]   prog_off,
    input  wire [QA_W:0]      n_dma,
    // run control
    input  wire               go,
    input  wire               run,
    input  wire [TS_W-1:0]    now,
    // tile progress: whether tile tl_idx has issued (in this cycle at the latest), and its
    // release and completion cycles
    output wire [TA_W-1:0]    tl_idx,
    input  wire               tl_ready,
    input  wire [TS_W-1:0]    tl_read_ts,
    input  wire [TS_W-1:0]    tl_done_ts,
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
    output reg                dram_wvalid,
    output reg  [QA_W-1:0]    dram_wtag,
    output reg  [DIM_W-1:0]   dram_wrow,
    input  wire               dram_bvalid,
    input  wire [QA_W-1:0]    dram_btag,
    // SRAM write port (loads) and output buffer read port (stores)
    output wire               sram_we,
    output wire               sram_buf,
    output wire [SLOT_W-1:0]  sram_slot,
    output wire [DIM_W-1:0]   sram_row,
    output reg  [SLOT_W-1:0]  ob_rd_slot,
    output wire [DIM_W-1:0]   ob_rd_row,
    // status and lookups for the tile controller
    output reg  [QA_W:0]      done_cnt,
    output wire               all_done,
    input  wire [QA_W-1:0]    lk_data_idx,
    output wire [TS_W-1:0]    lk_data_done_ts,
    output wire [TS_W-1:0]    lk_data_qwait,
    output wire               lk_data_weight,
    input  wire [QA_W-1:0]    lk_drain_idx,
    output wire               lk_drain_planned,
    output wire [TS_W-1:0]    lk_drain_end,
    // monitor events: a start in this cycle; a done visible from this cycle
    output wire               ev_start,
    output wire [QA_W-1:0]    ev_start_idx,
    output reg                ev_done,
    output reg  [QA_W-1:0]    ev_done_idx
);
    // the program
    reg               dq_store  [0:DQ_DEPTH-1];
    reg [1:0]         dq_buf    [0:DQ_DEPTH-1];
    // an entry's place in its buffer: its slot and (a store) its first output-slot row, one
    // memory read asynchronously by load responses (LUT RAM on FPGAs)
    reg [SLOT_W+DIM_W-1:0] dq_place [0:DQ_DEPTH-1];
    reg [ADDR_W-1:0]  dq_daddr  [0:DQ_DEPTH-1];
    reg [ADDR_W-1:0]  dq_stride [0:DQ_DEPTH-1];
    reg [DIM_W-1:0]   dq_rows   [0:DQ_DEPTH-1];
    reg [DIM_W-1:0]   dq_wrap   [0:DQ_DEPTH-1];
    reg [ADDR_W-1:0]  dq_pstride [0:DQ_DEPTH-1];
    reg [DIM_W-1:0]   dq_cols   [0:DQ_DEPTH-1];
    reg [BEATS_W-1:0] dq_beats  [0:DQ_DEPTH-1];
    reg [TA_W:0]      dq_after  [0:DQ_DEPTH-1];
    // the plan, and when each entry was done
    reg [TS_W-1:0]    dq_start_ts [0:DQ_DEPTH-1];
    reg [TS_W-1:0]    dq_end_ts   [0:DQ_DEPTH-1];
    reg [TS_W-1:0]    dq_done_ts  [0:DQ_DEPTH-1];
    reg [TS_W-1:0]    dq_qwait    [0:DQ_DEPTH-1];

    reg [QA_W:0]      head;           // next entry to start
    reg [QA_W:0]      planned;        // entries planned
    reg [TS_W-1:0]    plan_end;       // planned end of the last planned entry
    reg [TS_W-1:0]    plan_load_end;  // planned end of the last planned load
    reg               wr_active;
    reg [DIM_W-1:0]   wr_rows;

    // ---- the planner: entry p = planned -----------------------------------------------
    wire [QA_W-1:0] p = planned[QA_W-1:0];
    wire [TA_W:0]   p_after = dq_after[p];
    /* verilator lint_off UNUSEDSIGNAL */  // an index is one bit narrower than a count
    wire [TA_W:0]   p_wait_idx = p_after - 1'b1;
    /* verilator lint_on UNUSEDSIGNAL */
    assign tl_idx = p_wait_idx[TA_W-1:0];
    wire plan = run && planned < n_dma && (p_after == 0 || tl_ready);
    wire [TS_W-1:0] p_wait = (p_after == 0) ? {TS_W{1'b0}}
                           : dq_store[p] ? tl_done_ts : tl_read_ts;
    wire [TS_W-1:0] p_queue = (BROKEN != 0 && !dq_store[p]) ? plan_load_end : plan_end;
    wire [TS_W-1:0] p_start = (p_wait > p_queue) ? p_wait : p_queue;
    wire [TS_W-1:0] p_end = p_start + {{(TS_W-BEATS_W){1'b0}}, dq_beats[p]};
    // request = max(end of the previous load, the cycle its wait held)
    wire [TS_W-1:0] p_request = (p_wait > plan_load_end) ? p_wait : plan_load_end;

    // ---- the head starts in its planned cycle (planned in this cycle, or earlier) ------
    wire [QA_W-1:0] h = head[QA_W-1:0];
    wire head_planned_now = plan && planned == head;
    wire [TS_W-1:0] h_start = head_planned_now ? p_start : dq_start_ts[h];
    wire fire = run && head < n_dma && (head < planned || head_planned_now) && h_start <= now;

    assign dram_req    = fire;
    assign dram_we     = dq_store[h];
    assign dram_buf    = dq_buf[h];
    assign dram_tag    = h;
    assign dram_addr   = dq_daddr[h];
    assign dram_stride = dq_stride[h];
    assign dram_rows   = dq_rows[h];
    assign dram_wrap   = dq_wrap[h];
    assign dram_pstride = dq_pstride[h];
    assign dram_cols   = dq_cols[h];
    assign dram_beats  = dq_beats[h];
    assign ev_start     = fire;
    assign ev_start_idx = h;

    // ---- load data into SRAM, completions ---------------------------------------------
    /* verilator lint_off UNUSEDSIGNAL */  // loads go to buffer 0 or 1
    wire [1:0] r_buf = dq_buf[dram_rtag];
    wire [1:0] lk_buf = dq_buf[lk_data_idx];
    /* verilator lint_on UNUSEDSIGNAL */
    wire r_last = dram_rvalid && dram_rrow == dq_rows[dram_rtag] - 1'b1;
    assign sram_we   = dram_rvalid;
    assign sram_buf  = r_buf[0];
    /* verilator lint_off UNUSEDSIGNAL */  // a load's row offset is 0
    wire [SLOT_W+DIM_W-1:0] r_place = dq_place[dram_rtag];
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [DIM_W-1:0]  ob_rd_off;   // the running store's first output-slot row
    assign sram_slot = r_place[SLOT_W+DIM_W-1:DIM_W];
    assign sram_row  = dram_rrow;
    assign ob_rd_row = ob_rd_off + dram_wrow;
    wire completes = r_last || dram_bvalid;
    wire [QA_W-1:0] completed = r_last ? dram_rtag : dram_btag;
    assign all_done = done_cnt == n_dma;

    // ---- lookups --------------------------------------------------------------------
    assign lk_data_done_ts  = dq_done_ts[lk_data_idx];
    assign lk_data_qwait    = dq_qwait[lk_data_idx];
    assign lk_data_weight   = lk_buf[0];
    assign lk_drain_planned = {1'b0, lk_drain_idx} < planned;
    assign lk_drain_end     = dq_end_ts[lk_drain_idx];

    always @(posedge clk) begin
        if (prog_we) begin
            dq_store[prog_addr]  <= prog_store;
            dq_buf[prog_addr]    <= prog_buf;
            dq_place[prog_addr]  <= {prog_slot, prog_off};
            dq_daddr[prog_addr]  <= prog_daddr;
            dq_stride[prog_addr] <= prog_stride;
            dq_rows[prog_addr]   <= prog_rows;
            dq_wrap[prog_addr]   <= prog_wrap;
            dq_pstride[prog_addr] <= prog_pstride;
            dq_cols[prog_addr]   <= prog_cols;
            dq_beats[prog_addr]  <= prog_beats;
            dq_after[prog_addr]  <= prog_after;
        end
        if (rst || go) begin
            head          <= {(QA_W+1){1'b0}};
            planned       <= {(QA_W+1){1'b0}};
            plan_end      <= {TS_W{1'b0}};
            plan_load_end <= {TS_W{1'b0}};
            done_cnt      <= {(QA_W+1){1'b0}};
            wr_active     <= 1'b0;
            dram_wvalid   <= 1'b0;
            ev_done       <= 1'b0;
        end else begin
            if (plan) begin
                planned        <= planned + 1'b1;
                plan_end       <= p_end;
                dq_start_ts[p] <= p_start;
                dq_end_ts[p]   <= p_end;
                if (!dq_store[p]) begin
                    plan_load_end <= p_end;
                    dq_qwait[p]   <= p_start - p_request;
                end
            end
            // the store's row reader: row r in cycle start + 1 + r
            dram_wvalid <= wr_active;
            if (wr_active) begin
                dram_wrow <= dram_wrow + 1'b1;
                if (dram_wrow + 1'b1 == wr_rows - 1'b1) wr_active <= 1'b0;
            end
            if (fire) begin
                head <= head + 1'b1;
                if (dq_store[h]) begin
                    wr_active   <= 1'b1;
                    dram_wvalid <= 1'b1;
                    dram_wtag   <= h;
                    dram_wrow   <= {DIM_W{1'b0}};
                    {ob_rd_slot, ob_rd_off} <= dq_place[h];
                    wr_rows     <= dq_rows[h];
                    if (dq_rows[h] == 1) wr_active <= 1'b0;
                end
            end
            ev_done     <= completes;
            ev_done_idx <= completed;
            if (completes) begin
                done_cnt              <= done_cnt + 1'b1;
                dq_done_ts[completed] <= now + 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
