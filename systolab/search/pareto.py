"""Pareto fronts of minimization problems: the one helper both searches use (a sweep's
accelerators on its objectives, a policy search's policies on accuracy, latency and energy).

A vector ``a`` dominates ``b`` when it is no worse in every objective and better in one. The
front is the set of vectors no other vector dominates; equal vectors do not dominate each other,
so duplicates are all kept.

>>> pareto_front([(1, 5), (2, 2), (3, 3), (5, 1), (2, 2)])
[0, 1, 3, 4]
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ParetoFront", "dominates", "pareto_front"]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` dominates ``b`` (minimization)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True))


def pareto_front(vectors: Sequence[Sequence[float]]) -> list[int]:
    """Indices (ascending) of the non-dominated vectors.

    Vectors are visited in lexicographic order: a vector's dominators all come before it in
    that order, so comparing it with the front found so far is enough (O(n x front))."""
    order = sorted(range(len(vectors)), key=lambda i: tuple(vectors[i]))
    front: list[int] = []
    for i in order:
        if not any(dominates(vectors[j], vectors[i]) for j in front):
            front.append(i)
    return sorted(front)


class ParetoFront:
    """A front maintained as vectors arrive (for live progress; reports use
    :func:`pareto_front` on the stored results)."""

    def __init__(self) -> None:
        self._members: dict[str, tuple[float, ...]] = {}

    def __len__(self) -> int:
        return len(self._members)

    def add(self, key: str, vector: Sequence[float]) -> bool:
        """Insert ``vector`` unless dominated; drop members it dominates. True if inserted."""
        v = tuple(vector)
        if any(dominates(m, v) for m in self._members.values()):
            return False
        self._members = {k: m for k, m in self._members.items() if not dominates(v, m)}
        self._members[key] = v
        return True
