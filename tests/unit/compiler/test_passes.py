"""Passes: each contract holds, verify() runs after each, failures name the pass."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compiler.errors import PassError
from compiler.frontend.pytorch import trace
from compiler.ir import Gemm, Graph, OpKind, Sparsity
from compiler.passes import (
    PIPELINE,
    compile_graph,
    compiler_pass,
    fold_batchnorm,
    fuse_activations,
    lower_to_gemm,
    propagate_channel_pruning,
    remove_noops,
    run_passes,
)
from compiler.policy import Policy, apply_policy
from systolab.zoo import get_model


@pytest.fixture(scope="module")
def mobilenet() -> Graph:
    return trace(*get_model("mobilenet_v2"))


def test_every_pass_states_a_contract() -> None:
    for p in PIPELINE:
        assert p.contract, p.name


def test_pipeline_leaves_only_unfusable_vector_ops(mobilenet: Graph) -> None:
    g = compile_graph(mobilenet)
    kinds = {op.kind for op in g.ops()}
    assert OpKind.BATCHNORM not in kinds and OpKind.IDENTITY not in kinds
    assert OpKind.ACTIVATION not in kinds  # MobileNetV2's ReLU6 always follow a conv
    assert all(g.has_record(op.name, Gemm) for op in g.compute_ops())


def test_passes_do_not_mutate_their_input(mobilenet: Graph) -> None:
    before = [op for op in mobilenet.ops()]
    compile_graph(mobilenet)
    assert [op for op in mobilenet.ops()] == before


def test_fold_and_fuse_record_what_they_absorbed() -> None:
    g = run_passes(trace(*get_model("resnet18")), [remove_noops, fold_batchnorm, fuse_activations])
    assert g.op("conv1").fused == ("batchnorm", "relu")
    assert g.op("layer1.0.conv2").fused == ("batchnorm",)  # its ReLU comes after the add
    assert g.op("conv1").has_bias


def test_noop_removal_drops_dropout() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(), nn.Linear(4, 2)).eval()
    g = run_passes(trace(model, torch.randn(1, 4)), [remove_noops])
    assert [op.kind for op in g.ops()] == [OpKind.INPUT, OpKind.LINEAR, OpKind.LINEAR,
                                           OpKind.OUTPUT]


def test_depthwise_groups_follow_pruning(mobilenet: Graph) -> None:
    # features.2.conv.0.0 expands 16 -> 96; the depthwise conv after it must follow to 48.
    policy = Policy.from_dict({"layers": {"features.2.conv.0.0": {"keep": 0.5}}})
    g = compile_graph(apply_policy(mobilenet, policy))
    dw = g.op("features.2.conv.1.0")
    assert dw.kind is OpKind.DEPTHWISE_CONV2D and dw.attrs["groups"] == 48
    assert g.record("features.2.conv.1.0", Gemm) == Gemm(M=56 * 56, N=1, K=9, groups=48)
    assert g.record("features.2.conv.2", Gemm).K == 48


def test_pruning_blocked_by_a_residual_add_is_noted() -> None:
    graph = trace(*get_model("resnet18"))
    policy = Policy.from_dict({"layers": {"layer1.0.conv2": {"keep": 0.5}}})
    g = compile_graph(apply_policy(graph, policy))
    assert g.op("layer1.0.conv2").output.shape[1] == 64  # the add needs all 64 channels
    assert g.record("layer1.0.conv2", Gemm).N == 32  # but pruned filters are not computed
    assert any("layer1.0.conv2 not propagated past add 'layer1.0.add'" in n for n in g.notes)


def test_a_block_after_a_pruned_pair_keeps_the_upstream_layers_saving() -> None:
    """layer1.0.conv1 narrows its output and conv2 absorbs it in K; conv2's own pruning is
    blocked by the residual add, which must not freeze conv1 too (it did: conv2 kept K=576)."""
    policy = Policy.from_dict({"layers": {"layer1.0.conv1": {"keep": 0.5},
                                          "layer1.0.conv2": {"keep": 0.5}}})
    graph = compile_graph(apply_policy(trace(*get_model("resnet18")), policy))
    assert graph.record("layer1.0.conv2", Gemm).K == 32 * 9
    assert graph.record("layer1.0.conv2", Gemm).N == 32  # pruned filters are not computed
    assert graph.op("layer1.0.conv1").output.shape[1] == 32
    assert graph.op("layer1.0.conv2").output.shape[1] == 64  # kept for the residual add
    assert any(n.startswith("channel pruning of layer1.0.conv2 not propagated") for n in graph.notes)
    assert not any("layer1.0.conv1" in n for n in graph.notes)


def test_flatten_then_linear_shrinks_k() -> None:
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))
    g = trace(model.eval(), torch.randn(1, 1, 6, 6))
    g.replace_op(g.op("0").replace(sparsity=Sparsity(0.5, 4, "channel")))
    out = run_passes(g, [propagate_channel_pruning, lower_to_gemm])
    assert out.record("3", Gemm) == Gemm(M=1, N=3, K=4 * 16)


def test_a_failing_pass_is_named() -> None:
    @compiler_pass()
    def break_shapes(graph: Graph) -> Graph:
        """Ensures: nothing good."""
        out = graph.copy()
        op = out.op("fc")
        out.replace_op(op.replace(inputs=(op.inputs[0].__class__((1, 3)),)))
        return out

    model = nn.Sequential()
    model.add_module("fc", nn.Linear(4, 2))
    g = trace(model.eval(), torch.randn(1, 4))
    with pytest.raises(PassError, match=r"pass break_shapes left the IR invalid: op 'fc' input 0"):
        run_passes(g, [break_shapes])


def test_pass_without_contract_is_rejected() -> None:
    with pytest.raises(TypeError, match="needs a docstring"):
        compiler_pass()(lambda g: g)
