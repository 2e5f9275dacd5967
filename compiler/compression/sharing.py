"""Trained quantization by weight sharing (Han, Mao, Dally, "Deep Compression", ICLR 2016,
Section 3).

A layer's kept (non-pruned) weights are clustered into 2^bits values by k-means; the layer
then stores, per weight, a ``bits``-wide index into a table of 2^bits shared 32-bit values
(the codebook, or centroids). Details that follow the paper:

- One codebook per layer, clustered over the non-zero weights only (pruned weights stay 0 and
  are not stored, Section 2).
- *Linear* initialization: the centroids start evenly spaced between the smallest and the
  largest weight. Section 3.2 compares it with random (Forgy) and density-based starts and
  finds it best: it keeps centroids near the rare large weights, which matter most, where the
  other two crowd them into the dense middle of the distribution.
- Lloyd's iterations (assign each weight to its nearest centroid, move each centroid to the
  mean of its weights) until nothing moves or ``iterations`` have run; in 1-D the centroids
  stay in order, and a centroid that loses all its weights stays where it is.
- Fine-tuning trains the centroids, not the weights: the index of every weight is fixed, and
  the gradient of a centroid is the sum of the gradients of the weights that share it (the
  paper's Eq. 3), which is what autograd gives for ``centroids[index]``.

:class:`SharedWeight` is a weight parametrization (``torch.nn.utils.parametrize``) like the
fake quantizers of :mod:`compiler.compression.fakequant`: a traced graph still shows one conv
or linear op, and the front end reads the weight bits from its ``bits``
(:func:`compiler.frontend.annotations.read_weight_bits`). The parametrization's ``original``
holds the pruned weight the clustering started from (frozen, zeros where pruned), so that
:func:`compiler.frontend.annotations.read_sparsity` reads the layer's density from it.

>>> import torch
>>> from torch import nn
>>> layer = nn.Linear(4, 3)
>>> with torch.no_grad():
...     _ = layer.weight.copy_(torch.tensor([[0.0, 1.0, 1.1, 0.0], [2.0, 2.1, 0.0, 0.9],
...                                      [0.0, 0.0, 3.0, 2.9]]))
>>> shared = share_weights(layer, bits=2).parametrizations.weight[0]
>>> shared.bits, [round(c, 2) for c in shared.centroids.tolist()]
(2, [1.0, 1.6, 2.05, 2.95])
>>> layer.weight
tensor([[0.0000, 1.0000, 1.0000, 0.0000],
        [2.0500, 2.0500, 0.0000, 1.0000],
        [0.0000, 0.0000, 2.9500, 2.9500]], grad_fn=<MulBackward0>)

(The centroids start at 0.9, 1.6, 2.3 and 3.0; no weight is nearest 1.6, so it stays.)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from compiler.compression.huffman import CodedWeights, code_weights
from compiler.errors import PolicyError
from hwsim.fields import shown

__all__ = ["KMEANS_ITERATIONS", "RELATIVE_INDEX_BITS", "SharedWeight", "kmeans_1d", "share_weights"]

KMEANS_ITERATIONS = 30
"""Lloyd iterations at most; 1-D clustering of a layer settles in a few to a few dozen."""

RELATIVE_INDEX_BITS = {"conv": 8, "fc": 5}
"""Relative sparse-index bits by layer kind: 8 for conv and 5 for fully connected layers
(Deep Compression, Section 2)."""


def kmeans_1d(values: torch.Tensor, clusters: int, *, iterations: int = KMEANS_ITERATIONS
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroids (float32, ``[clusters]``, in ascending order) and the index of each value's
    centroid (int64) from Lloyd's k-means on ``values``, linearly initialized between their
    minimum and maximum (Deep Compression, Section 3.2).

    Deterministic: computed in float64, a value half-way between two centroids goes to the
    lower one. No values give centroids at 0.

    >>> centroids, index = kmeans_1d(torch.tensor([0.0, 0.1, 0.9, 1.0, 5.0]), 3)
    >>> centroids.tolist(), index.tolist()
    ([0.5, 2.5, 5.0], [0, 0, 0, 0, 2])
    """
    if isinstance(clusters, bool) or not isinstance(clusters, int) or clusters < 1:
        raise PolicyError(f"clusters must be a positive integer, not {shown(clusters)}")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise PolicyError(f"iterations must be a non-negative integer, not {shown(iterations)}")
    x = values.detach().reshape(-1).to(torch.float64)
    if x.numel() == 0:
        return torch.zeros(clusters), torch.zeros(0, dtype=torch.int64)
    centroids = torch.linspace(float(x.min()), float(x.max()), clusters, dtype=torch.float64)
    index = _nearest(x, centroids)
    for _ in range(iterations):
        sums = torch.zeros_like(centroids).index_add_(0, index, x)
        counts = torch.bincount(index, minlength=clusters)
        moved = torch.where(counts > 0, sums / counts.clamp_min(1), centroids)
        if torch.equal(moved, centroids):
            break
        centroids = moved
        index = _nearest(x, centroids)
    return centroids.to(torch.float32), index


def _nearest(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest of the ascending ``centroids`` for each of ``x`` (ties go low).

    Boundaries are the midpoints between neighbours, so this costs O(n log k), not O(n k):
    the 2^16 centroids of 16-bit sharing on a large layer fit in memory."""
    midpoints = (centroids[1:] + centroids[:-1]) / 2
    return torch.bucketize(x, midpoints)


class SharedWeight(nn.Module):
    """A weight made of 2^``bits`` shared values: ``centroids[index] * mask``.

    ``centroids`` is a trainable parameter; ``index`` (one per weight, int32) and ``mask``
    (1 where the weight is kept, 0 where pruned) are fixed buffers. The input of
    :meth:`forward` (the parametrization's frozen ``original``) is not used. ``index_bits``
    is the width of the relative sparse index the weights are stored with
    (:meth:`coded`).
    """

    def __init__(self, bits: int, centroids: torch.Tensor, index: torch.Tensor,
                 mask: torch.Tensor, index_bits: int = RELATIVE_INDEX_BITS["conv"]) -> None:
        super().__init__()
        self.bits = _check_bits(bits)
        self.index_bits = _check_bits(index_bits, "relative index bits")
        if centroids.shape != (2**bits,):
            raise PolicyError(f"centroids must have shape ({2**bits},) for {bits} bits, not "
                              f"{tuple(centroids.shape)}")
        if index.shape != mask.shape:
            raise PolicyError(f"index and mask must have the same shape, not {tuple(index.shape)} "
                              f"and {tuple(mask.shape)}")
        self.centroids = nn.Parameter(centroids.detach().clone())
        self.index: torch.Tensor
        self.mask: torch.Tensor
        self.register_buffer("index", index.detach().to(torch.int32).clone())
        self.register_buffer("mask", mask.detach().to(centroids.dtype).clone())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return self.centroids[self.index] * self.mask

    @property
    def kept(self) -> torch.Tensor:
        """Boolean tensor: the weights that are stored (not pruned)."""
        return self.mask != 0

    def coded(self) -> CodedWeights:
        """The weights as Deep Compression stores them: codebook indices with a relative index
        of :attr:`index_bits`, both Huffman-coded (:func:`compiler.compression.huffman.code_weights`)."""
        return code_weights(self.index.numpy(), self.kept.numpy(), self.bits, self.index_bits)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, kept={int(self.kept.sum())}/{self.mask.numel()}"


def _check_bits(bits: int, what: str = "bits") -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise PolicyError(f"{what} must be an integer from 1 to 16 for weight sharing, not "
                          f"{shown(bits)}")
    return bits


def share_weights(layer: nn.Module, bits: int, *, index_bits: int | None = None,
                  iterations: int = KMEANS_ITERATIONS) -> nn.Module:
    """Replace the weight of a conv or linear ``layer`` by 2^``bits`` shared values, in place.
    ``index_bits``: the relative index the weights are stored with, by default
    :data:`RELATIVE_INDEX_BITS` of the layer's kind.

    The weight's zeros count as pruned: a ``torch.nn.utils.prune`` mask is made permanent first
    (its zeros stay zeros), and a layer that already has a weight parametrization (an earlier
    sharing, a fake quantizer) is clustered from the weight that parametrization gives.
    """
    if not isinstance(layer, (nn.Conv2d, nn.Linear)):
        raise PolicyError(f"weight sharing applies to conv and linear layers, not {type(layer).__name__}")
    _check_bits(bits)
    if index_bits is None:
        index_bits = RELATIVE_INDEX_BITS["conv" if isinstance(layer, nn.Conv2d) else "fc"]
    if isinstance(getattr(layer, "weight_mask", None), torch.Tensor) and hasattr(layer, "weight_orig"):
        prune.remove(layer, "weight")
    if parametrize.is_parametrized(layer, "weight"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    weight = layer.weight
    assert isinstance(weight, torch.Tensor)
    kept = weight.detach() != 0
    centroids, index = kmeans_1d(weight.detach()[kept], 2**bits, iterations=iterations)
    full = torch.zeros(weight.shape, dtype=torch.int32)
    full[kept] = index.to(torch.int32)
    parametrize.register_parametrization(
        layer, "weight", SharedWeight(bits, centroids.to(weight.dtype), full, kept, index_bits))
    layer.parametrizations.weight.original.requires_grad_(False)  # type: ignore[union-attr]
    return layer
