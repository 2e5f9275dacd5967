"""The search loop: rewards, best policy, checkpoints, and resume equivalence."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import policy_synthetic_env as env

from compiler.policy import LayerPolicy, Policy, load_policy
from systolab.search.budget import Budget
from systolab.search.checkpoint import CheckpointError
from systolab.search.loop import SearchConfig, SearchResult, run_search

BASE = env.cost(Policy(LayerPolicy(8, 8)))


class Killed(Exception):
    """Stands for the process being killed in the middle of an episode."""


def killing(after: int) -> Callable[[Policy], float]:
    calls = [0]

    def accuracy(policy: Policy) -> float:
        calls[0] += 1
        if calls[0] > after:
            raise Killed
        return env.accuracy(policy)

    return accuracy


def search(config: SearchConfig, out: Path | None, accuracy: Callable[[Policy], float] = env.accuracy,
           resume: bool = False) -> SearchResult:
    return run_search(config, layers=env.layers(), cost=env.cost, accuracy=accuracy,
                      reference_accuracy=0.99, baseline=BASE, out_dir=out, resume=resume)


def test_reward_is_haq_lambda_times_accuracy_points_and_best_is_feasible() -> None:
    result = search(SearchConfig("haq", Budget("energy", 0.5), episodes=8, seed=1), None)
    for r in result.history:
        assert r.reward == pytest.approx(0.1 * 100 * (r.accuracy - 0.99))
        assert r.feasible and r.energy_pj <= 0.5 * BASE.energy_pj * (1 + 1e-9)
    assert result.best is not None
    assert result.best.reward == max(r.reward for r in result.history)
    assert result.cost_evaluations > len(result.history)  # enforcement queries the cost model
    assert result.cost_evaluations_per_second > 0


@pytest.mark.parametrize("agent, kill_after", [("haq", 7), ("amc", 4), ("nsga2", 9), ("greedy", 2)])
def test_a_killed_and_resumed_search_equals_an_uninterrupted_one(
        tmp_path: Path, agent: str, kill_after: int) -> None:
    config = SearchConfig(agent, Budget("latency", 0.6), episodes=14, seed=5, channel_multiple=4)
    straight = search(config, tmp_path / "straight")
    with pytest.raises(Killed):
        search(config, tmp_path / "killed", killing(kill_after))
    stopped = json.loads((tmp_path / "killed" / "search.json").read_text())
    assert 0 < stopped["episode"] < len(straight.history)
    resumed = search(config, tmp_path / "killed", resume=True)
    assert [r.policy for r in resumed.history] == [r.policy for r in straight.history]
    assert [r.reward for r in resumed.history] == [r.reward for r in straight.history]
    assert resumed.best is not None and straight.best is not None
    assert resumed.best.policy == straight.best.policy
    assert len(list((tmp_path / "killed").glob("search-state-*.pt"))) == 1


def test_resume_may_extend_the_episode_count_and_refuses_another_search(tmp_path: Path) -> None:
    config = SearchConfig("haq", Budget("latency", 0.6), episodes=4, seed=2)
    search(config, tmp_path)
    longer = search(SearchConfig("haq", Budget("latency", 0.6), episodes=6, seed=2), tmp_path,
                    resume=True)
    assert [r.episode for r in longer.history] == list(range(6))
    with pytest.raises(CheckpointError, match=r"different search \(seed: 2 there, 3 now\)"):
        search(SearchConfig("haq", Budget("latency", 0.6), episodes=6, seed=3), tmp_path, resume=True)
    with pytest.raises(CheckpointError, match="already holds a search checkpoint; pass --resume"):
        search(config, tmp_path)
    # killed before its first episode was committed: --resume starts afresh
    fresh = search(config, tmp_path / "empty", resume=True)
    assert [r.policy for r in fresh.history] == [r.policy for r in search(config, None).history]


def test_best_policy_round_trips_through_the_policy_file_format(tmp_path: Path) -> None:
    import yaml

    result = search(SearchConfig("uniform", Budget("size", 0.5), episodes=10), None)
    assert result.best is not None
    path = tmp_path / "best.yaml"
    path.write_text(yaml.safe_dump(result.best.policy))
    assert load_policy(path) == result.best.to_policy()
    # uniform stops by itself once every width within the budget was tried; the widest wins
    widths = [r.policy["layers"]["conv1"]["w_bits"] for r in result.history]
    assert widths == list(range(widths[0], 1, -1)) and len(widths) < 10
    assert result.best.policy["layers"]["conv1"]["w_bits"] == widths[0]
    wider = {"w_bits": widths[0] + 1, "a_bits": widths[0] + 1}
    over = Policy.from_dict({"default": {"w_bits": 8, "a_bits": 8}, "layers": {
        n: wider for n in result.best.policy["layers"] if n not in ("conv0", "fc5")}})
    assert env.cost(over).weight_bits > 0.5 * BASE.weight_bits
