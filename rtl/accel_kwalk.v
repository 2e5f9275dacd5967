// The im2col address generator's walk along the reduction (accel_core_ws, accel_core_os):
// one GEMM K element per cycle. In a cycle with `start` high it presents the tile's first
// element (channel c0, kernel row kh0, column kw0, footprint offset koff0), in each later
// cycle the element after the one it presented the cycle before (accel_kstep, for a
// footprint `fw` pixels wide and a KH x KW kernel).
`default_nettype none

module accel_kwalk #(
    parameter integer GEO_W = 12
) (
    input  wire             clk,
    input  wire             start,
    input  wire [GEO_W-1:0] kh_n,    // kernel rows (KH)
    input  wire [GEO_W-1:0] kw_n,    // kernel columns (KW)
    input  wire [GEO_W-1:0] fw,      // footprint width of the tile
    input  wire [GEO_W-1:0] c0,
    input  wire [GEO_W-1:0] kh0,
    input  wire [GEO_W-1:0] kw0,
    input  wire [GEO_W-1:0] koff0,
    output wire [GEO_W-1:0] c,
    output wire [GEO_W-1:0] kh,
    output wire [GEO_W-1:0] kw,
    output wire [GEO_W-1:0] koff
);
    reg  [GEO_W-1:0] r_c, r_kh, r_kw, r_koff;   // the next element
    wire [GEO_W-1:0] nx_c, nx_kh, nx_kw, nx_koff;
    assign c    = start ? c0 : r_c;
    assign kh   = start ? kh0 : r_kh;
    assign kw   = start ? kw0 : r_kw;
    assign koff = start ? koff0 : r_koff;
    accel_kstep #(.GEO_W(GEO_W)) u_step (
        .kh_n(kh_n), .kw_n(kw_n), .fw(fw),
        .c(c), .kh(kh), .kw(kw), .koff(koff),
        .c_nx(nx_c), .kh_nx(nx_kh), .kw_nx(nx_kw), .koff_nx(nx_koff)
    );
    always @(posedge clk) begin
        r_c    <= nx_c;
        r_kh   <= nx_kh;
        r_kw   <= nx_kw;
        r_koff <= nx_koff;
    end
endmodule

`default_nettype wire
