"""HAQ: hardware-aware automated quantization (Wang, Liu, Lin, Lin, Han, CVPR 2019).

A DDPG agent chooses weight and activation bits layer by layer (two steps per layer, the state
flagging which); the first and last layers stay at 8 bits; a policy over the budget is brought
under it by lowering bits from the last layer back (Sec. 3.3). The reward is
``lambda * (acc - acc_original)`` (Sec. 3.4), computed by :mod:`systolab.search.loop`.
"""

from __future__ import annotations

from systolab.search.agents.base import SearchContext
from systolab.search.agents.ddpg_agent import DDPGAgent, DDPGSpec

__all__ = ["HAQ", "make_haq"]

HAQ = DDPGSpec("haq", fields=("w_bits", "a_bits"), enforce="after")


def make_haq(ctx: SearchContext) -> DDPGAgent:
    return DDPGAgent(ctx, HAQ)
