// One step of the im2col address generator's walk along output positions (accel_core_ws,
// accel_core_os): from one output position of a tile to the next in raster order. A
// position is its output column `ow` and its window's origin relative to the tile's input
// footprint, row `bh` and column `bw` (negative into the padding), and that origin's
// footprint-row address `base` = bh * fw + bw. Along an output row the origin moves by the
// stride; at the end of a row (ow + 1 = out_w) to the next row's first window: bw back by
// wrap_w = (out_w - 1) * sw, bh down by sh, base by the tile's rstep = sh * fw - wrap_w.
// out_w = 0 never wraps (a GEMM: positions are footprint rows 0, 1, ...). All values are
// two's complement.
`default_nettype none

module accel_pstep #(
    parameter integer GEO_W = 12
) (
    input  wire [GEO_W-1:0] out_w,
    input  wire [GEO_W-1:0] sh,
    input  wire [GEO_W-1:0] sw,
    input  wire [GEO_W-1:0] wrap_w,
    input  wire [GEO_W-1:0] rstep,
    input  wire [GEO_W-1:0] ow,
    input  wire [GEO_W-1:0] bh,
    input  wire [GEO_W-1:0] bw,
    input  wire [GEO_W-1:0] base,
    output wire [GEO_W-1:0] ow_nx,
    output wire [GEO_W-1:0] bh_nx,
    output wire [GEO_W-1:0] bw_nx,
    output wire [GEO_W-1:0] base_nx
);
    wire [GEO_W-1:0] ow1 = ow + {{(GEO_W-1){1'b0}}, 1'b1};
    wire wrap = ow1 == out_w;
    assign ow_nx   = wrap ? {GEO_W{1'b0}} : ow1;
    assign bh_nx   = wrap ? bh + sh : bh;
    assign bw_nx   = wrap ? bw - wrap_w : bw + sw;
    assign base_nx = wrap ? base + rstep : base + sw;
endmodule

`default_nettype wire
