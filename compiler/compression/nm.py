"""N:M structured sparsity: at most ``N`` non-zero weights in every group of ``M`` consecutive
weights along the reduction, e.g. 2:4 (Mishra et al., "Accelerating Sparse Deep Neural
Networks", 2021: NVIDIA Ampere's sparse tensor cores run 2:4 layers at twice the dense rate,
storing the non-zeros and 2 bits of position metadata for each).

Groups run along the input channels, as Ampere and its pruning tool (ASP) lay them out: a
linear layer's rows ``weight[o, :]``, a convolution's ``weight[o, :, y, x]`` at each kernel
position. :func:`prune_nm` keeps the ``N`` largest magnitudes of each group (a mask the
weight keeps through fine-tuning and quantization, and which the front end reads),
:func:`nm_of` finds the tightest pattern a weight already has.

>>> import torch
>>> from torch import nn
>>> fc = nn.Linear(8, 2)
>>> prune_nm(fc, 2, 4)
>>> nm_of(fc.weight)
(2, 4)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from compiler.errors import PolicyError

__all__ = ["GROUP_SIZES", "NMMask", "nm_of", "prune_nm"]

GROUP_SIZES = (4, 8, 16)
"""The ``M`` that :func:`nm_of` recognizes (hardware builds 2:4 and 4:8)."""


def _groups(weight: torch.Tensor, m: int) -> torch.Tensor | None:
    """``weight`` as ``[rows, groups, m]`` along its input channels, or ``None`` if the input
    channels do not split into groups of ``m``."""
    w = weight.detach()
    if w.dim() > 2:  # conv: [out, in, kh, kw] -> [out, kh, kw, in]
        w = w.movedim(1, -1)
    rows = w.reshape(-1, w.shape[-1])
    if rows.shape[-1] % m:
        return None
    return rows.reshape(rows.shape[0], -1, m)


def nm_of(weight: torch.Tensor) -> tuple[int, int] | None:
    """The N:M pattern ``weight`` has (``N`` the most non-zeros of any group, for the ``M`` of
    :data:`GROUP_SIZES` that gives the lowest ``N/M`` below 1), or ``None``."""
    best: tuple[int, int] | None = None
    for m in GROUP_SIZES:
        groups = _groups(weight, m)
        if groups is None:
            continue
        n = int((groups != 0).sum(dim=-1).max())
        if n < m and (best is None or n * best[1] < best[0] * m):
            best = (n, m)
    return best


class NMMask(nn.Module):
    """A weight parametrization that multiplies by a fixed 0/1 mask: pruned weights stay zero
    while the others train, and quantizers registered after it see the pruned weight."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.mask: torch.Tensor
        self.register_buffer("mask", mask)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


def prune_nm(layer: nn.Module, n: int, m: int) -> None:
    """Keep the ``n`` largest-magnitude weights of every group of ``m`` input channels of a
    conv or linear ``layer``, in place: an :class:`NMMask` parametrization, and the mask as
    the ``weight_mask`` buffer the front end reads (as it reads ``torch.nn.utils.prune``'s)."""
    if not isinstance(layer, (nn.Conv2d, nn.Linear)):
        raise PolicyError(f"only conv and linear layers take N:M sparsity, not "
                          f"{type(layer).__name__}")
    groups = _groups(layer.weight, m)
    if groups is None:
        channels = layer.weight.shape[1]
        raise PolicyError(f"{n}:{m} sparsity needs input channels in groups of {m}, and this "
                          f"layer has {channels}")
    keep = groups.abs().topk(n, dim=-1).indices
    mask = torch.zeros_like(groups).scatter_(-1, keep, 1.0)
    w = layer.weight
    shape = w.movedim(1, -1).shape if w.dim() > 2 else w.shape
    mask = mask.reshape(shape)
    if w.dim() > 2:
        mask = mask.movedim(-1, 1)
    mask = mask.contiguous()
    if prune.is_pruned(layer):  # fold torch's pruning into the weight first
        previous: torch.Tensor = layer.weight_mask  # type: ignore[assignment]
        mask = mask * previous
        prune.remove(layer, "weight")
    parametrize.register_parametrization(layer, "weight", NMMask(mask))
    layer.register_buffer("weight_mask", mask)
