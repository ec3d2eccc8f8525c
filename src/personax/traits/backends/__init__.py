"""Trait-inference backends behind one protocol (:class:`~personax.traits.backends.base.Backend`).

``openai``        :class:`OpenAICompatBackend`, any OpenAI-compatible HTTP endpoint
``transformers``  :class:`TransformersBackend`, a local Hugging Face causal LM; the named
                  model ``"smollm2-135m"`` ships offline (:mod:`.local_models`)
``simulated``     :class:`SimulatedBackend`, the synthetic world's raters (not an LLM)

Modules are imported on first use so that ``import personax.traits`` does not pull in
torch or transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

from personax.traits.backends.base import Backend, ChatBackend, RawResponse, Request

_LAZY = {
    "OpenAICompatBackend": "personax.traits.backends.openai_compat",
    "BackendError": "personax.traits.backends.openai_compat",
    "TransformersBackend": "personax.traits.backends.local_transformers",
    "LOCAL_MODELS": "personax.traits.backends.local_models",
    "SimulatedBackend": "personax.traits.backends.simulated",
}
BACKENDS = ("openai", "transformers", "simulated")


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_backend(kind: str, **kwargs: Any) -> Backend:
    """Build a backend by kind.

    Parameters
    ----------
    kind : {"openai", "transformers", "simulated"}
    **kwargs
        Passed to the backend class: ``model``, ``base_url``, ``api_key_env``... for
        ``openai``; ``model``, ``device``... for ``transformers``; ``llm``, ``seed`` for
        ``simulated``.
    """
    if kind == "openai":
        return __getattr__("OpenAICompatBackend")(**kwargs)
    if kind == "transformers":
        return __getattr__("TransformersBackend")(**kwargs)
    if kind == "simulated":
        return __getattr__("SimulatedBackend")(**kwargs)
    from personax.errors import ParameterError

    raise ParameterError(f"unknown backend {kind!r}", hint=f"choose one of {', '.join(BACKENDS)}")


__all__ = ["Backend", "ChatBackend", "RawResponse", "Request", "BACKENDS", "make_backend", *_LAZY]
