"""systolab: simulate compressed PyTorch models on systolic-array accelerators.

>>> import systolab
>>> from systolab.zoo import get_model
>>> sim = systolab.simulate(*get_model("lenet5"), arch="stripes")
>>> sim.stats.total.macs == sim.graph.total_macs
True

The command line (``systolab ...``) lives in :mod:`systolab.cli`; the pipeline from a lowered
graph to stats in :mod:`systolab.pipeline`; the co-design searches in :mod:`systolab.search`;
the compiler and the accelerator model are the packages :mod:`compiler` and :mod:`hwsim`. The
API is imported on first use, so the command line starts without importing torch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Simulation", "simulate", "simulate_graph", "simulate_model"]


def __getattr__(name: str) -> Any:
    if name in ("simulate", "simulate_model"):  # simulate traces torch models: imports torch
        from systolab import api

        return getattr(api, name)
    if name in __all__:
        from systolab import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'systolab' has no attribute {name!r}")
