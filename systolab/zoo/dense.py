"""Models beyond classification CNNs: a small U-Net for segmentation and a 1-D keyword spotter.

- ``unet_small``: the U-Net shape (Ronneberger, Fischer, Brox, "U-Net: Convolutional Networks
  for Biomedical Image Segmentation", MICCAI 2015, Fig. 1) at a small width: two 3x3 conv +
  ReLU per level, 2x2 max pooling down, channels 16-32-64; up the first level with a 2x2
  transposed convolution of stride 2 (the paper's "up-convolution"), the second with bilinear
  upsampling and a 1x1 convolution (the common lighter variant); the skip connection is a
  channel concatenation; a 1x1 convolution gives 2 classes per pixel of a 64x64 image.
- ``kws_tcn``: keyword spotting on 40 MFCCs x 98 frames (1 s of audio at a 10 ms hop, as
  for Google Speech Commands, Warden 2018; 12 classes), with 1-D temporal convolutions over
  the MFCCs as channels, after TC-ResNet8 (Choi et al., "Temporal Convolution for Real-time
  Keyword Spotting on Mobile Devices", Interspeech 2019) without its residual branches: a 3-tap
  convolution to 16 channels, three stages of a stride-2 and a stride-1 9-tap convolution
  (24, 32, 48 channels), each with batch norm and ReLU, global average pooling, a linear layer.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["KwsTcn", "UNetSmall", "kws_tcn", "unet_small"]


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())


class UNetSmall(nn.Module):
    """See the module doc: a three-level U-Net for ``classes`` per pixel."""

    def __init__(self, in_channels: int = 1, classes: int = 2, width: int = 16) -> None:
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        self.down1, self.down2 = _double_conv(in_channels, w1), _double_conv(w1, w2)
        self.pool = nn.MaxPool2d(2)
        self.bottom = _double_conv(w2, w3)
        self.up2 = nn.ConvTranspose2d(w3, w2, 2, stride=2)
        self.dec2 = _double_conv(2 * w2, w2)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"),
                                 nn.Conv2d(w2, w1, 1))
        self.dec1 = _double_conv(2 * w1, w1)
        self.head = nn.Conv2d(w1, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip1 = self.down1(x)
        skip2 = self.down2(self.pool(skip1))
        bottom = self.bottom(self.pool(skip2))
        d2 = self.dec2(torch.cat([skip2, self.up2(bottom)], dim=1))
        d1 = self.dec1(torch.cat([skip1, self.up1(d2)], dim=1))
        return self.head(d1)


def _conv1d_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, kernel, stride=stride, padding=kernel // 2,
                                   bias=False),
                         nn.BatchNorm1d(cout), nn.ReLU())


class KwsTcn(nn.Module):
    """See the module doc: 1-D temporal convolutions over MFCC channels."""

    def __init__(self, mfcc: int = 40, classes: int = 12,
                 widths: tuple[int, ...] = (24, 32, 48)) -> None:
        super().__init__()
        layers = [_conv1d_bn(mfcc, 16, 3)]
        cin = 16
        for width in widths:
            layers += [_conv1d_bn(cin, width, 9, stride=2), _conv1d_bn(width, width, 9)]
            cin = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def unet_small(classes: int = 2) -> UNetSmall:
    return UNetSmall(classes=classes)


def kws_tcn(classes: int = 12) -> KwsTcn:
    return KwsTcn(classes=classes)
