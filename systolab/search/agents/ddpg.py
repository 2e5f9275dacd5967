"""Deep deterministic policy gradient (Lillicrap et al., "Continuous control with deep
reinforcement learning", ICLR 2016), in the episodic form that AMC and HAQ use.

- Actor ``mu(s) -> a in [0, 1]`` and critic ``Q(s, a)``: MLPs with two hidden layers of 300
  units (AMC, He et al., ECCV 2018, Sec. 4; HAQ, Wang et al., CVPR 2019, Sec. 4), a sigmoid on
  the actor's output; target copies follow by soft updates ``theta' <- tau theta + (1 - tau) theta'``.
- The reward is known only once the whole policy is, so every transition of an episode carries
  the episode's reward ``R``; the critic regresses ``y = R - b + gamma Q'(s', mu'(s'))`` with
  ``gamma = 1`` and ``b`` an exponential moving average of past rewards (AMC, Sec. 3.4, which
  follows Block-QNN). Final steps do not bootstrap.
- Exploration: during ``warmup_episodes`` actions are uniform in [0, 1]; afterwards they are
  drawn from a normal around ``mu(s)`` truncated to [0, 1] whose sigma starts at
  ``sigma_start`` and decays geometrically per episode: by ``sigma_decay`` if given (HAQ's
  0.99, AMC's 0.95), else by the factor that reaches ``sigma_end`` at the last episode.
- States are normalized by the caller (:class:`~systolab.search.agents.space.PolicySpace`
  min-max scales each feature to [0, 1]).

All randomness comes from a generator this object owns, so :meth:`state_dict` captures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import torch
from torch import nn

from systolab.search.threads import one_thread

__all__ = ["DDPG", "DDPGConfig", "ReplayBuffer"]


@dataclass(frozen=True, slots=True)
class DDPGConfig:
    """Hyper-parameters; defaults follow AMC's (Sec. 4) except where the docstring says."""

    hidden: int = 300
    actor_lr: float = 1e-4
    critic_lr: float = 1e-3
    tau: float = 0.01
    gamma: float = 1.0
    batch_size: int = 64
    buffer_size: int = 2000
    warmup_episodes: int = 20
    sigma_start: float = 0.5
    sigma_end: float = 0.05
    sigma_decay: float | None = None  # per episode after warm-up; None: reach sigma_end
    baseline_decay: float = 0.95


def _mlp(inputs: int, hidden: int, sigmoid: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                               nn.ReLU(), nn.Linear(hidden, 1)]
    if sigmoid:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


class ReplayBuffer:
    """A ring buffer of ``(s, a, R, s', done)`` transitions in numpy arrays."""

    def __init__(self, capacity: int, state_dim: int) -> None:
        self.capacity = capacity
        self.states = np.zeros((capacity, state_dim), dtype=np.float32)
        self.next_states = np.zeros((capacity, state_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, 1), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.done = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self.pos = 0

    def add_episode(self, states: np.ndarray, actions: np.ndarray, reward: float) -> None:
        """Store one episode: ``states[t]`` led to ``actions[t]``; the last step is final."""
        steps = len(actions)
        for t in range(steps):
            last = t == steps - 1
            self.states[self.pos] = states[t]
            self.next_states[self.pos] = states[t] if last else states[t + 1]
            self.actions[self.pos, 0] = actions[t]
            self.rewards[self.pos] = reward
            self.done[self.pos] = float(last)
            self.pos = (self.pos + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, batch: int) -> tuple[torch.Tensor, ...]:
        rows = rng.integers(0, self.size, size=min(batch, self.size))
        return tuple(torch.from_numpy(a[rows]) for a in (self.states, self.actions, self.rewards,
                                                          self.next_states, self.done))

    def state_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("states", "next_states", "actions", "rewards", "done",
                                              "size", "pos")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


class DDPG:
    """One actor-critic learner for a scalar action in [0, 1]."""

    def __init__(self, state_dim: int, config: DDPGConfig, *, seed: int, episodes: int) -> None:
        self.config = config
        self.rng = np.random.default_rng(seed)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.actor = _mlp(state_dim, config.hidden, sigmoid=True)
            self.critic = _mlp(state_dim + 1, config.hidden, sigmoid=False)
        self.actor_target = _mlp(state_dim, config.hidden, sigmoid=True)
        self.critic_target = _mlp(state_dim + 1, config.hidden, sigmoid=False)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr)
        self.buffer = ReplayBuffer(config.buffer_size, state_dim)
        self.episodes_seen = 0
        self.baseline: float | None = None
        decay_span = max(1, episodes - config.warmup_episodes)
        self.sigma_decay = (config.sigma_decay if config.sigma_decay is not None
                            else (config.sigma_end / config.sigma_start) ** (1 / decay_span))
        self.sigma = config.sigma_start

    @property
    def warming_up(self) -> bool:
        return self.episodes_seen < self.config.warmup_episodes

    def act(self, state: np.ndarray) -> float:
        """An exploring action: uniform while warming up, else truncated-normal around mu(s)."""
        if self.warming_up:
            return float(self.rng.random())
        with torch.no_grad(), one_thread():
            mu = float(self.actor(torch.as_tensor(state, dtype=torch.float32)).item())
        dist = NormalDist(mu, self.sigma)
        lo, hi = dist.cdf(0.0), dist.cdf(1.0)
        u = lo + (hi - lo) * float(self.rng.random())
        if not 0.0 < u < 1.0 or hi - lo < 1e-12:
            return min(1.0, max(0.0, mu))
        return min(1.0, max(0.0, dist.inv_cdf(u)))

    def end_episode(self, states: np.ndarray, actions: np.ndarray, reward: float) -> None:
        """Store the episode, move the reward baseline, train (after warm-up), decay sigma."""
        decay = self.config.baseline_decay
        self.baseline = reward if self.baseline is None else decay * self.baseline + (1 - decay) * reward
        self.buffer.add_episode(states, actions, reward)
        self.episodes_seen += 1
        if not self.warming_up:
            with one_thread():
                for _ in range(len(actions)):
                    self._update()
            if self.episodes_seen > self.config.warmup_episodes:
                self.sigma *= self.sigma_decay

    def _update(self) -> None:
        s, a, r, s2, done = self.buffer.sample(self.rng, self.config.batch_size)
        baseline = self.baseline or 0.0
        with torch.no_grad():
            q_next = self.critic_target(torch.cat([s2, self.actor_target(s2)], dim=1)).squeeze(1)
            target = (r - baseline) + self.config.gamma * (1 - done) * q_next
        q = self.critic(torch.cat([s, a], dim=1)).squeeze(1)
        critic_loss = nn.functional.mse_loss(q, target)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        actor_loss = -self.critic(torch.cat([s, self.actor(s)], dim=1)).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        tau = self.config.tau
        with torch.no_grad():
            for net, target_net in ((self.actor, self.actor_target), (self.critic, self.critic_target)):
                for p, tp in zip(net.parameters(), target_net.parameters(), strict=True):
                    tp.mul_(1 - tau).add_(tau * p)

    def state_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
            "buffer": self.buffer.state_dict(), "rng": self.rng.bit_generator.state,
            "episodes_seen": self.episodes_seen, "baseline": self.baseline, "sigma": self.sigma,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("actor", "critic", "actor_target", "critic_target", "actor_opt", "critic_opt"):
            getattr(self, name).load_state_dict(state[name])
        self.buffer.load_state_dict(state["buffer"])
        self.rng.bit_generator.state = state["rng"]
        self.episodes_seen = state["episodes_seen"]
        self.baseline = state["baseline"]
        self.sigma = state["sigma"]
