"""Joint search: weight bits, activation bits and keep ratio of every layer, one DDPG agent.

It combines HAQ (Wang et al., CVPR 2019) and AMC (He et al., ECCV 2018) on the same hardware
cost model: an episode takes up to three steps per layer (w_bits, a_bits, keep), and the budget
is enforced HAQ-style after the episode, each sweep lowering all of a layer's knobs by one
notch from the last layer back.
"""

from __future__ import annotations

from systolab.search.agents.base import SearchContext
from systolab.search.agents.ddpg_agent import DDPGAgent, DDPGSpec

__all__ = ["JOINT", "make_joint"]

JOINT = DDPGSpec("joint", fields=("w_bits", "a_bits", "keep"), enforce="after")


def make_joint(ctx: SearchContext) -> DDPGAgent:
    return DDPGAgent(ctx, JOINT)
