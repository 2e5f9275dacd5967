"""The sensitivity agent: measure each layer once per width, solve the budget exactly.

On the synthetic environment accuracy and cost are sums over layers, so the agent's answer must
be the best allocation there is: checked against all 7^4 allocations. The solver itself is
checked against brute force on random tables."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import policy_synthetic_env as env

from compiler.policy import LayerPolicy, Policy
from systolab.search.agents.sensitivity import CANDIDATES, solve_allocation, solve_allocations
from systolab.search.budget import Budget
from systolab.search.loop import SearchConfig, run_search

BASE = env.cost(Policy(LayerPolicy(8, 8)))


def brute_force(sens: list[list[float]], saving: list[list[float]],
                need: float) -> float | None:
    sums = [sum(sens[layer][i] for layer, i in enumerate(c))
            for c in itertools.product(*(range(len(r)) for r in sens))
            if sum(saving[layer][i] for layer, i in enumerate(c)) >= need]
    return min(sums) if sums else None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_solver_is_exact(data: st.DataObject) -> None:
    layers = data.draw(st.integers(1, 4))
    options = data.draw(st.integers(1, 4))
    number = st.integers(0, 20).map(float)
    sens = [[data.draw(number) for _ in range(options)] for _ in range(layers)]
    saving = [[data.draw(number) for _ in range(options)] for _ in range(layers)]
    need = float(data.draw(st.integers(-5, 60)))
    choice = solve_allocation(sens, saving, need)
    best = brute_force(sens, saving, need)
    if best is None:
        assert choice is None
    else:
        assert choice is not None
        assert sum(saving[layer][i] for layer, i in enumerate(choice)) >= need
        assert sum(sens[layer][i] for layer, i in enumerate(choice)) == best


@pytest.mark.parametrize("metric, value", [("latency", 0.6), ("energy", 0.45), ("size", 0.5)])
def test_the_agent_finds_the_best_allocation_within_the_budget(metric: str, value: float) -> None:
    config = SearchConfig("sensitivity", Budget(metric, value), episodes=40, seed=0)
    result = run_search(config, layers=env.layers(), cost=env.cost, accuracy=env.accuracy,
                        reference_accuracy=0.99, baseline=BASE)
    # top widths, 4 layers x 6 lower widths, the candidates (up to 4 and a uniform), the answer
    probes = 1 + 4 * 6
    candidates = result.history[probes:-1]
    assert 1 <= len(candidates) <= CANDIDATES + 1 and all(r.feasible for r in candidates)
    assert result.history[-1].feasible  # the answer; probes may break the budget
    assert result.history[-1].accuracy == max(r.accuracy for r in candidates)
    limit = config.budget.resolve(BASE).limit  # type: ignore[union-attr]
    names = [layer.name for layer in env.layers()][1:-1]
    feasible = []
    for widths in itertools.product(range(2, 9), repeat=len(names)):
        policy = Policy(LayerPolicy(8, 8), {n: LayerPolicy(b, b) for n, b in
                                            zip(names, widths, strict=True)})
        c = env.cost(policy)
        if getattr(c, {"latency": "seconds", "energy": "energy_pj", "size": "weight_bits"}[metric]) \
                <= limit * (1 + 1e-9):
            feasible.append(env.accuracy(policy))
    assert result.history[-1].accuracy == pytest.approx(max(feasible), abs=1e-12)


def test_a_killed_sensitivity_search_resumes_to_the_same_answer(tmp_path: Path) -> None:
    config = SearchConfig("sensitivity", Budget("latency", 0.6), episodes=40, seed=0)
    calls = [0]

    def dying(policy: Policy) -> float:
        calls[0] += 1
        if calls[0] > 9:
            raise KeyboardInterrupt
        return env.accuracy(policy)

    kwargs = {"layers": env.layers(), "cost": env.cost, "reference_accuracy": 0.99,
              "baseline": BASE, "out_dir": tmp_path}
    with pytest.raises(KeyboardInterrupt):
        run_search(config, accuracy=dying, **kwargs)  # type: ignore[arg-type]
    resumed = run_search(config, accuracy=env.accuracy, resume=True, **kwargs)  # type: ignore[arg-type]
    straight = run_search(config, layers=env.layers(), cost=env.cost, accuracy=env.accuracy,
                          reference_accuracy=0.99, baseline=BASE)
    assert [r.policy for r in resumed.history] == [r.policy for r in straight.history]


@pytest.mark.parametrize("agent", ["sensitivity-keep", "sensitivity-joint"])
def test_keep_ratios_alone_and_with_bits_meet_the_budget_and_beat_uniform(agent: str) -> None:
    config = SearchConfig(agent, Budget("latency", 0.6), episodes=200, seed=0, channel_multiple=4)
    result = run_search(config, layers=env.layers(), cost=env.cost, accuracy=env.accuracy,
                        reference_accuracy=0.99, baseline=BASE)
    answer = result.history[-1]
    assert answer.feasible
    settings = answer.to_policy().layers
    assert any((lp.keep or 1.0) < 1.0 for lp in settings.values())
    if agent == "sensitivity-keep":  # widths stay at the top: only channels were searched
        assert {(lp.w_bits, lp.a_bits) for lp in settings.values()} == {(8, 8)}
    uniform = run_search(SearchConfig("uniform", Budget("latency", 0.6), episodes=10, seed=0),
                         layers=env.layers(), cost=env.cost, accuracy=env.accuracy,
                         reference_accuracy=0.99, baseline=BASE)
    if agent == "sensitivity-joint":
        assert uniform.best is not None and answer.accuracy >= uniform.best.accuracy


def test_the_candidates_are_the_front_nearest_the_need_least_sensitive_first() -> None:
    sens, saving = [[0, 1, 3], [0, 2, 5]], [[0, 2, 4], [0, 3, 4]]
    got = solve_allocations(sens, saving, 5, 10)
    totals = [(sum(sens[i][c] for i, c in enumerate(a)), sum(saving[i][c] for i, c in
                                                                enumerate(a))) for a in got]
    assert got[0] == solve_allocation(sens, saving, 5)
    assert all(v >= 5 for _, v in totals) and [t for t, _ in totals] == sorted(t for t, _ in totals)
    assert solve_allocations(sens, saving, 99, 3) == []
