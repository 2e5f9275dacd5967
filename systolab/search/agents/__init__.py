"""Search agents: one protocol, a registry of factories, one DDPG shared by the RL agents.

======== ===================================================== ==========================
name     what it searches                                      reference
======== ===================================================== ==========================
haq      w/a bits per layer, DDPG, budget enforced after       Wang et al., CVPR 2019
amc      keep ratio per layer, DDPG, budget enforced before    He et al., ECCV 2018
joint    bits and keep ratios together, DDPG                   both, one cost model
uniform  one bit width for every searched layer                HAQ's fixed-precision baseline
greedy   lower the least sensitive layers first                per-layer sensitivity analysis
nsga2    bits, Pareto front of (accuracy, latency, energy)     Deb et al., IEEE TEVC 2002
======== ===================================================== ==========================

>>> sorted(AGENTS)
['amc', 'greedy', 'haq', 'joint', 'nsga2', 'uniform']
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.errors import UnknownNameError, closest
from systolab.search.agents.amc import make_amc
from systolab.search.agents.base import Agent, Proposal, SearchContext
from systolab.search.agents.baselines import GreedyAgent, NSGA2Agent, UniformAgent
from systolab.search.agents.ddpg import DDPG, DDPGConfig
from systolab.search.agents.ddpg_agent import DDPGAgent, DDPGSpec
from systolab.search.agents.haq import make_haq
from systolab.search.agents.joint import make_joint
from systolab.search.agents.space import Knob, PolicySpace

__all__ = [
    "AGENTS",
    "DDPG",
    "Agent",
    "DDPGAgent",
    "DDPGConfig",
    "DDPGSpec",
    "GreedyAgent",
    "Knob",
    "NSGA2Agent",
    "PolicySpace",
    "Proposal",
    "SearchContext",
    "UniformAgent",
    "make_agent",
]

AGENTS: dict[str, Callable[[SearchContext], Agent]] = {
    "haq": make_haq,
    "amc": make_amc,
    "joint": make_joint,
    "uniform": UniformAgent,
    "greedy": GreedyAgent,
    "nsga2": NSGA2Agent,
}


def make_agent(name: str, ctx: SearchContext) -> Agent:
    """Build the agent registered as ``name`` for ``ctx``."""
    if name not in AGENTS:
        raise UnknownNameError(f"agent must be one of {', '.join(AGENTS)}, not {name!r}"
                               f"{closest(name, AGENTS)}")
    return AGENTS[name](ctx)
