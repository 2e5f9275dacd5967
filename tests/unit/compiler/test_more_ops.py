"""Conv1d and 1-D pooling (as 2-D of height 1), ConvTranspose2d (GEMM plus col2im), nearest
and bilinear upsampling and channel concatenation: lowered with the MACs a hand count gives,
on the zoo's U-Net and keyword spotter and on a layer of each kind."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compiler.frontend.pytorch import trace
from compiler.ir import OpKind
from compiler.mapping.vector import vector_cost
from compiler.passes import compile_graph
from systolab.pipeline import simulate_graph
from systolab.zoo import get_model


def conv_macs(pixels: int, cin: int, cout: int, taps: int) -> int:
    return pixels * cin * cout * taps


def test_the_unet_has_the_hand_counted_macs() -> None:
    hand = (conv_macs(64 * 64, 1, 16, 9) + conv_macs(64 * 64, 16, 16, 9)  # level 1 down
            + conv_macs(32 * 32, 16, 32, 9) + conv_macs(32 * 32, 32, 32, 9)  # level 2 down
            + conv_macs(16 * 16, 32, 64, 9) + conv_macs(16 * 16, 64, 64, 9)  # bottom
            + conv_macs(16 * 16, 64, 32, 4)  # 2x2 transposed conv: every input pixel x kernel
            + conv_macs(32 * 32, 64, 32, 9) + conv_macs(32 * 32, 32, 32, 9)  # level 2 up
            + conv_macs(64 * 64, 32, 16, 1)  # 1x1 after bilinear upsampling
            + conv_macs(64 * 64, 32, 16, 9) + conv_macs(64 * 64, 16, 16, 9)  # level 1 up
            + conv_macs(64 * 64, 16, 2, 1))  # head
    graph = compile_graph(trace(*get_model("unet_small")))
    assert hand == 99_287_040 and graph.total_macs == hand
    kinds = {op.kind for op in graph.ops()}
    assert {OpKind.COL2IM, OpKind.UPSAMPLE, OpKind.CONCAT} <= kinds


def test_the_keyword_spotter_has_the_hand_counted_macs() -> None:
    # 98 frames; 9-tap stride-2 convs with padding 4 give 49, 25 and 13 frames
    hand = (conv_macs(98, 40, 16, 3) + conv_macs(49, 16, 24, 9) + conv_macs(49, 24, 24, 9)
            + conv_macs(25, 24, 32, 9) + conv_macs(25, 32, 32, 9) + conv_macs(13, 32, 48, 9)
            + conv_macs(13, 48, 48, 9) + 48 * 12)
    graph = compile_graph(trace(*get_model("kws_tcn")))
    assert hand == 1_464_576 and graph.total_macs == hand
    convs = [op for op in graph.compute_ops() if op.kind is OpKind.CONV2D]
    assert [op.output.shape[-1] for op in convs] == [98, 49, 49, 25, 25, 13, 13]
    assert all(op.attrs["kernel"][0] == 1 for op in convs)  # 1-D as height 1


@pytest.mark.parametrize("mode, ops_per_element", [("nearest", 1), ("bilinear", 7)])
def test_upsampling_is_vector_work_per_output_element(mode: str, ops_per_element: int) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Upsample(scale_factor=2, mode=mode))
    graph = compile_graph(trace(model.eval(), torch.randn(1, 3, 5, 5)))
    (up,) = [op for op in graph.ops() if op.kind is OpKind.UPSAMPLE]
    assert up.output.shape == (1, 4, 10, 10)
    assert vector_cost(up).ops == 4 * 10 * 10 * ops_per_element


def test_a_transposed_conv_scatters_every_product_once() -> None:
    layer = nn.ConvTranspose2d(6, 5, 3, stride=2, padding=1, output_padding=1)
    graph = compile_graph(trace(nn.Sequential(layer).eval(), torch.randn(2, 6, 7, 7)))
    (gemm,) = graph.compute_ops()
    assert gemm.kind is OpKind.LINEAR and gemm.weight is not None
    assert graph.total_macs == conv_macs(2 * 7 * 7, 6, 5, 9)
    (col2im,) = [op for op in graph.ops() if op.kind is OpKind.COL2IM]
    assert col2im.output.shape == (2, 5, 14, 14) and vector_cost(col2im).ops == 2 * 49 * 45
    assert graph.total_params == sum(p.numel() for p in layer.parameters())
    assert simulate_graph(graph, "edge_int8", trace=False).stats.total.cycles > 0
