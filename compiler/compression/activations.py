"""Activation sparsity measured on data: the share of each compute layer's inputs that are
non-zero, carried in the IR (:attr:`compiler.ir.Sparsity.input_density`) like weight density.

After a ReLU, a large share of activations is exactly zero (Cnvlutin, Albericio et al., ISCA
2016, measured 44% on average over its networks' convolutional layers); an accelerator that
skips zero activations saves that share of its reduction work. The density depends on the
data, so it is measured by running the model on real inputs (a task's evaluation images, or
the user's example input), never assumed.

>>> from collections import OrderedDict
>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), relu=nn.ReLU(), fc2=nn.Linear(8, 2)))
>>> with torch.no_grad():
...     _ = net.fc1.bias.fill_(-10.0)  # every hidden unit below zero
>>> density = measure_input_density(net, torch.randn(16, 4))
>>> density["fc1"], density["fc2"] < 0.1
(1.0, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import torch
from torch import nn

from compiler.errors import PolicyError, closest
from compiler.ir import COMPUTE_OPS, Graph
from hwsim.fields import shown

__all__ = ["MIN_DENSITY", "for_each_input", "measure_input_density", "with_input_density"]

MIN_DENSITY = 1e-6
"""The lowest density recorded: an all-zero input still streams through the array."""


def for_each_input(model: nn.Module, layers: Mapping[str, nn.Module], data: torch.Tensor,
                   visit: Callable[[str, torch.Tensor], None]) -> None:
    """Run ``model`` on ``data`` (eval mode, no gradients; its mode is restored) and call
    ``visit(name, input)`` with the first input of each of ``layers`` as the layer runs."""
    handles = []
    for name, layer in layers.items():
        def hook(_: nn.Module, args: tuple[torch.Tensor, ...], name: str = name) -> None:
            visit(name, args[0].detach())
        handles.append(layer.register_forward_pre_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(data)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)


def measure_input_density(model: nn.Module, data: torch.Tensor) -> dict[str, float]:
    """Per conv/linear module (by its qualified name): the fraction of non-zero elements in
    the inputs it receives when ``model`` runs on ``data`` (eval mode, no gradients). Layers
    that do not run on ``data`` are left out."""
    counts: dict[str, list[int]] = {}

    def count(name: str, x: torch.Tensor) -> None:
        seen = counts.setdefault(name, [0, 0])
        seen[0] += int(torch.count_nonzero(x))
        seen[1] += x.numel()

    layers = {name: m for name, m in model.named_modules()
              if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear))}
    for_each_input(model, layers, data, count)
    return {name: max(MIN_DENSITY, nonzero / total) for name, (nonzero, total) in counts.items()
            if total}


def with_input_density(graph: Graph, densities: Mapping[str, float]) -> Graph:
    """``graph`` with each named compute op's input density set (others unchanged)."""
    out = graph.copy()
    names = {op.name for op in graph.compute_ops()}
    for name, density in densities.items():
        if name not in names:
            raise PolicyError(f"input density given for layer {name!r}, which the graph does not "
                              f"have as a compute op{closest(name, names)}")
        if isinstance(density, bool) or not isinstance(density, (int, float)) \
                or not 0 < density <= 1:
            raise PolicyError(f"input density of layer {name!r} must be in (0, 1], not "
                              f"{shown(density)}")
        op = out.op(name)
        assert op.kind in COMPUTE_OPS
        out.replace_op(op.replace(sparsity=replace(op.sparsity, input_density=float(density))))
    return out
