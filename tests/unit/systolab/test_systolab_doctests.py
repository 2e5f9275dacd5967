"""The runnable examples in the application layer's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["systolab", "systolab.pipeline", "systolab.api", "systolab.progress",
           "systolab.deep_compression"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
