"""ResNet-18 and ResNet-50, ImageNet form; ResNet-8, the CIFAR form, for MNIST.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1:
a 7x7/2 stem convolution, a 3x3/2 max pool, four stages of residual blocks (64, 128, 256, 512
base channels; every stage after the first halves the resolution in its first block), global
average pooling and a 1000-way fully connected layer. ResNet-18 stacks [2, 2, 2, 2] basic
blocks (two 3x3 convolutions); ResNet-50 stacks [3, 4, 6, 3] bottleneck blocks (1x1 reduce,
3x3, 1x1 expand by 4). Shortcuts that change shape are 1x1 strided projections with batch
norm (option B of Section 3.3).

Module names follow the convention users' policy files rely on: ``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer1.0.bn1``, ``layer2.0.downsample.0``, ..., ``fc``.

Bottleneck stride placement: the paper strides the first 1x1 convolution of a down-sampling
bottleneck; most public implementations ("ResNet v1.5") stride the 3x3 instead, which costs
more MACs (about 4.1 G instead of 3.8 G for ResNet-50) for the same parameters. The default
here is v1.5, the form whose layer shapes users usually meet; ``stride_in_1x1=True`` gives
the paper's placement.

The CIFAR form (He et al., Section 4.2) has ``6n + 2`` layers: a 3x3 stem convolution of 16
filters, three stages of ``n`` basic blocks with 16, 32 and 64 filters (stages 2 and 3 halve the
resolution), global average pooling and a fully connected layer. ``mnist_resnet8`` is ``n = 1``
on one-channel 28x28 images, with option-B projection shortcuts like the ImageNet form: ten
compute layers with batch norm, for compression searches that need a deeper network than
LeNet-5 and still train in a minute on CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwsim.fields import shown

__all__ = ["CifarResNet", "ResNet", "ResidualBlock", "mnist_resnet8", "resnet18", "resnet50"]

# Output channels of a bottleneck block are this multiple of its 3x3 width (He et al., Fig. 5).
BOTTLENECK_EXPANSION = 4


class ResidualBlock(nn.Module):
    """A basic (two 3x3) or bottleneck (1x1, 3x3, 1x1) residual block, He et al. Fig. 5.

    The body is ``conv{i} -> bn{i} -> relu{i}`` for each convolution ``i``, except that the
    last ``relu`` comes after the residual add. ``downsample`` (a strided 1x1 convolution and
    batch norm) projects the shortcut when the shape changes.
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int,
        *,
        bottleneck: bool,
        stride_in_1x1: bool = False,
    ) -> None:
        super().__init__()
        # (kernel, out_channels, stride) of each body convolution.
        specs: list[tuple[int, int, int]]
        if bottleneck:
            s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
            specs = [(1, width, s1), (3, width, s3), (1, width * BOTTLENECK_EXPANSION, 1)]
        else:
            specs = [(3, width, stride), (3, width, 1)]
        self.num_convs = len(specs)
        self.out_channels = specs[-1][1]

        channels = in_channels
        for i, (kernel, out, conv_stride) in enumerate(specs, start=1):
            self.add_module(
                f"conv{i}",
                nn.Conv2d(
                    channels, out, kernel, stride=conv_stride, padding=kernel // 2, bias=False
                ),
            )
            self.add_module(f"bn{i}", nn.BatchNorm2d(out))
            self.add_module(f"relu{i}", nn.ReLU(inplace=False))
            channels = out

        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != self.out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, self.out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(self.out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = x
        for i in range(1, self.num_convs + 1):
            out = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(out))
            if i < self.num_convs:
                out = getattr(self, f"relu{i}")(out)
        out = out + identity
        return getattr(self, f"relu{self.num_convs}")(out)


def _add_stages(net: nn.Module, channels: int, widths: Sequence[int], blocks: Sequence[int], *,
                bottleneck: bool, stride_in_1x1: bool = False) -> int:
    """Add ``layer1``, ``layer2``, ... to ``net``: stage ``i`` has ``blocks[i]`` residual blocks
    of ``widths[i]``, every stage after the first halving the resolution in its first block.
    Returns the channels the last stage puts out."""
    for stage, (width, count) in enumerate(zip(widths, blocks, strict=True), start=1):
        stage_blocks: list[nn.Module] = []
        for b in range(count):
            stride = 2 if stage > 1 and b == 0 else 1
            block = ResidualBlock(channels, width, stride, bottleneck=bottleneck,
                                  stride_in_1x1=stride_in_1x1)
            stage_blocks.append(block)
            channels = block.out_channels
        net.add_module(f"layer{stage}", nn.Sequential(*stage_blocks))
    return channels


def _init_convs(net: nn.Module) -> None:
    """He et al., "Delving Deep into Rectifiers", ICCV 2015: the init ResNet uses."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class ResNet(nn.Module):
    """ImageNet ResNet; ``blocks_per_stage`` picks the depth (He et al., Table 1)."""

    # Registered in __init__'s loop; declared here for type checkers.
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential

    def __init__(
        self,
        blocks_per_stage: Sequence[int],
        *,
        bottleneck: bool,
        num_classes: int = 1000,
        in_channels: int = 3,
        stride_in_1x1: bool = False,
    ) -> None:
        super().__init__()
        if len(blocks_per_stage) != 4 or any(n < 1 for n in blocks_per_stage):
            raise ValueError(
                f"blocks_per_stage must be four positive integers, not {shown(list(blocks_per_stage))}"
            )
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=False)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)

        # Stage widths 64, 128, 256, 512; stages 2-4 halve the resolution in their first block.
        channels = _add_stages(self, 64, (64, 128, 256, 512), blocks_per_stage,
                               bottleneck=bottleneck, stride_in_1x1=stride_in_1x1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        _init_convs(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(*, num_classes: int = 1000) -> ResNet:
    """ResNet-18 (He et al., CVPR 2016, Table 1): 11,689,512 parameters with 1000 classes."""
    return ResNet([2, 2, 2, 2], bottleneck=False, num_classes=num_classes)


def resnet50(*, num_classes: int = 1000, stride_in_1x1: bool = False) -> ResNet:
    """ResNet-50 (He et al., CVPR 2016, Table 1): 25,557,032 parameters with 1000 classes.

    ``stride_in_1x1`` selects the paper's stride placement instead of v1.5 (module docstring).
    """
    return ResNet(
        [3, 4, 6, 3],
        bottleneck=True,
        num_classes=num_classes,
        stride_in_1x1=stride_in_1x1,
    )


class CifarResNet(nn.Module):
    """The CIFAR-form ResNet (He et al., Section 4.2) with ``blocks`` basic blocks per stage."""

    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential

    def __init__(self, blocks: int, *, in_channels: int = 3, num_classes: int = 10,
                 widths: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
            raise ValueError(f"blocks must be a positive integer, not {shown(blocks)}")
        if len(widths) != 3 or any(w < 1 for w in widths):
            raise ValueError(f"widths must be three positive integers, not {shown(list(widths))}")
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=False)
        channels = _add_stages(self, widths[0], widths, [blocks] * len(widths), bottleneck=False)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        _init_convs(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def mnist_resnet8(*, num_classes: int = 10) -> CifarResNet:
    """ResNet-8 (He et al., Section 4.2, ``n = 1``) for one-channel 28x28 images: 78,042
    parameters, 9,345,536 MACs (stem 112,896; stages 3,612,672, 2,809,856, 2,809,856; fc 640)."""
    return CifarResNet(1, in_channels=1, num_classes=num_classes)
