"""Entropy coding and the sparse index of Deep Compression (Han, Mao, Dally, ICLR 2016).

- Huffman coding (Huffman, "A Method for the Construction of Minimum-Redundancy Codes",
  Proc. IRE 1952): :func:`huffman_code_lengths` gives each symbol's code length from the
  symbols' frequencies, :func:`huffman_bits` the coded size of a sequence. Deep Compression
  (Section 4) Huffman-codes both the shared-weight indices and the sparse relative indices,
  whose distributions are far from uniform, and saves a further 20 to 30% of storage.
- Relative indexing (Section 2, Figure 2): a pruned layer stores its non-zero weights in
  order together with, for each, its distance from the previous stored one, in ``index_bits``
  bits (the paper: 8 bits for conv layers, 5 for fully connected layers, AlexNet). Here the
  stored value is the number of zeros skipped since the previous stored entry (since the start
  of the tensor for the first), 0 .. 2^index_bits - 1, which is the paper's distance minus one,
  as in EIE (Han et al., ISCA 2016, Section III: a 4-bit count of the zeros before each
  non-zero). A longer run of zeros is broken by a *filler zero*: an entry of value 0 stored
  after 2^index_bits - 1 skipped zeros, which takes the room of a weight and an index like any
  other entry. The tensor is one stream in its row-major order (output channel first), so
  positions are the running sum of the skips and no row pointers are needed; trailing zeros
  need no entry, since the decoder knows the tensor's size.

The textbook example (Cormen et al., "Introduction to Algorithms", 3rd ed., Section 16.3):
six characters of frequencies 45, 13, 12, 16, 9 and 5 (in thousands) take 224 (thousand) bits.

>>> lengths = huffman_code_lengths({"a": 45, "b": 13, "c": 12, "d": 16, "e": 9, "f": 5})
>>> lengths
{'a': 1, 'b': 3, 'c': 3, 'd': 3, 'e': 4, 'f': 4}
>>> coded_bits({"a": 45, "b": 13, "c": 12, "d": 16, "e": 9, "f": 5})
224
>>> index = relative_index([0, 1, 0, 0, 1] + [0] * 9 + [1], index_bits=3)
>>> index.skips.tolist(), index.filler.tolist()
([1, 2, 7, 1], [False, False, True, False])
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from compiler.errors import PolicyError
from hwsim.fields import shown

__all__ = ["FILLER", "CodedWeights", "SparseIndex", "code_weights", "coded_bits", "huffman_bits",
           "huffman_code_lengths", "relative_index"]

S = TypeVar("S", bound=Hashable)


def huffman_code_lengths(frequencies: Mapping[S, int]) -> dict[S, int]:
    """Code length in bits of each symbol of a Huffman code for ``frequencies``.

    Symbols of frequency 0 get no code (they are left out). A one-symbol alphabet gets length
    1: a code needs at least one bit per symbol to be a stream. Deterministic: among equal
    weights the tree merges the node made first, symbols counting as made in the order of
    ``frequencies``, merged nodes after them in the order of their merging.
    """
    for symbol, count in frequencies.items():
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise PolicyError(f"frequency of symbol {symbol!r} must be a non-negative integer, "
                              f"not {shown(count)}")
    symbols = [s for s, count in frequencies.items() if count > 0]
    if len(symbols) == 1:
        return {symbols[0]: 1}
    # Nodes are numbered in order of creation: the symbols 0 .. n-1, then each merged node. A
    # heap entry is (weight, node), so equal weights go by creation order.
    n = len(symbols)
    heap = [(int(frequencies[s]), node) for node, s in enumerate(symbols)]
    heapq.heapify(heap)
    parent = [0] * max(2 * n - 1, 0)
    for node in range(n, 2 * n - 1):
        w1, child1 = heapq.heappop(heap)
        w2, child2 = heapq.heappop(heap)
        parent[child1] = parent[child2] = node
        heapq.heappush(heap, (w1 + w2, node))
    # A parent is made after its children: walking down from the root (the last node), every
    # node's depth is its parent's plus one.
    depth = [0] * len(parent)
    for node in range(2 * n - 3, -1, -1):
        depth[node] = depth[parent[node]] + 1
    return {s: depth[i] for i, s in enumerate(symbols)}


def coded_bits(frequencies: Mapping[S, int]) -> int:
    """Size in bits of ``frequencies`` symbols coded with their Huffman code (0 when empty)."""
    lengths = huffman_code_lengths(frequencies)
    return sum(int(frequencies[s]) * n for s, n in lengths.items())


def huffman_bits(symbols: Iterable[Hashable] | np.ndarray) -> int:
    """Size in bits of the sequence ``symbols`` coded with the Huffman code of its own
    frequencies (the code table itself not counted, as in Deep Compression's figures)."""
    if isinstance(symbols, np.ndarray):
        values, counts = np.unique(symbols, return_counts=True)
        return coded_bits({v.item(): int(c) for v, c in zip(values, counts, strict=True)})
    return coded_bits(Counter(symbols))


@dataclass(frozen=True)
class SparseIndex:
    """The relative index of one weight tensor: one entry per stored weight, in order.

    ``skips[i]`` is the number of zeros between entry ``i`` and the one before it (the start of
    the tensor for the first), at most 2^``index_bits`` - 1; ``filler[i]`` says that entry ``i``
    is a filler zero rather than a weight of the tensor.
    """

    skips: np.ndarray
    filler: np.ndarray
    index_bits: int
    size: int  # elements of the dense tensor

    @property
    def stored(self) -> int:
        """Entries stored: the non-zero weights and the filler zeros."""
        return len(self.skips)

    @property
    def fillers(self) -> int:
        return int(self.filler.sum())

    @property
    def positions(self) -> np.ndarray:
        """Flat position of every entry, decoded from the skips alone."""
        return np.cumsum(self.skips + 1) - 1

    @property
    def bits(self) -> int:
        """Size of the index stream at ``index_bits`` per entry."""
        return self.stored * self.index_bits


def relative_index(nonzero: Iterable[bool] | np.ndarray, index_bits: int) -> SparseIndex:
    """Relative index (Deep Compression, Section 2; see the module doc) of a tensor whose
    non-zero pattern, flattened in row-major order, is ``nonzero``."""
    if isinstance(index_bits, bool) or not isinstance(index_bits, int) or not 1 <= index_bits <= 16:
        raise PolicyError(f"index_bits must be an integer from 1 to 16, not {shown(index_bits)}")
    flat = np.asarray(nonzero, dtype=bool).reshape(-1)
    where = np.flatnonzero(flat)
    previous = np.concatenate(([-1], where[:-1]))
    zeros = where - previous - 1  # zeros between each non-zero and the one before
    span = 1 << index_bits  # a filler is stored after span - 1 skipped zeros: it ends a span
    fillers = zeros // span
    per_weight = fillers + 1  # entries each non-zero weight needs: its fillers, then itself
    last = np.cumsum(per_weight) - 1
    skips = np.full(int(per_weight.sum()), span - 1, dtype=np.int64)
    skips[last] = zeros % span
    filler = np.ones(len(skips), dtype=bool)
    filler[last] = False
    return SparseIndex(skips, filler, index_bits, flat.size)


FILLER = -1
"""The weight-index symbol of a filler zero in the Huffman-coded stream."""


@dataclass(frozen=True, slots=True)
class CodedWeights:
    """One weight tensor as Deep Compression stores it: its entries (kept weights and filler
    zeros), each a ``bits``-wide codebook index and an ``index_bits``-wide relative index
    (``index_bits`` 0: no zeros, stored dense with implicit positions), and the two streams'
    Huffman-coded sizes."""

    weights: int  # elements of the dense tensor
    kept: int  # non-zero weights
    fillers: int  # filler zeros of the relative index
    bits: int  # codebook index width
    index_bits: int  # relative-index width (0: stored dense)
    huffman_weight_bits: int  # the codebook indices (a filler is a symbol of its own), coded
    huffman_index_bits: int  # the relative indices, coded

    @property
    def stored(self) -> int:
        """Entries stored: non-zero weights and filler zeros."""
        return self.kept + self.fillers

    @property
    def weight_code_bits(self) -> int:
        """The codebook indices at ``bits`` each."""
        return self.stored * self.bits

    @property
    def index_stream_bits(self) -> int:
        """The relative indices at ``index_bits`` each."""
        return self.stored * self.index_bits


def code_weights(codes: np.ndarray, kept: np.ndarray, bits: int, index_bits: int) -> CodedWeights:
    """Deep Compression's storage (Sections 2 and 4) of a tensor whose kept positions
    (``kept``, boolean, any shape, row-major) hold the codebook indices ``codes`` (same shape;
    values at pruned positions are ignored), with a relative index of ``index_bits`` if it has
    zeros.

    >>> coded = code_weights(np.array([3, 0, 3, 1]), np.array([True, False, True, True]), 2, 3)
    >>> coded.stored, coded.index_stream_bits, coded.huffman_weight_bits, coded.huffman_index_bits
    (3, 9, 3, 3)
    """
    flat_kept = np.asarray(kept, dtype=bool).reshape(-1)
    values = np.asarray(codes).reshape(-1)[flat_kept].astype(np.int64)
    if flat_kept.all():  # no zeros: stored dense, positions implicit
        return CodedWeights(flat_kept.size, flat_kept.size, 0, bits, 0, huffman_bits(values), 0)
    index = relative_index(flat_kept, index_bits)
    stream = np.full(index.stored, FILLER, dtype=np.int64)
    stream[~index.filler] = values
    return CodedWeights(flat_kept.size, int(flat_kept.sum()), index.fillers, bits, index_bits,
                        huffman_bits(stream), huffman_bits(index.skips))
