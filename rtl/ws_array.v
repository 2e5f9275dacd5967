// Weight-stationary systolic array of ws_pe, ROWS x COLS.
//
// Timing contract: docs/timing.md, "Weight stationary (WS), bit-parallel PE". The driver
// skews the inputs (row i delayed i cycles, column j delayed j cycles); the array does not.
// With T back-to-back tiles of M activation rows each, the last output is valid in cycle
//     cycles_ws(T, M) = R + (T - 1) * max(M, R) + M + R + C - 2.
//
// Ports are flat vectors (row i at a_in[i*A_W +: A_W], column j at out[j*ACC_W +: ACC_W]);
// inside, every PE's links are wires declared in its own generate block, which keeps Icarus
// fast on large arrays.
`default_nettype none

module ws_array #(
    parameter integer ROWS   = 4,
    parameter integer COLS   = 4,
    parameter integer A_W    = 8,
    parameter integer W_W    = 8,
    parameter integer ACC_W  = A_W + W_W + $clog2(ROWS),
    parameter integer BROKEN = 0,
    // width of the weight row tag
    parameter integer ROW_W  = (ROWS > 1) ? $clog2(ROWS) : 1
) (
    input  wire                    clk,
    input  wire                    rst,
    // west edge: one activation per row per cycle
    input  wire [ROWS*A_W-1:0]     a_in,
    input  wire [ROWS-1:0]         a_valid,
    input  wire [ROWS-1:0]         a_bank,
    // north edge: one weight per column per cycle, tagged with target row and bank
    input  wire [COLS*W_W-1:0]     w_in,
    input  wire [COLS*ROW_W-1:0]   w_row,
    input  wire [COLS-1:0]         w_bank,
    input  wire [COLS-1:0]         w_valid,
    // south edge: one partial sum per column per cycle
    output wire [COLS*ACC_W-1:0]   out,
    output wire [COLS-1:0]         out_valid
);
    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_row
            for (j = 0; j < COLS; j = j + 1) begin : g_col
                wire signed [A_W-1:0]   a_i;
                wire                    av_i;
                wire                    ab_i;
                wire signed [W_W-1:0]   w_i;
                wire [ROW_W-1:0]        wr_i;
                wire                    wb_i;
                wire                    wv_i;
                wire signed [ACC_W-1:0] p_i;
                // The east column's activations and the south row's weights leave the array
                // unused; synthesis removes their registers.
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [A_W-1:0]   a_o;
                wire                    av_o;
                wire                    ab_o;
                wire signed [W_W-1:0]   w_o;
                wire [ROW_W-1:0]        wr_o;
                wire                    wb_o;
                wire                    wv_o;
                /* verilator lint_on UNUSEDSIGNAL */
                wire signed [ACC_W-1:0] p_o;

                if (j == 0) begin : g_west
                    assign a_i  = a_in[i*A_W +: A_W];
                    assign av_i = a_valid[i];
                    assign ab_i = a_bank[i];
                end else begin : g_link_a
                    assign a_i  = g_row[i].g_col[j-1].a_o;
                    assign av_i = g_row[i].g_col[j-1].av_o;
                    assign ab_i = g_row[i].g_col[j-1].ab_o;
                end

                if (i == 0) begin : g_north
                    assign w_i  = w_in[j*W_W +: W_W];
                    assign wr_i = w_row[j*ROW_W +: ROW_W];
                    assign wb_i = w_bank[j];
                    assign wv_i = w_valid[j];
                    assign p_i  = {ACC_W{1'b0}};
                end else begin : g_link_w
                    assign w_i  = g_row[i-1].g_col[j].w_o;
                    assign wr_i = g_row[i-1].g_col[j].wr_o;
                    assign wb_i = g_row[i-1].g_col[j].wb_o;
                    assign wv_i = g_row[i-1].g_col[j].wv_o;
                    assign p_i  = g_row[i-1].g_col[j].p_o;
                end

                if (i == ROWS - 1) begin : g_south
                    assign out[j*ACC_W +: ACC_W] = p_o;
                    assign out_valid[j]          = av_o;
                end

                ws_pe #(
                    .A_W(A_W), .W_W(W_W), .ACC_W(ACC_W), .ROW_W(ROW_W), .ROW(i),
                    .BROKEN(BROKEN)
                ) u_pe (
                    .clk(clk), .rst(rst),
                    .a_in(a_i), .a_valid_in(av_i), .a_bank_in(ab_i),
                    .a_out(a_o), .a_valid_out(av_o), .a_bank_out(ab_o),
                    .w_in(w_i), .w_row_in(wr_i), .w_bank_in(wb_i), .w_valid_in(wv_i),
                    .w_out(w_o), .w_row_out(wr_o), .w_bank_out(wb_o), .w_valid_out(wv_o),
                    .psum_in(p_i), .psum_out(p_o)
                );
            end
        end
    endgenerate
endmodule

`default_nettype wire
