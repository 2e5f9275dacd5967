"""Front end: every supported op family, compression read from modules, clear errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from compiler.compression import quantize_layer
from compiler.errors import TraceError, UnsupportedOpError
from compiler.frontend.capture import _capture_export
from compiler.frontend.convert import to_graph
from compiler.frontend.pytorch import trace
from compiler.ir import Graph, OpKind, verify


class AllOps(nn.Module):
    """One of each op family the front end must understand."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
        self.grouped = nn.Conv2d(8, 8, 1, stride=2, groups=2)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.ln = nn.LayerNorm(8)
        self.q = nn.Linear(8, 8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8, 4)
        self.acts = nn.ModuleList([nn.ReLU(), nn.ReLU6(), nn.GELU(), nn.SiLU(), nn.Hardswish(),
                                   nn.Sigmoid()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.acts[0](self.bn(self.conv(x)))
        y = self.acts[1](self.dw(y)) * self.acts[5](y)
        y = self.grouped(self.acts[2](y))
        y = self.pool(torch.cat([y, self.acts[3](y)], dim=1)[:, :8])
        y = self.avg(self.acts[4](y))
        t = y.flatten(2).transpose(1, 2)  # (B, tokens, 8)
        t = self.ln(t)
        scores = F.softmax(self.q(t) @ t.transpose(-2, -1), dim=-1)
        t = self.drop(scores @ t)
        return self.fc(t[:, 0]) + self.gap(y).reshape(x.shape[0], 8)[:, :4]


@pytest.fixture(scope="module")
def all_ops_graph() -> Graph:
    torch.manual_seed(0)
    return trace(AllOps().eval(), torch.randn(2, 3, 16, 16))


def test_every_family_is_converted(all_ops_graph: Graph) -> None:
    kinds = {op.kind for op in all_ops_graph.ops()}
    expected = {
        OpKind.CONV2D, OpKind.DEPTHWISE_CONV2D, OpKind.GROUPED_CONV2D, OpKind.LINEAR,
        OpKind.MATMUL, OpKind.BATCHNORM, OpKind.LAYERNORM, OpKind.ACTIVATION, OpKind.ADD,
        OpKind.MUL, OpKind.CONCAT, OpKind.MAXPOOL2D, OpKind.AVGPOOL2D, OpKind.RESHAPE,
        OpKind.PERMUTE, OpKind.SOFTMAX, OpKind.IDENTITY, OpKind.SLICE,
        OpKind.INPUT, OpKind.OUTPUT,
    }
    assert expected <= kinds
    fns = {op.attrs["fn"] for op in all_ops_graph.ops() if op.kind is OpKind.ACTIVATION}
    assert fns == {"relu", "relu6", "gelu", "silu", "hardswish", "sigmoid"}


class TokenModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 100)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.emb(tokens))


def test_embedding_lookup_is_a_layout_op_with_its_table() -> None:
    g = trace(TokenModel().eval(), torch.tensor([[1, 2, 3]]))
    emb = g.op("emb")
    assert emb.kind is OpKind.EMBEDDING and emb.family == "layout"
    assert emb.weight is not None and emb.weight.shape == (100, 16)
    assert g.op("head").inputs[0].shape == (1, 3, 16)


def test_names_are_the_modules_qualified_names(all_ops_graph: Graph) -> None:
    dw = all_ops_graph.op("dw")
    assert dw.kind is OpKind.DEPTHWISE_CONV2D
    assert dw.attrs["dilation"] == (2, 2) and dw.attrs["groups"] == 8
    assert all_ops_graph.op("grouped").attrs["stride"] == (2, 2)
    assert all_ops_graph.op("fc").inputs[0].shape == (2, 8)


def test_shapes_come_from_propagation(all_ops_graph: Graph) -> None:
    verify(all_ops_graph)  # every edge's shape matches its consumer's declared input
    matmuls = [op for op in all_ops_graph.ops() if op.kind is OpKind.MATMUL]
    assert [op.output.shape for op in matmuls] == [(2, 4, 4), (2, 4, 8)]


def test_fx_and_export_agree_on_a_cnn() -> None:
    model, x = _small_cnn()
    via_fx = trace(model, x)
    via_export = to_graph(_capture_export(model, x))
    assert _summary(via_fx) == _summary(via_export)


def _small_cnn() -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 3 * 3, 10)).eval()
    return model, torch.randn(1, 3, 8, 8)


def _summary(g: Graph) -> list[tuple[str, str, tuple[int, ...], int, int]]:
    return [(op.name, op.kind.value, op.output.shape, op.precision.w_bits, op.precision.a_bits)
            for op in g.compute_ops()]


class ShapeBranch(nn.Module):
    """Python control flow on a shape: torch.fx cannot trace it, torch.export can."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 3:
            x = self.conv(x)
        return torch.relu(x)


def test_export_is_the_fallback_when_fx_fails() -> None:
    g = trace(ShapeBranch().eval(), torch.randn(1, 3, 4, 4))
    assert [op.name for op in g.compute_ops()] == ["conv"]
    assert "captured with torch.export (torch.fx failed" in g.notes[0]


class DataBranch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x * 2
        return x


def test_untraceable_model_names_both_failures() -> None:
    with pytest.raises(TraceError, match=r"cannot trace model DataBranch: torch.fx failed .* and "
                                         r"torch.export failed"):
        trace(DataBranch(), torch.randn(1, 3))


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(self.up(x), dim=1)


def test_unsupported_op_names_op_node_and_module() -> None:
    with pytest.raises(UnsupportedOpError,
                       match=r"unsupported op 'PixelShuffle' at node 'up' \(module up "):
        trace(Unsupported(), torch.randn(1, 4, 4, 4))


def test_unsupported_function_names_where_it_is() -> None:
    class Cum(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cumsum(x, dim=0)

    with pytest.raises(UnsupportedOpError, match=r"unsupported op 'cumsum' at node 'cumsum'"):
        trace(Cum(), torch.randn(2, 2))


def test_pruning_masks_give_density_and_kept_channels() -> None:
    model, x = _small_cnn()
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    prune.ln_structured(model[5], "weight", amount=0.3, n=1, dim=0)
    g = trace(model, x)
    conv, fc = g.op("0"), g.op("5")
    assert conv.sparsity.pattern == "unstructured"
    assert conv.sparsity.density == pytest.approx(0.5, abs=1 / conv.weight.numel)  # type: ignore[union-attr]
    assert conv.sparsity.kept_out_channels is None
    assert fc.sparsity.pattern == "channel" and fc.sparsity.kept_out_channels == 7


@pytest.mark.parametrize("capture", ["fx", "export"])
def test_fake_quant_bits_are_read(capture: str) -> None:
    model, x = _small_cnn()
    quantize_layer(model[0], w_bits=4, a_bits=6)
    quantize_layer(model[5], w_bits=3)
    g = trace(model, x) if capture == "fx" else to_graph(_capture_export(model, x))
    assert (g.op("0").precision.w_bits, g.op("0").precision.a_bits) == (4, 6)
    assert (g.op("5").precision.w_bits, g.op("5").precision.a_bits) == (3, 8)


def test_ao_fake_quantize_module_sets_activation_bits() -> None:
    from torch.ao.quantization import FakeQuantize

    torch.manual_seed(0)
    model = nn.Sequential(FakeQuantize(quant_min=0, quant_max=15), nn.Linear(4, 2)).eval()
    g = trace(model, torch.randn(1, 4))
    assert g.op("1").precision.a_bits == 4
