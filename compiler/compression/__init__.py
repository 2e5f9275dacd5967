"""Compression transforms on torch models whose effect the front end reads back."""

from compiler.compression.fakequant import ActFakeQuant, WeightFakeQuant, quantize_layer

__all__ = ["ActFakeQuant", "WeightFakeQuant", "quantize_layer"]
