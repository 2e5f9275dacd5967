"""What every search agent is: the :class:`Agent` protocol and the :class:`SearchContext` it gets.

The search loop (:mod:`systolab.search.loop`) owns accuracy: it asks an agent for a
:class:`Proposal`, compresses and evaluates the model, and tells the agent the outcome. The
agent owns everything else, including budget enforcement, for which the context gives it the
fast hardware cost function (:meth:`systolab.search.costs.CostModel.evaluate`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from compiler.policy import Policy
from systolab.search.budget import CostLike, ResolvedBudget

__all__ = ["Agent", "LayerLike", "Proposal", "SearchContext"]


class LayerLike(Protocol):
    """The fields of :class:`systolab.search.costs.LayerInfo` that agents read."""

    @property
    def index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def in_channels(self) -> int: ...
    @property
    def out_channels(self) -> int: ...
    @property
    def params(self) -> int: ...
    @property
    def macs(self) -> int: ...
    @property
    def depthwise(self) -> bool: ...


@dataclass(frozen=True)
class SearchContext:
    """Everything an agent may know: the layers, the cost function, the budget and the knobs.

    ``layers`` are the compute layers in execution order. ``pin_first_last`` keeps the first and
    last of them at ``pinned_bits`` (HAQ, Sec. 4: their quantization hurts accuracy most and
    they hold few MACs). ``channel_multiple`` is the array's column count, to which kept output
    channels are rounded (AMC, Sec. 3.2 rounds to multiples of the hardware's vector width).
    """

    layers: Sequence[LayerLike]
    cost: Callable[[Policy], CostLike]
    budget: ResolvedBudget | None
    seed: int = 0
    episodes: int = 100
    min_bits: int = 2
    max_bits: int = 8
    pinned_bits: int = 8
    pin_first_last: bool = True
    min_keep: float = 0.2
    channel_multiple: int = 1
    schedule: str = "short"  # the DDPG agents' (systolab.search.agents.ddpg_agent.SCHEDULES)


@dataclass(frozen=True)
class Proposal:
    """A policy to evaluate; ``data`` is private to the agent that made it (JSON-ready)."""

    policy: Policy
    data: Any = None


class Agent(Protocol):
    """Proposes policies one at a time and learns from their outcome.

    ``propose`` returns ``None`` when the agent has nothing left to try (baselines with a
    fixed number of candidates); the loop also stops after its episode count. ``observe``
    receives the outcome of the last proposal. ``state_dict``/``load_state_dict`` capture the
    agent completely (networks, optimizers, buffers, random generators), so that a resumed
    search continues exactly as an uninterrupted one would.
    """

    name: str

    def propose(self) -> Proposal | None: ...

    def observe(self, proposal: Proposal, accuracy: float, cost: CostLike, reward: float) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
