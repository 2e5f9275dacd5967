"""MobileNetV2.

Sandler, Howard, Zhu, Zhmoginov, Chen, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018, Table 2: a 3x3/2 stem convolution with 32 channels, seventeen inverted
residual blocks in seven groups (expansion t, output channels c, repeats n, first stride s),
a 1x1 convolution to 1280 channels, global average pooling and a classifier. Every block
expands with a 1x1 convolution (skipped when t = 1), filters with a 3x3 depthwise convolution
and projects back with a linear 1x1 convolution (no activation: the "linear bottleneck"); the
shortcut is an add when stride is 1 and the channel count is unchanged. Activations are ReLU6.

Module names: ``features.0.0`` (stem conv), ``features.{i}.conv.{j}`` inside block ``i``,
``features.18.0`` (last 1x1 conv), ``classifier.1`` (the fully connected layer, after dropout).
"""

from __future__ import annotations

import torch
from torch import nn

from hwsim.fields import shown

__all__ = ["InvertedResidual", "MobileNetV2", "mobilenet_v2"]

# (expansion t, output channels c, repeats n, stride of the first repeat s): Sandler et al.,
# Table 2.
INVERTED_RESIDUAL_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
# Scaled channel counts are rounded to multiples of 8, as the authors' TensorFlow reference
# code does (tensorflow/models, research/slim/nets/mobilenet); at width 1.0 nothing changes.
CHANNEL_DIVISOR = 8


def make_divisible(channels: float, divisor: int = CHANNEL_DIVISOR) -> int:
    """Round ``channels`` to the nearest multiple of ``divisor``, losing at most 10 %."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded


def conv_bn_relu6(
    in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    """``Conv2d -> BatchNorm2d -> ReLU6`` with "same" padding, as ``.0``, ``.1``, ``.2``."""
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel,
            stride=stride,
            padding=kernel // 2,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=False),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear project (1x1), Sandler et al. Table 1."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu6(in_channels, hidden, 1))
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 for 224x224 inputs; ``width_mult`` scales every layer but the last 1x1."""

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_mult: float = 1.0,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive, not {shown(width_mult)}")
        channels = make_divisible(STEM_CHANNELS * width_mult)
        # Section 6.1: a width multiplier below 1 is applied to every layer but the last conv.
        last = make_divisible(LAST_CHANNELS * max(1.0, width_mult))

        features: list[nn.Module] = [conv_bn_relu6(in_channels, channels, 3, stride=2)]
        for expansion, c, repeats, first_stride in INVERTED_RESIDUAL_SETTINGS:
            out = make_divisible(c * width_mult)
            for r in range(repeats):
                stride = first_stride if r == 0 else 1
                features.append(InvertedResidual(channels, out, stride, expansion))
                channels = out
        features.append(conv_bn_relu6(channels, last, 1))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        # Dropout 0.2 is not in the paper's tables; it is what public training recipes use.
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # fan_in, not the usual fan_out: torch counts a depthwise filter's fan_out as
                # 9 x channels instead of 9, which with untrained (identity) eval-mode batch
                # norm shrinks activations to ~1e-9 by the classifier.
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def mobilenet_v2(*, num_classes: int = 1000, width_mult: float = 1.0) -> MobileNetV2:
    """MobileNetV2 (Sandler et al., CVPR 2018): 3,504,872 parameters at width 1.0, 1000 classes."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult)
