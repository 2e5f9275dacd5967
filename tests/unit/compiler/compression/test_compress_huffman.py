"""Huffman code lengths and the relative sparse index of Deep Compression (ICLR 2016, Sections 2
and 4)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from compiler.compression import coded_bits, huffman_bits, huffman_code_lengths, relative_index
from compiler.errors import PolicyError

CLRS = {"a": 45, "b": 13, "c": 12, "d": 16, "e": 9, "f": 5}


def kraft_sum(lengths: dict[object, int]) -> Fraction:
    return sum((Fraction(1, 2**n) for n in lengths.values()), Fraction(0))


def test_textbook_example_takes_224_bits() -> None:
    # Cormen et al., Introduction to Algorithms, 3rd ed., Section 16.3 (Figure 16.4): a has a
    # 1-bit code, b, c and d 3-bit codes, e and f 4-bit codes; 224 bits for 100 characters.
    lengths = huffman_code_lengths(CLRS)
    assert lengths == {"a": 1, "b": 3, "c": 3, "d": 3, "e": 4, "f": 4}
    assert coded_bits(CLRS) == 224
    assert huffman_bits(list("a" * 45 + "b" * 13 + "c" * 12 + "d" * 16 + "e" * 9 + "f" * 5)) == 224


@pytest.mark.parametrize("seed", range(5))
def test_lengths_satisfy_kraft_with_equality_and_cost_is_the_sum_of_merges(seed: int) -> None:
    """A Huffman tree is full: sum 2^-length = 1 exactly. Its cost equals the sum of the weights
    of all merged nodes (each merge adds one bit to every symbol below it)."""
    rng = np.random.default_rng(seed)
    freqs = {i: int(f) for i, f in enumerate(rng.integers(1, 1000, size=int(rng.integers(2, 40))))}
    lengths = huffman_code_lengths(freqs)
    assert kraft_sum(lengths) == 1
    pool = sorted(freqs.values())
    merged = 0
    while len(pool) > 1:
        pool.sort()
        pair = pool.pop(0) + pool.pop(0)
        merged += pair
        pool.append(pair)
    assert coded_bits(freqs) == merged


def test_small_alphabets_and_zero_frequencies() -> None:
    assert huffman_code_lengths({"x": 7}) == {"x": 1}  # a stream still needs a bit per symbol
    assert huffman_code_lengths({"x": 7, "y": 0}) == {"x": 1}
    assert huffman_code_lengths({}) == {} and coded_bits({}) == 0
    assert huffman_bits(np.array([3, 3, 3])) == 3
    assert huffman_code_lengths({"x": 1, "y": 1, "z": 1, "w": 1}) == dict.fromkeys("xyzw", 2)


def test_ties_are_broken_by_the_order_of_the_symbols() -> None:
    # Equal weights: the first two symbols merge first, the third sits next to their node.
    assert huffman_code_lengths({"x": 1, "y": 1, "z": 1}) == {"x": 2, "y": 2, "z": 1}
    assert huffman_code_lengths({"z": 1, "y": 1, "x": 1}) == {"z": 2, "y": 2, "x": 1}
    assert huffman_code_lengths(CLRS) == huffman_code_lengths(dict(CLRS))


def test_array_and_sequence_give_the_same_size() -> None:
    symbols = np.random.default_rng(0).integers(-1, 16, size=500)
    assert huffman_bits(symbols) == huffman_bits(symbols.tolist())


@pytest.mark.parametrize("count", [-1, 1.5, True])
def test_a_bad_frequency_names_its_symbol(count: object) -> None:
    with pytest.raises(PolicyError, match=r"^frequency of symbol 'q' must be a non-negative integer, not "):
        huffman_code_lengths({"q": count})  # type: ignore[dict-item]


def test_relative_index_with_a_filler_by_hand() -> None:
    # Non-zeros at 1, 4 and 14; 3-bit skips count at most 7 zeros. Before 14 lie 9 zeros: a
    # filler goes at 4 + 8 = 12 (after 7 skipped zeros), and 14 follows it after 1 more zero.
    mask = np.zeros(16, dtype=bool)
    mask[[1, 4, 14]] = True
    index = relative_index(mask, index_bits=3)
    assert index.skips.tolist() == [1, 2, 7, 1]
    assert index.filler.tolist() == [False, False, True, False]
    assert index.positions.tolist() == [1, 4, 12, 14]
    assert (index.stored, index.fillers, index.bits, index.size) == (4, 1, 12, 16)


def test_a_run_of_exactly_two_to_the_bits_zeros_needs_one_filler() -> None:
    # 2-bit skips: at most 3 zeros. 4 zeros before position 4: a filler at 3, then skip 0.
    index = relative_index([0, 0, 0, 0, 1, 1, 0, 0, 0], index_bits=2)
    assert index.skips.tolist() == [3, 0, 0]
    assert index.filler.tolist() == [True, False, False]
    assert index.positions.tolist() == [3, 4, 5]  # trailing zeros need no entry
    assert relative_index([0, 0, 0], index_bits=2).stored == 0


@pytest.mark.parametrize("index_bits", [1, 2, 3, 5, 8])
def test_relative_index_decodes_to_the_non_zeros(index_bits: int) -> None:
    rng = np.random.default_rng(index_bits)
    mask = rng.random(3000) < 0.05
    index = relative_index(mask, index_bits)
    assert (index.skips >= 0).all() and (index.skips < 2**index_bits).all()
    assert np.array_equal(index.positions[~index.filler], np.flatnonzero(mask))
    gaps = np.diff(np.concatenate(([-1], np.flatnonzero(mask)))) - 1
    assert index.fillers == int((gaps // 2**index_bits).sum())
    assert not mask[index.positions[index.filler]].any()  # fillers sit on zeros


@pytest.mark.parametrize("bits", [0, 17, 2.0])
def test_bad_index_bits_are_refused(bits: object) -> None:
    with pytest.raises(PolicyError, match=r"^index_bits must be an integer from 1 to 16, not "):
        relative_index([1, 0, 1], bits)  # type: ignore[arg-type]
