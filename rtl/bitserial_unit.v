// Bit-serial dot-product unit: sum over LANES of w_l * a_l at runtime precision.
//
// Timing contract: docs/timing.md, "Single units". The cycle in which `start` is sampled is
// cycle 0; in it the unit takes bit 0 of every activation (operands and configuration come
// straight from the ports in that cycle and are held in registers for the rest).
//   * Stripes mode (both_serial = 0; Judd et al., MICRO 2016): weights are bit-parallel,
//     activations enter one bit per cycle, LSB first: result valid in cycle a_bits.
//   * Both-serial mode (both_serial = 1; Loom, Sharify et al., DAC 2018; BISMO, Umuroglu et
//     al., FPL 2018): the unit walks all w_bits x a_bits bit pairs (weight bit fastest), each
//     cycle adding popcount(w bit & a bit) << (i + j): result valid in cycle a_bits * w_bits.
// With is_signed = 1 both operands are two's complement at their precision: the partial
// products of a most significant bit carry weight -2^(bits-1). Operands sit in 8-bit lanes
// (lane l at [l*8 +: 8]); bits above the precision are ignored. a_bits, w_bits in 1..8.
// `result` is valid while out_valid is high (one cycle) and holds until the next start.
`default_nettype none

module bitserial_unit #(
    parameter integer LANES = 8,
    parameter integer ACC_W = 17 + $clog2(LANES)  // 8x8 unsigned products, LANES of them
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    start,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [3:0]              a_bits,
    input  wire [3:0]              w_bits,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                    is_signed,
    input  wire                    both_serial,
    input  wire [LANES*8-1:0]      w,
    input  wire [LANES*8-1:0]      a,
    output reg  signed [ACC_W-1:0] result,
    output reg                     out_valid,
    output wire                    busy
);
    // one lane's Stripes term is a weight in [-128, 255]: 10 bits signed
    localparam integer SUM_W = 10 + $clog2(LANES + 1);

    // operands and configuration: from the ports in cycle 0, from registers afterwards
    reg [LANES*8-1:0] w_q, a_q;
    reg [2:0]         a_msb_q, w_msb_q;  // bits - 1
    reg               sgn_q, both_q, active;
    reg [2:0]         i_q, j_q;  // weight bit, activation bit

    wire [LANES*8-1:0] w_c   = start ? w : w_q;
    wire [LANES*8-1:0] a_c   = start ? a : a_q;
    // bits - 1 in 3 bits: bit 3 of a precision only tells 8 from the invalid 0
    wire [2:0]         a_msb = start ? a_bits[2:0] - 3'd1 : a_msb_q;
    wire [2:0]         w_msb = start ? w_bits[2:0] - 3'd1 : w_msb_q;
    wire               sgn_c = start ? is_signed : sgn_q;
    wire               both_c = start ? both_serial : both_q;
    wire [2:0]         i_c   = start ? 3'd0 : i_q;
    wire [2:0]         j_c   = start ? 3'd0 : j_q;

    wire       a_is_msb = (j_c == a_msb);
    wire       w_is_msb = (i_c == w_msb);
    // both-serial: the weight bit index is i; Stripes uses the whole weight (i stays 0)
    wire       last_step = a_is_msb & (~both_c | w_is_msb);

    // per-lane terms, summed through a chain of per-lane wires
    wire [7:0] w_mask = 8'hFF >> (3'd7 - w_msb);
    genvar l;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : g_lane
            wire [7:0]             wl = w_c[l*8 +: 8] & w_mask;
            wire [7:0]             al = a_c[l*8 +: 8];
            wire                   a_bit = al[j_c];
            wire                   w_bit = wl[i_c];
            // weight at its precision as a 10-bit signed value
            wire                   w_neg = sgn_c & wl[w_msb];
            wire signed [9:0]      w_val = {2'b00, wl} - (w_neg ? (10'sd2 <<< w_msb) : 10'sd0);
            wire signed [9:0]      term = both_c ? {9'd0, a_bit & w_bit}
                                                 : (a_bit ? w_val : 10'sd0);
            wire signed [SUM_W-1:0] sum;
            if (l == 0) begin : g_first
                assign sum = {{(SUM_W - 10){term[9]}}, term};
            end else begin : g_chain
                assign sum = g_lane[l-1].sum + {{(SUM_W - 10){term[9]}}, term};
            end
        end
    endgenerate

    wire signed [SUM_W-1:0] lanes_sum = g_lane[LANES-1].sum;
    // a most significant bit of a signed operand weighs -2^(bits-1); in both-serial mode a
    // pair with exactly one such bit is negative
    wire negate = sgn_c & (both_c ? (a_is_msb ^ w_is_msb) : a_is_msb);
    wire signed [SUM_W-1:0] step_sum = negate ? -lanes_sum : lanes_sum;
    wire [3:0] shift = {1'b0, j_c} + (both_c ? {1'b0, i_c} : 4'd0);
    wire signed [ACC_W-1:0] step_ext = {{(ACC_W - SUM_W){step_sum[SUM_W-1]}}, step_sum};
    wire signed [ACC_W-1:0] step_val = step_ext <<< shift;
    wire signed [ACC_W-1:0] acc_next = (start ? {ACC_W{1'b0}} : result) + step_val;

    assign busy = active;

    always @(posedge clk) begin
        if (rst) begin
            active    <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (start || active) begin
                active    <= ~last_step;
                out_valid <= last_step;
            end else begin
                out_valid <= 1'b0;
            end
        end
        if (start || active) begin
            result <= acc_next;
            if (both_c && !w_is_msb) begin
                i_q <= i_c + 3'd1;
                j_q <= j_c;
            end else begin
                i_q <= 3'd0;
                j_q <= j_c + 3'd1;
            end
        end
        if (start) begin
            w_q    <= w;
            a_q    <= a;
            a_msb_q <= a_msb;
            w_msb_q <= w_msb;
            sgn_q  <= is_signed;
            both_q <= both_serial;
        end
    end
endmodule

`default_nettype wire
