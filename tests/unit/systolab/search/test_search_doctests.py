"""The runnable examples in the search modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["systolab.search.pareto", "systolab.search.budget", "systolab.search.costs",
           "systolab.search.agents", "systolab.search.sweep.points", "systolab.search.sweep.spec",
           "systolab.search.sweep.objectives"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
