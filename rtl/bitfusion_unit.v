// BitFusion fusion unit: 16 BitBricks composing 2/4/8-bit multiplies (Sharma et al., ISCA
// 2018), with an accumulator.
//
// Timing contract: docs/timing.md, "Single units" and "Precision-scalable PEs". Configured for
// w' x a' bits (w', a' in {2, 4, 8}) the unit performs f = (8 / w') * (8 / a') products per
// cycle: each product uses (w'/2) * (a'/2) bricks, one per pair of 2-bit digits, shifted by
// 2 * (digit index of w + digit index of a). All 16 shifted brick products are added, so the
// f products of a cycle are summed along the reduction. Inputs sampled in cycle c give the
// accumulated sum in cycle c + 1; a dot product of length L issued back to back (first group
// in cycle 0) is valid in cycle ceil(L / f).
//
// Operands are packed at their width: product p takes w[p*w' +: w'] and a[p*a' +: a'].
// Precision codes: 0 -> 2 bits, 1 -> 4 bits, 2 -> 8 bits. With is_signed = 1 both operands
// are two's complement (only their top digit is a signed brick input).
`default_nettype none

module bitfusion_unit #(
    parameter integer ACC_W = 32
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire [1:0]              w_prec,
    input  wire [1:0]              a_prec,
    input  wire                    is_signed,
    input  wire                    in_valid,
    input  wire                    in_first,  // the first group of a dot product
    input  wire                    in_last,   // the last group: out_valid next cycle
    input  wire [31:0]             w,
    input  wire [31:0]             a,
    output reg  signed [ACC_W-1:0] acc,
    output reg                     out_valid
);
    // log2 of bricks per product (0..4)
    wire [2:0] bpp_log = {1'b0, w_prec} + {1'b0, a_prec};

    genvar b;
    generate
        for (b = 0; b < 16; b = b + 1) begin : g_brick
            localparam [3:0] B = b;
            // brick b belongs to product p; q is its place inside the product
            wire [3:0] p  = B >> bpp_log;
            wire [3:0] q  = B & ~(4'hF << bpp_log);
            wire [3:0] wi = q & ~(4'hF << w_prec);  // digit of w
            wire [3:0] aj = q >> w_prec;            // digit of a
            wire [3:0] wd = (p << w_prec) + wi;     // digit position in the packed w port
            wire [3:0] ad = (p << a_prec) + aj;
            wire       w_top = (wi == ~(4'hF << w_prec));
            wire       a_top = (aj == ~(4'hF << a_prec));
            wire signed [5:0] bp;

            bitbrick u_brick (
                .x(w[{wd, 1'b0} +: 2]), .sx(is_signed & w_top),
                .y(a[{ad, 1'b0} +: 2]), .sy(is_signed & a_top),
                .p(bp)
            );

            wire [3:0] shift = {wi[2:0], 1'b0} + {aj[2:0], 1'b0};
            wire signed [ACC_W-1:0] term = {{(ACC_W - 6){bp[5]}}, bp} <<< shift;
            wire signed [ACC_W-1:0] sum;
            if (b == 0) begin : g_first
                assign sum = term;
            end else begin : g_chain
                assign sum = g_brick[b-1].sum + term;
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else begin
            out_valid <= in_valid & in_last;
        end
        if (in_valid) begin
            acc <= (in_first ? {ACC_W{1'b0}} : acc) + g_brick[15].sum;
        end
    end
endmodule

`default_nettype wire
