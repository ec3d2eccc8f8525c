"""The examples in the traits modules' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["personax.traits.parser", "personax.traits.aliases", "personax.traits.ledger",
           "personax.traits.backends.openai_compat", "personax.traits.run"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
