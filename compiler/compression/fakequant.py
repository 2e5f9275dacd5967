"""Fake quantization that the front end can read, through torch.fx and torch.export alike.

- :class:`WeightFakeQuant` is a weight parametrization (``torch.nn.utils.parametrize``):
  symmetric, per output channel by default. It calls ``torch.fake_quantize_per_channel_affine``,
  which survives ``torch.export`` with its integer range in the node's arguments, and has a
  straight-through gradient (Bengio, Leonard, Courville, "Estimating or Propagating Gradients
  Through Stochastic Neurons", 2013): the gradient passes unchanged inside the clipping range
  and is zero outside it. The range is ``clip_ratio * max|w|`` per channel, recomputed from the
  current weight at every call so that it follows fine-tuning; ``clip_ratio`` (a buffer) comes
  from an MSE search (:mod:`compiler.compression.clipping`) or is 1 (max-abs).
- :class:`ActFakeQuant` quantizes a layer's input; :func:`quantize_layer` attaches it to the
  layer (attribute ``act_quant`` plus a forward pre-hook), so a traced graph still shows one
  conv and the front end reads the bits from the module.
- Binary and ternary networks: 1-bit weights are :class:`BinaryWeightQuant` (sign times a
  per-channel scale, XNOR-Net), ternary weights :class:`TernaryWeightQuant` (a threshold, TWN),
  both with straight-through gradients; a 1-bit input is binary ``{-s, +s}`` when it may be
  negative (BNN's sign activation) and ``{0, s}`` after a ReLU. The front end reads their
  ``bits`` (1, and 2 for ternary) like any other quantizer's.

>>> from torch import nn
>>> conv = quantize_layer(nn.Conv2d(3, 8, 3), w_bits=4, a_bits=6)
>>> conv.parametrizations.weight[0].bits, conv.act_quant.bits
(4, 6)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from compiler.compression.clipping import mse_clip_ratio
from compiler.errors import PolicyError
from hwsim.fields import shown

__all__ = ["ActFakeQuant", "BinaryWeightQuant", "TernaryWeightQuant", "WeightFakeQuant",
           "quantize_layer"]

_EPS = 1e-12


def _check_bits(bits: int, what: str) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise PolicyError(f"{what} must be an integer from 1 to 16 for fake quantization, not {shown(bits)}")
    return bits


def _per_channel(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``v`` (one value per output channel) shaped to broadcast over ``like``."""
    return v.reshape(-1, *([1] * (like.dim() - 1)))


def _straight_through(w: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``q`` forward; backward, the gradient of ``w`` clipped to [-1, 1] (BNN's
    straight-through estimator, Hubara et al., "Binarized Neural Networks", NeurIPS 2016:
    the gradient passes where ``|w| <= 1`` and is cancelled outside)."""
    clipped = w.clamp(-1.0, 1.0)
    return q.detach() + (clipped - clipped.detach())  # exactly q forward (x - x is 0)


class BinaryWeightQuant(nn.Module):
    """1-bit weights: ``alpha * sign(w)`` per output channel with ``alpha = mean |w|``, the
    scale that minimizes ``||w - alpha sign(w)||^2`` (XNOR-Net's binary-weight networks,
    Rastegari et al., ECCV 2016, Eq. 6; BinaryConnect, Courbariaux et al., NeurIPS 2015, for
    training through the sign). ``sign(0)`` is +1: every weight is one of two values."""

    bits = 1

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        alpha = _per_channel(weight.detach().abs().flatten(1).mean(dim=1), weight)
        q = torch.where(weight >= 0, alpha, -alpha)
        return _straight_through(weight, q)


class TernaryWeightQuant(nn.Module):
    """Ternary weights ``{-alpha, 0, +alpha}`` per output channel (Ternary Weight Networks,
    Li, Zhang, Liu, 2016, Eq. 7-8): weights with ``|w| <= delta = 0.7 mean |w|`` become 0, the
    others ``alpha sign(w)`` with ``alpha`` the mean ``|w|`` of those above the threshold.
    Stored in 2 bits."""

    bits = 2
    THRESHOLD = 0.7

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        mag = weight.detach().abs().flatten(1)
        delta = self.THRESHOLD * mag.mean(dim=1, keepdim=True)
        above = mag > delta
        alpha = (mag * above).sum(dim=1) / above.sum(dim=1).clamp_min(1)
        q = torch.where(above.reshape(weight.shape), torch.sign(weight) * _per_channel(alpha, weight),
                        torch.zeros_like(weight))
        return _straight_through(weight, q)


class WeightFakeQuant(nn.Module):
    """Symmetric linear fake quantization of a weight to ``bits`` (range -2^(b-1) .. 2^(b-1)-1)."""

    def __init__(self, bits: int, per_channel: bool = True,
                 clip_ratio: torch.Tensor | None = None) -> None:
        super().__init__()
        self.bits = _check_bits(bits, "w_bits")
        self.per_channel = per_channel
        self.clip_ratio: torch.Tensor
        self.register_buffer("clip_ratio", torch.ones(1) if clip_ratio is None
                             else clip_ratio.detach().float().reshape(-1).clone())

    @property
    def quant_min(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def quant_max(self) -> int:
        return 2 ** (self.bits - 1) - 1

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.per_channel:
            absmax = weight.detach().abs().flatten(1).amax(dim=1)
            scale = (absmax * self.clip_ratio).clamp_min(_EPS) / self.quant_max
            zero = torch.zeros_like(scale, dtype=torch.int32)
            return torch.fake_quantize_per_channel_affine(
                weight, scale, zero, 0, self.quant_min, self.quant_max)
        absmax_t = weight.detach().abs().max().reshape(1)
        scale_t = (absmax_t * self.clip_ratio).clamp_min(_EPS) / self.quant_max
        zero_t = torch.zeros(1, dtype=torch.int32)
        return torch.fake_quantize_per_tensor_affine(weight, scale_t, zero_t, self.quant_min,
                                                     self.quant_max)


class ActFakeQuant(nn.Module):
    """Per-tensor fake quantization of activations: unsigned after ReLU, signed otherwise.

    Until :meth:`calibrate` fixes the clipping range, it is the running maximum of ``|x|`` seen
    in training mode (in eval mode before any data, the batch's own maximum). After
    :meth:`calibrate` the range stays put, also while fine-tuning.
    """

    def __init__(self, bits: int, signed: bool = True) -> None:
        super().__init__()
        self.bits = _check_bits(bits, "a_bits")
        self.signed = signed
        self.observe = True
        self.clip: torch.Tensor
        self.register_buffer("clip", torch.tensor(0.0))

    @property
    def binary(self) -> bool:
        """1 bit on data that may be negative: ``{-s, +s}`` (BNN's sign activation, Hubara et
        al., NeurIPS 2016), ``s`` the clip."""
        return self.bits == 1 and self.signed

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor, *, mse: bool = True) -> None:
        """Fix the clip from calibration data: MSE-optimal (``mse``) or ``max|x|``. A binary
        input's clip is ``mean |x|``, the ``s`` that minimizes ``||x - s sign(x)||^2``."""
        if self.binary:
            self.clip = x.detach().abs().mean().to(self.clip.dtype)
            self.observe = False
            return
        absmax = x.detach().abs().max()
        ratio = mse_clip_ratio(x, self.bits, signed=self.signed)[0] if mse else 1.0
        self.clip = (absmax * ratio).to(self.clip.dtype)
        self.observe = False

    @property
    def quant_min(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def quant_max(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.binary:
            s = torch.where(self.clip > 0, self.clip, x.detach().abs().mean())
            q = torch.where(x >= 0, s, -s)
            clipped = torch.maximum(torch.minimum(x, s), -s)  # gradient only inside [-s, s]
            return q.detach() + (clipped - clipped.detach())
        if self.training and self.observe:
            self.clip = torch.maximum(self.clip, x.detach().abs().max())
        # Tensor-valued scale (no float()): keeps the op traceable by torch.export.
        clip = torch.where(self.clip > 0, self.clip, x.detach().abs().max())
        scale = clip.clamp_min(_EPS).reshape(1) / self.quant_max
        zero = torch.zeros(1, dtype=torch.int32)
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, self.quant_min, self.quant_max)


def _quantize_input(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    quantizer: ActFakeQuant = module.act_quant  # type: ignore[assignment]
    return (quantizer(args[0]), *args[1:])


def quantize_layer(layer: nn.Module, *, w_bits: int | None = None, a_bits: int | None = None,
                   signed_input: bool = True, per_channel: bool = True,
                   weight_clip: str = "max", ternary: bool = False) -> nn.Module:
    """Attach weight and/or input fake quantization to a conv or linear layer, in place.

    ``weight_clip`` is "max" (range = max-abs) or "mse" (per-channel MSE-optimal clip, searched
    once on the current weight; see :mod:`compiler.compression.clipping`). ``w_bits=1`` gives
    binary weights, ``ternary`` (with ``w_bits`` 2) ternary ones (the module doc).
    """
    if not isinstance(layer, (nn.Conv2d, nn.Linear)):
        raise PolicyError(f"only conv and linear layers can be quantized, not {type(layer).__name__}")
    if weight_clip not in ("max", "mse"):
        raise PolicyError(f"weight_clip must be 'max' or 'mse', not {shown(weight_clip)}")
    if ternary and w_bits != 2:
        raise PolicyError(f"ternary weights take w_bits 2, not {shown(w_bits)}")
    if w_bits is not None:
        _check_bits(w_bits, "w_bits")
        if parametrize.is_parametrized(layer, "weight"):  # replace an earlier quantizer only
            stacks: Any = layer.parametrizations
            kept = [p for p in stacks["weight"] if not hasattr(p, "bits")]
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
            for p in kept:  # e.g. an N:M mask
                parametrize.register_parametrization(layer, "weight", p)
        quantizer: nn.Module
        if w_bits == 1:
            quantizer = BinaryWeightQuant()
        elif ternary:
            quantizer = TernaryWeightQuant()
        else:
            ratio = (mse_clip_ratio(layer.weight, w_bits, signed=True, per_channel=per_channel)
                     if weight_clip == "mse" else None)
            quantizer = WeightFakeQuant(w_bits, per_channel, ratio)
        parametrize.register_parametrization(layer, "weight", quantizer)
    if a_bits is not None:
        had = hasattr(layer, "act_quant")
        layer.act_quant = ActFakeQuant(a_bits, signed=signed_input)
        if not had:
            layer.register_forward_pre_hook(_quantize_input)
    return layer
