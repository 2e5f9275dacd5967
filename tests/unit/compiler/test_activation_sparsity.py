"""Activation sparsity: measured per layer on data, carried in the IR, skipped only where the
arch skips zero activations (Cnvlutin), and said in the simulation's notes either way."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import replace

import pytest
import torch
from torch import nn

from compiler.compression.activations import measure_input_density, with_input_density
from compiler.errors import PolicyError
from compiler.frontend.pytorch import trace
from compiler.passes import compile_graph
from hwsim import load_arch
from hwsim.config import SparsityConfig
from hwsim.isa import Compute
from systolab.pipeline import simulate_graph
from systolab.zoo import get_model

DENSITY = {"conv2": 0.5, "fc1": 0.4, "fc2": 0.3, "fc3": 0.6}


def lenet_with_density() -> tuple:
    graph = compile_graph(trace(*get_model("lenet5")))
    return graph, with_input_density(graph, DENSITY)


def test_density_is_the_share_of_nonzero_inputs_each_layer_sees() -> None:
    net = nn.Sequential(OrderedDict(fc1=nn.Linear(4, 6), relu=nn.ReLU(), fc2=nn.Linear(6, 2)))
    x = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
    hidden = torch.relu(net.fc1(x))
    density = measure_input_density(net, x)
    assert density["fc1"] == 1.0
    assert density["fc2"] == pytest.approx(float((hidden != 0).float().mean()))
    assert net.training  # left as it was


def test_the_ir_carries_it_and_bad_densities_name_the_layer() -> None:
    graph, measured = lenet_with_density()
    got = {op.name: op.sparsity.input_density for op in measured.compute_ops()}
    assert got == {"conv1": 1.0, **DENSITY}
    assert all(op.sparsity.input_density == 1.0 for op in graph.compute_ops())  # a copy
    with pytest.raises(PolicyError, match=r"layer 'fc4', which the graph does not have as a "
                                          r"compute op \(did you mean 'fc3', 'fc2', 'fc1'"):
        with_input_density(graph, {"fc4": 0.5})
    with pytest.raises(PolicyError, match=r"input density of layer 'fc1' must be in \(0, 1\], "
                                          r"not 0"):
        with_input_density(graph, {"fc1": 0})


def test_zero_activations_are_skipped_only_where_the_arch_skips_them() -> None:
    graph, measured = lenet_with_density()
    dense_arch = simulate_graph(measured, "edge_int8", trace=False)
    assert dense_arch.stats.cycles == simulate_graph(graph, "edge_int8", trace=False).stats.cycles
    notes = {p.op.name: p.sparsity.note for p in dense_arch.mapped.plans if p.sparsity}
    assert notes["fc1"] == "input density 0.40 saves nothing: edge_int8 multiplies zero activations"
    skipping = simulate_graph(measured, "cnvlutin_int8", trace=False)
    baseline = simulate_graph(graph, "cnvlutin_int8", trace=False)
    assert skipping.stats.cycles < baseline.stats.cycles
    imbalance = load_arch("cnvlutin_int8").sparsity.imbalance
    for plan in skipping.mapped.plans:
        if plan.mapping is None:
            continue
        expected = min(1.0, DENSITY.get(plan.op.name, 1.0) * imbalance)
        assert plan.mapping.k_scale == pytest.approx(expected)
        if expected < 1:  # each reduction tile the array runs is its non-zero share
            layer = next(la for la in skipping.mapped.program.layers if la.name == plan.op.name)
            tiles = {ins.k for run in layer.runs for ins in run.body if isinstance(ins, Compute)}
            assert max(tiles) == max(1, math.ceil(plan.mapping.k_t * expected))
            assert "zero activations skipped" in plan.sparsity.note


def test_weight_and_activation_skipping_multiply() -> None:
    """SparTen-style: only pairs of a non-zero weight and a non-zero input run."""
    model, x = get_model("lenet5")
    with torch.no_grad():
        model.fc1.weight[:, ::2] = 0  # half the fc1 weights
    graph = with_input_density(compile_graph(trace(model, x)), {"fc1": 0.4})
    base = load_arch("sparse_int8")
    both = replace(base, sparsity=SparsityConfig("bitmap", True, 1.2, activation_skip=True))
    plan = simulate_graph(graph, both, trace=False).mapped.plan("fc1")
    assert plan.mapping is not None
    assert plan.mapping.k_scale == pytest.approx(0.5 * 0.4 * 1.2)
    assert "weights compressed, zeros skipped" in plan.sparsity.note
    assert "zero activations skipped" in plan.sparsity.note
