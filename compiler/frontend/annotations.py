"""Compression annotations read from a torch model's modules: pruning masks and fake-quant bits.

- Pruning (``torch.nn.utils.prune``): the mask lives on the module (``weight_mask`` buffer,
  ``weight_orig`` parameter); a traced graph still shows one conv. Weights zeroed by other
  means count too: the density is that of the non-zero weights.
- Quantization: a weight parametrization (``torch.nn.utils.parametrize``) or a
  ``weight_fake_quant`` submodule (``torch.ao`` QAT modules) that exposes ``bits`` or
  ``quant_min``/``quant_max`` gives the weight bits. Activation fake-quant modules are ops in
  the graph; :mod:`compiler.frontend.convert` reads them.
- Weight sharing (:class:`compiler.compression.sharing.SharedWeight`, a parametrization): its
  ``bits`` are the weight bits, and the codebook indices, relative index and their Huffman
  coding give the layer's :class:`~compiler.ir.WeightCode`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from compiler.ir import Precision, Sparsity, WeightCode

__all__ = ["bits_of", "read_sparsity", "read_weight_bits", "read_weight_code"]


def bits_of(quantizer: Any) -> int | None:
    """Bit width of a fake-quant module or parametrization, or None if it is not one."""
    bits = getattr(quantizer, "bits", None)
    if isinstance(bits, int):
        return bits
    qmin, qmax = getattr(quantizer, "quant_min", None), getattr(quantizer, "quant_max", None)
    if isinstance(qmin, int) and isinstance(qmax, int) and qmax > qmin:
        return bits_from_range(qmin, qmax)
    return None


def bits_from_range(quant_min: int, quant_max: int) -> int:
    """Bits needed for the integer range [quant_min, quant_max] (e.g. -128..127 -> 8)."""
    return max(1, math.ceil(math.log2(quant_max - quant_min + 1)))


def _dense_weight(module: nn.Module) -> torch.Tensor | None:
    """The weight before fake quantization (quantization may round small weights to zero)."""
    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is not None and "weight" in parametrizations:
        base: torch.Tensor = parametrizations["weight"].original
        mask = getattr(module, "weight_mask", None)
        return base * mask if isinstance(mask, torch.Tensor) else base
    weight = getattr(module, "weight", None)
    return weight if isinstance(weight, torch.Tensor) else None


def read_sparsity(module: nn.Module) -> Sparsity:
    """Density and kept output channels of a conv/linear module's weight."""
    mask = getattr(module, "weight_mask", None)
    weight = _dense_weight(module)
    if isinstance(mask, torch.Tensor):
        nonzero = mask != 0
        if weight is not None:
            nonzero = nonzero & (weight != 0)
    elif weight is not None:
        nonzero = weight != 0
    else:
        return Sparsity()
    with torch.no_grad():
        out_channels = nonzero.shape[0]
        per_channel = nonzero.reshape(out_channels, -1).any(dim=1)
        kept = int(per_channel.sum())
        density = int(nonzero.sum()) / nonzero.numel()
    if density == 1.0:
        return Sparsity()
    if kept == 0:
        # A layer with every weight pruned still exists in the graph; keep one channel so the
        # shapes stay valid, and let the density say how empty it is.
        return Sparsity(density=max(density, 1.0 / nonzero.numel()), kept_out_channels=1,
                        pattern="channel")
    channel_only = math.isclose(density, kept / out_channels, rel_tol=1e-9)
    nm = None
    if not channel_only and weight is not None:
        from compiler.compression.nm import nm_of

        nm = nm_of(nonzero.to(weight.dtype))
    return Sparsity(
        density=density,
        kept_out_channels=kept if kept < out_channels else None,
        pattern="channel" if channel_only else "unstructured",
        nm=nm,
    )


def read_weight_bits(module: nn.Module) -> int | None:
    """Weight bits from a parametrization or a QAT ``weight_fake_quant``; None if float."""
    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is not None and "weight" in parametrizations:
        for p in parametrizations["weight"]:
            bits = bits_of(p)
            if bits is not None:
                return bits
    fake_quant = getattr(module, "weight_fake_quant", None)
    return bits_of(fake_quant) if fake_quant is not None else None


def read_weight_code(module: nn.Module) -> WeightCode | None:
    """How a weight-shared layer stores its weights (Deep Compression), None if not shared."""
    from compiler.compression.sharing import SharedWeight

    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is None or "weight" not in parametrizations:
        return None
    for p in parametrizations["weight"]:
        if isinstance(p, SharedWeight):
            coded = p.coded()
            return WeightCode(coded.bits, coded.stored / coded.weights, coded.index_bits,
                              (coded.huffman_weight_bits + coded.huffman_index_bits) / coded.weights)
    return None


def precision_with(precision: Precision, *, w_bits: int | None, a_bits: int | None) -> Precision:
    return Precision(
        w_bits=w_bits if w_bits is not None else precision.w_bits,
        a_bits=a_bits if a_bits is not None else precision.a_bits,
    )
