"""Laws over whole networks, on every shipped accelerator.

Each test states its law; the models are small enough (LeNet-5, the digits CNN, a small ViT)
that the whole matrix runs in seconds, and ResNet-18 checks the channel-pruning law at scale.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest

from compiler.frontend.pytorch import trace
from compiler.ir import Graph
from compiler.passes import compile_graph
from compiler.policy import Policy
from hwsim import load_arch, shipped_configs
from hwsim.config import Arch
from systolab.pipeline import Simulation, simulate_graph
from systolab.zoo import get_model

ARCHS = shipped_configs()
MODELS = ["lenet5", "digits_cnn", "vit_small"]


POLICIES = {
    "low": Policy.from_dict({"default": {"w_bits": 4, "a_bits": 4}}),
    "pruned": Policy.from_dict({"layers": {
        f"layer{s}.{b}.conv1": {"keep": 0.5} for s in range(1, 5) for b in range(2)}}),
}


@cache
def _graph(model: str, policy: str | None = None) -> Graph:
    return compile_graph(trace(*get_model(model), policy=POLICIES[policy] if policy else None))


def _sim(model: str, arch: Arch | str, policy: str | None = None) -> Simulation:
    return simulate_graph(_graph(model, policy), arch, name=model)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("model", MODELS)
def test_roofline_macs_and_traffic(model: str, arch: str) -> None:
    """cycles >= roofline bound; MACs executed == the model's MACs; every layer reads at least
    its unique input and weight bits and writes at least its output bits."""
    sim = _sim(model, arch)
    total = sim.stats.total
    assert total.cycles >= total.roofline_cycles
    assert total.macs == sim.graph.total_macs
    layers = {layer.name: layer for layer in sim.mapped.program.layers}
    for s in sim.stats.layers:
        layer = layers[s.name]
        assert s.dram_read_bits >= layer.input_bits + layer.weight_bits
        assert s.dram_write_bits >= layer.output_bits


@pytest.mark.parametrize("arch", ARCHS)
def test_more_bandwidth_is_never_slower(arch: str) -> None:
    """Doubling DRAM bandwidth never increases any layer's cycles."""
    base = load_arch(arch)
    fast = replace(base, dram=replace(base.dram, bw_gbps=2 * base.dram.bw_gbps))
    slow_sim, fast_sim = _sim("vit_small", base), _sim("vit_small", fast)
    for s, f in zip(slow_sim.stats.layers, fast_sim.stats.layers, strict=True):
        assert f.cycles <= s.cycles, s.name


@pytest.mark.parametrize("arch", ["stripes", "loom", "bitfusion_eyeriss"])
def test_fewer_bits_are_faster_on_precision_scalable_pes(arch: str) -> None:
    """4-bit operands take fewer cycles than 8-bit ones on bit-serial and BitFusion arrays."""
    assert _sim("lenet5", arch, "low").stats.cycles < _sim("lenet5", arch).stats.cycles


@pytest.mark.parametrize("arch", ["edge_int8", "cloud_tpu_int8"])
def test_fewer_bits_never_change_int_compute(arch: str) -> None:
    """On a bit-parallel int array lower precision saves traffic and energy, never array time:
    each compute layer's busy cycles are unchanged and no layer gets slower."""
    full, low = _sim("lenet5", arch), _sim("lenet5", arch, "low")
    compute = {p.op.name for p in full.mapped.plans if p.mapping is not None}
    for f, q in zip(full.stats.layers, low.stats.layers, strict=True):
        if f.name in compute:
            assert q.busy_cycles == f.busy_cycles, f.name
        assert q.cycles <= f.cycles, f.name
    assert low.stats.total.energy_pj < full.stats.total.energy_pj


@pytest.mark.parametrize("arch", ARCHS)
def test_channel_pruning_is_faster_everywhere(arch: str) -> None:
    """Removing half the output channels of every block's first conv (and so half the
    reduction of the conv after it) makes ResNet-18 faster on every shipped accelerator."""
    assert _sim("resnet18", arch, "pruned").stats.cycles < _sim("resnet18", arch).stats.cycles
