"""The runnable examples in hwsim's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["hwsim", "hwsim.config", "hwsim.energy", "hwsim.engine",
           "hwsim.isa", "hwsim.pe", "hwsim.reference", "hwsim.timing", "hwsim.dataflow",
           "hwsim.tables", "hwsim.area", "hwsim.fields", "hwsim.yamlfile",
           "tile_programs"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
