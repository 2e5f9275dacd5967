"""Compiler passes and the default pipeline, read top to bottom.

>>> from collections import OrderedDict
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(OrderedDict(
...     conv1=nn.Conv2d(1, 16, 3, padding=1), bn1=nn.BatchNorm2d(16), relu1=nn.ReLU(),
...     conv2=nn.Conv2d(16, 16, 3, padding=1), relu2=nn.ReLU(), flat=nn.Flatten(),
...     fc=nn.Linear(16 * 8 * 8, 10))).eval()
>>> x = torch.randn(1, 1, 8, 8)
>>> from compiler.frontend.pytorch import trace
>>> graph = compile_graph(trace(model, x))
>>> [(op.name, op.fused) for op in graph.compute_ops()]
[('conv1', ('batchnorm', 'relu')), ('conv2', ('relu',)), ('fc', ())]
>>> graph.total_macs
166912
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler.ir import Graph
from compiler.passes.fusion import fold_batchnorm, fuse_activations, remove_noops
from compiler.passes.lower import gemm_of, lower_to_gemm
from compiler.passes.manager import Pass, compiler_pass, run_passes
from compiler.passes.pruning import propagate_channel_pruning

__all__ = [
    "PIPELINE",
    "Pass",
    "compile_graph",
    "compiler_pass",
    "fold_batchnorm",
    "fuse_activations",
    "gemm_of",
    "lower_to_gemm",
    "propagate_channel_pruning",
    "remove_noops",
    "run_passes",
]

PIPELINE: tuple[Pass, ...] = (
    remove_noops,  # dropout and fake-quant markers do no work at inference
    fold_batchnorm,  # inference batch norm becomes the conv's scale and bias
    fuse_activations,  # activations ride on the array's output path
    propagate_channel_pruning,  # removed output channels shrink every consumer's K
    lower_to_gemm,  # every compute op gets its Gemm(M, N, K, groups) view
)


def compile_graph(graph: Graph, passes: Iterable[Pass] = PIPELINE, *, check: bool = True) -> Graph:
    """Run the pipeline; with ``check`` the IR is verified after every pass."""
    return run_passes(graph, passes, check=check)
