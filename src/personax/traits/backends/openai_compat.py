"""Backend for any OpenAI-compatible chat-completions endpoint over HTTP.

Works with OpenAI, Gemini's and other hosted OpenAI-compatible endpoints, vLLM, Ollama,
llama.cpp's server, ...: ``POST {base_url}/chat/completions``.  It uses ``requests``
(no vendor SDK).

Secrets: the API key is read from the environment variable *named* by ``api_key_env``
(default ``OPENAI_API_KEY``) at request time; it is sent only in the ``Authorization``
header, never stored on the object, never returned, never logged, and redacted from any
error text that might echo it.

Robustness: a per-request timeout; bounded retries on 408/409/429/5xx, timeouts,
connection errors and unreadable response bodies, with exponential back-off and full
jitter (seeded, so test runs are reproducible), honouring ``Retry-After`` (seconds or an
HTTP date; capped by ``max_retry_after``).  Other 4xx replies are not retried (a bad
request or a bad key will not get better).  ``max_concurrency`` bounds the runner's
thread pool.

Fatal replies: 401, 403, 404 and "model not found" errors (any status whose body says
the model does not exist) will fail for every person, so the reply is marked
``fatal`` with a hint naming the fix, and :func:`personax.traits.run.run_inference`
stops the run after the first one instead of sending thousands of doomed requests.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import math
import os
import re
import threading
import time
from typing import Any, Callable

import numpy as np

from personax.errors import BackendError, ParameterError  # BackendError re-exported: old import path
from personax.traits.backends.base import ChatBackend, RawResponse

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524})

_MODEL_MISSING_RE = re.compile(
    r"model[^.\n]{0,80}?(?:not\s+found|does\s+not\s+exist|doesn't\s+exist|not\s+exist|unknown|not\s+available"
    r"|is\s+not\s+supported|no\s+such)|model_not_found|unknown\s+model|invalid\s+model", re.IGNORECASE)


def fatal_reason(status: int, body: str, *, url: str, model: str, api_key_env: str | None) -> tuple[str, str] | None:
    """(what, fix) when an HTTP reply means every request will fail the same way, else None.

    >>> fatal_reason(401, "bad key", url="http://x/v1/chat/completions", model="m", api_key_env="K")[0]
    'the server rejected the API key (HTTP 401)'
    >>> fatal_reason(400, "context too long", url="u", model="m", api_key_env=None) is None
    True
    """
    var = f"${api_key_env}" if api_key_env else "the key variable"
    if status == 401:
        fix = (f"put a valid API key for this server in {var} (or name another variable with --api-key-env)"
               if api_key_env else "this server wants a key: pass --api-key-env NAME with the key in $NAME")
        return "the server rejected the API key (HTTP 401)", fix
    if status == 403:
        return ("the key is not allowed to use this model or endpoint (HTTP 403)",
                f"check that the key in {var} has access to model {model!r} on this server")
    if _MODEL_MISSING_RE.search(body or ""):
        return (f"the server does not know the model {model!r} (HTTP {status})",
                "pass --model with a model this server serves (e.g. list them at GET <base-url>/models)")
    if status == 404:
        return (f"nothing answers at {url} (HTTP 404)",
                "check --base-url: it must be the API root including its version, e.g. "
                "https://api.openai.com/v1 or http://localhost:11434/v1 (/chat/completions is appended)")
    return None


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


class OpenAICompatBackend(ChatBackend):
    """Chat completions against ``base_url`` (see the module docstring).

    Parameters
    ----------
    model : str
        Model name the server expects (e.g. ``"gpt-4o"``, ``"llama3.1:8b"``).
    base_url : str
        Endpoint root up to and including the version, e.g. ``"https://api.openai.com/v1"``
        or ``"http://localhost:11434/v1"``; ``/chat/completions`` is appended.
    api_key_env : str or None
        NAME of the environment variable holding the key (default ``"OPENAI_API_KEY"``).
        ``None`` sends no key (local servers). If the named variable is unset, the first
        request fails with a message saying which variable to set.
    timeout : float
        Seconds to wait for a reply (connect and read) per attempt.
    max_retries : int
        Retries after the first attempt (so at most ``max_retries + 1`` requests).
    backoff_base, backoff_max : float
        Exponential back-off: attempt *i* waits uniform(0, min(backoff_max, backoff_base * 2**i)),
        but never less than a server's ``Retry-After``.
    max_retry_after : float
        Longest ``Retry-After`` honoured; a longer one fails the request (with the reason).
    max_concurrency : int
        Requests the runner may have in flight at once.
    default_params : dict, optional
        Extra body fields for every request (``temperature``, ``max_tokens``, ``seed``,
        ``response_format``...). Per-request ``params`` override them.
    seed : int
        Seeds the jitter.
    sleep : callable
        ``time.sleep`` by default; tests inject a recorder.
    extra_headers : dict, optional
        Non-secret headers (e.g. ``{"OpenAI-Organization": ...}``). Do not put keys here.
    """

    name = "openai"

    def __init__(self, model: str, base_url: str = "https://api.openai.com/v1", *,
                 api_key_env: str | None = "OPENAI_API_KEY", timeout: float = 60.0, max_retries: int = 5,
                 backoff_base: float = 1.0, backoff_max: float = 60.0, max_retry_after: float = 300.0,
                 max_concurrency: int = 4, default_params: dict[str, Any] | None = None, seed: int = 0,
                 sleep: Callable[[float], None] = time.sleep, extra_headers: dict[str, str] | None = None):
        if not isinstance(model, str) or not model.strip():
            raise ParameterError(f"model must be a non-empty string naming the server's model, got {model!r}",
                                 hint="pass --model / model= with the name the server expects, e.g. gpt-4o-mini")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ParameterError(f"base_url must start with http:// or https://, got {base_url!r}",
                                 hint="e.g. https://api.openai.com/v1 or http://localhost:11434/v1")
        if api_key_env is not None and (not isinstance(api_key_env, str) or not api_key_env.strip()
                                        or api_key_env.startswith(("sk-", "Bearer"))):
            raise ParameterError("api_key_env is the NAME of an environment variable (e.g. 'OPENAI_API_KEY'), "
                                 "not the key itself", hint="put the key in that variable and pass its name")
        if timeout <= 0 or max_retries < 0 or max_concurrency < 1:
            raise ParameterError(f"need timeout > 0, max_retries >= 0, max_concurrency >= 1; "
                                 f"got {timeout}, {max_retries}, {max_concurrency}")
        for key in (extra_headers or {}):
            if key.lower() in ("authorization", "api-key", "x-api-key"):
                raise ParameterError(f"extra_headers must not carry credentials ({key!r})", hint="use api_key_env")
        self.model_id = model.strip()
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self.max_concurrency = int(max_concurrency)
        self.default_params = dict(default_params or {})
        self.seed = int(seed)
        self._sleep = sleep
        self._extra_headers = dict(extra_headers or {})
        self._local = threading.local()

    # -- helpers -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "base_url": self.base_url,
                "api_key_env": self.api_key_env, "simulated": False}

    def _session(self):
        import requests

        sess = getattr(self._local, "session", None)
        if sess is None:
            sess = requests.Session()
            self._local.session = sess
        return sess

    def _key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise BackendError(f"environment variable {self.api_key_env} is not set",
                               hint=f"export your API key as {self.api_key_env} (or pass api_key_env=None / "
                                    "--api-key-env '' for a server that needs no key)")
        return key

    def _redact(self, text: str, key: str | None) -> str:
        if key:
            text = text.replace(key, "***")
        return text

    def _backoff(self, attempt: int, body_hash: str) -> float:
        # Full jitter, seeded by (seed, request, attempt): reproducible and thread-safe.
        h = int(hashlib.sha256(f"{self.seed}:{body_hash}:{attempt}".encode()).hexdigest()[:16], 16)
        u = np.random.default_rng(h).random()
        return min(self.backoff_max, self.backoff_base * (2 ** attempt)) * (0.5 + 0.5 * u)

    # -- protocol ----------------------------------------------------------------------
    def complete(self, messages: list[dict[str, str]], **params: Any) -> RawResponse:
        """POST one chat completion; retry transient failures; never raise on server errors.

        Returns a :class:`RawResponse` whose ``error`` is set (and ``text`` None) when no
        usable reply came back after the retries. Raises :class:`BackendError` only for
        configuration problems (unset key variable).
        """
        import requests

        key = self._key()
        body = {"model": self.model_id, "messages": messages, **self.default_params, **params}
        body = {k: v for k, v in body.items() if v is not None}
        body_bytes = json.dumps(body, ensure_ascii=False).encode("utf-8")
        body_hash = hashlib.sha256(body_bytes).hexdigest()
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self._extra_headers}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        start = time.monotonic()
        attempts = 0
        last_error = ""
        while True:
            attempts += 1
            retry_after: float | None = None
            try:
                resp = self._session().post(self.url, data=body_bytes, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                last_error = f"timeout after {self.timeout:g} s"
                retryable = True
            except requests.ConnectionError as exc:
                last_error = f"connection error: {type(exc).__name__}"
                retryable = True
            else:
                if resp.status_code == 200:
                    try:
                        payload = resp.json()
                        choice = payload["choices"][0]
                        text = choice["message"]["content"]
                        if text is not None and not isinstance(text, str):
                            raise TypeError("message.content is not a string")
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        # A 200 with an unreadable body is a server/proxy hiccup: retry it.
                        last_error = f"unreadable response body ({type(exc).__name__}: {str(exc)[:120]})"
                        retryable = True
                    else:
                        return RawResponse(
                            text=text if text is not None else "", model=str(payload.get("model") or self.model_id),
                            attempts=attempts, latency_s=time.monotonic() - start,
                            finish_reason=choice.get("finish_reason"),
                            usage={k: v for k, v in (payload.get("usage") or {}).items()
                                   if isinstance(v, (int, float))})
                else:
                    snippet = self._redact(resp.text[:300], key).replace("\n", " ")
                    last_error = f"HTTP {resp.status_code}: {snippet}"
                    retryable = resp.status_code in RETRY_STATUS
                    retry_after = _retry_after_seconds(resp.headers.get("Retry-After"), time.time())
                    fatal = None if retryable else fatal_reason(resp.status_code, snippet, url=self.url,
                                                                 model=self.model_id, api_key_env=self.api_key_env)
                    if resp.status_code in (401, 403):
                        last_error += f" (check the key in ${self.api_key_env})" if self.api_key_env else \
                            " (the server wants a key: pass api_key_env)"
                    if fatal is not None:
                        what, fix = fatal
                        return RawResponse(text=None, model=self.model_id, attempts=attempts,
                                           latency_s=time.monotonic() - start,
                                           error=self._redact(f"{what}: {last_error}", key), fatal=True,
                                           hint=self._redact(fix, key))
            if not retryable or attempts > self.max_retries:
                return RawResponse(text=None, model=self.model_id, attempts=attempts,
                                   latency_s=time.monotonic() - start,
                                   error=self._redact(last_error, key) + ("" if not retryable else
                                                                          f" (gave up after {attempts} attempts)"))
            delay = self._backoff(attempts - 1, body_hash)
            if retry_after is not None:
                if retry_after > self.max_retry_after:
                    return RawResponse(text=None, model=self.model_id, attempts=attempts,
                                       latency_s=time.monotonic() - start,
                                       error=f"{self._redact(last_error, key)} (Retry-After {retry_after:g} s exceeds "
                                             f"max_retry_after={self.max_retry_after:g} s)")
                delay = max(delay, retry_after)
            if not math.isfinite(delay):
                delay = self.backoff_max
            self._sleep(delay)


__all__ = ["OpenAICompatBackend", "BackendError", "RETRY_STATUS", "fatal_reason"]
