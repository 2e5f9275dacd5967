// The accelerator's weight-stationary datapath (DATAFLOW = 0): input and weight SRAM slots
// (written by the DMA), the weight-stationary array with its driver, and the output buffer
// (accel_outbuf, read by the DMA's stores). accel_core_os is the output-stationary one; both
// have the same ports.
//
// Timing (docs/timing.md, WS; issue = the cycle `issue` is high):
//   * operands: the tile's weight rows start at row w_off of its weight slot, its input
//     rows at row in_off of its input slot (a block's sub-block, rtl/accel.v's slot layout;
//     0 for a streamed load); the rows below count from there;
//   * weights: SRAM row s of the weight slot is read in cycle issue + (R-1-s) and enters
//     column j in cycle issue + j + (R-1-s), tagged with row s and bank `bank` (the tile's
//     parity); rows s >= k and columns j >= n carry zero weights, so a small tile never sees
//     stale weights of an earlier tile in its bank;
//   * activations: the activation for output position mm (the tile's mm-th, in raster order)
//     and array row i (the tile's i-th K element) is read in cycle issue + R + mm through
//     read port i of the input SRAM (accel_inbuf) and enters array row i in cycle
//     issue + R + mm + i (zero for i >= k and for padding);
//   * outputs: result (mm, j) leaves column j in cycle issue + 2R + mm + j; a write descriptor
//     that travels with it (delayed R cycles, then one per column) adds it to output-slot row
//     out_off + mm of column j's memory (or overwrites it when the tile does not accumulate;
//     out_off: the tile's output region's first row, rtl/accel.v's slot layout); columns
//     j >= n are not written.
// The im2col address generator (docs/timing.md, "As a machine executes it"): a conv tile
// reads its input slot's footprint (accel_inbuf) as the m x k GEMM tile it is, in the same
// cycles as a GEMM tile. While the weight stage loads the tile's weights it walks the K
// elements (accel_kwalk, from the tile's first: channel kc0, kernel row kh0, column kw0,
// footprint offset koff0), one per cycle, into array row q's registers (kernel row, column,
// channel, offset) in cycle issue + q. They come in two banks by tile parity: a tile's walk
// overlaps the previous tile's activation stage, and the tile after it issues no earlier
// than issue + max(m, R) + R, after this tile's last read. The activation stage walks the
// output positions (accel_pstep,
// from the tile's first: column ow0, window origin bh0, bw0, base0); row i reads pixel
// (bh + kh_i, bw + kw_i) at address base + koff_i, element kc_i. A GEMM tile is the same walk
// with a 1 x 1 kernel and no row wrap: row i reads element i of slot row mm.
//
// The weight stage is busy R cycles after an issue and hands the tile to the activation stage,
// busy m cycles; the tile controller issues at most every max(m, R) cycles, so neither stage
// is ever asked to hold two tiles.
//
// SRAMs are register arrays with asynchronous reads; a read in cycle c sees every write of
// earlier cycles.
`default_nettype none

module accel_core_ws #(
    parameter integer ROWS      = 4,
    parameter integer COLS      = 4,
    parameter integer A_W       = 8,
    parameter integer W_W       = 8,
    parameter integer ACC_W     = 32,
    parameter integer IN_SLOTS  = 4,
    parameter integer W_SLOTS   = 4,
    parameter integer OUT_SLOTS = 4,
    parameter integer DEPTH     = 16,   // rows of an output slot (largest m)
    parameter integer IN_DEPTH  = 64,   // rows of an input slot (largest footprint)
    parameter integer SLOT_W    = 4,
    parameter integer DIM_W     = 16,
    parameter integer GEO_W     = 12,   // im2col coordinates (two's complement)
    parameter integer RD_W      = 32    // DRAM read data: one SRAM row
) (
    input  wire                    clk,
    input  wire                    rst,
    // SRAM write port (DMA loads): buffer 0 = input, 1 = weight
    input  wire                    sram_we,
    input  wire                    sram_buf,
    input  wire [SLOT_W-1:0]       sram_slot,
    input  wire [DIM_W-1:0]        sram_row,
    input  wire [RD_W-1:0]         sram_data,
    // output buffer read port (DMA stores)
    input  wire [SLOT_W-1:0]       ob_rd_slot,
    input  wire [DIM_W-1:0]        ob_rd_row,
    output wire [COLS*ACC_W-1:0]   ob_rd_data,
    // tile issue (tile controller)
    input  wire                    issue,
    input  wire                    bank,
    input  wire [SLOT_W-1:0]       in_slot,
    input  wire [SLOT_W-1:0]       w_slot,
    input  wire [SLOT_W-1:0]       out_slot,
    input  wire [DIM_W-1:0]        in_off,     // the tile's first input and weight rows
    input  wire [DIM_W-1:0]        w_off,      // in its slots (a block's sub-block)
    input  wire [DIM_W-1:0]        out_off,    // its first output row (its region's)
    input  wire                    acc,
    input  wire [DIM_W-1:0]        m,
    input  wire [DIM_W-1:0]        k,
    input  wire [DIM_W-1:0]        n,
    // the tile's im2col walk (accel.v, tile entry) and the layer's (sampled at start)
    input  wire [11*GEO_W-1:0]     geo,
    input  wire [6*GEO_W-1:0]      layer
);
    localparam integer ROW_W = (ROWS > 1) ? $clog2(ROWS) : 1;
    localparam integer KR_W = $clog2(2 * ROWS);   // the K walk's registers: two banks
    localparam integer W_WORDS = W_SLOTS * ROWS;
    localparam integer WA_W = (W_WORDS > 1) ? $clog2(W_WORDS) : 1;
    // a write descriptor: valid, output slot, row, accumulate, columns used
    localparam integer DESC_W = 1 + SLOT_W + DIM_W + 1 + DIM_W;
    localparam integer LAST_QI = ROWS - 1;
    localparam [DIM_W-1:0] LAST_Q = LAST_QI[DIM_W-1:0];

    // slot * words_per_slot + row, as a flat address
    function [31:0] flat;
        input [SLOT_W-1:0] slot;
        input integer      words;
        input [DIM_W-1:0]  row;
        begin
            flat = {{(32-SLOT_W){1'b0}}, slot} * words + {{(32-DIM_W){1'b0}}, row};
        end
    endfunction

    // ---- SRAM slots ---------------------------------------------------------------------
    reg [COLS*W_W-1:0] w_mem  [0:W_WORDS-1];
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] w_wr_flat  = flat(sram_slot, ROWS, sram_row);
    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge clk) begin
        if (sram_we && sram_buf)  w_mem[w_wr_flat[WA_W-1:0]]   <= sram_data[COLS*W_W-1:0];
    end

    // ---- the layer's im2col constants and the issuing tile's walk (accel.v) -------------
    wire [GEO_W-1:0] l_kh, l_kw, l_sh, l_sw, l_out_w, l_wrap_w;
    assign {l_kh, l_kw, l_sh, l_sw, l_out_w, l_wrap_w} = layer;

    // ---- weight stage: cycles issue .. issue + R - 1 ------------------------------------
    // In the issue cycle it works from the issue inputs (q = 0), later from its registers.
    reg               wp_active;
    reg [DIM_W-1:0]   wp_q;
    reg               wp_bank;
    reg [SLOT_W-1:0]  wp_w_slot, wp_in_slot, wp_out_slot;
    reg [DIM_W-1:0]   wp_w_off, wp_in_off, wp_out_off;
    reg               wp_acc;
    reg [DIM_W-1:0]   wp_m, wp_k, wp_n;
    reg [11*GEO_W-1:0] wp_geo;

    wire              cw_active  = issue || wp_active;
    wire [DIM_W-1:0]  cw_q       = issue ? {DIM_W{1'b0}} : wp_q;
    wire              cw_bank    = issue ? bank : wp_bank;
    wire [SLOT_W-1:0] cw_w_slot  = issue ? w_slot : wp_w_slot;
    wire [SLOT_W-1:0] cw_in_slot = issue ? in_slot : wp_in_slot;
    wire [SLOT_W-1:0] cw_out_slot = issue ? out_slot : wp_out_slot;
    wire [DIM_W-1:0]  cw_w_off   = issue ? w_off : wp_w_off;
    wire [DIM_W-1:0]  cw_in_off  = issue ? in_off : wp_in_off;
    wire [DIM_W-1:0]  cw_out_off = issue ? out_off : wp_out_off;
    wire              cw_acc     = issue ? acc : wp_acc;
    wire [DIM_W-1:0]  cw_m       = issue ? m : wp_m;
    wire [DIM_W-1:0]  cw_k       = issue ? k : wp_k;
    wire [DIM_W-1:0]  cw_n       = issue ? n : wp_n;
    wire              cw_last    = cw_active && cw_q == LAST_Q;
    wire [11*GEO_W-1:0] cw_geo   = issue ? geo : wp_geo;
    wire [GEO_W-1:0]  g_ow0, g_bh0, g_bw0, g_base0, g_fh, g_fw, g_rstep;
    wire [GEO_W-1:0]  g_kc0, g_kh0, g_kw0, g_koff0;
    assign {g_ow0, g_bh0, g_bw0, g_base0, g_fh, g_fw, g_rstep, g_kc0, g_kh0, g_kw0, g_koff0}
        = cw_geo;
    wire [GEO_W-1:0]  cw_kc, cw_kh, cw_kw, cw_koff;   // the K walk: row q's element
    accel_kwalk #(.GEO_W(GEO_W)) u_kwalk (
        .clk(clk), .start(issue), .kh_n(l_kh), .kw_n(l_kw), .fw(g_fw),
        .c0(g_kc0), .kh0(g_kh0), .kw0(g_kw0), .koff0(g_koff0),
        .c(cw_kc), .kh(cw_kh), .kw(cw_kw), .koff(cw_koff)
    );
    // per array row q: its K element, written in cycle issue + q into the tile's bank
    reg [GEO_W-1:0]   kr_c [0:2*ROWS-1];
    reg [GEO_W-1:0]   kr_h [0:2*ROWS-1];
    reg [GEO_W-1:0]   kr_w [0:2*ROWS-1];
    reg [GEO_W-1:0]   kr_off [0:2*ROWS-1];
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0]       kr_wr = {{31{1'b0}}, cw_bank} * ROWS + {{(32-DIM_W){1'b0}}, cw_q};
    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) begin
        if (cw_active) begin
            kr_c[kr_wr[KR_W-1:0]]   <= cw_kc;
            kr_h[kr_wr[KR_W-1:0]]   <= cw_kh;
            kr_w[kr_wr[KR_W-1:0]]   <= cw_kw;
            kr_off[kr_wr[KR_W-1:0]] <= cw_koff;
        end
    end

    // ---- activation stage: cycles issue + R .. issue + R + m - 1 ------------------------
    reg               ap_active;
    reg [DIM_W-1:0]   ap_mm;
    reg [DIM_W-1:0]   ap_orow;                          // output-slot row of position mm
    reg               ap_bank;
    reg [SLOT_W-1:0]  ap_in_slot, ap_out_slot;
    reg [DIM_W-1:0]   ap_in_off;
    reg               ap_acc;
    reg [DIM_W-1:0]   ap_m, ap_k, ap_n;
    reg [GEO_W-1:0]   ap_fh, ap_fw, ap_rstep;           // the tile's footprint
    reg [GEO_W-1:0]   ap_ow, ap_bh, ap_bw, ap_base;     // position mm's window
    wire [GEO_W-1:0]  nx_ow, nx_bh, nx_bw, nx_base;
    accel_pstep #(.GEO_W(GEO_W)) u_pstep (
        .out_w(l_out_w), .sh(l_sh), .sw(l_sw), .wrap_w(l_wrap_w), .rstep(ap_rstep),
        .ow(ap_ow), .bh(ap_bh), .bw(ap_bw), .base(ap_base),
        .ow_nx(nx_ow), .bh_nx(nx_bh), .bw_nx(nx_bw), .base_nx(nx_base)
    );

    wire ap_last = ap_active && ap_mm == ap_m - 1'b1;

    always @(posedge clk) begin
        if (rst) begin
            wp_active <= 1'b0;
            ap_active <= 1'b0;
        end else begin
            wp_active <= cw_active && !cw_last;
            if (issue) begin
                wp_q        <= {{(DIM_W-1){1'b0}}, 1'b1};
                wp_bank     <= bank;
                wp_w_slot   <= w_slot;
                wp_in_slot  <= in_slot;
                wp_out_slot <= out_slot;
                wp_w_off    <= w_off;
                wp_in_off   <= in_off;
                wp_out_off  <= out_off;
                wp_acc      <= acc;
                wp_m        <= m;
                wp_k        <= k;
                wp_n        <= n;
                wp_geo      <= geo;
            end else if (wp_active) begin
                wp_q <= wp_q + 1'b1;
            end
            if (cw_last) begin
                ap_active   <= 1'b1;
                ap_mm       <= {DIM_W{1'b0}};
                ap_orow     <= cw_out_off;
                ap_bank     <= cw_bank;
                ap_in_slot  <= cw_in_slot;
                ap_in_off   <= cw_in_off;
                ap_out_slot <= cw_out_slot;
                ap_acc      <= cw_acc;
                ap_m        <= cw_m;
                ap_k        <= cw_k;
                ap_n        <= cw_n;
                ap_fh       <= g_fh;
                ap_fw       <= g_fw;
                ap_rstep    <= g_rstep;
                ap_ow       <= g_ow0;
                ap_bh       <= g_bh0;
                ap_bw       <= g_bw0;
                ap_base     <= g_base0;
            end else if (ap_last) begin
                ap_active <= 1'b0;
            end else if (ap_active) begin
                ap_mm   <= ap_mm + 1'b1;
                ap_orow <= ap_orow + 1'b1;
                ap_ow   <= nx_ow;
                ap_bh   <= nx_bh;
                ap_bw   <= nx_bw;
                ap_base <= nx_base;
            end
        end
    end

    // ---- array and its skewed inputs --------------------------------------------------
    wire [DIM_W-1:0] w_s = LAST_Q - cw_q;  // the weight row read in this cycle
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] w_rd_flat  = flat(cw_w_slot, ROWS, w_s) + {{(32-DIM_W){1'b0}}, cw_w_off};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COLS*W_W-1:0]  w_row_data  = w_mem[w_rd_flat[WA_W-1:0]];

    // input SRAM: port i reads array row i's K element at position mm
    wire [ROWS-1:0]       rd_en;
    wire [ROWS*GEO_W-1:0] rd_rh, rd_rw, rd_addr, rd_elem;
    wire [ROWS*A_W-1:0]   in_vals;
    accel_inbuf #(
        .A_W(A_W), .IN_SLOTS(IN_SLOTS), .IN_DEPTH(IN_DEPTH), .IN_ROW(ROWS), .PORTS(ROWS),
        .SLOT_W(SLOT_W), .DIM_W(DIM_W), .GEO_W(GEO_W), .RD_W(RD_W)
    ) u_inbuf (
        .clk(clk),
        .we(sram_we && !sram_buf), .wr_slot(sram_slot), .wr_row(sram_row), .wr_data(sram_data),
        .rd_slot(ap_in_slot), .rd_off(ap_in_off), .fh(ap_fh), .fw(ap_fw), .en(rd_en), .rh(rd_rh), .rw(rd_rw),
        .addr(rd_addr), .elem(rd_elem), .data(in_vals)
    );

    wire [ROWS*A_W-1:0]   a_in;
    wire [ROWS-1:0]       a_valid;
    wire [ROWS-1:0]       a_bank;
    wire [COLS*W_W-1:0]   w_in;
    wire [COLS*ROW_W-1:0] w_row;
    wire [COLS-1:0]       w_bank;
    wire [COLS-1:0]       w_valid;
    wire [COLS*ACC_W-1:0] arr_out;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [COLS-1:0]       arr_out_valid;  // the write descriptors say which outputs are valid
    /* verilator lint_on UNUSEDSIGNAL */

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_arow
            localparam [DIM_W-1:0] ROW_I = i;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] kr_rd = {{31{1'b0}}, ap_bank} * ROWS + i;
            /* verilator lint_on UNUSEDSIGNAL */
            assign rd_en[i] = ap_active && ROW_I < ap_k;
            assign rd_rh[i*GEO_W +: GEO_W]   = ap_bh + kr_h[kr_rd[KR_W-1:0]];
            assign rd_rw[i*GEO_W +: GEO_W]   = ap_bw + kr_w[kr_rd[KR_W-1:0]];
            assign rd_addr[i*GEO_W +: GEO_W] = ap_base + kr_off[kr_rd[KR_W-1:0]];
            assign rd_elem[i*GEO_W +: GEO_W] = kr_c[kr_rd[KR_W-1:0]];
            wire [A_W-1:0] a_val = in_vals[i*A_W +: A_W];
            accel_delay #(.W(A_W + 2), .D(i)) u_skew (
                .clk(clk), .rst(rst),
                .din({a_val, ap_active, ap_bank}),
                .dout({a_in[i*A_W +: A_W], a_valid[i], a_bank[i]})
            );
        end
        for (j = 0; j < COLS; j = j + 1) begin : g_wcol
            localparam [DIM_W-1:0] COL_J = j;
            wire use_j = cw_active && w_s < cw_k && COL_J < cw_n;
            wire [W_W-1:0] w_val = use_j ? w_row_data[j*W_W +: W_W] : {W_W{1'b0}};
            accel_delay #(.W(W_W + ROW_W + 2), .D(j)) u_skew (
                .clk(clk), .rst(rst),
                .din({w_val, w_s[ROW_W-1:0], cw_bank, cw_active}),
                .dout({w_in[j*W_W +: W_W], w_row[j*ROW_W +: ROW_W], w_bank[j], w_valid[j]})
            );
        end
    endgenerate

    ws_array #(
        .ROWS(ROWS), .COLS(COLS), .A_W(A_W), .W_W(W_W), .ACC_W(ACC_W)
    ) u_array (
        .clk(clk), .rst(rst),
        .a_in(a_in), .a_valid(a_valid), .a_bank(a_bank),
        .w_in(w_in), .w_row(w_row), .w_bank(w_bank), .w_valid(w_valid),
        .out(arr_out), .out_valid(arr_out_valid)
    );

    // ---- output buffer: column j written with the column's skew --------------------------
    wire [DESC_W-1:0] desc_issue = {ap_active, ap_out_slot, ap_orow, ap_acc, ap_n};
    wire [DESC_W-1:0] desc_col0;
    accel_delay #(.W(DESC_W), .D(ROWS)) u_desc (
        .clk(clk), .rst(rst), .din(desc_issue), .dout(desc_col0)
    );
    wire [COLS-1:0]        ob_wr_en;
    wire [COLS*SLOT_W-1:0] ob_wr_slot;
    wire [COLS*DIM_W-1:0]  ob_wr_row;
    wire [COLS-1:0]        ob_wr_acc;

    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_ocol
            localparam [DIM_W-1:0] COL_J = j;
            wire [DESC_W-1:0] desc;
            if (j == 0) begin : g_first
                assign desc = desc_col0;
            end else begin : g_next
                accel_delay #(.W(DESC_W), .D(1)) u_step (
                    .clk(clk), .rst(rst), .din(g_ocol[j-1].desc), .dout(desc)
                );
            end
            wire [DIM_W-1:0] d_n = desc[DIM_W-1:0];
            assign ob_wr_en[j] = desc[DESC_W-1] && COL_J < d_n;
            assign ob_wr_slot[j*SLOT_W +: SLOT_W] = desc[DESC_W-2 -: SLOT_W];
            assign ob_wr_row[j*DIM_W +: DIM_W] = desc[DIM_W+DIM_W : DIM_W+1];
            assign ob_wr_acc[j] = desc[DIM_W];
        end
    endgenerate

    accel_outbuf #(
        .COLS(COLS), .ACC_W(ACC_W), .OUT_SLOTS(OUT_SLOTS), .DEPTH(DEPTH), .SLOT_W(SLOT_W),
        .DIM_W(DIM_W)
    ) u_outbuf (
        .clk(clk),
        .wr_en(ob_wr_en), .wr_slot(ob_wr_slot), .wr_row(ob_wr_row), .wr_acc(ob_wr_acc),
        .wr_data(arr_out),
        .rd_slot(ob_rd_slot), .rd_row(ob_rd_row), .rd_data(ob_rd_data)
    );
endmodule

`default_nettype wire
