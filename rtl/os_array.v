// Output-stationary systolic array of os_pe, ROWS x COLS.
//
// Timing contract: docs/timing.md, "Output stationary (OS), bit-parallel PE". A[i][k] enters
// row i in cycle s + k + i, B[k][j] enters column j in cycle s + k + j (the driver skews).
// When row i's `last` tag leaves the east edge (cycle s + K + C - 1 + i), the row's result
// registers are presented on the COLS-wide output port, one row per cycle. With T tiles
// started every max(K, R, C) cycles the last output is valid in cycle
//     cycles_os(T, K) = (T - 1) * max(K, R, C) + K + R + C - 2.
`default_nettype none

module os_array #(
    parameter integer ROWS  = 4,
    parameter integer COLS  = 4,
    parameter integer A_W   = 8,
    parameter integer B_W   = 8,
    parameter integer ACC_W = 32
) (
    input  wire                  clk,
    input  wire                  rst,
    // west edge: one A operand per row per cycle
    input  wire [ROWS*A_W-1:0]   a_in,
    input  wire [ROWS-1:0]       a_valid,
    input  wire [ROWS-1:0]       a_last,
    // north edge: one B operand per column per cycle
    input  wire [COLS*B_W-1:0]   b_in,
    // south port: one row of results per cycle
    output wire [COLS*ACC_W-1:0] out,
    output wire                  out_valid,
    output wire [ROWS-1:0]       out_row     // one-hot: which row is on the port
);
    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_row
            // row i's `last` tag after it has crossed every column
            wire row_done;
            for (j = 0; j < COLS; j = j + 1) begin : g_col
                wire signed [A_W-1:0]   a_i;
                wire                    av_i;
                wire                    al_i;
                wire signed [B_W-1:0]   b_i;
                // The east column's A operands and the south row's B operands leave the
                // array unused; synthesis removes their registers.
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [A_W-1:0]   a_o;
                wire                    av_o;
                wire signed [B_W-1:0]   b_o;
                /* verilator lint_on UNUSEDSIGNAL */
                wire                    al_o;
                wire signed [ACC_W-1:0] res;
                // rows 0..i of column j, AND-OR selected by row_done (one-hot)
                wire [ACC_W-1:0]        sel;

                if (j == 0) begin : g_west
                    assign a_i  = a_in[i*A_W +: A_W];
                    assign av_i = a_valid[i];
                    assign al_i = a_last[i];
                end else begin : g_link_a
                    assign a_i  = g_row[i].g_col[j-1].a_o;
                    assign av_i = g_row[i].g_col[j-1].av_o;
                    assign al_i = g_row[i].g_col[j-1].al_o;
                end

                if (i == 0) begin : g_north
                    assign b_i = b_in[j*B_W +: B_W];
                    assign sel = res & {ACC_W{row_done}};
                end else begin : g_link_b
                    assign b_i = g_row[i-1].g_col[j].b_o;
                    assign sel = g_row[i-1].g_col[j].sel | (res & {ACC_W{row_done}});
                end

                if (j == COLS - 1) begin : g_east
                    assign row_done = al_o;
                end

                if (i == ROWS - 1) begin : g_south
                    assign out[j*ACC_W +: ACC_W] = sel;
                end

                os_pe #(.A_W(A_W), .B_W(B_W), .ACC_W(ACC_W)) u_pe (
                    .clk(clk), .rst(rst),
                    .a_in(a_i), .a_valid_in(av_i), .a_last_in(al_i),
                    .a_out(a_o), .a_valid_out(av_o), .a_last_out(al_o),
                    .b_in(b_i), .b_out(b_o),
                    .result(res)
                );
            end
            assign out_row[i] = row_done;
        end
    endgenerate

    assign out_valid = |out_row;
endmodule

`default_nettype wire
