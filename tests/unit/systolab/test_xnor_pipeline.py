"""A binary LeNet-5 end to end on the XNOR-popcount accelerator: policy file bits through
fake quantization, capture, mapping and simulation, and the FPGA budget of the shipped config."""

from __future__ import annotations

from compiler.compression import compress
from compiler.frontend.pytorch import trace
from compiler.passes import compile_graph
from compiler.policy import Policy
from hwsim import load_arch
from hwsim.resources import fpga_resources
from systolab.pipeline import simulate_graph
from systolab.zoo import get_model

MIDDLE = ("conv2", "fc1", "fc2")


def simulated(layers: dict, arch_name: str):
    model, x = get_model("lenet5")
    policy = Policy.from_dict({"default": {"w_bits": 8, "a_bits": 8}, "layers": layers})
    graph = compile_graph(trace(compress(model, x, policy), x))
    return graph, simulate_graph(graph, load_arch(arch_name), name="lenet5", trace=False).stats


def test_binary_layers_run_in_one_bit_plane_pair_on_the_xnor_array() -> None:
    graph, binary = simulated({n: {"w_bits": 1, "a_bits": 1} for n in MIDDLE}, "xnor_zynq7020")
    assert {op.name: (op.precision.w_bits, op.precision.a_bits) for op in graph.compute_ops()} == {
        "conv1": (8, 8), "conv2": (1, 1), "fc1": (1, 1), "fc2": (1, 1), "fc3": (8, 8)}
    _, eight = simulated({}, "xnor_zynq7020")
    assert binary.total.macs == eight.total.macs
    by_name = {layer.name: layer for layer in binary.layers}
    base = {layer.name: layer for layer in eight.layers}
    for name in MIDDLE:  # 64 bit-plane pairs at 8x8 bits, one at 1x1 (plus fill and drain)
        assert by_name[name].energy.mac_pj * 64 == base[name].energy.mac_pj
        assert by_name[name].array_bound_cycles * 4 < base[name].array_bound_cycles
    assert binary.cycles < eight.cycles and binary.total.energy_pj < eight.total.energy_pj


def test_ternary_weights_take_two_bits_and_the_shipped_config_fits_its_board() -> None:
    graph, _ = simulated({n: {"ternary": True} for n in MIDDLE}, "xnor_zynq7020")
    assert [op.precision.w_bits for op in graph.compute_ops()] == [8, 2, 2, 2, 8]
    report = fpga_resources(load_arch("xnor_zynq7020"))
    assert report.fits and report.kernel == "xnor_unit"
    assert report.used.lut == 64 * 523 and report.used.dsp == 0  # 32-lane units, no DSPs
