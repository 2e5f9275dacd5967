"""Test-wide settings.

Trained weights (policy-search tasks) are cached in a per-session directory, so tests never
read or write the user's cache.

Hypothesis: developers get fresh random examples on every run (and the local example
database replays past failures); CI (``CI`` set, as ``.ci/run`` is run) derandomizes, so a
landing is judged on the same examples every time. A failure found by random search is kept
as an explicit regression test next to the property it broke.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Helpers shared by several test folders (tests/support) import by their module name.
sys.path.insert(0, str(Path(__file__).parent / "support"))

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session", autouse=True)
def _private_weight_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Trained task models go to a per-session directory, never the user's cache."""
    path = tmp_path_factory.mktemp("systolab-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYSTOLAB_CACHE", str(path))
        yield path
