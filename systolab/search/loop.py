"""The compression-policy search loop: propose, compress, evaluate, cost, reward, learn.

One episode (a trial, for the baselines):

1. the agent proposes a :class:`~compiler.policy.Policy` (budget already enforced by HAQ, AMC
   and joint, see :mod:`systolab.search.agents.space`);
2. ``accuracy(policy)`` compresses the model, optionally fine-tunes it, and scores it
   (:func:`systolab.search.accuracy.task_accuracy`); results are cached per policy;
3. ``cost(policy)`` gives latency, energy and size from per-layer cached simulations
   (:class:`systolab.search.costs.CostModel`, well under a millisecond);
4. reward = ``lambda * (acc - acc_original)``, accuracy in percentage points and
   ``lambda = 0.1``: HAQ's reward (Wang et al., CVPR 2019, Sec. 3.4). We use it for every agent,
   AMC included: with the budget enforced by construction, AMC's resource-constrained reward
   ``-error`` (He et al., ECCV 2018, Sec. 3.3) is the same up to scale and a constant, and one
   reward makes agents comparable;
5. the agent observes the outcome; the history and a checkpoint are written.

The best policy is the highest-reward one within the budget (ties: the cheaper one). The
Pareto front is taken over all evaluated policies on (accuracy up, latency down, energy down).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from compiler.policy import Policy
from hwsim.errors import SystolabError
from systolab.progress import Reporter
from systolab.search.agents import SearchContext, make_agent
from systolab.search.agents.base import Agent, LayerLike
from systolab.search.budget import Budget, CostLike, ResolvedBudget
from systolab.search.checkpoint import (
    CHECKPOINT,
    CheckpointError,
    load_checkpoint,
    restore_rng,
    rng_state,
    save_checkpoint,
)
from systolab.search.lock import exclusive
from systolab.search.pareto import pareto_front

__all__ = ["EpisodeRecord", "SearchConfig", "SearchResult", "policy_front", "run_search"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """What to search and how; everything here must match for ``resume`` to accept a checkpoint
    (except ``episodes``, which a resumed search may extend)."""

    agent: str = "haq"
    budget: Budget | None = None
    episodes: int = 100
    seed: int = 0
    min_bits: int = 2
    max_bits: int = 8
    pin_first_last: bool = True
    channel_multiple: int = 1
    reward_lambda: float = 0.1  # HAQ's lambda, per accuracy percentage point
    objective: str = "latency"  # the mapper's, when the costs were simulated
    dataflow: str = "auto"
    schedule: str = "short"  # the DDPG agents' exploration schedule (ddpg_agent.SCHEDULES)

    def fingerprint(self) -> dict[str, Any]:
        data = asdict(self)
        data["budget"] = self.budget.to_dict() if self.budget else None
        data.pop("episodes")
        if data["schedule"] == "short":  # as checkpoints from before schedules existed say
            data.pop("schedule")
        return data


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    """One evaluated policy: its accuracy, reward and hardware cost."""

    episode: int
    policy: dict[str, Any]
    accuracy: float
    reward: float
    cycles: int
    seconds: float
    energy_pj: float
    weight_bits: int
    feasible: bool
    wall_s: float

    @property
    def latency_ms(self) -> float:
        return self.seconds * 1e3

    def to_policy(self) -> Policy:
        return Policy.from_dict(self.policy)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> EpisodeRecord:
        """The record :meth:`to_dict` wrote; ``TypeError`` names a field of the wrong type."""
        if not isinstance(data, dict) or set(data) != set(_RECORD_TYPES):
            raise TypeError(f"an episode record needs exactly the fields "
                            f"{', '.join(_RECORD_TYPES)}")
        for name, kinds in _RECORD_TYPES.items():
            value = data[name]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise TypeError(f"episode field {name!r} must be "
                                f"{' or '.join(k.__name__ for k in kinds)}, not "
                                f"{type(value).__name__}")
        return cls(**data)


_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "episode": (int,), "policy": (dict,), "accuracy": (int, float), "reward": (int, float),
    "cycles": (int,), "seconds": (int, float), "energy_pj": (int, float),
    "weight_bits": (int,), "feasible": (bool,), "wall_s": (int, float)}


@dataclass(frozen=True)
class SearchResult:
    """A finished (or stopped) search: history, best policy, Pareto front, throughput."""

    config: SearchConfig
    history: tuple[EpisodeRecord, ...]
    best: EpisodeRecord | None
    reference_accuracy: float
    baseline: CostLike
    budget: ResolvedBudget | None
    pareto: tuple[EpisodeRecord, ...]
    wall_seconds: float
    cost_evaluations: int
    cost_seconds: float
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def cost_evaluations_per_second(self) -> float:
        return self.cost_evaluations / self.cost_seconds if self.cost_seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": {**self.config.fingerprint(), "episodes": self.config.episodes},
            "budget": None if self.budget is None else {
                "metric": self.budget.metric, "limit": self.budget.limit,
                "baseline": self.budget.baseline, "text": self.budget.describe()},
            "reference_accuracy": self.reference_accuracy,
            "best": self.best.to_dict() if self.best else None,
            "pareto": [r.episode for r in self.pareto],
            "wall_seconds": self.wall_seconds,
            "cost_evaluations": self.cost_evaluations,
            "cost_evaluations_per_second": self.cost_evaluations_per_second,
            "history": [r.to_dict() for r in self.history],
        }


class _CountingCost:
    """Wraps the cost function to count calls and the time spent in them."""

    def __init__(self, fn: Callable[[Policy], CostLike]) -> None:
        self.fn = fn
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, policy: Policy) -> CostLike:
        t0 = time.perf_counter()
        try:
            return self.fn(policy)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def _key(policy: Policy) -> str:
    return json.dumps(policy.to_dict(), sort_keys=True)


def policy_front(records: Sequence[EpisodeRecord]) -> tuple[EpisodeRecord, ...]:
    """Records no other record dominates on (accuracy up, latency down, energy down); one per
    distinct policy (its first evaluation), in episode order."""
    unique = list({_key(r.to_policy()): r for r in reversed(records)}.values())[::-1]
    front = pareto_front([(-r.accuracy, r.seconds, r.energy_pj) for r in unique])
    return tuple(sorted((unique[i] for i in front), key=lambda r: r.episode))


def _best(records: Sequence[EpisodeRecord], metric: str) -> EpisodeRecord | None:
    feasible = [r for r in records if r.feasible]
    attr = {"latency": "seconds", "energy": "energy_pj", "size": "weight_bits"}[metric]
    return max(feasible, key=lambda r: (r.reward, -getattr(r, attr), -r.episode), default=None)


def run_search(config: SearchConfig, *, layers: Sequence[LayerLike],
               cost: Callable[[Policy], CostLike], accuracy: Callable[[Policy], float],
               reference_accuracy: float, baseline: CostLike, out_dir: str | Path | None = None,
               resume: bool = False, progress: bool = False) -> SearchResult:
    """Run (or resume) a search; see the module docstring for one episode.

    ``layers`` are the compute layers (:attr:`CostModel.layers`), ``cost`` the fast cost
    function (:meth:`CostModel.evaluate`), ``baseline`` the uniform 8-bit cost the budget is
    relative to, ``reference_accuracy`` the uncompressed model's. With ``out_dir``, a
    checkpoint is written after every episode; ``resume`` continues from it and yields the
    same result as an uninterrupted run with the same settings.
    """
    t_start = time.perf_counter()
    counted = _CountingCost(cost)
    budget = config.budget.resolve(baseline) if config.budget else None
    ctx = SearchContext(layers, counted, budget, seed=config.seed, episodes=config.episodes,
                        min_bits=config.min_bits, max_bits=config.max_bits,
                        pin_first_last=config.pin_first_last,
                        channel_multiple=config.channel_multiple, schedule=config.schedule)
    agent = make_agent(config.agent, ctx)
    out = Path(out_dir) if out_dir is not None else None
    with exclusive(out, "search") if out is not None else nullcontext():
        history: list[EpisodeRecord] = []
        finished = False
        if out is not None and resume and (out / CHECKPOINT).exists():
            history, reference_accuracy, finished = _resume(out, config, agent)
            log.info("resumed %s from episode %d", config.agent, len(history))
        elif out is not None and resume:  # killed before its first episode was committed
            log.warning("%s holds no search checkpoint yet: starting the search afresh", out)
        elif out is not None and (out / CHECKPOINT).exists():
            raise CheckpointError(f"{str(out)!r} already holds a search checkpoint; pass "
                                  "--resume to continue it, or choose another --out")
        return _episodes(config, agent, counted, budget, baseline, accuracy, reference_accuracy,
                         history, finished, out, progress, t_start)


def _episodes(config: SearchConfig, agent: Agent, counted: _CountingCost,
              budget: ResolvedBudget | None, baseline: CostLike,
              accuracy: Callable[[Policy], float], reference_accuracy: float,
              history: list[EpisodeRecord], finished: bool, out: Path | None, progress: bool,
              t_start: float) -> SearchResult:
    """Run the episodes left after ``history``; checkpoint each in ``out``."""
    cache = {_key(r.to_policy()): r.accuracy for r in history}
    metric = budget.metric if budget else "latency"
    bar = _progress(progress, config, len(history), budget)
    try:
        while len(history) < config.episodes and not finished:
            t0 = time.perf_counter()
            proposal = agent.propose()
            if proposal is None:
                finished = True
            else:
                policy = proposal.policy
                key = _key(policy)
                if key not in cache:
                    cache[key] = accuracy(policy)
                acc = cache[key]
                c = counted(policy)
                reward = config.reward_lambda * 100.0 * (acc - reference_accuracy)
                agent.observe(proposal, acc, c, reward)
                history.append(EpisodeRecord(
                    len(history), policy.to_dict(), acc, reward, int(getattr(c, "cycles", 0)),
                    c.seconds, c.energy_pj, int(c.weight_bits),
                    budget is None or budget.holds(c), time.perf_counter() - t0))
            if out is not None:
                save_checkpoint(out, {"config": config.fingerprint(), "episode": len(history),
                                      "finished": finished, "reference_accuracy": reference_accuracy,
                                      "history": [r.to_dict() for r in history]},
                                {"agent": agent.state_dict(), "rng": rng_state()})
            if bar is not None and proposal is not None:
                best = _best(history, metric)
                bar.update(len(history), status=f"best reward {best.reward:+.3f}" if best
                           else "no feasible yet")
    finally:
        if bar is not None:
            bar.close()
    return SearchResult(config, tuple(history), _best(history, metric), reference_accuracy,
                        baseline, budget, policy_front(history), time.perf_counter() - t_start,
                        counted.calls, counted.seconds)


def _resume(out: Path, config: SearchConfig, agent: Agent) -> tuple[list[EpisodeRecord], float,
                                                                    bool]:
    """History, reference accuracy and finished flag of the checkpoint in ``out``, with the
    agent and the random states restored; a checkpoint that does not fit is refused."""
    record, state = load_checkpoint(out)
    if record.get("config") != config.fingerprint():
        theirs = record.get("config")
        why = (_diff(theirs, config.fingerprint()) if isinstance(theirs, dict)
               else "its settings are unreadable")
        raise CheckpointError(f"cannot resume: the checkpoint in {str(out)!r} was written by a "
                              f"different search ({why}); use another --out or drop --resume")
    try:
        history = [EpisodeRecord.from_dict(r) for r in record["history"]]
        if [r.episode for r in history] != list(range(record["episode"])):
            raise ValueError(f"its history does not hold episodes 0 to {record['episode'] - 1}")
        reference = record["reference_accuracy"]
        finished = record["finished"]
        if not isinstance(reference, int | float) or isinstance(reference, bool) \
                or not isinstance(finished, bool):
            raise TypeError("'reference_accuracy' must be a number and 'finished' a boolean")
        for r in history:
            r.to_policy()
        agent.load_state_dict(state["agent"])
        restore_rng(state["rng"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError,
            SystolabError) as err:
        raise CheckpointError(f"cannot resume from the checkpoint in {str(out)!r}: it does not "
                              f"fit this search ({type(err).__name__}: {str(err)[:200]}); start "
                              "fresh with another --out, or delete it") from None
    return history, float(reference), finished


def _progress(enabled: bool, config: SearchConfig, done: int,
              budget: ResolvedBudget | None) -> Reporter | None:
    if not enabled:
        return None
    text = budget.describe() if budget else "no budget"
    bar = Reporter(f"{config.agent} [{text}]", total=config.episodes, unit="episodes")
    bar.update(done)
    return bar


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(f"{k}: {_short(old.get(k))} there, {_short(new.get(k))} now"
                     for k in keys[:8])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
