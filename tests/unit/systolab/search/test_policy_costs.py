"""CostModel: equal, to the last bit, to the full compile-map-simulate path, and cached.

The law checked: for any policy P, ``CostModel(g, arch).evaluate(P)`` equals the totals of
``simulate_graph(compile_graph(apply_policy(g, P)), arch)`` (cycles, seconds, energy, MACs) and
the program's stored weight bits, with no tolerance.
"""

from __future__ import annotations

import json
import math
import random
import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import systolab.search.costs as costs_module
from compiler.errors import MappingError, PolicyError
from compiler.frontend.pytorch import trace
from compiler.ir import Graph, Op
from compiler.passes import compile_graph
from compiler.policy import LayerPolicy, Policy, apply_policy
from hwsim.config import Arch, load_arch
from hwsim.errors import ProgramError
from systolab.commands.costs_cmd import costs, parse_bits
from systolab.pipeline import simulate_graph
from systolab.search.costs import Cost, CostModel, TableWorkers
from systolab.zoo import get_model, mobilenet_v2, resnet18


@cache
def graph_of(name: str) -> Graph:
    """Traced, uncompiled graphs; ResNet-18 and MobileNetV2 at 32x32 keep simulation short."""
    if name == "resnet18_32":
        return trace(resnet18(num_classes=10).eval(), torch.zeros(1, 3, 32, 32))
    if name == "mobilenet_v2_32":
        return trace(mobilenet_v2(num_classes=10).eval(), torch.zeros(1, 3, 32, 32))
    return trace(*get_model(name))


@cache
def arch_of(name: str) -> Arch:
    return load_arch(name)


def full_path(graph: Graph, arch: Arch, policy: Policy, objective: str = "latency") -> Cost:
    sim = simulate_graph(compile_graph(apply_policy(graph, policy)), arch, objective=objective)
    total = sim.stats.total
    weight_bits = sum(layer.weight_bits for layer in sim.mapped.program.layers)
    return Cost(total.cycles, total.seconds, total.energy_pj, weight_bits, total.macs)


def policies(names: list[str], prunable: list[bool], seed: int) -> list[Policy]:
    rng = random.Random(seed)
    mixed = [Policy(LayerPolicy(8, 8), {n: LayerPolicy(rng.randint(2, 8), rng.randint(2, 8),
                                                      rng.choice([None, 0.3, 0.5, 0.8, 1.0])
                                                      if ok else None)
                                        for n, ok in zip(names, prunable, strict=True)})
             for _ in range(2)]
    return [
        Policy(),  # the model's own bits
        Policy(LayerPolicy(4, 6)),  # uniform, bits only
        Policy(LayerPolicy(8, 8), {names[0]: LayerPolicy(keep=0.5)}),  # pruning only
        Policy(LayerPolicy(3, 5), {n: LayerPolicy(keep=0.6) for n, ok in zip(names, prunable,
                                                                            strict=True) if ok}),
        *mixed,
    ]


@pytest.mark.parametrize("model", ["digits_cnn", "lenet5", "resnet18_32"])
@pytest.mark.parametrize("arch_name", ["edge_int8", "stripes"])
def test_evaluate_equals_full_path(model: str, arch_name: str) -> None:
    graph, arch = graph_of(model), arch_of(arch_name)
    cost_model = CostModel(graph, arch)
    names = [layer.name for layer in cost_model.layers]
    prunable = [layer.prunable for layer in cost_model.layers]
    for policy in policies(names, prunable, seed=len(model)):
        assert cost_model.evaluate(policy) == full_path(graph, arch, policy), policy
    # Repeated and in another order, from the caches: still exact.
    for policy in reversed(policies(names, prunable, seed=len(model))):
        assert cost_model.evaluate(policy) == full_path(graph, arch, policy), policy


@pytest.mark.parametrize("objective", ["energy", "edp"])
def test_evaluate_equals_full_path_for_every_objective(objective: str) -> None:
    """A cost model built for a mapping objective answers as the pipeline mapped for it; a
    forced dataflow is the arch restricted to it."""
    graph, arch = graph_of("lenet5"), arch_of("stripes")
    cost_model = CostModel(graph, arch, objective=objective)
    names = [layer.name for layer in cost_model.layers]
    prunable = [layer.prunable for layer in cost_model.layers]
    for policy in policies(names, prunable, seed=3):
        assert cost_model.evaluate(policy) == full_path(graph, arch, policy, objective), policy
    forced = CostModel(graph, arch, dataflow="os")
    assert forced.arch == arch.with_dataflow("os")
    assert forced.evaluate(Policy()) == full_path(graph, arch.with_dataflow("os"), Policy())


def test_evaluate_equals_full_path_depthwise_and_compiled_input() -> None:
    """MobileNetV2 (depthwise convs, residual adds that block pruning), and a CostModel built
    from an already compiled graph answers as one built from the traced graph."""
    graph, arch = graph_of("mobilenet_v2_32"), arch_of("edge_int8")
    cost_model = CostModel(compile_graph(graph), arch)
    names = [layer.name for layer in cost_model.layers]
    # Pruning the stem narrows the depthwise conv after it (its groups follow).
    policy = Policy(LayerPolicy(6, 8), {names[0]: LayerPolicy(keep=0.5),
                                        names[1]: LayerPolicy(3, 5),
                                        names[2]: LayerPolicy(4, 4, keep=0.75),
                                        names[-1]: LayerPolicy(8, 8)})
    assert cost_model.layers[1].depthwise
    assert cost_model.evaluate(policy) == full_path(graph, arch, policy)


def test_bits_and_pruning_lower_costs() -> None:
    cost_model = CostModel(graph_of("lenet5"), arch_of("stripes"))
    base = cost_model.baseline(8)
    low = cost_model.baseline(4)
    pruned = cost_model.evaluate(Policy(LayerPolicy(8, 8), {"conv2": LayerPolicy(keep=0.5)}))
    assert base == cost_model.evaluate(Policy(LayerPolicy(8, 8)))
    assert low.weight_bits * 2 == base.weight_bits
    assert low.cycles < base.cycles  # Stripes: activation-serial, cycles scale with a_bits
    assert low.energy_pj < base.energy_pj
    assert pruned.macs < base.macs and pruned.weight_bits < base.weight_bits


def test_warm_evaluations_do_not_simulate(monkeypatch: pytest.MonkeyPatch) -> None:
    cost_model = CostModel(graph_of("digits_cnn"), arch_of("edge_int8"))
    policy = Policy(LayerPolicy(5, 7), {"conv1": LayerPolicy(keep=0.5), "fc1": LayerPolicy(3, 4)})
    first = cost_model.evaluate(policy)

    def no_simulation(*args: object, **kwargs: object) -> None:
        raise AssertionError("a warm evaluation must not simulate")

    monkeypatch.setattr(costs_module, "simulate_layer", no_simulation)
    monkeypatch.setattr(costs_module, "map_op", no_simulation)
    assert cost_model.evaluate(policy) == first
    # Same bits on the same shapes, named through default instead of per layer: still cached.
    same = Policy(LayerPolicy(5, 7), {"conv1": LayerPolicy(keep=0.5), "fc1": LayerPolicy(3, 4),
                                      "fc2": LayerPolicy(5, 7)})
    assert cost_model.evaluate(same) == first


def test_a_miss_maps_only_the_layers_it_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other weight bits on the last layer change its program and nothing else's (the widths
    stored between layers stay): it alone is mapped again, and the total is the full
    path's."""
    graph, arch = graph_of("digits_cnn"), arch_of("edge_int8")
    cost_model = CostModel(graph, arch)
    cost_model.evaluate(Policy(LayerPolicy(8, 8)))
    mapped: list[str] = []
    map_op = costs_module.map_op

    def recording(graph: object, op: Op, *args: object, **kwargs: object) -> object:
        mapped.append(op.name)
        return map_op(graph, op, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(costs_module, "map_op", recording)
    policy = Policy(LayerPolicy(8, 8), {"fc2": LayerPolicy(4, 8)})
    assert cost_model.evaluate(policy) == full_path(graph, arch, policy)
    assert mapped == ["fc2"]


def test_a_model_without_work_is_a_mapping_error() -> None:
    graph = trace(torch.nn.Sequential(torch.nn.Flatten()), torch.randn(1, 4, 2, 2))
    with pytest.raises(MappingError, match="model 'flat' has no op that does work"):
        CostModel(graph, arch_of("edge_int8"), name="flat").evaluate(Policy())


def test_unknown_layer_is_a_policy_error() -> None:
    cost_model = CostModel(graph_of("digits_cnn"), arch_of("edge_int8"))
    with pytest.raises(PolicyError, match=r"layer 'conv3', which the model does not have "
                                          r"\(did you mean 'conv2', 'conv1'\?\); "
                                          r"compute layers: conv1, conv2, fc1, fc2"):
        cost_model.evaluate(Policy(layers={"conv3": LayerPolicy(4, 4)}))


def test_layer_info_are_haq_features() -> None:
    layers = CostModel(graph_of("lenet5"), arch_of("edge_int8")).layers
    conv1, conv2, fc1 = layers[0], layers[1], layers[2]
    assert [layer.name for layer in layers] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert (conv1.in_channels, conv1.out_channels, conv1.kernel, conv1.stride,
            conv1.feature_size) == (1, 6, (5, 5), 1, 28)
    assert conv1.macs == 6 * 28 * 28 * 25 and conv1.gemm.K == 25  # C1 on the padded 32x32 input
    assert (conv2.in_channels, conv2.out_channels, conv2.feature_size) == (6, 16, 14)
    assert (fc1.kind, fc1.in_channels, fc1.out_channels, fc1.kernel) == ("linear", 400, 120, (1, 1))
    assert fc1.params == 400 * 120 + 120
    assert [layer.index for layer in layers] == list(range(5))


def test_table_matches_per_layer_simulation() -> None:
    graph, arch = graph_of("digits_cnn"), arch_of("stripes")
    table = CostModel(graph, arch).table(bits=[2, 4, 8])
    assert table.array.shape == (4, 8, 8, 2)
    assert np.isnan(table.array[:, 2, :, :]).all()  # w_bits 3 was not asked for
    sim = simulate_graph(compile_graph(apply_policy(graph, Policy(LayerPolicy(4, 2)))), arch)
    for info in table.layers:
        stats = sim.stats.layer(info.name)
        assert tuple(table.array[info.index, 3, 1]) == pytest.approx(
            (stats.cycles, stats.energy_pj), rel=1e-12)
    data = json.loads(json.dumps(table.to_dict()))
    assert data["bits"] == [2, 4, 8]
    assert data["layers"][1]["costs"]["w4a2"]["cycles"] == sim.stats.layer("conv2").cycles
    assert set(data["layers"][1]["costs"]) == {f"w{w}a{a}" for w in (2, 4, 8) for a in (2, 4, 8)}


def test_table_over_worker_processes_is_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairs computed in a spawned worker land in the parent's caches with the same numbers;
    pairs the PE cannot run stay NaN wherever they ran; progress counts every pair once."""
    graph, arch = graph_of("digits_cnn"), arch_of("xnor_zynq7020")  # (no 9-bit operands)
    bits = [1, 8, 9]
    serial = CostModel(graph, arch).table(bits)
    monkeypatch.setattr(costs_module, "SPREAD_S", 0.0)  # (a table this small stays here)
    here: list[tuple[int, int]] = []
    fill = CostModel._fill_uniform

    def slowly(self: CostModel, structure: object, pair: tuple[int, int]) -> bool:
        here.append(pair)  # (slowed, so that the worker, once started, takes some pairs)
        time.sleep(0.2)
        return fill(self, structure, pair)  # type: ignore[arg-type]

    monkeypatch.setattr(CostModel, "_fill_uniform", slowly)
    seen: list[tuple[int, int]] = []
    spread = CostModel(graph, arch)
    table = spread.table(bits, on_progress=lambda done, n: seen.append((done, n)), workers=2)
    monkeypatch.setattr(CostModel, "_fill_uniform", fill)
    assert 0 < len(here) < 9
    assert np.array_equal(table.array, serial.array, equal_nan=True)
    runs = np.isfinite(table.array[:, :, :, 0]).all(axis=0)
    assert [tuple(x + 1) for x in np.argwhere(runs)] == [(1, 1), (1, 8), (8, 1), (8, 8)]
    assert seen == [(done, 9) for done in range(1, 10)]
    # workers started ahead serve any number of tables
    with TableWorkers(1) as helpers:
        for _ in range(2):
            again = CostModel(graph, arch).table(bits, workers=helpers)
            assert np.array_equal(again.array, serial.array, equal_nan=True)
    # every runnable pair landed in the caches, with what the full path reports
    expected = full_path(graph, arch, Policy(LayerPolicy(1, 8)))

    def no_simulation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the table left a pair's layer unsimulated")

    monkeypatch.setattr(costs_module, "simulate_layer", no_simulation)
    assert spread.evaluate(Policy(LayerPolicy(1, 8))) == expected

    with pytest.raises(ProgramError, match="workers must be a positive integer or TableWorkers, "
                                           "not 0"):
        spread.table(bits, workers=0)
    with pytest.raises(ProgramError, match="processes must be a positive integer, not True"):
        TableWorkers(True)


def test_costs_cli_writes_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(costs, ["digits_cnn", "--arch", "stripes", "--bits", "4-6,8",
                                        "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    array = np.load(tmp_path / "digits_cnn_stripes_costs.npy")
    data = json.loads((tmp_path / "digits_cnn_stripes_costs.json").read_text())
    assert array.shape == (4, 8, 8, 2) and data["bits"] == [4, 5, 6, 8]
    assert np.isfinite(array[:, 3:6, 3:6]).all() and np.isnan(array[:, 6]).all()
    assert "4 compute layers" in result.output and "uniform 8-bit" in result.output


def test_costs_cli_refuses_no_workers(tmp_path: Path) -> None:
    result = CliRunner().invoke(costs, ["digits_cnn", "--workers", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--workers" in result.output and "0" in result.output


def test_parse_bits() -> None:
    assert parse_bits("2-8") == (2, 3, 4, 5, 6, 7, 8)
    assert parse_bits("2,4, 8") == (2, 4, 8)
    with pytest.raises(Exception, match="bits must look like 2-8 or 2,4,8, not 'x'"):
        parse_bits("x")
    with pytest.raises(Exception, match="ranges go up, not '8-2'"):
        parse_bits("8-2")


def test_model_size_counts_parameters_not_attention_activations() -> None:
    """A matmul's second operand (attention's K or V) is an activation: ViT's size is its
    layers' weights, not weights plus K/V (which made size budgets about 15% off)."""
    graph = trace(*get_model("vit_small"))
    costs = CostModel(graph, "edge_int8")
    weights = sum(math.prod(op.weight.shape) for op in compile_graph(graph).compute_ops()
                  if op.weight is not None)
    assert costs.baseline(8).weight_bits == 8 * weights
    assert costs.baseline(4).weight_bits == 4 * weights
