"""Clipping ranges for linear quantization that minimize the mean squared error.

At low bit widths the max-abs range wastes most quantization levels on a few outliers; a
smaller clipping value trades a little clipping error on the tails for much finer steps in the
bulk. This module searches the clip as a fraction of the max-abs value on a grid and keeps the
fraction with the least MSE (the grid search of Banner, Nahshan, Soudry, "Post training 4-bit
quantization of convolutional networks for rapid-deployment", NeurIPS 2019, and of Nagel et al.,
"A White Paper on Neural Network Quantization", 2021, Section 3.5, "MSE range setting").

The quantization error is measured with the very ``torch.fake_quantize_*`` ops the layers use,
so the rounding mode matches.

A search compresses the same model under many policies, and a layer whose inputs do not change
(the layers before it kept their widths) is calibrated on the very same tensor again: results
are cached by the tensor's bytes (a BLAKE2 digest) and the search's arguments, so a repeat
costs a hash instead of 96 quantizations, with the identical answer.

>>> import torch
>>> x = torch.randn(10_000, generator=torch.Generator().manual_seed(0))
>>> bool(mse_clip_ratio(x, bits=2, signed=True) < 1.0)
True
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import torch

__all__ = ["CLIP_RATIOS", "mse_clip_ratio", "qrange"]

_EPS = 1e-12
CLIP_RATIOS = torch.linspace(0.05, 1.0, 96)
"""Fractions of the max-abs value tried by the search (1.0 = no clipping)."""

# Activation tensors are sub-sampled to this many elements for the search: the clip depends on
# the distribution, which a quarter of a million samples pin down well.
_MAX_SAMPLES = 1 << 18
_CACHE: OrderedDict[tuple[object, ...], torch.Tensor] = OrderedDict()
_CACHE_SIZE = 4096


def qrange(bits: int, signed: bool) -> tuple[int, int]:
    """Integer range of a ``bits``-wide code: -2^(b-1)..2^(b-1)-1 signed, 0..2^b-1 unsigned."""
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def _channel_errors(x: torch.Tensor, absmax: torch.Tensor, ratio: float, bits: int,
                    signed: bool) -> torch.Tensor:
    """Sum of squared errors per row of ``x`` (C x n) when clipping at ``ratio * absmax``."""
    qmin, qmax = qrange(bits, signed)
    scale = (absmax * ratio).clamp_min(_EPS) / qmax
    zero = torch.zeros(x.shape[0], dtype=torch.int32)
    q = torch.fake_quantize_per_channel_affine(x, scale, zero, 0, qmin, qmax)
    return (q - x).pow(2).sum(dim=1)


@torch.no_grad()
def mse_clip_ratio(x: torch.Tensor, bits: int, *, signed: bool, per_channel: bool = False,
                   ratios: torch.Tensor = CLIP_RATIOS) -> torch.Tensor:
    """Clip fraction(s) of ``max|x|`` whose ``bits``-bit quantization of ``x`` has the least MSE.

    ``per_channel`` searches one fraction per slice along dim 0 (an output channel of a weight)
    and returns a tensor of shape ``[x.shape[0]]``; otherwise one fraction, shape ``[1]``.
    Unsigned quantization (``signed=False``) is for non-negative data (after a ReLU).
    """
    x = x.detach().float().contiguous()
    key = (tuple(x.shape), bits, signed, per_channel,
           hashlib.blake2b(ratios.numpy().tobytes(), digest_size=16).digest(),
           hashlib.blake2b(x.numpy().tobytes(), digest_size=16).digest())
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached.clone()
    best = _search(x, bits, signed, per_channel, ratios)
    _CACHE[key] = best.clone()
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return best


def _search(x: torch.Tensor, bits: int, signed: bool, per_channel: bool,
            ratios: torch.Tensor) -> torch.Tensor:
    if per_channel:
        rows = x.reshape(x.shape[0], -1)
    else:
        flat = x.reshape(-1)
        if flat.numel() > _MAX_SAMPLES:
            # Fixed seed: compressing the same model twice gives the same clip.
            pick = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))
            flat = flat[pick[:_MAX_SAMPLES]]
        rows = flat.reshape(1, -1)
    absmax = rows.abs().amax(dim=1)
    best_err = torch.full_like(absmax, float("inf"))
    best = torch.ones_like(absmax)
    for ratio in ratios.tolist():
        err = _channel_errors(rows, absmax, ratio, bits, signed)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best = torch.where(better, torch.full_like(best, ratio), best)
    return best
