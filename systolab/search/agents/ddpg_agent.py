"""One DDPG search agent for HAQ, AMC and the joint search; what differs is a :class:`DDPGSpec`.

An episode walks the knobs of a :class:`~systolab.search.agents.space.PolicySpace` in layer
order. At step ``t`` the state is the knob's static embedding plus the previous action; the
actor's (exploring) action is mapped to one of the knob's values. The spec says which knobs
exist and how the budget is enforced:

- ``enforce="after"`` (HAQ, Wang et al., CVPR 2019, Sec. 3.3): the finished assignment is
  lowered one notch at a time from the last layer back until it meets the budget.
- ``enforce="before"`` (AMC, He et al., ECCV 2018, Sec. 3.3): each action is capped so that
  the later layers, at their minimum, can still meet the budget.

Transitions are stored with the values actually used (after enforcement, at the centre of each
value's action bin), so the critic learns about the policies that were evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from compiler.errors import UnknownNameError, closest
from hwsim.fields import shown
from systolab.search.agents.base import Proposal, SearchContext
from systolab.search.agents.ddpg import DDPG, DDPGConfig
from systolab.search.agents.space import FIELDS, Knob, PolicySpace, bit_knobs, keep_knobs
from systolab.search.budget import CostLike

__all__ = ["SCHEDULES", "DDPGAgent", "DDPGSpec", "Schedule", "get_schedule"]


@dataclass(frozen=True, slots=True)
class DDPGSpec:
    """The data that makes a DDPG agent HAQ, AMC or joint."""

    name: str
    fields: tuple[str, ...]
    enforce: str  # "after" or "before"

    def knobs(self, ctx: SearchContext) -> list[Knob]:
        knobs = [k for k in bit_knobs(ctx) if k.field in self.fields]
        if "keep" in self.fields:
            knobs += keep_knobs(ctx)
        return sorted(knobs, key=lambda k: (k.layer, FIELDS.index(k.field)))


@dataclass(frozen=True, slots=True)
class Schedule:
    """How long a DDPG search runs and how it explores: the episode count it was published
    with (``None``: the caller's), the warm-up episodes of uniform random actions (``None``: a
    quarter of the episodes, at most 20), the per-episode decay of the exploration noise
    (``None``: from 0.5 down to 0.05 at the last episode) and the replay buffer in transitions
    per knob (``None``: 2,000 in all)."""

    name: str
    episodes: int | None
    warmup: int | None
    sigma_decay: float | None
    replay_per_knob: int | None
    doc: str

    def config(self, episodes: int, knobs: int) -> DDPGConfig:
        """The learner's hyper-parameters for a search of ``episodes`` over ``knobs`` knobs."""
        warmup = self.warmup if self.warmup is not None else min(20, max(1, episodes // 4))
        config = DDPGConfig(warmup_episodes=warmup, sigma_decay=self.sigma_decay)
        if self.replay_per_knob is not None:
            config = replace(config, buffer_size=self.replay_per_knob * max(1, knobs))
        return config


SCHEDULES: dict[str, Schedule] = {s.name: s for s in (
    Schedule("short", None, None, None, None,
             "warm-up 1/4 of the episodes (at most 20), noise 0.5 to 0.05 at the end"),
    # mit-han-lab/haq, rl_quantize.py defaults: --train_episode 600 --warmup 20
    # --init_delta 0.5 --delta_decay 0.99 --rmsize 128 (per layer)
    Schedule("haq", 600, 20, 0.99, 128,
             "HAQ (CVPR 2019): 600 episodes, warm-up 20, noise 0.5 x 0.99 per episode"),
    # mit-han-lab/amc, amc_search.py defaults: --train_episode 800 --warmup 100
    # --init_delta 0.5 --delta_decay 0.95 --rmsize 100 (per layer)
    Schedule("amc", 800, 100, 0.95, 100,
             "AMC (ECCV 2018): 800 episodes, warm-up 100, noise 0.5 x 0.95 per episode"),
)}


def get_schedule(name: str) -> Schedule:
    """The schedule called ``name`` (:data:`SCHEDULES`)."""
    if name not in SCHEDULES:
        raise UnknownNameError(f"schedule must be one of {', '.join(SCHEDULES)}, not "
                               f"{shown(name)}{closest(name, SCHEDULES)}")
    return SCHEDULES[name]


class DDPGAgent:
    """An :class:`~systolab.search.agents.base.Agent` driven by :class:`DDPG`."""

    def __init__(self, ctx: SearchContext, spec: DDPGSpec, config: DDPGConfig | None = None) -> None:
        if spec.enforce not in ("after", "before"):
            raise ValueError(f"enforce must be 'after' or 'before', not {shown(spec.enforce)}")
        self.name = spec.name
        self.spec = spec
        self.space = PolicySpace(ctx, spec.knobs(ctx))
        self.space.check_feasible()
        config = config or get_schedule(ctx.schedule).config(ctx.episodes, len(self.space))
        self.learner = DDPG(self.space.features.shape[1] + 1, config, seed=ctx.seed,
                            episodes=ctx.episodes)
        # HAQ lowers a layer's weight and activation bits (and, jointly, its keep) together.
        self._phases = [self.space.from_last(spec.fields)]

    def _states(self, actions: list[float]) -> np.ndarray:
        prev = np.array([0.0, *actions[:-1]])
        return np.concatenate([self.space.features, prev[:, None]], axis=1).astype(np.float32)

    def propose(self) -> Proposal:
        idx: list[int] = []
        prev = 0.0
        for k in range(len(self.space)):
            state = np.append(self.space.features[k], prev).astype(np.float32)
            i = self.space.action_index(k, self.learner.act(state))
            if self.spec.enforce == "before":
                i = self.space.clip_before(idx, k, i)
            idx.append(i)
            prev = self.space.index_action(k, i)
        if self.spec.enforce == "after":
            idx = self.space.lower_after(idx, self._phases)
        return Proposal(self.space.policy(idx), {"indices": idx})

    def observe(self, proposal: Proposal, accuracy: float, cost: CostLike, reward: float) -> None:
        idx = proposal.data["indices"]
        actions = [self.space.index_action(k, i) for k, i in enumerate(idx)]
        self.learner.end_episode(self._states(actions), np.asarray(actions, dtype=np.float32), reward)

    def state_dict(self) -> dict[str, Any]:
        return {"ddpg": self.learner.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.learner.load_state_dict(state["ddpg"])
