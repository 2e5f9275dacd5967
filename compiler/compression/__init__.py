"""Compression transforms on torch models whose effect the front end reads back.

:func:`compress` applies a :class:`~compiler.policy.Policy` (per-layer ``w_bits``, ``a_bits``,
``keep``) to a copy of a model; the pieces it chains are public too: channel removal
(:func:`remove_channels`), mask pruning (:func:`prune_unstructured`, :func:`prune_filters`),
quantization (:func:`quantize_model`, :func:`quantize_layer`) and batch-norm re-estimation
(:func:`reestimate_bn`). The pieces of Deep Compression (Han, Mao, Dally, ICLR 2016) after
magnitude pruning: weight sharing by k-means (:func:`share_weights`), Huffman coding and the
relative sparse index (:func:`huffman_bits`, :func:`relative_index`).
"""

from compiler.compression.apply import compress
from compiler.compression.batchnorm import reestimate_bn
from compiler.compression.channels import ChannelGroup, PrunedGroup, channel_groups, remove_channels
from compiler.compression.clipping import mse_clip_ratio
from compiler.compression.fakequant import ActFakeQuant, WeightFakeQuant, quantize_layer
from compiler.compression.huffman import (
    SparseIndex,
    coded_bits,
    huffman_bits,
    huffman_code_lengths,
    relative_index,
)
from compiler.compression.prune import (
    CRITERIA,
    filter_importance,
    kept_channels,
    prune_filters,
    prune_unstructured,
)
from compiler.compression.quantize import LayerBits, nonnegative_inputs, quantize_model
from compiler.compression.sharing import SharedWeight, kmeans_1d, share_weights

__all__ = [
    "CRITERIA",
    "ActFakeQuant",
    "ChannelGroup",
    "LayerBits",
    "PrunedGroup",
    "SharedWeight",
    "SparseIndex",
    "WeightFakeQuant",
    "channel_groups",
    "coded_bits",
    "compress",
    "filter_importance",
    "huffman_bits",
    "huffman_code_lengths",
    "kept_channels",
    "kmeans_1d",
    "mse_clip_ratio",
    "nonnegative_inputs",
    "prune_filters",
    "prune_unstructured",
    "quantize_layer",
    "quantize_model",
    "reestimate_bn",
    "relative_index",
    "remove_channels",
    "share_weights",
]
