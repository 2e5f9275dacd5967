"""Run small torch workloads on one thread.

The networks of a policy search (DDPG actor and critic, LeNet-size task models) are too small
to gain from intra-op threads, and on busy cores those threads only contend. Measured on 2
cores: a DDPG update 8 ms on one thread vs 200 ms on two; a LeNet training step 22 ms vs
220 ms.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["one_thread"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
