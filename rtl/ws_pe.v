// Weight-stationary MAC processing element with double-buffered weights.
//
// Timing contract: docs/timing.md, "Weight stationary (WS), bit-parallel PE".
//   * Activations move right one PE per cycle, each with a valid bit and a 1-bit bank tag;
//     the PE multiplies with the weight bank the tag selects, so it switches banks exactly
//     when the first activation of the next tile reaches it.
//   * Weights move down a pipeline (not a shift chain) tagged with their target row and bank;
//     the PE whose ROW matches captures the weight into that bank.
//   * Partial sums move down one PE per cycle: psum_out = psum_in + a_in * w.
//
// BROKEN = 1 is a deliberate fault for the test suite (tests/rtl/test_rtl_broken_pe.py): the PE
// selects the bank with the tag of the *previous* activation, so the first row of every tile
// after the first uses the stale tile's weight. Single tiles still pass; back-to-back tiles
// do not. Never set it outside tests.
`default_nettype none

module ws_pe #(
    parameter integer A_W    = 8,   // activation width (two's complement)
    parameter integer W_W    = 8,   // weight width (two's complement)
    parameter integer ACC_W  = 20,  // partial-sum width, >= A_W + W_W
    parameter integer ROW_W  = 1,   // width of the weight row tag
    parameter integer ROW    = 0,   // this PE's row in the array
    parameter integer BROKEN = 0
) (
    input  wire                    clk,
    input  wire                    rst,
    // activations, moving right
    input  wire signed [A_W-1:0]   a_in,
    input  wire                    a_valid_in,
    input  wire                    a_bank_in,
    output reg  signed [A_W-1:0]   a_out,
    output reg                     a_valid_out,
    output reg                     a_bank_out,
    // weight load pipeline, moving down
    input  wire signed [W_W-1:0]   w_in,
    input  wire [ROW_W-1:0]        w_row_in,
    input  wire                    w_bank_in,
    input  wire                    w_valid_in,
    output reg  signed [W_W-1:0]   w_out,
    output reg  [ROW_W-1:0]        w_row_out,
    output reg                     w_bank_out,
    output reg                     w_valid_out,
    // partial sums, moving down (valid with a_valid_out)
    input  wire signed [ACC_W-1:0] psum_in,
    output reg  signed [ACC_W-1:0] psum_out
);
    localparam integer P_W = A_W + W_W;
    localparam [ROW_W-1:0] MY_ROW = ROW[ROW_W-1:0];

    reg signed [W_W-1:0] bank0;
    reg signed [W_W-1:0] bank1;

    always @(posedge clk) begin
        if (w_valid_in && w_row_in == MY_ROW) begin
            if (w_bank_in) bank1 <= w_in;
            else           bank0 <= w_in;
        end
    end

    wire bank_sel = (BROKEN != 0) ? a_bank_out : a_bank_in;
    wire signed [W_W-1:0] w_cur = bank_sel ? bank1 : bank0;
    wire signed [P_W-1:0] prod = a_in * w_cur;

    wire signed [ACC_W-1:0] prod_ext;
    generate
        if (ACC_W > P_W) begin : g_ext
            assign prod_ext = {{(ACC_W - P_W){prod[P_W-1]}}, prod};
        end else begin : g_same
            assign prod_ext = prod[ACC_W-1:0];
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            a_valid_out <= 1'b0;
            a_bank_out  <= 1'b0;
            w_valid_out <= 1'b0;
        end else begin
            a_valid_out <= a_valid_in;
            a_bank_out  <= a_bank_in;
            w_valid_out <= w_valid_in;
        end
        a_out      <= a_in;
        w_out      <= w_in;
        w_row_out  <= w_row_in;
        w_bank_out <= w_bank_in;
        psum_out   <= psum_in + prod_ext;
    end
endmodule

`default_nettype wire
