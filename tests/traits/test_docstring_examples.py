"""The examples in the traits modules' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

MODULES = ["personax.traits.parser", "personax.traits.aliases", "personax.traits.ledger",
           "personax.traits.backends.openai_compat", "personax.traits.run"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    names = [name]
    if hasattr(module, "__path__"):  # a package split along its seams: its submodules hold examples too
        names += [m.name for m in pkgutil.iter_modules(module.__path__, prefix=f"{name}.")]
    attempted = 0
    for each in names:
        result = doctest.testmod(importlib.import_module(each), optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, (each, result)
        attempted += result.attempted
    assert attempted > 0
