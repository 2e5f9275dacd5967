"""Test-wide settings.

Hypothesis: developers get fresh random examples on every run (and the local example
database replays past failures); CI (``CI`` set, as ``.ci/run`` is run) derandomizes, so a
landing is judged on the same examples every time. A failure found by random search is kept
as an explicit regression test next to the property it broke.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
