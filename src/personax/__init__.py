"""PersonaX companion: the package behind the book.

Submodules (imported lazily so that ``import personax`` stays fast):

``data``          canonical schema, loaders (sample / Hugging Face / local), synthetic world
``traits``        LLM Big Five inference, ledger, aggregation, agreement, text embeddings
``faces``         face detection/embedding/attributes (deepface), privacy transform
``independence``  the five Level I independence tests (fast torch backend + reference)
``crl``           Level II multimodal, multi-measurement causal representation learning
``plots``         figures used by the book
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("data", "traits", "faces", "independence", "crl", "plots", "utils",
               "notebook", "provenance")

__all__ = list(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'personax' has no attribute {name!r}")
