"""Face features: detection, embeddings and attributes via deepface, and the privacy transform.

Submodules
----------
``weights``  where deepface's weight files live, the model registry, offline checks, fetching
``extraction``  :func:`extract` — one row per input image (status, box, embedding, attributes)
``privacy``  :class:`PrivacyKey`, :func:`obfuscate`, :func:`recover` — keyed invertible transform
``audit``    invariance and re-identification checks of the privacy transform
``demo``     the public-domain astronaut image and simple augmentations for the book
``cli``      ``personax faces ...`` subcommands

Importing this package is cheap: deepface and torch are imported only when used.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "extract": ("personax.faces.extraction", "extract"),
    "embedding_matrix": ("personax.faces.extraction", "embedding_matrix"),
    "load_image": ("personax.faces.extraction", "load_image"),
    "MissingWeightsError": ("personax.faces.weights", "MissingWeightsError"),
    "fetch_weights": ("personax.faces.weights", "fetch_weights"),
    "weights_status": ("personax.faces.weights", "weights_status"),
    "PrivacyKey": ("personax.faces.privacy", "PrivacyKey"),
    "obfuscate": ("personax.faces.privacy", "obfuscate"),
    "recover": ("personax.faces.privacy", "recover"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    # ``personax.faces.extract`` is both a submodule and a function; the function wins as
    # an attribute (``from personax.faces import extract`` gives the function), the module
    # stays importable as ``personax.faces.extract`` via importlib / ``import ... as``.
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'personax.faces' has no attribute {name!r}")
