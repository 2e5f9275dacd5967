"""systolab's model zoo: reference networks defined here, with seeded random weights.

Every model is an entry in :data:`MODELS`, a :class:`ModelSpec` naming its factory, the shape
of one input sample and the paper it follows. :func:`get_model` builds one in eval mode with
reproducible weights, together with an example input for the front end to trace. Nothing is
downloaded: weights are random (seeded), which is what latency and energy simulation needs;
accuracy work trains the small models (``lenet5``, ``lenet_300_100``, ``digits_cnn``,
``mnist_resnet8``) itself.

Factory keywords (``num_classes``, ``width_mult``, ...) never change the input shape, so the
example input always fits; build the model classes directly for other input sizes.

Example:
    >>> from systolab.zoo import get_model
    >>> model, x = get_model("resnet18", batch=2)
    >>> tuple(x.shape), tuple(model(x).shape)
    ((2, 3, 224, 224), (2, 1000))
    >>> get_model("vit")
    Traceback (most recent call last):
    ...
    compiler.errors.UnknownNameError: model name must be one of resnet18, resnet50, \
mobilenet_v2, vgg16, vit_small, vit_tiny, lenet5, lenet_300_100, digits_cnn, mnist_resnet8, \
unet_small, kws_tcn, not 'vit' \
(did you mean 'vit_tiny', 'vit_small'?)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from compiler.errors import UnknownNameError, closest
from hwsim.fields import shown

from .dense import kws_tcn, unet_small
from .mobilenet import mobilenet_v2
from .resnet import mnist_resnet8, resnet18, resnet50
from .small import digits_cnn, lenet5, lenet_300_100
from .vgg import vgg16
from .vit import vit_small, vit_tiny

__all__ = [
    "MODELS",
    "ModelSpec",
    "digits_cnn",
    "get_model",
    "kws_tcn",
    "lenet5",
    "lenet_300_100",
    "list_models",
    "mnist_resnet8",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "unet_small",
    "vgg16",
    "vit_small",
    "vit_tiny",
]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One zoo entry.

    ``input_shape`` is the shape of one input sample, ``(channels, height, width)`` for an
    image, ``(channels, length)`` for a sequence; the batch dimension is added by
    :func:`get_model`.
    """

    name: str
    factory: Callable[..., nn.Module]
    input_shape: tuple[int, ...]
    description: str
    citation: str


_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "resnet18",
        resnet18,
        (3, 224, 224),
        "ResNet-18, basic blocks, ImageNet (11.7 M parameters)",
        "He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
    ),
    ModelSpec(
        "resnet50",
        resnet50,
        (3, 224, 224),
        "ResNet-50 v1.5, bottleneck blocks, ImageNet (25.6 M parameters)",
        "He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
    ),
    ModelSpec(
        "mobilenet_v2",
        mobilenet_v2,
        (3, 224, 224),
        "MobileNetV2 width 1.0, depthwise inverted residuals, ImageNet (3.5 M parameters)",
        "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018",
    ),
    ModelSpec(
        "vgg16",
        vgg16,
        (3, 224, 224),
        "VGG-16 (config D), no batch norm, ImageNet (138.4 M parameters)",
        "Simonyan and Zisserman, Very Deep Convolutional Networks for Large-Scale Image "
        "Recognition, ICLR 2015",
    ),
    ModelSpec(
        "vit_small",
        vit_small,
        (3, 32, 32),
        "small ViT for 32x32 images: patch 4, width 128, 4 blocks, 4 heads, 10 classes",
        "Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021",
    ),
    ModelSpec(
        "vit_tiny",
        vit_tiny,
        (3, 224, 224),
        "ViT-Ti/16 (DeiT-Tiny architecture), ImageNet (5.7 M parameters)",
        "Touvron et al., Training data-efficient image transformers & distillation through "
        "attention, ICML 2021",
    ),
    ModelSpec(
        "lenet5",
        lenet5,
        (1, 28, 28),
        "LeNet-5 with batch norm for 28x28 MNIST, 10 classes",
        "LeCun et al., Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998",
    ),
    ModelSpec(
        "lenet_300_100",
        lenet_300_100,
        (1, 28, 28),
        "LeNet-300-100: 784-300-100-10 fully connected with ReLU for flattened 28x28 MNIST",
        "LeCun et al., Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998, "
        "Section III.C",
    ),
    ModelSpec(
        "digits_cnn",
        digits_cnn,
        (1, 8, 8),
        "two-convolution CNN with batch norm for scikit-learn's 8x8 digits, 10 classes",
        "Alpaydin and Kaynak, Optical Recognition of Handwritten Digits (UCI), 1998",
    ),
    ModelSpec(
        "mnist_resnet8",
        mnist_resnet8,
        (1, 28, 28),
        "ResNet-8 in the CIFAR form (16-32-64 filters, batch norm) for 28x28 MNIST, 10 classes",
        "He et al., Deep Residual Learning for Image Recognition, CVPR 2016, Section 4.2",
    ),
)

_SPECS += (
    ModelSpec(
        "unet_small",
        unet_small,
        (1, 64, 64),
        "small U-Net (16-32-64 channels; transposed-conv and bilinear up paths), 64x64, "
        "2 classes per pixel",
        "Ronneberger et al., U-Net: Convolutional Networks for Biomedical Image Segmentation, "
        "MICCAI 2015",
    ),
    ModelSpec(
        "kws_tcn",
        kws_tcn,
        (40, 98),
        "1-D temporal-convolution keyword spotter on 40 MFCCs x 98 frames, 12 classes",
        "Choi et al., Temporal Convolution for Real-time Keyword Spotting on Mobile Devices, "
        "Interspeech 2019",
    ),
)

MODELS: Mapping[str, ModelSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})


def list_models() -> list[str]:
    """Names of the zoo's models, in registry order."""
    return list(MODELS)


def _lookup(name: str) -> ModelSpec:
    spec = MODELS.get(name)
    if spec is None:
        # Lower-cased for the suggestion only: "VGG16" hints at 'vgg16' but is not accepted.
        hint = closest(name.lower(), MODELS)
        raise UnknownNameError(f"model name must be one of {', '.join(MODELS)}, not {shown(name)}{hint}")
    return spec


def get_model(
    name: str, *, batch: int = 1, seed: int = 0, **kwargs: Any
) -> tuple[nn.Module, torch.Tensor]:
    """Build zoo model ``name`` in eval mode and an example input of ``batch`` samples (one
    random sample, repeated as a view: it takes the memory of one sample).

    Weights and input are drawn from ``seed``, so two calls give identical tensors; the global
    torch RNG is left as it was. ``kwargs`` go to the factory (e.g. ``num_classes=10``).
    """
    spec = _lookup(name)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive integer, not {shown(batch)}")
    # fork_rng restores the global RNG afterwards; module initializers draw from it.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = spec.factory(**kwargs)
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    # One sample, repeated without copying: capture needs the shape only, and a batch of a
    # million ResNet inputs costs no memory this way.
    example = torch.randn((1, *spec.input_shape), generator=generator)
    return model, example.expand(batch, *spec.input_shape)
