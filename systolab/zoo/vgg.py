"""VGG-16 (configuration D).

Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015, Table 1, column D: thirteen 3x3 convolutions (stride 1, padding 1, ReLU) in five
groups of 64, 128, 256, 512, 512 channels, each group ended by a 2x2/2 max pool; then three
fully connected layers of 4096, 4096 and 1000 units, the first two followed by ReLU and dropout
0.5 (Section 3.1). An adaptive 7x7 average pool before the classifier keeps the 25,088 inputs of
the first fully connected layer for any input resolution (at 224x224 it is the identity).

Module names: ``features.{i}`` in the order conv, relu, ..., pool (convs at 0, 2, 5, 7, ...);
``classifier.0``, ``classifier.3``, ``classifier.6`` are the fully connected layers.
"""

from __future__ import annotations

import torch
from torch import nn

from hwsim.fields import shown

__all__ = ["VGG", "VGG16_CONFIG", "vgg16"]

# Output channels of each 3x3 convolution, "M" for a 2x2/2 max pool: Table 1, column D.
VGG16_CONFIG: tuple[int | str, ...] = (
    64, 64, "M",
    128, 128, "M",
    256, 256, 256, "M",
    512, 512, 512, "M",
    512, 512, 512, "M",
)  # fmt: skip
POOLED_SIZE = 7  # spatial size of the last feature map at 224x224 input
FC_UNITS = 4096


class VGG(nn.Module):
    """A plain VGG network built from a configuration list like :data:`VGG16_CONFIG`."""

    def __init__(
        self,
        config: tuple[int | str, ...],
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(2, stride=2))
            elif isinstance(item, int):
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
                channels = item
            else:
                raise ValueError(f"VGG config entries must be an int or 'M', not {shown(item)}")
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(POOLED_SIZE)
        self.classifier = nn.Sequential(
            nn.Linear(channels * POOLED_SIZE * POOLED_SIZE, FC_UNITS),
            nn.ReLU(inplace=False),
            nn.Dropout(dropout),
            nn.Linear(FC_UNITS, FC_UNITS),
            nn.ReLU(inplace=False),
            nn.Dropout(dropout),
            nn.Linear(FC_UNITS, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                # Section 3.1: zero-mean normal weights, zero biases (std 0.01, the usual
                # reading of the paper's "10^-2").
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def vgg16(*, num_classes: int = 1000) -> VGG:
    """VGG-16 (Simonyan and Zisserman, ICLR 2015, config D): 138,357,544 parameters."""
    return VGG(VGG16_CONFIG, num_classes=num_classes)
