"""Pruning: criteria (L1 vs FPGM), masks, and physical channel removal with tied channels.

The removal tests use *dead* channels: their filters and batch-norm affine terms are zero, so
they output exact zeros and the least-important criterion picks them. Removing them must then
leave the model's output unchanged, which checks every consumer's slicing, not just shapes.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compiler.compression import (
    channel_groups,
    filter_importance,
    kept_channels,
    prune_filters,
    prune_unstructured,
    remove_channels,
)
from compiler.errors import PolicyError
from compiler.frontend.pytorch import trace
from systolab.zoo import get_model


def _kill(model: nn.Module, layers: list[str], norms: list[str], channels: torch.Tensor) -> None:
    """Make ``channels`` of ``layers`` (filters) and ``norms`` (affine terms) output zeros."""
    with torch.no_grad():
        for name in layers:
            model.get_submodule(name).weight[channels] = 0.0
        for name in norms:
            bn = model.get_submodule(name)
            bn.weight[channels] = 0.0
            bn.bias[channels] = 0.0


def _dead(n: int, of: int, seed: int = 0) -> torch.Tensor:
    return torch.randperm(of, generator=torch.Generator().manual_seed(seed))[:n].sort().values


def test_fpgm_and_l1_pick_different_filters() -> None:
    # Three large, nearly equal filters and one small, distinct one.
    conv = nn.Conv2d(2, 4, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[3.0, 0.0], [2.9, 0.1], [3.1, -0.1], [0.5, 0.0]])
                          .reshape(4, 2, 1, 1))
    assert filter_importance(conv.weight, "l1").argmin() == 3
    assert filter_importance(conv.weight, "fpgm").argmin() == 0  # the cluster's median
    by_l1 = prune_filters(_copy(conv), 0.75, criterion="l1")
    by_fpgm = prune_filters(_copy(conv), 0.75, criterion="fpgm")
    assert by_l1.weight_mask[:, 0, 0, 0].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert by_fpgm.weight_mask[:, 0, 0, 0].tolist() == [0.0, 1.0, 1.0, 1.0]


def _copy(conv: nn.Conv2d) -> nn.Conv2d:
    new = nn.Conv2d(conv.in_channels, conv.out_channels, 1, bias=False)
    new.load_state_dict(conv.state_dict())
    return new


def test_masks_are_read_by_the_front_end() -> None:
    model, x = get_model("digits_cnn")
    prune_unstructured(model.conv2, 0.25)
    prune_filters(model.fc1, 0.5, criterion="fpgm")
    g = trace(model, x)
    assert g.op("conv2").sparsity.pattern == "unstructured"
    assert g.op("conv2").sparsity.density == pytest.approx(0.25, abs=1e-3)
    assert g.op("fc1").sparsity.kept_out_channels == 32


def test_kept_channels_rounds_to_the_array_multiple() -> None:
    assert kept_channels(64, 0.5) == 32
    assert kept_channels(64, 0.3, multiple=16) == 16
    assert kept_channels(64, 0.01, multiple=16) == 16  # never below one multiple
    assert kept_channels(10, 0.9, multiple=16) == 10  # never above the layer
    with pytest.raises(PolicyError, match="channel_multiple must be a positive integer, not 0"):
        kept_channels(64, 0.5, multiple=0)
    with pytest.raises(PolicyError, match="prune criterion must be one of l1, l2, fpgm, not 'l3'"):
        filter_importance(torch.ones(2, 2), "l3")


def test_removal_before_a_flatten_and_linear_keeps_the_output() -> None:
    model, _ = get_model("digits_cnn")
    x = torch.randn(4, 1, 8, 8)
    dead = _dead(16, 32)
    _kill(model, ["conv2"], ["bn2"], dead)
    expected = model(x)
    (group,) = remove_channels(model, x, {"conv2": 0.5})
    assert set(group.kept).isdisjoint(dead.tolist())
    assert (model.conv2.out_channels, model.bn2.num_features) == (16, 16)
    assert (model.fc1.in_features, model.fc1.weight.shape[1]) == (256, 256)  # 16 channels x 4x4
    torch.testing.assert_close(model(x), expected)


def test_resnet_residual_ties_prune_consistently() -> None:
    model, _ = get_model("resnet18")
    x = torch.randn(1, 3, 32, 32)
    tied = ["conv1", "layer1.0.conv2", "layer1.1.conv2"]  # their outputs meet at layer1's adds
    norms = ["bn1", "layer1.0.bn2", "layer1.1.bn2"]
    groups = {g.producers: g for g in channel_groups(model, x)}
    assert tuple(tied) in groups and not groups[tuple(tied)].blockers
    dead = _dead(32, 64)
    _kill(model, tied, norms, dead)
    expected = model(x)
    before = {name: model.get_submodule(name).weight.detach().clone()
              for name in [*tied, "layer2.0.downsample.0"]}
    (group,) = remove_channels(model, x, {"layer1.0.conv2": 0.5})
    kept = torch.tensor(group.kept)
    assert set(group.members) == set(tied) and len(kept) == 32
    assert set(group.kept).isdisjoint(dead.tolist())
    for name in tied:  # same filters kept by every tied producer
        torch.testing.assert_close(model.get_submodule(name).weight, before[name][kept])
    for name in norms:
        assert model.get_submodule(name).num_features == 32
    for name in ["layer1.0.conv1", "layer1.1.conv1", "layer2.0.conv1", "layer2.0.downsample.0"]:
        assert model.get_submodule(name).in_channels == 32, name
    torch.testing.assert_close(model.layer2[0].downsample[0].weight,
                               before["layer2.0.downsample.0"][:, kept])
    torch.testing.assert_close(model(x), expected)


def test_mobilenet_depthwise_shrinks_with_the_expand_conv() -> None:
    model, _ = get_model("mobilenet_v2")
    x = torch.randn(1, 3, 32, 32)
    hidden = model.features[2].conv[0][0].out_channels  # 96
    dead = _dead(hidden // 2, hidden)
    _kill(model, ["features.2.conv.0.0", "features.2.conv.1.0"],
          ["features.2.conv.0.1", "features.2.conv.1.1"], dead)
    expected = model(x)
    remove_channels(model, x, {"features.2.conv.0.0": 0.5})
    dw = model.features[2].conv[1][0]
    assert (dw.in_channels, dw.out_channels, dw.groups) == (48, 48, 48)
    assert tuple(dw.weight.shape) == (48, 1, 3, 3)
    assert model.features[2].conv[1][1].num_features == 48
    assert model.features[2].conv[2].in_channels == 48
    torch.testing.assert_close(model(x), expected)
    g = trace(model, x)
    assert g.op("features.2.conv.1.0").attrs["groups"] == 48


def test_naming_the_depthwise_conv_prunes_its_group() -> None:
    model, _ = get_model("mobilenet_v2")
    x = torch.randn(1, 3, 32, 32)
    (group,) = remove_channels(model, x, {"features.3.conv.1.0": 0.25}, multiple=8)
    assert group.members == ("features.3.conv.0.0", "features.3.conv.1.0")
    assert model.features[3].conv[0][0].out_channels == 40  # 36 of 144, to the nearest 8
    assert model(x).shape == (1, 1000)


def test_channels_that_reach_the_output_cannot_be_removed() -> None:
    model, x = get_model("digits_cnn")
    with pytest.raises(PolicyError, match=r"layers\.fc2\.keep: output channels of 'fc2' cannot be "
                                          r"removed: they reach the model output"):
        remove_channels(model, x, {"fc2": 0.5})
    with pytest.raises(PolicyError, match=r"'conv3' is not a conv or linear layer of the model "
                                          r"\(did you mean 'conv2', 'conv1'\?\)"):
        remove_channels(model, x, {"conv3": 0.5})


def test_already_quantized_layers_are_refused() -> None:
    from compiler.compression import quantize_layer

    model, x = get_model("digits_cnn")
    quantize_layer(model.conv1, w_bits=4)
    with pytest.raises(PolicyError, match="remove channels before quantizing"):
        remove_channels(model, x, {"conv1": 0.5})


def test_masked_layers_keep_their_masks_when_sliced() -> None:
    model, x = get_model("digits_cnn")
    prune_unstructured(model.conv2, 0.5)
    remove_channels(model, x, {"conv1": 0.5})
    assert model.conv2.weight_mask.shape == model.conv2.weight_orig.shape == (32, 8, 3, 3)
    assert model(x).shape == (1, 10)
