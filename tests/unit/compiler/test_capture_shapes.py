"""Capture propagates shapes on meta tensors: it never runs the model on data, allocates no
activation, and leaves the model's state (observer ranges, pruned weights) as it was."""

from __future__ import annotations

import pytest
import torch
import torch.fx as fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn.utils import prune

from compiler.frontend.capture import capture
from compiler.frontend.pytorch import trace
from compiler.ir import OpKind
from compiler.passes import compile_graph
from systolab.zoo import get_model


def test_a_batch_too_large_for_memory_is_captured_without_allocating_it() -> None:
    model, x = get_model("resnet18", batch=1_000_000)  # 602 GB if it were materialized
    assert x.untyped_storage().nbytes() == 3 * 224 * 224 * 4
    graph = compile_graph(trace(model, x))
    assert graph.op("conv1").output.shape == (1_000_000, 64, 112, 112)
    one = compile_graph(trace(*get_model("resnet18")))
    assert graph.total_macs == 1_000_000 * one.total_macs


def test_modules_see_meta_tensors_and_keep_their_state() -> None:
    seen: list[str] = []
    quant = torch.ao.quantization.FakeQuantize()
    model = nn.Sequential(quant, nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.PixelShuffle(2), nn.Flatten(), nn.Linear(2 * 14 * 14, 10)).eval()
    model[4].register_forward_hook(lambda m, i, o: seen.append(o.device.type))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    captured = capture(model, torch.randn(2, 3, 16, 16))
    assert seen == ["meta"]
    for key, value in model.state_dict().items():  # the observer's range was not updated
        assert value.device.type == "cpu" and torch.equal(value, before[key]), key
    shapes = {c.node: c.output.shape for c in captured.calls if c.output is not None}
    assert shapes["_1"] == (2, 8, 7, 7) and shapes["_4"] == (2, 2, 14, 14)
    assert shapes["_6"] == (2, 10)


class _Mixed(nn.Module):
    """Every op the shape arithmetic covers, in its odd cases."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 1))
        self.conv1d = nn.Conv1d(6, 6, 5, stride=3, padding=2)
        self.max_ceil = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d((2, 3), stride=(2, 2), ceil_mode=True)
        self.adaptive = nn.AdaptiveAvgPool2d((None, 3))
        self.flat = nn.Flatten(1, 2)
        self.norm = nn.LayerNorm(3)
        self.fc = nn.Linear(3, 5)
        self.register_buffer("scale", torch.ones(4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)                                           # (n, 6, 8, 12)
        z = self.conv1d(y.flatten(2))                              # (n, 6, 32)
        y = torch.cat([self.max_ceil(y)[:, :, :4, :6], self.avg(y)], dim=-3)  # (n, 12, 4, 6)
        y = self.norm(self.adaptive(y)) * self.scale              # broadcast
        w = torch.softmax(y @ y.transpose(-1, -2), dim=-1)         # (n, 12, 4, 4)
        return self.fc(self.flat(w @ y)) + z.sum()


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vit_tiny", "lenet5", "mixed"])
def test_meta_shapes_equal_real_propagation(name: str) -> None:
    """Every captured shape, from the shape arithmetic or from meta kernels, equals what
    running the model on real data gives (torch.fx's ShapeProp)."""
    model, x = (_Mixed().eval(), torch.randn(2, 4, 17, 12)) if name == "mixed" \
        else get_model(name)
    captured = {c.node: c.output.shape for c in capture(model, x).calls
                if c.output is not None}
    gm = fx.symbolic_trace(model)
    with torch.no_grad():
        ShapeProp(gm).propagate(x)
    real = {n.name: tuple(n.meta["tensor_meta"].shape) for n in gm.graph.nodes
            if n.op != "output" and hasattr(n.meta.get("tensor_meta"), "shape")}
    assert captured == real


def test_pruned_weights_stay_real_after_capture() -> None:
    conv = nn.Conv2d(3, 8, 3)
    prune.l1_unstructured(conv, "weight", amount=0.5)
    graph = trace(nn.Sequential(conv).eval(), torch.randn(1, 3, 8, 8))
    assert conv.weight.device.type == "cpu"
    op = next(op for op in graph.ops() if op.kind is OpKind.CONV2D)
    assert abs(op.sparsity.density - 0.5) < 0.02
