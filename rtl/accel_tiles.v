// The accelerator's tile controller: the tile queue, issue into the array, the progress
// counters the DMA waits on, and the array's busy and stall accounting. It carries each
// tile's operand row offsets (in_off, w_off), its output row offset (out_off) and im2col walk
// (`geo`, rtl/accel.v's tile entry) to the datapath untouched.
//
// A tile's costs on an R x C array (docs/timing.md; hwsim.dataflow.Dataflow first, period,
// spans), from its streamed dimension s (WS: m, OS: k):
//     WS (DATAFLOW = 0): occ = max(m, R),    read = R + m, out = 2R,
//                        first = 2R + m + C - 2;
//     OS (DATAFLOW = 1): occ = max(k, R, C), read = k,     out = k + C - 1,
//                        first = k + R + C - 2.
// Tile t may issue in cycle c when
//   * the array is free: c >= issue(t-1) + occ(t-1) (0 for the first tile);
//   * its data are in SRAM: the DMA has completed `after_data` entries;
//   * if after_drain > 0, DMA entry after_drain - 1 (the store draining its output slot) is
//     planned and ends by the first result write: end <= c + out.
// At issue it fixes the cycle it releases its operand slots, max(issue + read, the latest
// drain end any tile has waited for), and the cycle it is complete, issue + first (the
// cycle its last result is valid); the DMA's planner reads both (tl_idx), already in the
// issue cycle.
//
// Accounting (docs/timing.md, "Stalls"): busy = the sum of occ. When a tile issues after a
// gap (c > free), the whole gap goes to what decided c: the data wait if the done cycle of
// DMA entry after_data - 1 is above free and not below the drain wait (then the part of it
// that load queued on the channel is dram_bw, the rest input_load or weight_load); the drain
// wait end - out if it is above both (store); dependency otherwise.
`default_nettype none

module accel_tiles #(
    parameter integer ROWS     = 4,
    parameter integer COLS     = 4,
    parameter integer DATAFLOW = 0,     // 0: weight stationary, 1: output stationary
    parameter integer TQ_DEPTH = 128,
    parameter integer TA_W     = 7,
    parameter integer QA_W     = 8,
    parameter integer TS_W     = 24,
    parameter integer DIM_W    = 16,
    parameter integer SLOT_W   = 4,
    parameter integer GEO_BITS = 132    // a tile's im2col walk, carried to the datapath
) (
    input  wire               clk,
    input  wire               rst,
    // program port
    input  wire               prog_we,
    input  wire [TA_W-1:0]    prog_addr,
    input  wire [DIM_W-1:0]   prog_m,
    input  wire [DIM_W-1:0]   prog_k,
    input  wire [DIM_W-1:0]   prog_n,
    input  wire [SLOT_W-1:0]  prog_in_slot,
    input  wire [SLOT_W-1:0]  prog_w_slot,
    input  wire [SLOT_W-1:0]  prog_out_slot,
    input  wire [DIM_W-1:0]   prog_in_off,
    input  wire [DIM_W-1:0]   prog_w_off,
    input  wire [DIM_W-1:0]   prog_out_off,
    input  wire               prog_acc,
    input  wire [QA_W:0]      prog_after_data,
    input  wire [QA_W:0]      prog_after_drain,
    input  wire [GEO_BITS-1:0] prog_geo,
    input  wire [TA_W:0]      n_tiles,
    // run control
    input  wire               go,
    input  wire               run,
    input  wire [TS_W-1:0]    now,
    // DMA progress and lookups
    input  wire [QA_W:0]      dma_done_cnt,
    output wire [QA_W-1:0]    lk_data_idx,
    input  wire [TS_W-1:0]    lk_data_done_ts,
    input  wire [TS_W-1:0]    lk_data_qwait,
    input  wire               lk_data_weight,
    output wire [QA_W-1:0]    lk_drain_idx,
    input  wire               lk_drain_planned,
    input  wire [TS_W-1:0]    lk_drain_end,
    // tile progress for the DMA
    input  wire [TA_W-1:0]    tl_idx,
    output wire               tl_ready,   // tile tl_idx has issued, in this cycle at the latest
    output wire [TS_W-1:0]    tl_read_ts,
    output wire [TS_W-1:0]    tl_done_ts,
    output wire               all_done,
    // issue into the datapath
    output wire               issue,
    output wire               bank,
    output wire [SLOT_W-1:0]  in_slot,
    output wire [SLOT_W-1:0]  w_slot,
    output wire [SLOT_W-1:0]  out_slot,
    output wire [DIM_W-1:0]   in_off,
    output wire [DIM_W-1:0]   w_off,
    output wire [DIM_W-1:0]   out_off,
    output wire               acc,
    output wire [DIM_W-1:0]   m,
    output wire [DIM_W-1:0]   k,
    output wire [DIM_W-1:0]   n,
    output wire [GEO_BITS-1:0] geo,
    output wire [TA_W-1:0]    issue_idx,
    output wire [TS_W-1:0]    issue_read_at,  // the issuing tile's operand release cycle
    // monitor event: tile complete from this cycle
    output reg                ev_done,
    output reg  [TA_W-1:0]    ev_done_idx,
    // accounting
    output reg  [TS_W-1:0]    arr_free,
    output reg  [TS_W-1:0]    busy_cycles,
    output reg  [TS_W-1:0]    st_input_load,
    output reg  [TS_W-1:0]    st_weight_load,
    output reg  [TS_W-1:0]    st_dram_bw,
    output reg  [TS_W-1:0]    st_store,
    output reg  [TS_W-1:0]    st_dependency
);
    localparam OS = (DATAFLOW != 0);                    // 1 bit
    localparam integer PRE_I    = OS ? 0 : ROWS;        // cycles loading the stationary tile
    localparam integer MIN_OCC  = OS ? ((ROWS > COLS) ? ROWS : COLS) : ROWS;
    localparam integer FIRST0_I = PRE_I + ROWS + COLS - 2;  // first = FIRST0 + s
    localparam [TS_W-1:0] PRE     = PRE_I[TS_W-1:0];
    localparam [TS_W-1:0] MIN_OCC_TS = MIN_OCC[TS_W-1:0];
    localparam [TS_W-1:0] FIRST0  = FIRST0_I[TS_W-1:0];
    localparam integer OUT_WS_I = 2 * ROWS;             // WS: out
    localparam integer C_LESS_I = COLS - 1;             // OS: out = k + C - 1
    // OS: a tile's first result write comes max(R, C) after the previous tile's at least
    // (os_array holds one finished result per PE; hwsim.dataflow.Dataflow.result_spacing)
    localparam integer SPACING_I = OS ? ((ROWS > COLS) ? ROWS : COLS) : 0;
    localparam [TS_W-1:0] SPACING = SPACING_I[TS_W-1:0];
    localparam [TS_W-1:0] OUT_WS  = OUT_WS_I[TS_W-1:0];
    localparam [TS_W-1:0] C_LESS1 = C_LESS_I[TS_W-1:0];

    reg [DIM_W-1:0]  tq_m         [0:TQ_DEPTH-1];
    reg [DIM_W-1:0]  tq_k         [0:TQ_DEPTH-1];
    reg [DIM_W-1:0]  tq_n         [0:TQ_DEPTH-1];
    reg [SLOT_W-1:0] tq_in_slot   [0:TQ_DEPTH-1];
    reg [SLOT_W-1:0] tq_w_slot    [0:TQ_DEPTH-1];
    reg [SLOT_W-1:0] tq_out_slot  [0:TQ_DEPTH-1];
    reg [DIM_W-1:0]  tq_in_off    [0:TQ_DEPTH-1];
    reg [DIM_W-1:0]  tq_w_off     [0:TQ_DEPTH-1];
    reg [DIM_W-1:0]  tq_out_off   [0:TQ_DEPTH-1];
    reg              tq_acc       [0:TQ_DEPTH-1];
    reg [QA_W:0]     tq_after_data  [0:TQ_DEPTH-1];
    reg [QA_W:0]     tq_after_drain [0:TQ_DEPTH-1];
    reg [GEO_BITS-1:0] tq_geo     [0:TQ_DEPTH-1];
    reg [TS_W-1:0]   tq_read_ts   [0:TQ_DEPTH-1];
    reg [TS_W-1:0]   tq_done_ts   [0:TQ_DEPTH-1];

    reg [TA_W:0]     head;        // tiles issued
    reg [TA_W:0]     tiles_done;
    reg [TS_W-1:0]   drained;  // the latest drain end a tile has waited for
    reg [TS_W-1:0]   port_at;  // the next first result write no earlier than (OS)

    function [TS_W-1:0] ext;
        input [DIM_W-1:0] v;
        begin
            ext = {{(TS_W-DIM_W){1'b0}}, v};
        end
    endfunction

    // ---- the head tile ----------------------------------------------------------------
    wire [TA_W-1:0] h = head[TA_W-1:0];
    assign issue_idx = h;
    assign m        = tq_m[h];
    assign k        = tq_k[h];
    assign n        = tq_n[h];
    assign in_slot  = tq_in_slot[h];
    assign w_slot   = tq_w_slot[h];
    assign out_slot = tq_out_slot[h];
    assign in_off   = tq_in_off[h];
    assign w_off    = tq_w_off[h];
    assign out_off  = tq_out_off[h];
    assign acc      = tq_acc[h];
    assign geo      = tq_geo[h];
    assign bank     = h[0];
    wire [QA_W:0] after_data  = tq_after_data[h];
    wire [QA_W:0] after_drain = tq_after_drain[h];
    /* verilator lint_off UNUSEDSIGNAL */  // an index is one bit narrower than a count
    wire [QA_W:0] data_idx    = after_data - 1'b1;
    wire [QA_W:0] drain_idx   = after_drain - 1'b1;
    /* verilator lint_on UNUSEDSIGNAL */
    assign lk_data_idx  = data_idx[QA_W-1:0];
    assign lk_drain_idx = drain_idx[QA_W-1:0];

    // the streamed dimension and the costs it gives (header)
    wire [TS_W-1:0] strm = OS ? ext(k) : ext(m);
    wire [TS_W-1:0] occ = (strm > MIN_OCC_TS) ? strm : MIN_OCC_TS;
    wire [TS_W-1:0] out_at = OS ? strm + C_LESS1 : OUT_WS;  // out
    wire [TS_W-1:0] port_need = (port_at > out_at) ? port_at - out_at : {TS_W{1'b0}};
    wire [TS_W-1:0] base = (port_need > arr_free) ? port_need : arr_free;
    wire free_ok  = now >= base;
    wire data_ok  = dma_done_cnt >= after_data;
    wire drain_ok = after_drain == 0 || (lk_drain_planned && lk_drain_end <= now + out_at);
    wire [TS_W-1:0] drained_now = (after_drain != 0 && lk_drain_end > drained) ? lk_drain_end
                                                                               : drained;
    wire [TS_W-1:0] read_by_span = now + PRE + strm;
    assign issue_read_at = (drained_now > read_by_span) ? drained_now : read_by_span;
    assign issue = run && head < n_tiles && free_ok && data_ok && drain_ok;

    // ---- what decided the issue cycle -------------------------------------------------
    wire [TS_W-1:0] gap = now - arr_free;
    wire [TS_W-1:0] data_ts = (after_data == 0) ? {TS_W{1'b0}} : lk_data_done_ts;
    wire [TS_W-1:0] drain_ts = (after_drain != 0 && lk_drain_end > out_at)
                             ? lk_drain_end - out_at : {TS_W{1'b0}};
    wire by_data  = after_data != 0 && data_ts > base && data_ts >= drain_ts;
    wire by_drain = !by_data && after_drain != 0 && drain_ts > base;
    wire [TS_W-1:0] queued = (lk_data_qwait < gap) ? lk_data_qwait : gap;

    // ---- progress counters ------------------------------------------------------------
    wire [TA_W-1:0] dp = tiles_done[TA_W-1:0];
    wire [TS_W-1:0] done_at = now + FIRST0 + strm;
    wire tl_now = issue && tl_idx == h;
    assign tl_ready   = {1'b0, tl_idx} < head || tl_now;
    assign tl_read_ts = tl_now ? issue_read_at : tq_read_ts[tl_idx];
    assign tl_done_ts = tl_now ? done_at : tq_done_ts[tl_idx];
    assign all_done = tiles_done == n_tiles;

    always @(posedge clk) begin
        if (prog_we) begin
            tq_m[prog_addr]           <= prog_m;
            tq_k[prog_addr]           <= prog_k;
            tq_n[prog_addr]           <= prog_n;
            tq_in_slot[prog_addr]     <= prog_in_slot;
            tq_w_slot[prog_addr]      <= prog_w_slot;
            tq_out_slot[prog_addr]    <= prog_out_slot;
            tq_in_off[prog_addr]      <= prog_in_off;
            tq_w_off[prog_addr]       <= prog_w_off;
            tq_out_off[prog_addr]     <= prog_out_off;
            tq_acc[prog_addr]         <= prog_acc;
            tq_after_data[prog_addr]  <= prog_after_data;
            tq_after_drain[prog_addr] <= prog_after_drain;
            tq_geo[prog_addr]         <= prog_geo;
        end
        if (rst || go) begin
            head           <= {(TA_W+1){1'b0}};
            tiles_done     <= {(TA_W+1){1'b0}};
            drained        <= {TS_W{1'b0}};
            arr_free       <= {TS_W{1'b0}};
            port_at        <= {TS_W{1'b0}};
            busy_cycles    <= {TS_W{1'b0}};
            st_input_load  <= {TS_W{1'b0}};
            st_weight_load <= {TS_W{1'b0}};
            st_dram_bw     <= {TS_W{1'b0}};
            st_store       <= {TS_W{1'b0}};
            st_dependency  <= {TS_W{1'b0}};
            ev_done        <= 1'b0;
        end else begin
            if (issue) begin
                tq_read_ts[h]  <= issue_read_at;
                tq_done_ts[h]  <= done_at;
                drained        <= drained_now;
                head           <= head + 1'b1;
                arr_free       <= now + occ;
                port_at        <= (SPACING_I != 0) ? now + out_at + SPACING : {TS_W{1'b0}};
                busy_cycles    <= busy_cycles + occ;
                if (gap != 0) begin
                    if (by_data) begin
                        st_dram_bw <= st_dram_bw + queued;
                        if (lk_data_weight) st_weight_load <= st_weight_load + gap - queued;
                        else                st_input_load  <= st_input_load + gap - queued;
                    end else if (by_drain) begin
                        st_store <= st_store + gap;
                    end else begin
                        st_dependency <= st_dependency + gap;
                    end
                end
            end
            // completion cycles rise strictly with the tile index (WS: issue + 2R + m + C - 2,
            // issues at least max(m, R) apart; OS: issue + k + R + C - 2, issues at least k
            // apart): one counter step per cycle
            ev_done     <= tiles_done < head && tq_done_ts[dp] == now + 1'b1;
            ev_done_idx <= dp;
            if (tiles_done < head && tq_done_ts[dp] == now + 1'b1)
                tiles_done <= tiles_done + 1'b1;
        end
    end
endmodule

`default_nettype wire
