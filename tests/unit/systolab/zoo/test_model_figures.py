"""MAC and parameter counts of the zoo, read from the IR, against published figures.

Parameters: torchvision's model table (the papers round them). MACs at 224x224, batch 1:
ResNet-18 1.814 G and ResNet-50 4.09 G (He et al., CVPR 2016, Table 1 counts 1.8 and 3.8
GFLOPs-as-MACs; 4.09 is the v1.5 form with the stride on the 3x3 conv), MobileNetV2 about
0.30 G (Sandler et al., CVPR 2018, Table 4: 300 M), VGG-16 15.47 G (Simonyan and Zisserman,
ICLR 2015).
"""

from __future__ import annotations

import pytest

from compiler.frontend.pytorch import trace
from compiler.passes import compile_graph
from systolab.zoo import get_model

FIGURES = {
    # name: (parameters, GMACs, relative tolerance on MACs)
    "resnet18": (11_689_512, 1.814, 0.001),
    "resnet50": (25_557_032, 4.09, 0.005),
    "mobilenet_v2": (3_504_872, 0.300, 0.01),
    "vgg16": (138_357_544, 15.47, 0.001),
    "vit_tiny": (5_717_416, 1.26, 0.01),  # DeiT-Tiny: 1.3 GFLOPs-as-MACs (Touvron et al. 2021)
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_params_and_macs_match_published_figures(name: str) -> None:
    params, gmacs, rel = FIGURES[name]
    graph = trace(*get_model(name))
    assert graph.total_params == params  # before batch-norm folding: the model as published
    assert compile_graph(graph).total_macs / 1e9 == pytest.approx(gmacs, rel=rel)


def test_resnet18_has_21_compute_layers_with_exact_gemms() -> None:
    g = compile_graph(trace(*get_model("resnet18")))
    layers = g.compute_ops()
    assert len(layers) == 21
    from compiler.ir import Gemm

    assert g.record("conv1", Gemm) == Gemm(M=112 * 112, N=64, K=3 * 7 * 7)
    assert g.record("layer3.0.downsample.0", Gemm) == Gemm(M=14 * 14, N=256, K=128)
    assert g.record("fc", Gemm) == Gemm(M=1, N=1000, K=512)


def test_batch_scales_m_only() -> None:
    g1 = compile_graph(trace(*get_model("resnet18", batch=1)))
    g4 = compile_graph(trace(*get_model("resnet18", batch=4)))
    assert g4.total_macs == 4 * g1.total_macs
