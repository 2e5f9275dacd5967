// The accelerator's input SRAM and its im2col read ports (accel_core_ws, accel_core_os).
//
// IN_SLOTS slots of IN_DEPTH rows of IN_ROW elements; the DMA writes one row per cycle, at
// flat row wr_slot * IN_DEPTH + wr_row (a load longer than a slot runs on into the next
// ones). A slot holds an input load as the DMA moves it: a GEMM's A tile one row per GEMM
// row (its k elements; a resident block k chunk after k chunk, rtl/accel.v's slot layout),
// a convolution's input footprint one row per footprint pixel (raster order within the
// footprint, fh rows of fw pixels) holding the load's channels. The read ports address rows
// from flat row rd_slot * IN_DEPTH + rd_off on (rd_off: the tile's chunk of a block).
//
// PORTS asynchronous read ports, one per array row, each reading one element per cycle:
// element `elem` of footprint pixel (rh, rw), at row address `addr` (= rh * fw + rw, walked
// by the core's address generator). A pixel outside the footprint (0 <= rh < fh,
// 0 <= rw < fw) is zero padding and reads as zero, as does a port with `en` low; the
// footprint holds every valid pixel its tile's windows read, so nothing else is cut. All
// coordinates are two's complement, GEO_W bits.
//
// A read in cycle c sees every write of earlier cycles (register array, asynchronous read).
`default_nettype none

module accel_inbuf #(
    parameter integer A_W      = 8,
    parameter integer IN_SLOTS = 16,
    parameter integer IN_DEPTH = 64,
    parameter integer IN_ROW   = 4,    // elements of a row
    parameter integer PORTS    = 4,
    parameter integer SLOT_W   = 4,
    parameter integer DIM_W    = 16,
    parameter integer GEO_W    = 12,
    parameter integer RD_W     = 32    // DRAM read data: one SRAM row (IN_ROW * A_W bits used)
) (
    input  wire                   clk,
    // write port (DMA loads)
    input  wire                   we,
    input  wire [SLOT_W-1:0]      wr_slot,
    input  wire [DIM_W-1:0]       wr_row,
    /* verilator lint_off UNUSEDSIGNAL */  // a weight row may be wider
    input  wire [RD_W-1:0]        wr_data,
    /* verilator lint_on UNUSEDSIGNAL */
    // read ports: one slot and a row offset into it, per port a pixel and an element
    input  wire [SLOT_W-1:0]      rd_slot,
    input  wire [DIM_W-1:0]       rd_off,
    input  wire [GEO_W-1:0]       fh,
    input  wire [GEO_W-1:0]       fw,
    input  wire [PORTS-1:0]       en,
    input  wire [PORTS*GEO_W-1:0] rh,
    input  wire [PORTS*GEO_W-1:0] rw,
    input  wire [PORTS*GEO_W-1:0] addr,
    input  wire [PORTS*GEO_W-1:0] elem,
    output wire [PORTS*A_W-1:0]   data
);
    localparam integer WORDS = IN_SLOTS * IN_DEPTH;
    localparam integer WA_W = (WORDS > 1) ? $clog2(WORDS) : 1;
    localparam integer ROW_W = IN_ROW * A_W;

    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] wr_flat = {{(32-SLOT_W){1'b0}}, wr_slot} * IN_DEPTH
                        + {{(32-DIM_W){1'b0}}, wr_row};
    wire [31:0] rd_slot_base = {{(32-SLOT_W){1'b0}}, rd_slot} * IN_DEPTH
                             + {{(32-DIM_W){1'b0}}, rd_off};
    /* verilator lint_on UNUSEDSIGNAL */

    reg [ROW_W-1:0] mem [0:WORDS-1];
    always @(posedge clk) begin
        if (we) mem[wr_flat[WA_W-1:0]] <= wr_data[ROW_W-1:0];
    end

    genvar p;
    generate
        for (p = 0; p < PORTS; p = p + 1) begin : g_port
            wire [GEO_W-1:0] r_h = rh[p*GEO_W +: GEO_W];
            wire [GEO_W-1:0] r_w = rw[p*GEO_W +: GEO_W];
            wire [GEO_W-1:0] e   = elem[p*GEO_W +: GEO_W];
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] flat = rd_slot_base + {{(32-GEO_W){1'b0}}, addr[p*GEO_W +: GEO_W]};
            /* verilator lint_on UNUSEDSIGNAL */
            wire in_fp = !r_h[GEO_W-1] && r_h < fh && !r_w[GEO_W-1] && r_w < fw;
            wire [ROW_W-1:0] word = mem[flat[WA_W-1:0]];
            wire [A_W-1:0] val = word[e*A_W +: A_W];
            assign data[p*A_W +: A_W] = (en[p] && in_fp) ? val : {A_W{1'b0}};
        end
    endgenerate
endmodule

`default_nettype wire
