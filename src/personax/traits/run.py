"""Run trait inference over people x backends x prompt formats, resumably, through the ledger.

:func:`run_inference` renders each request, skips those already done in the ledger,
sends the rest, parses each reply, appends one ledger line per reply, and returns the
whole ledger (old and new lines) as a tidy DataFrame whose ``attrs["summary"]`` is a
:class:`RunSummary`.

How requests are sent: a backend with ``assess_batch`` and ``batch_size > 1`` (the local
transformers backend) gets batches; otherwise requests go one by one, or through a thread
pool bounded by the backend's ``max_concurrency`` (the HTTP backend).  The **first**
request of each backend is always sent alone, so a configuration that fails for everyone
(HTTP 401/403/404, an unknown model: replies marked ``fatal``) stops the run after one
request with :class:`personax.errors.BackendError` naming the fix; a fatal reply later
in a run (a key revoked mid-way) stops it after the requests already in flight.  Fatal
replies are not written to the ledger (nothing about the person was learnt).

Re-asking: ``retry_invalid=True`` (CLI ``--retry-invalid``) sends again every requested key
whose latest ledger line is in the ``invalid`` group (malformed, out of range, ...;
``retry_statuses`` picks statuses or groups precisely) and appends the new reply; the old
line stays as history and :func:`ledger_frame` uses the newest.  ``retry_params``
overrides sampling parameters for those re-asks only (e.g. ``{"temperature": 0.7}``: a
greedy model would repeat its reply); the line records them under ``params_sent``.

:func:`ledger_frame` turns any ledger into the tidy frame; :func:`wide_scores` reshapes it
into the data layer's ``{llm}_{trait}`` columns (``ok`` replies only unless asked);
:func:`wide_by_format` puts prompt formats side by side for agreement between formats.
"""

from __future__ import annotations

import json
import os
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pandas as pd

from personax.errors import BackendError, DataError, ParameterError, WorkFailedError
from personax.traits.backends.base import Backend, RawResponse, Request
from personax.traits.ledger import Ledger, expand_statuses, request_key, utc_now
from personax.traits.parser import STATUS_GROUP, STATUSES, flag_low_mass, parse_response
from personax.traits.prompts import PromptFormat, get_format
from personax.traits.run_tables import (  # noqa: F401  (re-exported: the old import path)
    TIDY_COLUMNS,
    _latest,
    _reply_scores,
    ledger_frame,
    status_counts,
    wide_by_format,
    wide_scores,
)
from personax.utils import progress


def _people_records(people: pd.DataFrame) -> list[dict[str, Any]]:
    if not isinstance(people, pd.DataFrame):
        raise ParameterError(f"people must be a pandas DataFrame, got {type(people).__name__}")
    for col in ("person_id", "name"):
        if col not in people.columns:
            raise DataError(f"people lacks the column {col!r} (has {list(people.columns)})",
                            hint="needs person_id, name and description or league")
    if "description" not in people.columns and "league" not in people.columns:
        raise DataError("people needs a 'description' column (CelebPersona-style) or a 'league' column "
                        f"(AthlePersona-style); has {list(people.columns)}")
    ids = people["person_id"].astype(str)
    if ids.duplicated().any():
        raise DataError(f"duplicate person_id values: {sorted(ids[ids.duplicated()].unique())[:5]}",
                        hint="every person needs a unique person_id")
    out = []
    for i, row in enumerate(people.to_dict("records")):
        desc = row.get("description")
        league = row.get("league")
        desc = desc if isinstance(desc, str) and desc.strip() else None
        league = league if isinstance(league, str) and league.strip() else None
        if desc is not None and league is not None:
            league = None  # a description is the richer subject; the league goes unused
        name = row.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"person {row['person_id']!r} (row {i}) has no name", hint="fill the name column")
        if desc is None and league is None:
            raise DataError(f"person {row['person_id']!r} (row {i}) has neither a description nor a league",
                            hint="fill description (CelebPersona-style) or league (AthlePersona-style)")
        out.append({"person_id": str(row["person_id"]), "name": name, "description": desc, "league": league})
    return out


def _backend_map(backends: Backend | Sequence[Backend] | Mapping[str, Backend]) -> dict[str, Backend]:
    if isinstance(backends, Mapping):
        out = dict(backends)
    elif isinstance(backends, (list, tuple)):
        out = {}
        for b in backends:
            label = getattr(b, "llm", None) or f"{b.name}:{b.model_id}"
            if label in out:
                raise ParameterError(f"two backends share the label {label!r}",
                                     hint="pass a dict {label: backend}")
            out[label] = b
    else:
        b = backends
        out = {getattr(b, "llm", None) or f"{b.name}:{b.model_id}": b}
    if not out:
        raise ParameterError("no backend given", hint="pass at least one backend")
    for label, b in out.items():
        for attr in ("name", "model_id", "assess"):
            if not hasattr(b, attr):
                raise ParameterError(f"backend {label!r} ({type(b).__name__}) lacks {attr!r}",
                                     hint="see personax.traits.backends.base.Backend")
    return out


def _model_key(backend: Backend) -> str:
    ident = getattr(backend, "identity", None)
    if not ident:
        return backend.model_id
    return f"{backend.model_id}|{json.dumps(ident, sort_keys=True, default=str)}"


# ----------------------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------------------
@dataclass
class RunSummary:
    """What a run did and where the requested work stands.

    Attributes
    ----------
    requested, skipped, sent, retried : int
        Requests in the run, already done in the ledger, sent now, and re-asked now
        (``retried`` is part of ``sent``).
    statuses : dict
        Final status -> count over the *requested* requests (latest ledger line of each;
        requests never answered count as ``error``).
    groups : dict
        The same by group: ``ok``, ``invalid``, ``refused``, ``error`` (and ``partial``).
    sent_statuses : dict
        Status -> count of the replies received in this run.
    failures : list of dict
        The first few requests not ``ok`` (``person_id, llm, prompt_id, status, detail``),
        errors first.
    truncated_bytes : int
        Size of a torn last ledger line that was repaired.
    """

    requested: int = 0
    skipped: int = 0
    sent: int = 0
    retried: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    sent_statuses: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    truncated_bytes: int = 0

    @property
    def n_ok(self) -> int:
        return self.groups.get("ok", 0)

    @property
    def error_rate(self) -> float:
        """Fraction of requested requests with no reply (status ``error``)."""
        return self.groups.get("error", 0) / self.requested if self.requested else 0.0

    @property
    def invalid_rate(self) -> float:
        """Fraction of requested requests whose reply was not usable (invalid or refused)."""
        bad = self.groups.get("invalid", 0) + self.groups.get("refused", 0)
        return bad / self.requested if self.requested else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"requested": self.requested, "skipped": self.skipped, "sent": self.sent, "retried": self.retried,
                "statuses": dict(self.statuses), "groups": dict(self.groups),
                "sent_statuses": dict(self.sent_statuses), "failures": list(self.failures),
                "error_rate": self.error_rate, "invalid_rate": self.invalid_rate,
                "truncated_bytes": self.truncated_bytes}

    def format(self) -> str:
        """Human-readable summary (what the CLI prints)."""
        g = self.groups
        lines = [f"requests: {self.requested} requested, {self.skipped} already in the ledger, {self.sent} sent now"
                 + (f" ({self.retried} re-asked)" if self.retried else ""),
                 "final status of the requested work: " + ", ".join(
                     f"{k} {g.get(k, 0)}" for k in ("ok", "invalid", "refused", "error") + (
                         ("partial",) if g.get("partial") else ())),
                 "  by status: " + ", ".join(f"{s} {n}" for s, n in self.statuses.items() if n)]
        if self.failures:
            lines.append(f"first {len(self.failures)} not ok:")
            for f in self.failures:
                lines.append(f"  {f['person_id']} / {f['llm']} / {f['prompt_id']}: {f['status']}"
                             + (f" ({f['detail']})" if f.get("detail") else ""))
        return "\n".join(lines)

    def check(self, *, max_error_rate: float = 0.0, max_invalid_rate: float | None = None,
              allow_failures: bool = False) -> None:
        """Raise :class:`personax.errors.WorkFailedError` when the run should count as failed.

        Failed means: nothing requested ended ``ok``; or the error rate (no reply after the
        retries) is above ``max_error_rate``; or, when given, the invalid-or-refused rate is
        above ``max_invalid_rate``.  ``allow_failures=True`` never raises.
        """
        if allow_failures or self.requested == 0:
            return
        problems = []
        if self.n_ok == 0:
            problems.append("no request ended with a usable reply (status ok)")
        if self.error_rate > max_error_rate:
            problems.append(f"{self.groups.get('error', 0)} of {self.requested} requests got no reply "
                            f"(error rate {self.error_rate:.1%} > --max-error-rate {max_error_rate:g})")
        if max_invalid_rate is not None and self.invalid_rate > max_invalid_rate:
            problems.append(f"invalid or refused rate {self.invalid_rate:.1%} > --max-invalid-rate "
                            f"{max_invalid_rate:g}")
        if problems:
            raise WorkFailedError("trait run finished with failures: " + "; ".join(problems),
                                  hint="rerun the same command to resume (errors are re-sent, done requests are "
                                       "skipped), --retry-invalid to re-ask invalid replies, or --allow-failures "
                                       "to accept the result")


def _summarise(ledger: Ledger, requested: list[tuple[str, dict[str, Any]]], counts: dict[str, int],
               sent_statuses: Counter, details: dict[str, str], max_failures: int = 5) -> RunSummary:
    statuses: Counter = Counter()
    failures_err, failures_bad = [], []
    for key, info in requested:
        st = ledger.state.latest.get(key, "error")
        statuses[st] += 1
        if st != "ok":
            item = {**info, "status": st, "detail": details.get(key, "")}
            (failures_err if st == "error" else failures_bad).append(item)
    ordered = {s: statuses[s] for s in list(STATUSES) + sorted(set(statuses) - set(STATUSES)) if statuses.get(s)}
    groups = {g: 0 for g in ("ok", "invalid", "refused", "error")}
    for s, n in statuses.items():
        grp = STATUS_GROUP.get(s, "invalid")
        groups[grp] = groups.get(grp, 0) + n
    return RunSummary(requested=counts["requested"], skipped=counts["skipped"], sent=counts["sent"],
                      retried=counts["retried"], statuses=ordered, groups=groups,
                      sent_statuses=dict(sent_statuses), failures=(failures_err + failures_bad)[:max_failures],
                      truncated_bytes=counts["truncated_bytes"])


# ----------------------------------------------------------------------------------------
# the run
# ----------------------------------------------------------------------------------------
def run_inference(people: pd.DataFrame, backends: Backend | Sequence[Backend] | Mapping[str, Backend],
                  prompt_id: str | PromptFormat | Sequence[str | PromptFormat], ledger_path: str | os.PathLike, *,
                  params: Mapping[str, Any] | None = None, repeats: int = 1, retry_errors: bool = True,
                  retry_invalid: bool = False, retry_statuses: Sequence[str] | None = None,
                  retry_params: Mapping[str, Any] | None = None, allow_partial: bool = False,
                  show_progress: bool | None = None) -> pd.DataFrame:
    """Rate every person with every backend and prompt format, resuming from the ledger.

    Parameters
    ----------
    people : DataFrame
        Columns ``person_id``, ``name`` and ``description`` and/or ``league``.
    backends : Backend, list of Backend, or dict label -> Backend
        The raters. The label (dict key; else ``backend.llm`` or ``"name:model"``) is the
        ``llm`` column of the result, e.g. ``"chatgpt"``.
    prompt_id : str, PromptFormat or list of them
        Prompt format(s), e.g. ``"number-l3-inc"`` or all six for a consistency study.
    ledger_path : path
        JSONL ledger; created if missing, appended to and used to skip finished work.
    params : dict, optional
        Sampling parameters sent with every request (e.g. ``{"temperature": 0}``). Part
        of the request identity: changing them re-asks everything.
    repeats : int
        Ask each request this many times (repeat index is part of the identity).
    retry_errors : bool
        Re-send requests whose earlier attempt ended with status ``error``.
    retry_invalid : bool
        Re-ask requests whose latest reply is in the ``invalid`` group (old line kept).
    retry_statuses : sequence of str, optional
        Statuses or groups to re-ask (e.g. ``["malformed", "refused"]``); adds to
        ``retry_invalid``.
    retry_params : dict, optional
        Parameters overriding ``params`` for re-asked requests only (not part of the key).
    allow_partial : bool
        Opt in to ``partial`` results in the returned frame (see :func:`ledger_frame`).
    show_progress : bool, optional
        Progress bar (default: on unless quiet/CI).

    Returns
    -------
    DataFrame
        The whole ledger in tidy form, see :func:`ledger_frame`.  ``attrs["summary"]``
        is the :class:`RunSummary` of the requested work; ``attrs["run"]`` its counts as a
        dict (``requested``, ``skipped``, ``sent``, ``retried``, ``truncated_bytes``).

    Raises
    ------
    BackendError
        A backend cannot be used (missing key variable, HTTP 401/403/404, unknown model):
        the run stops; everything recorded so far stays in the ledger.

    Examples
    --------
    >>> import tempfile, os
    >>> from personax.traits import load_example_people
    >>> from personax.traits.backends import make_backend
    >>> people = load_example_people().head(2)
    >>> path = os.path.join(tempfile.mkdtemp(), "ledger.jsonl")
    >>> tidy = run_inference(people, {"chatgpt": make_backend("simulated", llm="chatgpt")},
    ...                      "number-l3-inc", path, show_progress=False)
    >>> tidy.attrs["summary"].groups["ok"], len(tidy)
    (2, 10)
    """
    if int(repeats) < 1:
        raise ParameterError(f"repeats must be >= 1, got {repeats}")
    try:
        prompts = [get_format(p) for p in (prompt_id if isinstance(prompt_id, (list, tuple)) else [prompt_id])]
    except KeyError as exc:
        raise ParameterError(str(exc.args[0]) if exc.args else str(exc)) from exc
    people_recs = _people_records(people)
    bmap = _backend_map(backends)
    params = dict(params or {})
    retry_set = set(expand_statuses(retry_statuses))
    if retry_invalid:
        retry_set |= expand_statuses(["invalid"])
    ledger = Ledger(ledger_path, retry_errors=retry_errors, retry_statuses=retry_set).open()
    counts = {"requested": 0, "skipped": 0, "sent": 0, "retried": 0,
              "truncated_bytes": ledger.state.truncated_bytes}
    requested: list[tuple[str, dict[str, Any]]] = []
    sent_statuses: Counter = Counter()
    details: dict[str, str] = {}
    try:
        for label, backend in bmap.items():
            todo = _requests(label, backend, prompts, people_recs, int(repeats), params, retry_params, ledger,
                             counts, requested)
            _send_all(label, backend, todo, ledger, counts, show_progress, params, sent_statuses, details)
    finally:
        ledger.close()
    frame = ledger_frame(ledger_path, allow_partial=allow_partial)
    summary = _summarise(ledger, requested, counts, sent_statuses, details)
    frame.attrs["summary"] = summary
    frame.attrs["run"] = {k: counts[k] for k in ("requested", "skipped", "sent", "retried", "truncated_bytes")}
    return frame


def _requests(label: str, backend: Backend, prompts: list[PromptFormat], people_recs: list[dict[str, Any]],
              repeats: int, params: dict, retry_params, ledger: Ledger, counts: dict[str, int],
              requested: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Request]]:
    """The requests of one backend still to send (not done in the ledger); counts and ``requested`` updated."""
    todo: list[tuple[str, Request]] = []
    mkey = _model_key(backend)
    for fmt in prompts:
        for person in people_recs:
            messages = fmt.render(person["name"], description=person["description"], league=person["league"])
            for rep in range(repeats):
                counts["requested"] += 1
                key = request_key(person["person_id"], label, backend.name, mkey, fmt.id, fmt.content_hash,
                                  params, rep)
                requested.append((key, {"person_id": person["person_id"], "llm": label, "prompt_id": fmt.id}))
                if ledger.is_done(key):
                    counts["skipped"] += 1
                    continue
                earlier = ledger.n_lines(key)
                is_retry = earlier > 0 and ledger.state.latest.get(key) != "error"
                sent_params = {**params, **(dict(retry_params or {}) if is_retry else {})}
                todo.append((key, Request(person_id=person["person_id"], name=person["name"],
                                          description=person["description"], league=person["league"],
                                          prompt=fmt, messages=messages, params=sent_params, repeat=rep,
                                          retry=earlier)))
                if is_retry:
                    counts["retried"] += 1
    return todo


def _record(label: str, backend: Backend, key: str, req: Request, raw: RawResponse | None, started: str,
            exc: BaseException | None, params: dict[str, Any]) -> dict[str, Any]:
    if exc is not None:
        raw = RawResponse(text=None, model=backend.model_id, error=f"{type(exc).__name__}: {exc}")
    assert raw is not None
    parsed = parse_response(raw.text if raw.error is None else None, req.prompt)
    mass = (raw.extra or {}).get("answer_mass")
    if isinstance(mass, dict) and parsed.status == "ok":
        threshold = float((raw.extra or {}).get("mass_threshold", getattr(backend, "mass_threshold", 0.0)))
        parsed = flag_low_mass(parsed, mass, threshold)
    js = parsed.to_json()
    return {
        "key": key, "person_id": req.person_id, "llm": label, "backend": backend.name, "model": backend.model_id,
        "model_reported": raw.model, "prompt_id": req.prompt.id, "prompt_version": req.prompt.version,
        "prompt_hash": req.prompt.content_hash, "params": params, "repeat": req.repeat, "retry": req.retry,
        "params_sent": req.params, "raw_text": raw.text, "status": parsed.status, "group": parsed.group,
        "scores": js["scores"], "values": js["values"], "reasons": parsed.reasons,
        "descriptions": parsed.descriptions, "detail": raw.error if raw.error else parsed.detail,
        "error": raw.error, "attempts": raw.attempts, "latency_s": round(float(raw.latency_s), 4),
        "finish_reason": raw.finish_reason, "usage": raw.usage, "extra": raw.extra,
        "simulated": bool(raw.simulated or getattr(backend, "simulated", False)),
        "started_utc": started, "finished_utc": utc_now(),
    }


def _fatal_error(label: str, backend: Backend, raw: RawResponse) -> BackendError:
    return BackendError(f"backend {label!r} ({backend.name}, model {backend.model_id!r}) cannot be used: "
                        f"{raw.error}; the run was stopped", hint=raw.hint or "fix the backend configuration")


def _send_all(label: str, backend: Backend, todo: list[tuple[str, Request]], ledger: Ledger,
              counts: dict[str, int], show_progress: bool | None, params: dict[str, Any],
              sent_statuses: Counter, details: dict[str, str]) -> None:
    if not todo:
        return
    bar = progress(range(len(todo)), desc=f"{label}", total=len(todo),
                   disable=None if show_progress is None else not show_progress)
    bar_iter = iter(bar)

    def record(key: str, req: Request, raw: RawResponse | None, exc: BaseException | None, started: str) -> None:
        if raw is not None and raw.fatal:
            raise _fatal_error(label, backend, raw)
        rec = _record(label, backend, key, req, raw, started, exc, params)
        ledger.append(rec)
        counts["sent"] += 1
        sent_statuses[rec["status"]] += 1
        details[key] = rec["detail"] or ""
        next(bar_iter, None)

    def call(req: Request) -> tuple[RawResponse | None, BaseException | None, str]:
        started = utc_now()
        try:
            return backend.assess(req), None, started
        except BackendError:  # configuration error: stop the run, do not record
            raise
        except Exception as exc:  # recorded in the ledger as status "error", never swallowed
            return None, exc, started

    batch_size = int(getattr(backend, "batch_size", 1) or 1) if hasattr(backend, "assess_batch") else 1
    if batch_size > 1:
        # group by prompt format so a batch shares its decoding settings, keep the order otherwise
        by_format: dict[str, list[tuple[str, Request]]] = {}
        for item in todo:
            by_format.setdefault(item[1].prompt.id, []).append(item)
        for items in by_format.values():
            for j in range(0, len(items), batch_size):
                chunk = items[j:j + batch_size]
                started = utc_now()
                try:
                    raws = backend.assess_batch([r for _, r in chunk])
                except BackendError:
                    raise
                except Exception as exc:
                    for key, req in chunk:
                        record(key, req, None, exc, started)
                    continue
                if len(raws) != len(chunk):
                    raise RuntimeError(f"backend {label!r} returned {len(raws)} replies for {len(chunk)} requests")
                for (key, req), raw in zip(chunk, raws):
                    record(key, req, raw, None, started)
        return
    workers = max(1, int(getattr(backend, "max_concurrency", 1)))
    queue = deque(todo)
    # the first request alone: a configuration that fails for everyone stops here
    key, req = queue.popleft()
    raw, exc, started = call(req)
    record(key, req, raw, exc, started)
    if workers == 1:
        while queue:
            key, req = queue.popleft()
            raw, exc, started = call(req)
            record(key, req, raw, exc, started)
        return
    fatal: BackendError | None = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: dict = {}
        while (queue and fatal is None) or pending:
            while queue and fatal is None and len(pending) < workers:
                key, req = queue.popleft()
                pending[pool.submit(call, req)] = (key, req)
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                key, req = pending.pop(fut)
                raw, exc, started = fut.result()  # a BackendError propagates here
                try:
                    record(key, req, raw, exc, started)
                except BackendError as err:
                    fatal = fatal or err  # stop sending; let the requests in flight finish
    if fatal is not None:
        raise fatal


__all__ = ["run_inference", "ledger_frame", "status_counts", "wide_scores", "wide_by_format", "RunSummary",
           "TIDY_COLUMNS"]
