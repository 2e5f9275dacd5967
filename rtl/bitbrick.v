// BitBrick: a 2-bit x 2-bit multiplier, signed or unsigned per operand (BitFusion, Sharma et
// al., ISCA 2018, Fig. 4). Each operand is extended to 3 bits with its sign flag, so one brick
// serves both the most significant (signed) and the lower (unsigned) 2-bit digits of a wider
// operand. Products lie in [-6, 9].
`default_nettype none

module bitbrick (
    input  wire [1:0]        x,
    input  wire              sx,  // x is a signed digit
    input  wire [1:0]        y,
    input  wire              sy,  // y is a signed digit
    output wire signed [5:0] p
);
    wire signed [5:0] xe = {{4{sx & x[1]}}, x};
    wire signed [5:0] ye = {{4{sy & y[1]}}, y};
    assign p = xe * ye;
endmodule

`default_nettype wire
