"""The public API of the data and independence layers carries runnable Examples (``make doctest`` runs them)."""

from __future__ import annotations

import inspect

import pytest

import personax.data
import personax.independence


def _public(module):
    for name in module.__all__:
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and not issubclass_exception(obj):
            yield f"{module.__name__}.{name}", obj


def issubclass_exception(obj) -> bool:
    return inspect.isclass(obj) and issubclass(obj, BaseException)


@pytest.mark.parametrize("name, obj", [*_public(personax.data), *_public(personax.independence)],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_public_api_has_an_examples_section(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert "Examples\n--------" in doc and ">>>" in doc, f"{name}: add a numpydoc Examples section that runs"
