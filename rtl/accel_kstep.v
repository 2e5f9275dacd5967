// One step of the im2col address generator's walk along the reduction (accel_core_ws,
// accel_core_os): from GEMM K element (c, kh, kw) of an input slot to the next one, in
// PyTorch's weight.reshape(N, -1) order (kernel column fastest, then kernel row, then
// channel). `koff` is the element's footprint-row offset kh * fw + kw, walked without a
// multiplier: + 1 along a kernel row, + fw - (KW - 1) to the next kernel row, 0 at the next
// channel. A GEMM (a 1 x 1 kernel) steps the channel only: element c of the slot row.
`default_nettype none

module accel_kstep #(
    parameter integer GEO_W = 12
) (
    input  wire [GEO_W-1:0] kh_n,   // kernel rows (KH)
    input  wire [GEO_W-1:0] kw_n,   // kernel columns (KW)
    input  wire [GEO_W-1:0] fw,     // footprint width of the tile
    input  wire [GEO_W-1:0] c,
    input  wire [GEO_W-1:0] kh,
    input  wire [GEO_W-1:0] kw,
    input  wire [GEO_W-1:0] koff,
    output wire [GEO_W-1:0] c_nx,
    output wire [GEO_W-1:0] kh_nx,
    output wire [GEO_W-1:0] kw_nx,
    output wire [GEO_W-1:0] koff_nx
);
    localparam [GEO_W-1:0] ONE = {{(GEO_W-1){1'b0}}, 1'b1};
    localparam [GEO_W-1:0] ZERO = {GEO_W{1'b0}};
    wire [GEO_W-1:0] kw1 = kw + ONE;
    wire [GEO_W-1:0] kh1 = kh + ONE;
    wire in_row = kw1 != kw_n;
    wire in_chan = kh1 != kh_n;
    assign kw_nx   = in_row ? kw1 : ZERO;
    assign kh_nx   = in_row ? kh : (in_chan ? kh1 : ZERO);
    assign c_nx    = (in_row || in_chan) ? c : c + ONE;
    assign koff_nx = in_row ? koff + ONE : (in_chan ? koff + fw - kw_n + ONE : ZERO);
endmodule

`default_nettype wire
