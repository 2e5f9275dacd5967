"""Quantization: error vs bits, MSE clipping, STE gradients, signedness, bits seen by fx/export."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from compiler.compression import (
    ActFakeQuant,
    LayerBits,
    WeightFakeQuant,
    mse_clip_ratio,
    nonnegative_inputs,
    quantize_layer,
    quantize_model,
)
from compiler.errors import PolicyError
from compiler.frontend.pytorch import trace
from systolab.zoo import get_model


def _heavy_tailed(*shape: int, seed: int = 0) -> torch.Tensor:
    """Laplace-like samples: the shape of trained weights and pre-activation values."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g) * torch.rand(*shape, generator=g).pow(2) * 3


def _weight_mse(layer: nn.Module, original: torch.Tensor) -> float:
    return float((layer.weight.detach() - original).pow(2).mean())


def _conv(seed: int = 0) -> nn.Conv2d:
    conv = nn.Conv2d(16, 32, 3)
    with torch.no_grad():
        conv.weight.copy_(_heavy_tailed(*conv.weight.shape, seed=seed))
    return conv


@pytest.mark.parametrize("clip", ["max", "mse"])
def test_weight_error_decreases_with_bits(clip: str) -> None:
    original = _conv().weight.detach().clone()
    errors = []
    for bits in (2, 3, 4, 6, 8, 16):
        layer = quantize_layer(_conv(), w_bits=bits, weight_clip=clip)
        errors.append(_weight_mse(layer, original))
    assert all(a > b for a, b in itertools.pairwise(errors)), errors
    assert errors[-1] < 1e-8


def test_activation_error_decreases_with_bits() -> None:
    x = _heavy_tailed(4096)
    errors = []
    for bits in (2, 3, 4, 8):
        quant = ActFakeQuant(bits, signed=True)
        quant.calibrate(x)
        errors.append(float((quant(x) - x).pow(2).mean()))
    assert all(a > b for a, b in itertools.pairwise(errors)), errors


@pytest.mark.parametrize("bits", [2, 3])
def test_mse_clipping_beats_max_abs_at_low_bits(bits: int) -> None:
    original = _conv().weight.detach().clone()
    by_max = _weight_mse(quantize_layer(_conv(), w_bits=bits, weight_clip="max"), original)
    by_mse = _weight_mse(quantize_layer(_conv(), w_bits=bits, weight_clip="mse"), original)
    assert by_mse < 0.8 * by_max
    x = _heavy_tailed(8192, seed=1)
    act_errors = {}
    for mse in (False, True):
        quant = ActFakeQuant(bits, signed=True)
        quant.calibrate(x, mse=mse)
        act_errors[mse] = float((quant(x) - x).pow(2).mean())
    assert act_errors[True] < 0.8 * act_errors[False]


def test_mse_clip_ratio_is_per_channel() -> None:
    w = _heavy_tailed(8, 1000)
    w[0] = torch.linspace(-1, 1, 1000)  # uniform: no tails worth clipping
    ratios = mse_clip_ratio(w, 3, signed=True, per_channel=True)
    assert ratios.shape == (8,)
    assert ratios[0] > 0.8 and ratios[0] > 1.2 * ratios[1:].max()


def test_per_channel_scales_beat_per_tensor_on_unequal_channels() -> None:
    def layer() -> nn.Linear:
        fc = nn.Linear(64, 4)
        with torch.no_grad():
            fc.weight.copy_(torch.randn(4, 64, generator=torch.Generator().manual_seed(0))
                            * torch.tensor([[10.0], [1.0], [0.1], [0.01]]))
        return fc

    original = layer().weight.detach().clone()
    per_channel = _weight_mse(quantize_layer(layer(), w_bits=4, per_channel=True), original)
    per_tensor = _weight_mse(quantize_layer(layer(), w_bits=4, per_channel=False), original)
    assert per_channel < per_tensor


def test_ste_gradient_reaches_the_float_weight() -> None:
    """Inside the range the STE passes dL/dW_q unchanged; outside the clip it is zero."""
    torch.manual_seed(0)
    fc = quantize_layer(nn.Linear(8, 3), w_bits=3, weight_clip="max")
    x = torch.randn(5, 8)
    fc(x).sum().backward()
    original = fc.parametrizations.weight.original
    assert original.grad is not None
    # d(sum(x @ W^T))/dW[o, i] = sum_n x[n, i] for every output o: nothing is clipped at max-abs.
    torch.testing.assert_close(original.grad, x.sum(0).expand(3, 8))

    fc = quantize_layer(nn.Linear(64, 2), w_bits=2, weight_clip="mse")
    fc(torch.ones(1, 64)).sum().backward()
    w = fc.parametrizations.weight.original
    quantizer = fc.parametrizations.weight[0]
    assert isinstance(quantizer, WeightFakeQuant) and bool((quantizer.clip_ratio < 1).all())
    assert w.grad is not None
    scale = w.detach().abs().amax(1, keepdim=True) * quantizer.clip_ratio[:, None] / 1
    outside = (w.detach() / scale).round() > 1  # beyond quant_max = 1 after rounding
    assert outside.any() and bool((w.grad[outside] == 0).all())
    assert bool((w.grad[~(w.detach() / scale).round().abs().gt(1)] == 1).all())


def test_ste_gradient_passes_activations_within_range() -> None:
    quant = ActFakeQuant(4, signed=False)
    quant.calibrate(torch.linspace(0, 1, 100), mse=False)
    x = torch.tensor([0.3, 0.7, 2.0], requires_grad=True)
    quant(x).sum().backward()
    assert x.grad is not None and x.grad.tolist() == [1.0, 1.0, 0.0]


def test_calibrated_clip_stays_fixed_while_fine_tuning() -> None:
    quant = ActFakeQuant(4).train()
    quant(torch.tensor([1.0, -1.0]))
    assert float(quant.clip) == 1.0  # observing: running max
    quant(torch.tensor([3.0]))
    assert float(quant.clip) == 3.0
    quant.calibrate(torch.tensor([0.5, -0.5]), mse=False)
    quant(torch.tensor([10.0]))
    assert float(quant.clip) == 0.5


def test_activations_after_relu_are_unsigned() -> None:
    model, x = get_model("digits_cnn")
    unsigned = nonnegative_inputs(trace(model, x))
    # conv1 reads the (signed) image; conv2 a ReLU; fc1 a ReLU through pooling and flatten.
    assert unsigned == {"conv2", "fc1", "fc2"}
    quantize_model(model, x, {name: LayerBits(4, 4) for name in ("conv1", "conv2", "fc1")})
    assert model.conv1.act_quant.signed
    assert not model.conv2.act_quant.signed and not model.fc1.act_quant.signed
    # Unsigned 4-bit codes: at most 16 levels, none negative.
    seen: list[torch.Tensor] = []
    model.conv2.register_forward_hook(lambda m, args, out: seen.append(m.act_quant(args[0])))
    model(torch.randn(8, 1, 8, 8))
    levels = seen[0].unique()
    assert len(levels) <= 16 and bool((levels >= 0).all())


def test_linear_bottleneck_input_stays_signed() -> None:
    model, _ = get_model("mobilenet_v2")
    unsigned = nonnegative_inputs(trace(model, torch.randn(1, 3, 32, 32)))
    assert "features.1.conv.1" in unsigned  # the project conv reads a ReLU6
    assert "features.2.conv.0.0" not in unsigned  # the expand conv reads a linear bottleneck
    assert "features.0.0" not in unsigned  # the stem reads the image


def test_bad_bits_name_the_layer() -> None:
    model, x = get_model("digits_cnn")
    with pytest.raises(PolicyError, match=r"layers\.conv2\.w_bits must be an integer from 1 to 16 "
                                          r"for fake quantization, not 0"):
        quantize_model(model, x, {"conv2": LayerBits(w_bits=0)})
    with pytest.raises(PolicyError, match=r"ternary weights take w_bits 2, not 4"):
        quantize_model(model, x, {"conv2": LayerBits(w_bits=4, ternary=True)})
    with pytest.raises(PolicyError, match=r"layer 'bn1': it must be a conv or linear layer, "
                                          r"not BatchNorm2d"):
        quantize_model(model, x, {"bn1": LayerBits(w_bits=4)})


def test_binary_and_ternary_weights_have_their_levels_and_pass_gradients() -> None:
    """XNOR-Net's binary weights (two values per channel, +-mean|w|), TWN's ternary ones
    (three, zero below 0.7 mean|w|); straight-through gradients inside [-1, 1]."""
    from compiler.compression.fakequant import quantize_layer

    torch.manual_seed(0)
    conv = quantize_layer(nn.Conv2d(3, 4, 3), w_bits=1)
    raw = conv.parametrizations.weight.original
    w = conv.weight
    for c in range(4):
        alpha = raw[c].abs().mean()
        assert torch.allclose(w[c].abs(), alpha.expand_as(w[c]))
        assert torch.equal(torch.sign(w[c]), torch.where(raw[c] >= 0, 1.0, -1.0))
    ternary = quantize_layer(nn.Conv2d(3, 4, 3), w_bits=2, ternary=True)
    raw, w = ternary.parametrizations.weight.original, ternary.weight
    for c in range(4):
        delta = 0.7 * raw[c].abs().mean()
        assert torch.equal(w[c] == 0, raw[c].abs() <= delta)
        assert w[c].abs().unique().numel() == 2  # 0 and alpha
    original = conv.parametrizations.weight.original
    with torch.no_grad():
        original[0, 0, 0, 0] = 3.0  # outside [-1, 1]: its gradient is cancelled
    conv.weight.sum().backward()
    assert torch.equal(original.grad, (original.abs() <= 1).float())


def test_one_bit_inputs_are_binary_when_signed_and_zero_or_s_after_relu() -> None:
    from compiler.compression.fakequant import quantize_layer

    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(1))
    signed = quantize_layer(nn.Linear(8, 2), a_bits=1, signed_input=True).act_quant
    signed.calibrate(x)
    assert signed.clip == pytest.approx(float(x.abs().mean()))
    assert set(signed(x).unique().tolist()) == {-float(signed.clip), float(signed.clip)}
    relu = quantize_layer(nn.Linear(8, 2), a_bits=1, signed_input=False).act_quant
    relu.calibrate(x.relu())
    assert set(relu(x.relu()).unique().tolist()) <= {0.0, float(relu.clip)}
