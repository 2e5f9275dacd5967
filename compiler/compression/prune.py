"""Pruning criteria and mask-based pruning (the front end reads ``torch.nn.utils.prune`` masks).

- Fine-grained magnitude pruning: the smallest weights go (Han, Pool, Tran, Dally, "Learning
  both Weights and Connections for Efficient Neural Networks", NeurIPS 2015).
- Filter importance by L1 norm: filters with the smallest sum of ``|w|`` go (Li, Kadav,
  Durdanovic, Samet, Graf, "Pruning Filters for Efficient ConvNets", ICLR 2017).
- Filter importance by geometric median, FPGM (He, Liu, Wang, Hu, Yang, "Filter Pruning via
  Geometric Median for Deep Convolutional Neural Networks Acceleration", CVPR 2019): the filters
  nearest the layer's geometric median are the most replaceable by the others, whatever their
  norm. A filter's score is its summed Euclidean distance to all other filters of the layer
  (the paper's Eq. 6 surrogate); the lowest scores go.

Masks only zero weights (the model keeps its shapes); :mod:`compiler.compression.channels`
removes channels physically.

>>> import torch
>>> w = torch.tensor([[3.0, 0.0], [2.9, 0.1], [3.1, -0.1], [0.5, 0.0]])  # 3 alike, 1 small
>>> filter_importance(w, "l1").argmin().item(), filter_importance(w, "fpgm").argmin().item()
(3, 0)
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import prune

from compiler.errors import PolicyError
from hwsim.fields import shown

__all__ = ["CRITERIA", "filter_importance", "kept_channels", "prune_filters", "prune_unstructured"]

CRITERIA = ("l1", "l2", "fpgm")
"""Filter importance criteria: L1 norm, L2 norm, FPGM (distance to the other filters)."""


def filter_importance(weight: torch.Tensor, criterion: str = "l1") -> torch.Tensor:
    """One score per output filter (dim 0 of ``weight``); higher means keep."""
    if criterion not in CRITERIA:
        raise PolicyError(f"prune criterion must be one of {', '.join(CRITERIA)}, not {shown(criterion)}")
    flat = weight.detach().float().reshape(weight.shape[0], -1)
    if criterion == "l1":
        return flat.abs().sum(dim=1)
    if criterion == "l2":
        return flat.norm(dim=1)
    return torch.cdist(flat.unsqueeze(0), flat.unsqueeze(0)).squeeze(0).sum(dim=1)


def kept_channels(channels: int, keep: float, multiple: int = 1) -> int:
    """How many of ``channels`` a keep ratio leaves, rounded to a multiple of ``multiple``.

    Rounds ``keep * channels`` to the nearest multiple (an array with ``multiple`` columns
    wastes the columns of a partial tile), never below one multiple and never above
    ``channels``; at least one channel stays.

    >>> kept_channels(64, 0.3), kept_channels(64, 0.3, multiple=8), kept_channels(6, 0.5, 8)
    (19, 16, 6)
    """
    if isinstance(multiple, bool) or not isinstance(multiple, int) or multiple < 1:
        raise PolicyError(f"channel_multiple must be a positive integer, not {shown(multiple)}")
    if not 0 < keep <= 1:
        raise PolicyError(f"keep must be a number in (0, 1], not {shown(keep)}")
    wanted = keep * channels
    rounded = max(multiple, math.floor(wanted / multiple + 0.5) * multiple)
    return max(1, min(channels, rounded))


def _check_layer(layer: nn.Module, what: str) -> None:
    if not isinstance(layer, (nn.Conv2d, nn.Linear)):
        raise PolicyError(f"{what} applies to conv and linear layers, not {type(layer).__name__}")


def prune_unstructured(layer: nn.Module, density: float) -> nn.Module:
    """Zero the smallest-magnitude weights of ``layer`` so that ``density`` of them remain.

    In place, through a ``torch.nn.utils.prune`` mask (``weight_orig`` and ``weight_mask``).
    """
    _check_layer(layer, "unstructured pruning")
    if not 0 < density <= 1:
        raise PolicyError(f"density must be a number in (0, 1], not {shown(density)}")
    prune.l1_unstructured(layer, "weight", amount=1.0 - density)
    return layer


def prune_filters(layer: nn.Module, keep: float, *, criterion: str = "l1",
                  multiple: int = 1) -> nn.Module:
    """Zero whole output filters of ``layer`` (the least important), keeping ``keep`` of them.

    In place, through a ``torch.nn.utils.prune`` mask; the front end reads the kept count.
    """
    _check_layer(layer, "filter pruning")
    weight = layer.weight
    assert isinstance(weight, torch.Tensor)
    n = kept_channels(weight.shape[0], keep, multiple)
    kept = filter_importance(weight, criterion).topk(n).indices
    mask = torch.zeros_like(weight)
    mask[kept] = 1.0
    prune.custom_from_mask(layer, "weight", mask)
    return layer
