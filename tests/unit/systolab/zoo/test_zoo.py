"""The model zoo: published parameter counts, shapes, qualified names, fx traces, the registry."""

from __future__ import annotations

import doctest
import operator
from collections.abc import Callable
from typing import NamedTuple

import pytest
import torch
from torch import fx, nn

import systolab.zoo
from compiler.errors import UnknownNameError
from hwsim.errors import SystolabError
from systolab.zoo import MODELS, get_model, list_models
from systolab.zoo.resnet import resnet50


class Built(NamedTuple):
    model: nn.Module
    example: torch.Tensor
    output: torch.Tensor


@pytest.fixture(scope="module")
def zoo() -> Callable[[str], Built]:
    """Build each model and run its example input once per test module (VGG-16 takes seconds)."""
    cache: dict[str, Built] = {}

    def load(name: str) -> Built:
        if name not in cache:
            model, example = get_model(name)
            with torch.no_grad():
                cache[name] = Built(model, example, model(example))
        return cache[name]

    return load


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Exact parameter counts of the standard architectures with 1000 classes. The papers give only
# rounded figures (ResNet 11.7 M / 25.6 M, MobileNetV2 3.4 M, VGG-16 138 M, DeiT-Ti 5 M); the
# exact numbers are those of the reference implementations, listed in torchvision's model table
# (pytorch.org/vision/stable/models.html) and, for DeiT-Tiny, timm's deit_tiny_patch16_224.
PUBLISHED_PARAMS = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "mobilenet_v2": 3_504_872,
    "vgg16": 138_357_544,
    "vit_tiny": 5_717_416,
}


def vit_params(*, image: int, patch: int, dim: int, depth: int, mlp: int, classes: int) -> int:
    """Closed-form ViT parameter count (3 input channels), independent of the module code."""
    tokens = (image // patch) ** 2 + 1
    embed = 3 * patch * patch * dim + dim + dim + tokens * dim  # conv, cls token, positions
    attention = 4 * (dim * dim + dim)  # q, k, v, proj
    block = 2 * 2 * dim + attention + (dim * mlp + mlp) + (mlp * dim + dim)  # 2 LayerNorms
    return embed + depth * block + 2 * dim + dim * classes + classes


# Our own configurations, counted by hand (conv weights without bias, BN weight and bias):
#   lenet5: conv 1*6*25 + bn 12, conv 6*16*25 + bn 32, fc 400*120+120, 120*84+84, 84*10+10
#   lenet_300_100: fc 784*300+300, 300*100+100, 100*10+10 (266,610; Han et al., NeurIPS 2015,
#     Table 1 lists its 267K parameters)
#   digits_cnn: conv 1*16*9 + bn 32, conv 16*32*9 + bn 64, fc 512*64+64, 64*10+10
#   mnist_resnet8: stem 1*16*9 + 32; layer1 2 * (16*16*9 + 32); layer2 16*32*9 + 32*32*9
#     + 2 * 64 + projection 16*32 + 64; layer3 32*64*9 + 64*64*9 + 2 * 128 + 32*64 + 128;
#     fc 64*10 + 10
#   vit_small: the closed form above, which also reproduces the DeiT-Tiny figure.
#   unet_small (3x3 conv weights and biases per level; 2x2 transposed conv 64->32; 1x1 convs):
#     down 160 + 2_320, 4_640 + 9_248; bottom 18_496 + 36_928; up 8_224; dec 18_464 + 9_248;
#     up 1x1 528; dec 4_624 + 2_320; head 34
#   kws_tcn (1-D convs without bias, BN weight and bias): 40*16*3 + 32; 16*24*9 + 48,
#     24*24*9 + 48; 24*32*9 + 64, 32*32*9 + 64; 32*48*9 + 96, 48*48*9 + 96; fc 48*12 + 12
OWN_PARAMS = {
    "lenet5": 150 + 12 + 2_400 + 32 + 48_120 + 10_164 + 850,
    "lenet_300_100": 235_500 + 30_100 + 1_010,
    "digits_cnn": 144 + 32 + 4_608 + 64 + 32_832 + 650,
    "mnist_resnet8": 144 + 32 + 2 * (2_304 + 32) + 4_608 + 9_216 + 128 + 512 + 64 + 18_432
    + 36_864 + 256 + 2_048 + 128 + 650,
    "vit_small": vit_params(image=32, patch=4, dim=128, depth=4, mlp=256, classes=10),
    "unet_small": 160 + 2_320 + 4_640 + 9_248 + 18_496 + 36_928 + 8_224 + 18_464 + 9_248 + 528
    + 4_624 + 2_320 + 34,
    "kws_tcn": 1_920 + 32 + 3_456 + 48 + 5_184 + 48 + 6_912 + 64 + 9_216 + 64 + 13_824 + 96
    + 20_736 + 96 + 588,
}

OUTPUT_SHAPES = {name: (1, 10 if name in OWN_PARAMS else 1000) for name in MODELS}
OUTPUT_SHAPES["unet_small"] = (1, 2, 64, 64)  # two classes per pixel
OUTPUT_SHAPES["kws_tcn"] = (1, 12)  # Speech Commands' 12 classes


def test_every_model_has_a_pinned_parameter_count() -> None:
    assert set(PUBLISHED_PARAMS) | set(OWN_PARAMS) == set(list_models())


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_parameter_count_matches_published_figure(name: str, zoo: Callable[[str], Built]) -> None:
    assert num_params(zoo(name).model) == PUBLISHED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(OWN_PARAMS))
def test_parameter_count_matches_hand_count(name: str, zoo: Callable[[str], Built]) -> None:
    assert num_params(zoo(name).model) == OWN_PARAMS[name]


def test_vit_closed_form_reproduces_deit_tiny() -> None:
    deit_tiny = vit_params(image=224, patch=16, dim=192, depth=12, mlp=768, classes=1000)
    assert deit_tiny == PUBLISHED_PARAMS["vit_tiny"]


@pytest.mark.parametrize("name", list_models())
def test_forward_on_example_input(name: str, zoo: Callable[[str], Built]) -> None:
    built = zoo(name)
    assert not built.model.training
    assert tuple(built.example.shape) == (1, *MODELS[name].input_shape)
    assert tuple(built.output.shape) == OUTPUT_SHAPES[name]
    # Untrained eval-mode nets can vanish or blow up; a simulator quantizing them needs neither.
    assert torch.isfinite(built.output).all()
    assert 1e-3 < built.output.std().item() < 1e3


@pytest.mark.parametrize(
    ("name", "modules"),
    [
        (
            "resnet18",
            {
                "conv1": nn.Conv2d,
                "bn1": nn.BatchNorm2d,
                "layer1.0.conv1": nn.Conv2d,
                "layer1.0.bn1": nn.BatchNorm2d,
                "layer2.0.downsample.0": nn.Conv2d,
                "layer2.0.downsample.1": nn.BatchNorm2d,
                "layer4.1.conv2": nn.Conv2d,
                "fc": nn.Linear,
            },
        ),
        (
            "resnet50",
            {
                "layer1.0.conv3": nn.Conv2d,
                "layer1.0.downsample.0": nn.Conv2d,
                "layer3.5.bn3": nn.BatchNorm2d,
                "fc": nn.Linear,
            },
        ),
        (
            "mobilenet_v2",
            {
                "features.0.0": nn.Conv2d,
                "features.0.2": nn.ReLU6,
                "features.1.conv.0.0": nn.Conv2d,
                "features.2.conv.3": nn.BatchNorm2d,
                "features.18.0": nn.Conv2d,
                "classifier.1": nn.Linear,
            },
        ),
        (
            "vgg16",
            {
                "features.0": nn.Conv2d,
                "features.28": nn.Conv2d,
                "features.30": nn.MaxPool2d,
                "classifier.0": nn.Linear,
                "classifier.6": nn.Linear,
            },
        ),
        (
            "vit_tiny",
            {
                "patch_embed.proj": nn.Conv2d,
                "blocks.0.attn.q": nn.Linear,
                "blocks.11.mlp.fc2": nn.Linear,
                "norm": nn.LayerNorm,
                "head": nn.Linear,
            },
        ),
        ("lenet5", {"conv1": nn.Conv2d, "bn2": nn.BatchNorm2d, "fc3": nn.Linear}),
        ("lenet_300_100", {"flatten": nn.Flatten, "fc1": nn.Linear, "relu_fc2": nn.ReLU,
                           "fc3": nn.Linear}),
        ("digits_cnn", {"conv2": nn.Conv2d, "bn2": nn.BatchNorm2d, "fc2": nn.Linear}),
    ],
)
def test_qualified_names_follow_the_familiar_convention(
    name: str, modules: dict[str, type[nn.Module]], zoo: Callable[[str], Built]
) -> None:
    named = dict(zoo(name).model.named_modules())
    for qualified, kind in modules.items():
        assert isinstance(named.get(qualified), kind), qualified


def test_mobilenet_blocks_are_depthwise(zoo: Callable[[str], Built]) -> None:
    named = dict(zoo("mobilenet_v2").model.named_modules())
    first, expanded = named["features.1.conv.0.0"], named["features.2.conv.1.0"]
    assert isinstance(first, nn.Conv2d) and isinstance(expanded, nn.Conv2d)
    assert first.groups == first.in_channels == 32
    assert expanded.groups == expanded.in_channels == 16 * 6


def test_resnet50_stride_placement() -> None:
    v15, paper = resnet50(), resnet50(stride_in_1x1=True)
    assert v15.layer2[0].conv2.stride == (2, 2) and v15.layer2[0].conv1.stride == (1, 1)
    assert paper.layer2[0].conv1.stride == (2, 2) and paper.layer2[0].conv2.stride == (1, 1)
    assert num_params(paper) == num_params(v15)


def count_calls(graph: fx.Graph, *targets: object) -> int:
    return sum(1 for node in graph.nodes if node.op == "call_function" and node.target in targets)


# Residual adds each model's fx graph must expose: one per residual block (ResNet-18: 8 basic
# blocks; ResNet-50: 16 bottlenecks; ResNet-8: 3 basic blocks; MobileNetV2: the stride-1,
# same-width repeats 1+2+3+2+2; ViT: two per encoder block).
RESIDUAL_ADDS = {"resnet18": 8, "resnet50": 16, "mnist_resnet8": 3, "mobilenet_v2": 10,
                 "vit_small": 8, "vit_tiny": 24}


@pytest.mark.parametrize("name", list_models())
def test_fx_trace_matches_eager(name: str, zoo: Callable[[str], Built]) -> None:
    built = zoo(name)
    traced = fx.symbolic_trace(built.model)
    with torch.no_grad():
        torch.testing.assert_close(traced(built.example), built.output)
    adds = count_calls(traced.graph, operator.add, torch.add)
    # ViT also adds the position embedding once.
    expected = RESIDUAL_ADDS.get(name, 0) + (1 if name.startswith("vit") else 0)
    assert adds == expected


@pytest.mark.parametrize(("name", "depth"), [("vit_small", 4), ("vit_tiny", 12)])
def test_vit_attention_exposes_matmuls_and_softmax(
    name: str, depth: int, zoo: Callable[[str], Built]
) -> None:
    graph = fx.symbolic_trace(zoo(name).model).graph
    assert count_calls(graph, torch.matmul, operator.matmul) == 2 * depth
    assert count_calls(graph, torch.softmax) == depth


def test_weights_and_input_are_reproducible_and_leave_global_rng_alone() -> None:
    rng_before = torch.random.get_rng_state()
    (a, xa), (b, xb) = get_model("lenet5"), get_model("lenet5")
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert torch.equal(xa, xb)
    for (key, wa), wb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(wa, wb), key
    c, _ = get_model("lenet5", seed=1)
    assert not torch.equal(a.state_dict()["conv1.weight"], c.state_dict()["conv1.weight"])


def test_batch_and_factory_keywords() -> None:
    model, x = get_model("digits_cnn", batch=3, num_classes=4)
    assert tuple(x.shape) == (3, 1, 8, 8)
    with torch.no_grad():
        assert tuple(model(x).shape) == (3, 4)


@pytest.mark.parametrize("batch", [0, -2, 1.5, True])
def test_bad_batch_is_rejected(batch: object) -> None:
    with pytest.raises(ValueError, match=r"^batch must be a positive integer, not "):
        get_model("lenet5", batch=batch)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("resnet-18", r"\(did you mean 'resnet18', 'resnet50', 'mnist_resnet8'\?\)$"),
        ("ResNet50", r"\(did you mean 'resnet50', 'resnet18', 'lenet5'\?\)$"),
        ("vit", r"\(did you mean 'vit_tiny', 'vit_small'\?\)$"),
        ("mobilenetv2", r"\(did you mean 'mobilenet_v2', 'lenet5', 'mnist_resnet8'\?\)$"),
        ("VGG16", r"\(did you mean 'vgg16'\?\)$"),
        ("vgg19", r"\(did you mean 'vgg16'\?\)$"),
    ],
)
def test_unknown_name_lists_zoo_and_close_names(name: str, suggestion: str) -> None:
    zoo_list = ("resnet18, resnet50, mobilenet_v2, vgg16, vit_small, vit_tiny, lenet5, lenet_300_100, "
                "digits_cnn, mnist_resnet8, unet_small, kws_tcn")
    with pytest.raises(UnknownNameError, match=f"^model name must be one of {zoo_list}, not "):
        get_model(name)
    with pytest.raises(UnknownNameError, match=suggestion):
        get_model(name)


def test_unknown_name_without_close_match_suggests_nothing() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_model("transformer_xl")
    assert str(info.value).endswith("not 'transformer_xl'")
    assert isinstance(info.value, SystolabError) and isinstance(info.value, KeyError)


def test_docstring_example_runs() -> None:
    result = doctest.testmod(systolab.zoo, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_mnist_resnet8_has_the_hand_counted_macs() -> None:
    from compiler.frontend.pytorch import trace
    from compiler.passes import compile_graph

    def conv(pixels: int, cin: int, cout: int, taps: int) -> int:
        return pixels * cin * cout * taps

    hand = (conv(28 * 28, 1, 16, 9) + 2 * conv(28 * 28, 16, 16, 9)  # stem, layer1
            + conv(14 * 14, 16, 32, 9) + conv(14 * 14, 32, 32, 9) + conv(14 * 14, 16, 32, 1)
            + conv(7 * 7, 32, 64, 9) + conv(7 * 7, 64, 64, 9) + conv(7 * 7, 32, 64, 1)
            + 64 * 10)
    graph = compile_graph(trace(*get_model("mnist_resnet8")))
    assert hand == 9_345_920 and graph.total_macs == hand
    assert len(graph.compute_ops()) == 10


def test_lenet_300_100_has_the_hand_counted_macs() -> None:
    from compiler.frontend.pytorch import trace
    from compiler.passes import compile_graph

    graph = compile_graph(trace(*get_model("lenet_300_100")))
    assert [op.name for op in graph.compute_ops()] == ["fc1", "fc2", "fc3"]
    assert graph.total_macs == 784 * 300 + 300 * 100 + 100 * 10 == 266_200
