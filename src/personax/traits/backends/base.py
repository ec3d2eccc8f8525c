"""The protocol every trait-inference backend implements, and the request/response records.

A backend turns one :class:`Request` (a person, a prompt format, rendered chat messages,
sampling parameters) into one :class:`RawResponse`.  The runner (:mod:`personax.traits.run`)
never looks inside a backend: it calls :meth:`Backend.assess`, parses the text with
:func:`personax.traits.parser.parse_response`, and writes the ledger.

Backends that only speak chat completions implement :meth:`Backend.complete`; the default
:meth:`Backend.assess` sends the rendered messages through it.  Backends that can do
better (constrained scoring from next-token probabilities, simulation) override
``assess``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from personax.traits.prompts import PromptFormat


@dataclass(frozen=True)
class Request:
    """One person x prompt-format x repeat to be rated.

    Attributes
    ----------
    person_id, name : str
        Identity of the person (``name`` is what the prompt shows).
    description, league : str or None
        The prompt's subject (exactly one is set).
    prompt : PromptFormat
        The format, with its content hash.
    messages : list of dict
        The rendered chat messages.
    params : dict
        Sampling parameters (``temperature``, ``max_tokens``, ``seed``, ...). Never secrets.
    repeat : int
        Repeat index (0-based) when the same request is asked several times.
    retry : int
        How many earlier ledger lines this request has (0 = first ask); backends that
        sample derive their seed from it, so a re-asked request gets a fresh draw.
    """

    person_id: str
    name: str
    description: str | None
    league: str | None
    prompt: PromptFormat
    messages: list[dict[str, str]]
    params: dict[str, Any]
    repeat: int = 0
    retry: int = 0


@dataclass
class RawResponse:
    """What a backend returns for one request.

    Attributes
    ----------
    text : str or None
        The reply text, or ``None`` when no reply was obtained (then ``error`` says why).
    model : str
        Model id as reported by the server (falls back to the requested id).
    attempts : int
        HTTP/compute attempts made (1 = no retry).
    latency_s : float
        Wall time including retries and back-off.
    error : str or None
        Transport/compute failure, with secrets redacted.
    simulated : bool
        True when the reply did not come from a language model.
    finish_reason : str or None
        As reported by the server (``stop``, ``length``, ...).
    usage : dict
        Token counts when the server reports them.
    extra : dict
        Backend-specific JSON-safe details (e.g. answer probabilities of constrained scoring).
    fatal : bool
        True when the failure will repeat for every request (bad key, unknown model,
        wrong URL): the runner stops at once instead of sending the rest.
    hint : str or None
        How to fix a fatal failure (shown by the runner's error).
    """

    text: str | None
    model: str
    attempts: int = 1
    latency_s: float = 0.0
    error: str | None = None
    simulated: bool = False
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    fatal: bool = False
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (the fields; ``usage`` and ``extra`` copied)."""
        return asdict(self)


@runtime_checkable
class Backend(Protocol):
    """Protocol of a trait-inference backend.

    Attributes
    ----------
    name : str
        Backend kind (``"openai"``, ``"transformers"``, ``"simulated"``).
    model_id : str
        The model it queries.
    max_concurrency : int
        How many requests the runner may have in flight at once.
    simulated : bool
        True for backends that are not language models.
    """

    name: str
    model_id: str
    max_concurrency: int
    simulated: bool

    def complete(self, messages: list[dict[str, str]], **params: Any) -> RawResponse:
        """One chat completion of ``messages`` with sampling ``params``."""
        ...

    def assess(self, request: Request) -> RawResponse:
        """Rate one person; the default sends ``request.messages`` to :meth:`complete`."""
        ...


class ChatBackend:
    """Mixin giving :meth:`assess` in terms of :meth:`complete`."""

    name = "chat"
    model_id = ""
    max_concurrency = 1
    simulated = False

    def complete(self, messages: list[dict[str, str]], **params: Any) -> RawResponse:  # pragma: no cover
        raise NotImplementedError

    def assess(self, request: Request) -> RawResponse:
        return self.complete(request.messages, **request.params)

    def describe(self) -> dict[str, Any]:
        """JSON-safe description for the ledger (never includes secrets)."""
        return {"backend": self.name, "model": self.model_id, "simulated": self.simulated}
