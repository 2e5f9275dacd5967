// The accelerator's output buffer: OUT_SLOTS slots of DEPTH rows of COLS accumulators, one
// memory per column. The array's drivers write it (per column: enable, slot, row, and
// whether to add to the stored value or overwrite it); the DMA's stores read one row per
// cycle. Both address flat row slot * DEPTH + row, so a row past DEPTH is in a following
// slot (an output group of several regions, rtl/accel.v's slot layout).
//
// Register arrays with an asynchronous read: a read in cycle c sees every write of earlier
// cycles, and a write in cycle c (at the edge that ends it) is not seen in cycle c.
`default_nettype none

module accel_outbuf #(
    parameter integer COLS      = 4,
    parameter integer ACC_W     = 32,
    parameter integer OUT_SLOTS = 4,
    parameter integer DEPTH     = 16,   // rows of a slot
    parameter integer SLOT_W    = 4,
    parameter integer DIM_W     = 16
) (
    input  wire                   clk,
    // write port, per column j
    input  wire [COLS-1:0]        wr_en,
    input  wire [COLS*SLOT_W-1:0] wr_slot,
    input  wire [COLS*DIM_W-1:0]  wr_row,
    input  wire [COLS-1:0]        wr_acc,
    input  wire [COLS*ACC_W-1:0]  wr_data,
    // read port (DMA stores): a whole row
    input  wire [SLOT_W-1:0]      rd_slot,
    input  wire [DIM_W-1:0]       rd_row,
    output wire [COLS*ACC_W-1:0]  rd_data
);
    localparam integer WORDS = OUT_SLOTS * DEPTH;
    localparam integer OA_W = (WORDS > 1) ? $clog2(WORDS) : 1;

    // slot * DEPTH + row, as a flat address
    function [31:0] flat;
        input [SLOT_W-1:0] slot;
        input [DIM_W-1:0]  row;
        begin
            flat = {{(32-SLOT_W){1'b0}}, slot} * DEPTH + {{(32-DIM_W){1'b0}}, row};
        end
    endfunction

    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] rd_flat = flat(rd_slot, rd_row);
    /* verilator lint_on UNUSEDSIGNAL */

    genvar j;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_col
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] wr_flat = flat(wr_slot[j*SLOT_W +: SLOT_W], wr_row[j*DIM_W +: DIM_W]);
            /* verilator lint_on UNUSEDSIGNAL */
            wire [OA_W-1:0] wr_addr = wr_flat[OA_W-1:0];
            wire [ACC_W-1:0] value = wr_data[j*ACC_W +: ACC_W];
            reg [ACC_W-1:0] mem [0:WORDS-1];
            always @(posedge clk) begin
                if (wr_en[j])
                    mem[wr_addr] <= wr_acc[j] ? mem[wr_addr] + value : value;
            end
            assign rd_data[j*ACC_W +: ACC_W] = mem[rd_flat[OA_W-1:0]];
        end
    endgenerate
endmodule

`default_nettype wire
