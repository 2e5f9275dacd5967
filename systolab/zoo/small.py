"""Small networks that train in seconds on CPU, for experiments that need real accuracy.

All are one :class:`SmallCNN` described by data: convolution stages ``conv{i} -> bn{i} ->
relu{i}`` (optionally ``-> pool{i}``, a 2x2/2 max pool), then ``flatten`` and fully connected
layers ``fc{j}`` with ``relu_fc{j}`` between them; with no stages it is a multi-layer
perceptron. Batch norm after every convolution makes BN folding and BN re-estimation after
pruning or quantization matter, as they do in large models.

- ``lenet5``: LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning Applied to Document
  Recognition", Proc. IEEE 1998, Section II.B: C1 6@5x5, S2, C3 16@5x5, S4, C5 120, F6 84,
  10 outputs. MNIST's 28x28 digits are padded by 2 to give the paper's 32x32 input to C1;
  subsampling is max pooling and C3 is fully connected to S2 (modern simplifications).
- ``lenet_300_100``: the two-hidden-layer fully connected network of the same paper (Section
  III.C, 784-300-100-10), with ReLU as in the model Han et al. prune ("Learning both Weights
  and Connections", NeurIPS 2015; "Deep Compression", ICLR 2016), on the 28x28 image
  flattened: 266,200 weights and 410 biases, 266,610 parameters, 266,200 MACs per image.
- ``digits_cnn``: for scikit-learn's 8x8 digits (the UCI "optdigits" test set, Alpaydin and
  Kaynak 1998): two 3x3 convolutions of 16 and 32 channels, one pool to 4x4, fc 64, 10 outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ConvStage", "SmallCNN", "digits_cnn", "lenet5", "lenet_300_100"]


@dataclass(frozen=True, slots=True)
class ConvStage:
    """One ``conv -> bn -> relu [-> 2x2 max pool]`` stage."""

    out_channels: int
    kernel: int
    padding: int
    pool: bool

    def out_size(self, size: int) -> int:
        """Spatial size after this stage for a ``size x size`` input (stride-1 conv)."""
        size = size + 2 * self.padding - self.kernel + 1
        return size // 2 if self.pool else size


class SmallCNN(nn.Module):
    """Convolution stages then a fully connected classifier; see the module docstring."""

    def __init__(
        self,
        *,
        in_channels: int,
        image_size: int,
        stages: Sequence[ConvStage],
        hidden_units: Sequence[int],
        num_classes: int,
    ) -> None:
        super().__init__()
        self.pool_after = tuple(stage.pool for stage in stages)
        channels, size = in_channels, image_size
        for i, stage in enumerate(stages, start=1):
            self.add_module(
                f"conv{i}",
                nn.Conv2d(
                    channels, stage.out_channels, stage.kernel, padding=stage.padding, bias=False
                ),
            )
            self.add_module(f"bn{i}", nn.BatchNorm2d(stage.out_channels))
            self.add_module(f"relu{i}", nn.ReLU(inplace=False))
            if stage.pool:
                self.add_module(f"pool{i}", nn.MaxPool2d(2, stride=2))
            channels, size = stage.out_channels, stage.out_size(size)
            if size < 1:
                raise ValueError(
                    f"image_size must leave a feature map after stage {i}, not {image_size}"
                )
        self.flatten = nn.Flatten()
        widths = [channels * size * size, *hidden_units, num_classes]
        self.num_fc = len(widths) - 1
        for j in range(1, self.num_fc + 1):
            self.add_module(f"fc{j}", nn.Linear(widths[j - 1], widths[j]))
            if j < self.num_fc:
                self.add_module(f"relu_fc{j}", nn.ReLU(inplace=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, pool in enumerate(self.pool_after, start=1):
            x = getattr(self, f"relu{i}")(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
            if pool:
                x = getattr(self, f"pool{i}")(x)
        x = self.flatten(x)
        for j in range(1, self.num_fc + 1):
            x = getattr(self, f"fc{j}")(x)
            if j < self.num_fc:
                x = getattr(self, f"relu_fc{j}")(x)
        return x


def lenet5(*, num_classes: int = 10) -> SmallCNN:
    """LeNet-5 (LeCun et al., 1998) with batch norm, for 28x28 MNIST images."""
    return SmallCNN(
        in_channels=1,
        image_size=28,
        stages=[ConvStage(6, 5, padding=2, pool=True), ConvStage(16, 5, padding=0, pool=True)],
        hidden_units=[120, 84],
        num_classes=num_classes,
    )


def lenet_300_100(*, num_classes: int = 10) -> SmallCNN:
    """LeNet-300-100 (LeCun et al., 1998): a 784-300-100 perceptron for 28x28 MNIST images."""
    return SmallCNN(in_channels=1, image_size=28, stages=[], hidden_units=[300, 100],
                    num_classes=num_classes)


def digits_cnn(*, num_classes: int = 10) -> SmallCNN:
    """A two-convolution CNN for scikit-learn's 8x8 digits."""
    return SmallCNN(
        in_channels=1,
        image_size=8,
        stages=[ConvStage(16, 3, padding=1, pool=False), ConvStage(32, 3, padding=1, pool=True)],
        hidden_units=[64],
        num_classes=num_classes,
    )
