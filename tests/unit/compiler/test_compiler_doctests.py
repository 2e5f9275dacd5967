"""The runnable examples in the compiler's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["compiler.ir", "compiler.policy", "compiler.frontend.pytorch", "compiler.passes",
           "compiler.mapping", "compiler.compression.apply", "compiler.compression.batchnorm",
           "compiler.compression.channels", "compiler.compression.clipping",
           "compiler.compression.fakequant", "compiler.compression.huffman",
           "compiler.compression.prune", "compiler.compression.quantize",
           "compiler.compression.sharing"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
