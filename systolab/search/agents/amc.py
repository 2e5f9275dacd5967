"""AMC: AutoML for model compression (He, Lin, Liu, Wang, Li, Han, ECCV 2018).

A DDPG agent chooses each prunable layer's keep ratio (fraction of output channels) in
``[0.2, 1]``, rounded to the array's column count; before each action the ratio is capped so
that the later layers at their minimum can still meet the budget (Sec. 3.3, the
resource-constrained setting). The last layer (the classes) and depthwise layers are not pruned.
Bits stay at 8.
"""

from __future__ import annotations

from systolab.search.agents.base import SearchContext
from systolab.search.agents.ddpg_agent import DDPGAgent, DDPGSpec

__all__ = ["AMC", "make_amc"]

AMC = DDPGSpec("amc", fields=("keep",), enforce="before")


def make_amc(ctx: SearchContext) -> DDPGAgent:
    return DDPGAgent(ctx, AMC)
