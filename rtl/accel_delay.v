// A W-bit delay line of D register stages (D = 0: a wire), reset to zero.
//
// The accelerator's skew registers (docs/timing.md, WS: row i of the activations and column j
// of the weights are delayed i and j cycles) and the output write descriptors use it.
`default_nettype none

module accel_delay #(
    parameter integer W = 1,
    parameter integer D = 1
) (
    /* verilator lint_off UNUSEDSIGNAL */  // a zero-stage line is a wire
    input  wire         clk,
    input  wire         rst,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [W-1:0] din,
    output wire [W-1:0] dout
);
    generate
        if (D == 0) begin : g_wire
            assign dout = din;
        end else begin : g_regs
            reg [W-1:0] stage [0:D-1];
            integer s;
            always @(posedge clk) begin
                if (rst) begin
                    for (s = 0; s < D; s = s + 1) stage[s] <= {W{1'b0}};
                end else begin
                    stage[0] <= din;
                    for (s = 1; s < D; s = s + 1) stage[s] <= stage[s-1];
                end
            end
            assign dout = stage[D-1];
        end
    endgenerate
endmodule

`default_nettype wire
