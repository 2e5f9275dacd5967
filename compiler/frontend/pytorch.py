"""The PyTorch front end: a torch model and an example input become an IR Graph.

>>> from collections import OrderedDict
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(OrderedDict(
...     conv1=nn.Conv2d(1, 16, 3, padding=1), bn1=nn.BatchNorm2d(16), relu1=nn.ReLU(),
...     conv2=nn.Conv2d(16, 16, 3, padding=1), relu2=nn.ReLU(), flat=nn.Flatten(),
...     fc=nn.Linear(16 * 8 * 8, 10))).eval()
>>> x = torch.randn(1, 1, 8, 8)
>>> graph = trace(model, x)
>>> [op.name for op in graph.compute_ops()]
['conv1', 'conv2', 'fc']
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from compiler.frontend.capture import capture
from compiler.frontend.convert import to_graph
from compiler.ir import Graph, verify
from compiler.policy import Policy, apply_policy, load_policy

__all__ = ["trace"]

log = logging.getLogger(__name__)


def trace(model: nn.Module, example_input: torch.Tensor, *,
          policy: Policy | str | Path | None = None) -> Graph:
    """Capture ``model`` (torch.fx, falling back to torch.export), convert it to the IR, read
    its compression (pruning masks, fake-quant bits) and apply ``policy`` on top."""
    captured = capture(model, example_input)
    graph = to_graph(captured)
    graph.notes.append(f"captured with torch.{captured.method}"
                       + (f" (torch.fx failed: {captured.fx_error})" if captured.fx_error else ""))
    if policy is not None:
        graph = apply_policy(graph, policy if isinstance(policy, Policy) else load_policy(policy))
    verify(graph)
    log.info("traced %s: %d ops, %d compute", type(model).__name__, len(graph),
             len(graph.compute_ops()))
    return graph
