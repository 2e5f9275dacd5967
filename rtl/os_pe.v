// Output-stationary MAC processing element.
//
// Timing contract: docs/timing.md, "Output stationary (OS), bit-parallel PE".
//   * A operands move right, B operands move down, one PE per cycle. A carries a valid bit
//     and a `last` tag that marks the final term of the reduction.
//   * On a valid A the PE accumulates a_in * b_in. On `last` it writes the finished sum into
//     its result register and restarts the accumulator at zero, so the result register is
//     double-buffered against the accumulator and the next tile can start at once.
`default_nettype none

module os_pe #(
    parameter integer A_W   = 8,   // operand A width (two's complement)
    parameter integer B_W   = 8,   // operand B width (two's complement)
    parameter integer ACC_W = 24   // accumulator width, >= A_W + B_W
) (
    input  wire                    clk,
    input  wire                    rst,
    // A operands, moving right
    input  wire signed [A_W-1:0]   a_in,
    input  wire                    a_valid_in,
    input  wire                    a_last_in,
    output reg  signed [A_W-1:0]   a_out,
    output reg                     a_valid_out,
    output reg                     a_last_out,
    // B operands, moving down
    input  wire signed [B_W-1:0]   b_in,
    output reg  signed [B_W-1:0]   b_out,
    // finished sum of the last reduction
    output reg  signed [ACC_W-1:0] result
);
    localparam integer P_W = A_W + B_W;

    wire signed [P_W-1:0] prod = a_in * b_in;
    wire signed [ACC_W-1:0] prod_ext;
    generate
        if (ACC_W > P_W) begin : g_ext
            assign prod_ext = {{(ACC_W - P_W){prod[P_W-1]}}, prod};
        end else begin : g_same
            assign prod_ext = prod[ACC_W-1:0];
        end
    endgenerate

    reg  signed [ACC_W-1:0] acc;
    wire signed [ACC_W-1:0] sum = acc + prod_ext;

    always @(posedge clk) begin
        if (rst) begin
            acc         <= {ACC_W{1'b0}};
            a_valid_out <= 1'b0;
            a_last_out  <= 1'b0;
        end else begin
            if (a_valid_in) begin
                acc <= a_last_in ? {ACC_W{1'b0}} : sum;
            end
            a_valid_out <= a_valid_in;
            a_last_out  <= a_valid_in & a_last_in;
        end
        if (a_valid_in && a_last_in) begin
            result <= sum;
        end
        a_out <= a_in;
        b_out <= b_in;
    end
endmodule

`default_nettype wire
