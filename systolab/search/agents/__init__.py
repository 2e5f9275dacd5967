"""Search agents: one protocol, a registry of factories, one DDPG shared by the RL agents.

=========== =================================================== ==============================
name        what it searches                                    reference
=========== =================================================== ==============================
haq         w/a bits per layer, DDPG, budget enforced after     Wang et al., CVPR 2019
amc         keep ratio per layer, DDPG, budget enforced before  He et al., ECCV 2018
joint       bits and keep ratios together, DDPG                 both, one cost model
uniform     one bit width for every searched layer              HAQ's fixed-precision baseline
greedy      lower the least sensitive layers first              per-layer sensitivity analysis
sensitivity bits per layer: measured sensitivity, budget solved HAWQ-V2/V3, Dong et al.
            exactly by dynamic programming over the cost table  NeurIPS 2020
            (``-keep``: keep ratios; ``-joint``: both)
nsga2       bits, Pareto front of (accuracy, latency, energy)   Deb et al., IEEE TEVC 2002
=========== =================================================== ==============================

>>> " ".join(sorted(AGENTS))
'amc greedy haq joint nsga2 sensitivity sensitivity-joint sensitivity-keep uniform'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compiler.errors import UnknownNameError, closest
from hwsim.fields import shown
from systolab.search.agents.amc import make_amc
from systolab.search.agents.base import Agent, Proposal, SearchContext
from systolab.search.agents.baselines import GreedyAgent, NSGA2Agent, UniformAgent
from systolab.search.agents.ddpg import DDPG, DDPGConfig
from systolab.search.agents.ddpg_agent import SCHEDULES, DDPGAgent, DDPGSpec, get_schedule
from systolab.search.agents.haq import make_haq
from systolab.search.agents.joint import make_joint
from systolab.search.agents.sensitivity import SensitivityAgent
from systolab.search.agents.space import Knob, PolicySpace
from systolab.search.budget import BudgetError

__all__ = [
    "AGENTS",
    "DDPG",
    "DDPG_AGENTS",
    "SCHEDULES",
    "Agent",
    "AgentSpec",
    "DDPGAgent",
    "DDPGConfig",
    "DDPGSpec",
    "GreedyAgent",
    "Knob",
    "NSGA2Agent",
    "PolicySpace",
    "Proposal",
    "SearchContext",
    "SensitivityAgent",
    "UniformAgent",
    "agent_spec",
    "get_schedule",
    "make_agent",
]

@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One search agent: how to build it for a context, whether it needs a budget (the
    DDPG agents enforce one while proposing; greedy lowers bits until one holds), what it
    does and when to use it, and whether it is a DDPG agent (which takes an exploration
    schedule, ``SearchContext.schedule``)."""

    name: str
    make: Callable[[SearchContext], Agent]
    needs_budget: bool
    doc: str
    use: str  # when to choose it, for ``search --help``
    ddpg: bool = False


AGENTS: dict[str, AgentSpec] = {a.name: a for a in (
    AgentSpec("haq", make_haq, True, "w/a bits per layer, DDPG, budget enforced after",
              "HAQ as published; learns slowly: add --schedule haq", ddpg=True),
    AgentSpec("amc", make_amc, True, "keep ratio per layer, DDPG, budget enforced before",
              "AMC's channel pruning as published; add --schedule amc", ddpg=True),
    AgentSpec("joint", make_joint, True, "bits and keep ratios together, DDPG",
              "bits and pruning by DDPG; needs hundreds of episodes", ddpg=True),
    AgentSpec("uniform", UniformAgent, False, "one bit width for every searched layer",
              "the baseline every search must beat; a few evaluations"),
    AgentSpec("greedy", GreedyAgent, True, "lower the least sensitive layers first",
              "a quick, strong baseline: tens of evaluations"),
    AgentSpec("nsga2", NSGA2Agent, False, "bits, Pareto front of (accuracy, latency, energy)",
              "no fixed budget: the accuracy-cost front in one run"),
    AgentSpec("sensitivity", SensitivityAgent, True,
              "bits: measure each layer's sensitivity, solve the budget exactly",
              "first choice under a budget: few evaluations, exact"),
    AgentSpec("sensitivity-keep", lambda ctx: SensitivityAgent(ctx, ("keep",)), True,
              "keep ratios: measure each layer's sensitivity, solve the budget exactly",
              "channel pruning under a budget"),
    AgentSpec("sensitivity-joint", lambda ctx: SensitivityAgent(ctx, ("bits", "keep")), True,
              "bits and keep ratios: summed sensitivities, the budget solved exactly",
              "bits and pruning together under a budget"),
)}

DDPG_AGENTS: tuple[str, ...] = tuple(name for name, spec in AGENTS.items() if spec.ddpg)
"""The agents that learn with DDPG and take ``--schedule``."""


def agent_spec(name: str) -> AgentSpec:
    """The registry entry of the agent called ``name``."""
    if name not in AGENTS:
        raise UnknownNameError(f"agent must be one of {', '.join(AGENTS)}, not {shown(name)}"
                               f"{closest(name, AGENTS)}")
    return AGENTS[name]


def make_agent(name: str, ctx: SearchContext) -> Agent:
    """Build the agent registered as ``name`` for ``ctx``."""
    spec = agent_spec(name)
    if spec.needs_budget and ctx.budget is None:
        raise BudgetError(f"the {name} agent needs a budget: latency, energy or size")
    return spec.make(ctx)
