"""What weight and activation sparsity buy on a given accelerator, stated per layer.

- Structured (channel) pruning already shrank the GEMM in the IR: exact, on every arch.
- Unstructured zeros save DRAM and SRAM traffic only when the arch stores weights compressed
  (``sparsity.weight_format: bitmap``: non-zeros at ``w_bits`` plus one mask bit per weight),
  and cycles only when it also skips zeros (``sparsity.zero_skip``): the array computes each
  k tile's non-zeros only, stretched by the arch's load ``imbalance`` (``k_scale``). The
  GEMM, its tiles and the data they move stay those of the stored (dense-indexed) layer.
- N:M layers (``Sparsity.nm``) on an array with N:M support (``sparsity.nm``, same ``M``,
  layer ``N`` at most the array's): ``N`` of each ``M`` weights stored with ``log2 M``
  position bits each, ``N/M`` of each reduction run, no imbalance.
- Zero input activations (measured: ``Sparsity.input_density``) save cycles only where the
  arch skips them (``sparsity.activation_skip``, Cnvlutin): each reduction shrinks to its
  non-zero inputs, times the weights' share when zero weights are skipped too, stretched by
  the same ``imbalance``. Activations still move densely.
- Otherwise zeros are multiplied like any value, and the report says so.

Weight sharing (Deep Compression; :class:`compiler.ir.WeightCode`) on an arch with a weight
decoder (:class:`hwsim.config.WeightDecoderConfig`): the weights stay coded in DRAM, at the
layer's Huffman-coded size per weight (or, without Huffman coding, its fixed-width codebook
and relative indices), plus the layer's codebook of ``2^bits`` values of ``value_bits`` spread
over its weights. The decoder expands each load's stored entries, ``decoders`` per cycle, into
ordinary ``value_bits`` weights in SRAM, which the rules above then size and skip; the array
multiplies at ``value_bits``. A load holds the DRAM channel until it is decoded
(:mod:`hwsim.isa`), and each entry decoded costs :func:`hwsim.energy.decode_pj`. Without a
decoder, a shared layer's weights are costed as ``bits``-wide weights, and the report says so.
A layer whose coded size is no smaller than its decoded one (a layer smaller than its
codebook) is stored decoded: the compiler decodes it ahead of time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from compiler.errors import MappingError
from compiler.ir import Op
from hwsim.config import Arch

__all__ = ["SparsityEffect", "sparsity_effect"]


@dataclass(frozen=True, slots=True)
class SparsityEffect:
    weight_word_bits: float  # stored bits per weight position (in SRAM)
    note: str  # what the sparsity saved, for the report ("" for a dense layer)
    k_scale: float = 1.0  # share of each k tile the array computes (zero skipping)
    w_bits: int | None = None  # the array's weight width when it differs from the layer's
    weight_code: tuple[float, float] | None = None  # decoded: (DRAM bits, entries) per weight


def _remaining_density(op: Op) -> float:
    """Density of the weights that remain after channel pruning removed whole filters."""
    kept = op.sparsity.kept_out_channels
    dense_out = int(op.attrs.get("dense_out_channels", op.out_channels))
    removed_share = (kept / dense_out) if kept else 1.0
    return min(1.0, op.sparsity.density / removed_share)


def sparsity_effect(op: Op, arch: Arch) -> SparsityEffect:
    code, decoder = op.weight_code, arch.weight_decoder
    if code is None:
        return _activation_effect(op, arch, _weight_effect(op, arch, op.precision.w_bits))
    if decoder is None:
        effect = _weight_effect(op, arch, op.precision.w_bits)
        note = (f"shared weights ({2**code.bits} values) costed as {code.bits}-bit weights: "
                f"{arch.name} has no weight_decoder to keep them coded")
        return _activation_effect(op, arch, _noted(effect, note))
    if code.bits > decoder.codebook_bits:
        raise MappingError(f"its weights share {2**code.bits} values ({code.bits}-bit indices), "
                           f"more than the {2**decoder.codebook_bits} of the weight decoder's "
                           f"codebook (weight_decoder.codebook_bits: {decoder.codebook_bits}); "
                           f"share the layer in at most {decoder.codebook_bits} bits")
    effect = _weight_effect(op, arch, decoder.value_bits)
    weights = op.weight.numel if op.weight is not None else 1
    coded = code.huffman_bits if decoder.huffman else code.fixed_bits
    dram = coded + 2**code.bits * decoder.value_bits / weights  # the codebook, spread
    if dram >= effect.weight_word_bits:  # (a layer smaller than its codebook, say)
        note = (f"shared weights stored decoded, as {decoder.value_bits}-bit values: coded they "
                f"would take {dram:.2f} bits per weight with the codebook, not less than "
                f"{effect.weight_word_bits:.2f}")
        return _activation_effect(op, arch, replace(_noted(effect, note),
                                                    w_bits=decoder.value_bits))
    how = "Huffman-coded" if decoder.huffman else "as codebook indices"
    note = (f"shared weights stay {how} in DRAM: {dram:.2f} bits per weight with the "
            f"codebook, {code.entries:.2f} entries decoded per weight into "
            f"{decoder.value_bits}-bit values")
    return _activation_effect(op, arch, replace(_noted(effect, note), w_bits=decoder.value_bits,
                                                weight_code=(dram, code.entries)))


def _noted(effect: SparsityEffect, note: str) -> SparsityEffect:
    return replace(effect, note="; ".join(n for n in (effect.note, note) if n))


def _activation_effect(op: Op, arch: Arch, weights: SparsityEffect) -> SparsityEffect:
    acts = op.sparsity.input_density
    support = arch.sparsity
    if acts >= 1.0:
        return weights
    if not support.activation_skip:
        return _noted(weights, f"input density {acts:.2f} saves nothing: {arch.name} "
                               "multiplies zero activations")
    # the share of each reduction that runs: non-zero inputs (times non-zero weights where
    # those are skipped too), padded to the busiest PE group
    share = acts * (_remaining_density(op) if support.zero_skip else 1.0)
    scale = min(1.0, share * support.imbalance)
    note = (f"input density {acts:.2f}: zero activations skipped (x{scale:.2f} of each "
            f"reduction with imbalance {support.imbalance})")
    return replace(_noted(weights, note), k_scale=scale)


def _weight_effect(op: Op, arch: Arch, w_bits: int) -> SparsityEffect:
    """The weights' stored word and skipping at ``w_bits`` (the layer's, or decoded width)."""
    density = _remaining_density(op)
    if density >= 1.0:
        return SparsityEffect(float(w_bits), "")
    support = arch.sparsity
    layer_nm, arch_nm = op.sparsity.nm, support.nm
    if layer_nm is not None and arch_nm is not None and layer_nm[1] == arch_nm[1] \
            and layer_nm[0] <= arch_nm[0]:
        n, m = arch_nm
        word = n / m * (w_bits + math.ceil(math.log2(m)))  # non-zeros and their positions
        runs_as = "" if layer_nm[0] == n else f" runs as {n}:{m}"
        return SparsityEffect(word, f"{layer_nm[0]}:{m} sparsity{runs_as}: weights stored at "
                                    f"{word:.2f} bits each, x{n / m:.2f} of each reduction",
                              n / m)
    if support.weight_format == "dense":
        why = ""
        if layer_nm is not None and arch_nm is not None:
            why = f" (its {layer_nm[0]}:{layer_nm[1]} pattern is not the array's {arch_nm[0]}:{arch_nm[1]})"
        return SparsityEffect(float(w_bits),
                              f"density {density:.2f} saves nothing: {arch.name} stores and "
                              f"multiplies zero weights{why}")
    word = density * w_bits + 1  # non-zeros plus the bitmap
    if not support.zero_skip:
        return SparsityEffect(word, f"density {density:.2f}: weights compressed to "
                                    f"{word:.2f} bits each; zeros still multiplied")
    # Each k tile runs its non-zeros only, padded to the busiest PE group (whose idle slots
    # count as MAC slots).
    scale = min(1.0, density * support.imbalance)
    return SparsityEffect(word, f"density {density:.2f}: weights compressed, zeros "
                                f"skipped (x{scale:.2f} of each reduction with imbalance "
                                f"{support.imbalance})", scale)
