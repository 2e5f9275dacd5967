// XNOR-popcount dot-product unit: sum over LANES of w_l * a_l, bit plane by bit plane.
//
// Timing contract: docs/timing.md, "Single units". The cycle in which `start` is sampled is
// cycle 0 (operands and configuration come straight from the ports in that cycle and are held
// in registers for the rest). Like bitserial_unit's both-serial mode (BISMO, Umuroglu et al.,
// FPL 2018) the unit walks all w_bits x a_bits bit-plane pairs (i, j), weight bit fastest,
// one pair per cycle, adding that pair's popcount-based partial sum << (i + j): the result is
// valid in cycle w_bits * a_bits (w1a1: cycle 1).
//
// Operand encoding: a 1-bit operand is binary as in XNOR-Net (Rastegari et al., ECCV 2016):
// bit 1 is +1, bit 0 is -1, whatever is_signed says. A wider operand is two's complement at
// its precision when is_signed = 1 (its most significant plane weighs -2^(bits-1)), unsigned
// otherwise. A pair of planes sums one ternary product per lane:
//   binary x binary    : 2 * popcount(XNOR(w, a)) - LANES
//   binary w x plane a : 2 * popcount(w & a_j) - popcount(a_j)   (and symmetrically)
//   plane w x plane a  : popcount(w_i & a_j)
// All three are one popcount tree over 2-bit leaves {p, q} (leaf value 2p + q, i.e. the lane's
// product + 1 when an operand is binary, the product itself otherwise) minus LANES when an
// operand is binary: no multipliers. Operands sit in 8-bit lanes (lane l at [l*8 +: 8]); bits
// above the precision are ignored. a_bits, w_bits in 1..8. `result` is valid while out_valid
// is high (one cycle) and holds until the next start.
//
// BROKEN = 1 is a deliberate fault for the test suite (tests/rtl/test_rtl_broken_pe.py): a
// 1-bit operand is taken as a plain bit plane (0/1, AND-popcount) instead of +-1, the classic
// slip of reusing a BISMO datapath for binary networks. Never set it outside tests.
`default_nettype none

module xnor_unit #(
    parameter integer LANES = 16,
    parameter integer ACC_W = 17 + $clog2(LANES),  // 8x8 unsigned products, LANES of them
    parameter integer BROKEN = 0
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    start,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [3:0]              a_bits,
    input  wire [3:0]              w_bits,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                    is_signed,
    input  wire [LANES*8-1:0]      w,
    input  wire [LANES*8-1:0]      a,
    output reg  signed [ACC_W-1:0] result,
    output reg                     out_valid,
    output wire                    busy
);
    // the popcount tree: LEVELS adder levels over LEAVES (LANES padded to a power of two)
    localparam integer LEVELS = $clog2(LANES);
    localparam integer LEAVES = 1 << LEVELS;
    // the tree's sum is at most 2 * LEAVES; minus LANES it is signed: LEVELS + 3 bits
    localparam integer SUM_W = LEVELS + 3;

    // operands and configuration: from the ports in cycle 0, from registers afterwards (cycle
    // 0 reads bit 0 of both operands, so only that bit comes from the ports)
    reg [LANES*8-1:0] w_q, a_q;
    reg [2:0]         a_msb_q, w_msb_q;  // bits - 1
    reg               sgn_q, active;
    reg [2:0]         i_q, j_q;  // weight bit, activation bit

    // bits - 1 in 3 bits: bit 3 of a precision only tells 8 from the invalid 0
    wire [2:0]         a_msb = start ? a_bits[2:0] - 3'd1 : a_msb_q;
    wire [2:0]         w_msb = start ? w_bits[2:0] - 3'd1 : w_msb_q;
    wire               sgn_c = start ? is_signed : sgn_q;
    wire [2:0]         i_c   = start ? 3'd0 : i_q;
    wire [2:0]         j_c   = start ? 3'd0 : j_q;

    // 1-bit operands are +-1
    wire w_bin = (BROKEN == 0) && (w_msb == 3'd0);
    wire a_bin = (BROKEN == 0) && (a_msb == 3'd0);
    wire w_is_msb = (i_c == w_msb);
    wire a_is_msb = (j_c == a_msb);
    wire last_step = a_is_msb & w_is_msb;

    // popcount tree: level 0 holds one 2-bit leaf per lane, level k sums pairs of level k-1
    genvar k, n;
    generate
        for (k = 0; k <= LEVELS; k = k + 1) begin : g_lvl
            for (n = 0; n < (LEAVES >> k); n = n + 1) begin : g_node
                wire [k+1:0] s;  // at most 2^(k+1)
                if (k == 0 && n < LANES) begin : g_leaf
                    wire [7:0] wl = w_q[n*8 +: 8];
                    wire [7:0] al = a_q[n*8 +: 8];
                    wire       wb = start ? w[n*8] : wl[i_q];
                    wire       ab = start ? a[n*8] : al[j_q];
                    // leaf 2p + q: with a binary operand the lane's product + 1 (p: product
                    // +1, q: product 0), between two integer planes the product (q)
                    wire p = (w_bin & a_bin) ? ~(wb ^ ab) : ((w_bin | a_bin) & wb & ab);
                    wire q = w_bin ? (~a_bin & ~ab) : (a_bin ? ~wb : (wb & ab));
                    assign s = {p, q};
                end else if (k == 0) begin : g_pad
                    assign s = 2'b00;
                end else begin : g_sum
                    assign s = {1'b0, g_lvl[k-1].g_node[2*n].s}
                             + {1'b0, g_lvl[k-1].g_node[2*n+1].s};
                end
            end
        end
    endgenerate

    wire [LEVELS+1:0] count = g_lvl[LEVELS].g_node[0].s;
    // a binary operand's leaves carry +1 per lane: take LANES back off
    wire signed [SUM_W-1:0] offset = (w_bin | a_bin) ? LANES[SUM_W-1:0] : {SUM_W{1'b0}};
    wire signed [SUM_W-1:0] pair_sum = $signed({1'b0, count}) - offset;
    // the most significant plane of a signed multi-bit operand weighs -2^(bits-1): a pair
    // with exactly one such plane is negative
    wire negate = sgn_c & ((w_is_msb & ~w_bin) ^ (a_is_msb & ~a_bin));
    wire signed [SUM_W-1:0] step_sum = negate ? -pair_sum : pair_sum;
    wire [3:0] shift = {1'b0, i_c} + {1'b0, j_c};
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
            if (!w_is_msb) begin
                i_q <= i_c + 3'd1;
                j_q <= j_c;
            end else begin
                i_q <= 3'd0;
                j_q <= j_c + 3'd1;
            end
        end
        if (start) begin
            w_q     <= w;
            a_q     <= a;
            a_msb_q <= a_msb;
            w_msb_q <= w_msb;
            sgn_q   <= is_signed;
        end
    end
endmodule

`default_nettype wire
