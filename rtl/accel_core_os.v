// The accelerator's output-stationary datapath (DATAFLOW = 1): input and weight SRAM slots
// (written by the DMA), the output-stationary array (os_array) with its driver, and the
// output buffer (accel_outbuf, read by the DMA's stores). Same ports as accel_core_ws.
//
// An OS tile m x k x n (m <= R, n <= C, the reduction k streamed, k <= KDEPTH) reads an
// m x k tile of A from its input slot and a k x n tile of W from its weight slot.
//   * SRAMs: an input slot (accel_inbuf) holds IN_DEPTH rows of KDEPTH elements: a GEMM's
//     A tile one row per GEMM row, a convolution's footprint one row per pixel; it has one
//     read port per array row, so one cycle reads a column of the m x k tile. A weight slot
//     holds KDEPTH rows of C elements (W's row kk at row kk). A tile reads its operands from
//     row in_off of its input slot and row w_off of its weight slot on (a block's sub-block,
//     rtl/accel.v's slot layout; 0 for a streamed load): the rows below count from there.
//   * Stream stage, cycles issue .. issue + k - 1 (docs/timing.md, OS): in cycle issue + kk
//     it reads column kk of A (read port i: output position i, K element kk) and row kk of
//     W; A[i][kk] enters array row i in cycle issue + kk + i, W[kk][j] column j in cycle
//     issue + kk + j (skew registers). Every row is valid, with `last` at kk = k - 1; rows
//     i >= m carry zero activations and columns j >= n zero weights, so their results are
//     zero and unused.
//   * The im2col address generator (docs/timing.md, "As a machine executes it"): the stream
//     stage walks the tile's K elements (accel_kwalk, from the tile's first: channel kc0,
//     kernel row kh0, column kw0, footprint offset koff0), one per cycle; row i's output
//     position (its window origin bh_i, bw_i and address base_i) follows from the tile's
//     first (ow0, bh0, bw0, base0) by i steps of accel_pstep, a chain evaluated in the issue
//     cycle and held. Port i reads pixel (bh_i + kh, bw_i + kw) at base_i + koff, element
//     kc (zero in the padding). A GEMM tile is the same walk with a 1 x 1 kernel and no row
//     wrap: row i reads element kk of slot row i.
//   * Output stage: row i of results is on the array's port in cycle issue + k + C - 1 + i;
//     a write descriptor leaves the stream stage in its last cycle, is delayed C cycles and
//     starts the output stage, which writes rows out_off .. out_off + m - 1 of the output
//     slot (columns j < n; out_off: the tile's output region's first row, rtl/accel.v's slot
//     layout), adding to the slot or overwriting it, one row per cycle. The tile's first
//     result write is in cycle issue + k + C - 1 (out), its last row of the array on the
//     port in issue + k + R + C - 2 (first): a store may start then and read row r in
//     start + 1 + r, after its write.
// Reads release the operand slots after cycle issue + k - 1 (read = k).
//
// Program contract (beyond hwsim's issue rule, issue' >= issue + max(k, R, C)): a tile t'
// that follows tile t satisfies issue' + k' >= issue + k + max(m, C). The array holds one
// finished result per PE (os_pe's result register); t' overwrites PE(i, 0)'s in cycle
// issue' + k' - 1 + i, which must not precede the cycle t's row i is on the port
// (issue + k + C - 1 + i), and t's m rows must have left the output stage before t''s first
// row arrives. hwsim's rule implies it unless k' is shorter than min(k, max(m, C)) (a short
// k edge tile after a long one); tests/rtl/tb/accel_program.py checks it per program.
//
// SRAMs are register arrays with asynchronous reads; a read in cycle c sees every write of
// earlier cycles.
`default_nettype none

module accel_core_os #(
    parameter integer ROWS      = 4,
    parameter integer COLS      = 4,
    parameter integer A_W       = 8,
    parameter integer W_W       = 8,
    parameter integer ACC_W     = 32,
    parameter integer IN_SLOTS  = 4,
    parameter integer W_SLOTS   = 4,
    parameter integer OUT_SLOTS = 4,
    parameter integer DEPTH     = 16,   // rows of an output slot (largest m)
    parameter integer KDEPTH    = 16,   // elements of an input slot row, rows of a weight slot
    parameter integer IN_DEPTH  = 64,   // rows of an input slot (largest footprint)
    parameter integer SLOT_W    = 4,
    parameter integer DIM_W     = 16,
    parameter integer GEO_W     = 12,   // im2col coordinates (two's complement)
    parameter integer RD_W      = 128   // DRAM read data: one SRAM row
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
    /* verilator lint_off UNUSEDSIGNAL */  // the WS array's weight bank; OS has none
    input  wire                    bank,
    /* verilator lint_on UNUSEDSIGNAL */
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
    localparam integer W_WORDS = W_SLOTS * KDEPTH;
    localparam integer WA_W = (W_WORDS > 1) ? $clog2(W_WORDS) : 1;
    // a write descriptor: valid, output slot, first output row, accumulate, rows, columns used
    localparam integer DESC_W = 1 + SLOT_W + DIM_W + 1 + DIM_W + DIM_W;

    // ---- SRAM slots ---------------------------------------------------------------------
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] w_wr_flat  = {{(32-SLOT_W){1'b0}}, sram_slot} * KDEPTH
                           + {{(32-DIM_W){1'b0}}, sram_row};
    /* verilator lint_on UNUSEDSIGNAL */
    reg [COLS*W_W-1:0] w_mem [0:W_WORDS-1];
    always @(posedge clk) begin
        if (sram_we && sram_buf) w_mem[w_wr_flat[WA_W-1:0]] <= sram_data[COLS*W_W-1:0];
    end

    // ---- stream stage: cycles issue .. issue + k - 1 ------------------------------------
    // In the issue cycle it works from the issue inputs (kk = 0), later from its registers.
    reg               sp_active;
    reg [DIM_W-1:0]   sp_kk;
    reg [SLOT_W-1:0]  sp_in_slot, sp_w_slot, sp_out_slot;
    reg [DIM_W-1:0]   sp_in_off, sp_w_off, sp_out_off;
    reg               sp_acc;
    reg [DIM_W-1:0]   sp_m, sp_k, sp_n;
    reg [GEO_W-1:0]   sp_fh, sp_fw;                     // the tile's footprint

    wire              cs_active   = issue || sp_active;
    wire [DIM_W-1:0]  cs_kk       = issue ? {DIM_W{1'b0}} : sp_kk;
    wire [SLOT_W-1:0] cs_in_slot  = issue ? in_slot : sp_in_slot;
    wire [SLOT_W-1:0] cs_w_slot   = issue ? w_slot : sp_w_slot;
    wire [SLOT_W-1:0] cs_out_slot = issue ? out_slot : sp_out_slot;
    wire [DIM_W-1:0]  cs_in_off   = issue ? in_off : sp_in_off;
    wire [DIM_W-1:0]  cs_w_off    = issue ? w_off : sp_w_off;
    wire [DIM_W-1:0]  cs_out_off  = issue ? out_off : sp_out_off;
    wire              cs_acc      = issue ? acc : sp_acc;
    wire [DIM_W-1:0]  cs_m        = issue ? m : sp_m;
    wire [DIM_W-1:0]  cs_k        = issue ? k : sp_k;
    wire [DIM_W-1:0]  cs_n        = issue ? n : sp_n;
    wire              cs_last     = cs_active && cs_kk == cs_k - 1'b1;

    // ---- the im2col walk (header) ------------------------------------------------------
    /* verilator lint_off UNUSEDSIGNAL */  // R = 1 never steps; the last row's next column
    wire [GEO_W-1:0] l_kh, l_kw, l_sh, l_sw, l_out_w, l_wrap_w;
    wire [GEO_W-1:0] g_ow0, g_bh0, g_bw0, g_base0, g_fh, g_fw, g_rstep;
    wire [ROWS*GEO_W-1:0] ch_ow, ch_bh, ch_bw, ch_base;   // the chain (issue cycle)
    /* verilator lint_on UNUSEDSIGNAL */
    assign {l_kh, l_kw, l_sh, l_sw, l_out_w, l_wrap_w} = layer;
    wire [GEO_W-1:0] g_kc0, g_kh0, g_kw0, g_koff0;
    assign {g_ow0, g_bh0, g_bw0, g_base0, g_fh, g_fw, g_rstep, g_kc0, g_kh0, g_kw0, g_koff0}
        = geo;
    wire [GEO_W-1:0] cs_fh   = issue ? g_fh : sp_fh;
    wire [GEO_W-1:0] cs_fw   = issue ? g_fw : sp_fw;
    wire [GEO_W-1:0] cs_kc, cs_kh, cs_kw, cs_koff;   // the K walk: element kk
    accel_kwalk #(.GEO_W(GEO_W)) u_kwalk (
        .clk(clk), .start(issue), .kh_n(l_kh), .kw_n(l_kw), .fw(cs_fw),
        .c0(g_kc0), .kh0(g_kh0), .kw0(g_kw0), .koff0(g_koff0),
        .c(cs_kc), .kh(cs_kh), .kw(cs_kw), .koff(cs_koff)
    );
    // row i's output position: the issuing tile's first, stepped i times; held for the tile
    reg  [ROWS*GEO_W-1:0] sp_bh, sp_bw, sp_base;
    wire [ROWS*GEO_W-1:0] cs_bh   = issue ? ch_bh : sp_bh;
    wire [ROWS*GEO_W-1:0] cs_bw   = issue ? ch_bw : sp_bw;
    wire [ROWS*GEO_W-1:0] cs_base = issue ? ch_base : sp_base;
    genvar r;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : g_pos  // per-row wires: no false loop
            wire [GEO_W-1:0] ow, bh, bw, base;
            if (r == 0) begin : g_first
                assign {ow, bh, bw, base} = {g_ow0, g_bh0, g_bw0, g_base0};
            end else begin : g_next
                accel_pstep #(.GEO_W(GEO_W)) u_pstep (
                    .out_w(l_out_w), .sh(l_sh), .sw(l_sw), .wrap_w(l_wrap_w), .rstep(g_rstep),
                    .ow(g_pos[r-1].ow), .bh(g_pos[r-1].bh), .bw(g_pos[r-1].bw),
                    .base(g_pos[r-1].base),
                    .ow_nx(ow), .bh_nx(bh), .bw_nx(bw), .base_nx(base)
                );
            end
            assign ch_ow[r*GEO_W +: GEO_W]   = ow;
            assign ch_bh[r*GEO_W +: GEO_W]   = bh;
            assign ch_bw[r*GEO_W +: GEO_W]   = bw;
            assign ch_base[r*GEO_W +: GEO_W] = base;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            sp_active <= 1'b0;
        end else begin
            sp_active <= cs_active && !cs_last;
            if (issue) begin
                sp_kk       <= {{(DIM_W-1){1'b0}}, 1'b1};
                sp_in_slot  <= in_slot;
                sp_w_slot   <= w_slot;
                sp_out_slot <= out_slot;
                sp_in_off   <= in_off;
                sp_w_off    <= w_off;
                sp_out_off  <= out_off;
                sp_acc      <= acc;
                sp_m        <= m;
                sp_k        <= k;
                sp_n        <= n;
                sp_fh       <= g_fh;
                sp_fw       <= g_fw;
                sp_bh       <= ch_bh;
                sp_bw       <= ch_bw;
                sp_base     <= ch_base;
            end else if (sp_active) begin
                sp_kk <= sp_kk + 1'b1;
            end
        end
    end

    // ---- array and its skewed inputs --------------------------------------------------
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] w_rd_flat  = {{(32-SLOT_W){1'b0}}, cs_w_slot} * KDEPTH
                           + {{(32-DIM_W){1'b0}}, cs_w_off} + {{(32-DIM_W){1'b0}}, cs_kk};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COLS*W_W-1:0] w_row_data = w_mem[w_rd_flat[WA_W-1:0]];

    wire [ROWS*A_W-1:0]   a_in;
    wire [ROWS-1:0]       a_valid;
    wire [ROWS-1:0]       a_last;
    wire [COLS*W_W-1:0]   b_in;
    wire [COLS*ACC_W-1:0] arr_out;
    /* verilator lint_off UNUSEDSIGNAL */  // the output stage knows which row is on the port
    wire                  arr_out_valid;
    wire [ROWS-1:0]       arr_out_row;
    /* verilator lint_on UNUSEDSIGNAL */

    // input SRAM: port i reads output position i's K element kk
    wire [ROWS-1:0]       rd_en;
    wire [ROWS*GEO_W-1:0] rd_rh, rd_rw, rd_addr, rd_elem;
    wire [ROWS*A_W-1:0]   in_vals;
    accel_inbuf #(
        .A_W(A_W), .IN_SLOTS(IN_SLOTS), .IN_DEPTH(IN_DEPTH), .IN_ROW(KDEPTH), .PORTS(ROWS),
        .SLOT_W(SLOT_W), .DIM_W(DIM_W), .GEO_W(GEO_W), .RD_W(RD_W)
    ) u_inbuf (
        .clk(clk),
        .we(sram_we && !sram_buf), .wr_slot(sram_slot), .wr_row(sram_row), .wr_data(sram_data),
        .rd_slot(cs_in_slot), .rd_off(cs_in_off), .fh(cs_fh), .fw(cs_fw), .en(rd_en), .rh(rd_rh), .rw(rd_rw),
        .addr(rd_addr), .elem(rd_elem), .data(in_vals)
    );

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_arow
            localparam [DIM_W-1:0] ROW_I = i;
            assign rd_en[i] = cs_active && ROW_I < cs_m;
            assign rd_rh[i*GEO_W +: GEO_W]   = cs_bh[i*GEO_W +: GEO_W] + cs_kh;
            assign rd_rw[i*GEO_W +: GEO_W]   = cs_bw[i*GEO_W +: GEO_W] + cs_kw;
            assign rd_addr[i*GEO_W +: GEO_W] = cs_base[i*GEO_W +: GEO_W] + cs_koff;
            assign rd_elem[i*GEO_W +: GEO_W] = cs_kc;
            wire [A_W-1:0] a_val = in_vals[i*A_W +: A_W];
            accel_delay #(.W(A_W + 2), .D(i)) u_skew (
                .clk(clk), .rst(rst),
                .din({a_val, cs_active, cs_last}),
                .dout({a_in[i*A_W +: A_W], a_valid[i], a_last[i]})
            );
        end
        for (j = 0; j < COLS; j = j + 1) begin : g_wcol
            localparam [DIM_W-1:0] COL_J = j;
            wire use_j = cs_active && COL_J < cs_n;
            wire [W_W-1:0] w_val = use_j ? w_row_data[j*W_W +: W_W] : {W_W{1'b0}};
            accel_delay #(.W(W_W), .D(j)) u_skew (
                .clk(clk), .rst(rst), .din(w_val), .dout(b_in[j*W_W +: W_W])
            );
        end
    endgenerate

    os_array #(
        .ROWS(ROWS), .COLS(COLS), .A_W(A_W), .B_W(W_W), .ACC_W(ACC_W)
    ) u_array (
        .clk(clk), .rst(rst),
        .a_in(a_in), .a_valid(a_valid), .a_last(a_last), .b_in(b_in),
        .out(arr_out), .out_valid(arr_out_valid), .out_row(arr_out_row)
    );

    // ---- output stage: rows 0 .. m - 1 from cycle issue + k + C - 1 ----------------------
    wire [DESC_W-1:0] desc_last = {cs_last, cs_out_slot, cs_out_off, cs_acc, cs_m, cs_n};
    wire [DESC_W-1:0] desc_row0;
    accel_delay #(.W(DESC_W), .D(COLS)) u_desc (
        .clk(clk), .rst(rst), .din(desc_last), .dout(desc_row0)
    );
    wire              o_start = desc_row0[DESC_W-1];
    reg               op_active;
    reg [DIM_W-1:0]   op_row;
    reg [SLOT_W-1:0]  op_slot;
    reg [DIM_W-1:0]   op_off;
    reg               op_acc;
    reg [DIM_W-1:0]   op_m, op_n;

    wire              o_active = o_start || op_active;
    wire [DIM_W-1:0]  o_row    = o_start ? {DIM_W{1'b0}} : op_row;
    wire [SLOT_W-1:0] o_slot   = o_start ? desc_row0[DESC_W-2 -: SLOT_W] : op_slot;
    wire [DIM_W-1:0]  o_off    = o_start ? desc_row0[DESC_W-2-SLOT_W -: DIM_W] : op_off;
    wire              o_acc    = o_start ? desc_row0[2*DIM_W] : op_acc;
    wire [DIM_W-1:0]  o_m      = o_start ? desc_row0[2*DIM_W-1 : DIM_W] : op_m;
    wire [DIM_W-1:0]  o_n      = o_start ? desc_row0[DIM_W-1:0] : op_n;
    wire              o_last   = o_active && o_row == o_m - 1'b1;

    always @(posedge clk) begin
        if (rst) begin
            op_active <= 1'b0;
        end else begin
            op_active <= o_active && !o_last;
            if (o_start) begin
                op_row  <= {{(DIM_W-1){1'b0}}, 1'b1};
                op_slot <= o_slot;
                op_off  <= o_off;
                op_acc  <= o_acc;
                op_m    <= o_m;
                op_n    <= o_n;
            end else if (op_active) begin
                op_row <= op_row + 1'b1;
            end
        end
    end

    wire [COLS-1:0]        ob_wr_en;
    wire [COLS*SLOT_W-1:0] ob_wr_slot;
    wire [COLS*DIM_W-1:0]  ob_wr_row;
    wire [COLS-1:0]        ob_wr_acc;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_ocol
            localparam [DIM_W-1:0] COL_J = j;
            assign ob_wr_en[j] = o_active && COL_J < o_n;
            assign ob_wr_slot[j*SLOT_W +: SLOT_W] = o_slot;
            assign ob_wr_row[j*DIM_W +: DIM_W] = o_off + o_row;
            assign ob_wr_acc[j] = o_acc;
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
