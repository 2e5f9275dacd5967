"""The Pareto filter: the front is exactly the set of non-dominated vectors."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from systolab.search.pareto import ParetoFront, dominates, pareto_front

vectors = st.lists(st.tuples(*[st.integers(0, 6)] * 3), max_size=40)


def test_small_example() -> None:
    pts = [(1, 5), (2, 2), (3, 3), (5, 1), (2, 2), (6, 6)]
    assert pareto_front(pts) == [0, 1, 3, 4]
    assert dominates((2, 2), (3, 3)) and not dominates((2, 2), (2, 2))
    assert not dominates((1, 5), (5, 1))


@given(vectors)
def test_front_is_non_dominated_and_dominates_the_rest(vs: list[tuple[int, ...]]) -> None:
    """Law: no front member is dominated by any vector; every other vector is dominated by
    some front member (domination is transitive, so a dominated vector has a front dominator)."""
    front = set(pareto_front(vs))
    for i in front:
        assert not any(dominates(v, vs[i]) for v in vs)
    for i in set(range(len(vs))) - front:
        assert any(dominates(vs[j], vs[i]) for j in front)


@given(vectors)
def test_incremental_front_equals_batch_front(vs: list[tuple[int, ...]]) -> None:
    """Law: inserting one vector at a time, in any order, ends at the batch front."""
    live = ParetoFront()
    for i, v in enumerate(vs):
        live.add(str(i), v)
    assert sorted(int(k) for k in live._members) == pareto_front(vs)
    assert len(live) == len(pareto_front(vs))
