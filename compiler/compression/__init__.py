"""Compression transforms on torch models whose effect the front end reads back.

:func:`compress` applies a :class:`~compiler.policy.Policy` (per-layer ``w_bits``, ``a_bits``,
``keep``) to a copy of a model; the pieces it chains are public too: channel removal
(:func:`remove_channels`), mask pruning (:func:`prune_unstructured`, :func:`prune_filters`),
quantization (:func:`quantize_model`, :func:`quantize_layer`) and batch-norm re-estimation
(:func:`reestimate_bn`).
"""

from compiler.compression.apply import compress
from compiler.compression.batchnorm import reestimate_bn
from compiler.compression.channels import ChannelGroup, PrunedGroup, channel_groups, remove_channels
from compiler.compression.clipping import mse_clip_ratio
from compiler.compression.fakequant import ActFakeQuant, WeightFakeQuant, quantize_layer
from compiler.compression.prune import (
    CRITERIA,
    filter_importance,
    kept_channels,
    prune_filters,
    prune_unstructured,
)
from compiler.compression.quantize import LayerBits, nonnegative_inputs, quantize_model

__all__ = [
    "CRITERIA",
    "ActFakeQuant",
    "ChannelGroup",
    "LayerBits",
    "PrunedGroup",
    "WeightFakeQuant",
    "channel_groups",
    "compress",
    "filter_importance",
    "kept_channels",
    "mse_clip_ratio",
    "nonnegative_inputs",
    "prune_filters",
    "prune_unstructured",
    "quantize_layer",
    "quantize_model",
    "reestimate_bn",
    "remove_channels",
]
