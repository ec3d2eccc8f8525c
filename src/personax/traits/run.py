"""Run trait inference over people x backends x prompt formats, resumably, through the ledger.

:func:`run_inference` renders each request, skips those already done in the ledger,
sends the rest (in a thread pool bounded by each backend's ``max_concurrency``), parses
each reply, appends one ledger line per reply, and returns the whole ledger (old and new
lines) as a tidy DataFrame.  :func:`ledger_frame` turns any ledger into the same frame;
:func:`wide_scores` reshapes it into the data layer's ``{llm}_{trait}`` columns.
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Mapping, Sequence

import pandas as pd

from personax.data.schema import TRAITS
from personax.traits.backends.base import Backend, RawResponse, Request
from personax.traits.ledger import Ledger, request_key, utc_now
from personax.traits.parser import STATUSES, parse_response
from personax.traits.prompts import PromptFormat, get_format
from personax.utils import progress

TIDY_COLUMNS = ["person_id", "llm", "backend", "model", "prompt_id", "prompt_hash", "repeat", "trait", "score",
                "reason", "status", "attempts", "simulated"]


def _people_records(people: pd.DataFrame) -> list[dict[str, Any]]:
    if not isinstance(people, pd.DataFrame):
        raise TypeError(f"people must be a pandas DataFrame, got {type(people).__name__}")
    for col in ("person_id", "name"):
        if col not in people.columns:
            raise ValueError(f"people lacks the column {col!r}; needs person_id, name and description or league "
                             f"(has {list(people.columns)})")
    if "description" not in people.columns and "league" not in people.columns:
        raise ValueError("people needs a 'description' column (CelebPersona-style) or a 'league' column "
                         "(AthlePersona-style)")
    ids = people["person_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"duplicate person_id values: {sorted(ids[ids.duplicated()].unique())[:5]}")
    out = []
    for row in people.to_dict("records"):
        desc = row.get("description")
        league = row.get("league")
        desc = desc if isinstance(desc, str) and desc.strip() else None
        league = league if isinstance(league, str) and league.strip() else None
        if desc is not None and league is not None:
            league = None  # a description is the richer subject; the league goes unused
        if desc is None and league is None:
            raise ValueError(f"person {row['person_id']!r} has neither a description nor a league")
        out.append({"person_id": str(row["person_id"]), "name": str(row["name"]),
                    "description": desc, "league": league})
    return out


def _backend_map(backends: Backend | Sequence[Backend] | Mapping[str, Backend]) -> dict[str, Backend]:
    if isinstance(backends, Mapping):
        out = dict(backends)
    elif isinstance(backends, (list, tuple)):
        out = {}
        for b in backends:
            label = getattr(b, "llm", None) or f"{b.name}:{b.model_id}"
            if label in out:
                raise ValueError(f"two backends share the label {label!r}: pass a dict {{label: backend}}")
            out[label] = b
    else:
        b = backends
        out = {getattr(b, "llm", None) or f"{b.name}:{b.model_id}": b}
    for label, b in out.items():
        for attr in ("name", "model_id", "assess"):
            if not hasattr(b, attr):
                raise TypeError(f"backend {label!r} ({type(b).__name__}) lacks {attr!r}: see "
                                "personax.traits.backends.base.Backend")
    return out


def run_inference(people: pd.DataFrame, backends: Backend | Sequence[Backend] | Mapping[str, Backend],
                  prompt_id: str | PromptFormat | Sequence[str | PromptFormat], ledger_path: str | os.PathLike, *,
                  params: Mapping[str, Any] | None = None, repeats: int = 1, retry_errors: bool = True,
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
    show_progress : bool, optional
        Progress bar (default: on unless quiet/CI).

    Returns
    -------
    DataFrame
        The whole ledger in tidy form, see :func:`ledger_frame`; ``attrs["run"]`` holds
        counts: ``{"requested", "skipped", "sent", "truncated_bytes"}``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    prompts = [get_format(p) for p in (prompt_id if isinstance(prompt_id, (list, tuple)) else [prompt_id])]
    people_recs = _people_records(people)
    bmap = _backend_map(backends)
    params = dict(params or {})
    ledger = Ledger(ledger_path, retry_errors=retry_errors).open()
    counts = {"requested": 0, "skipped": 0, "sent": 0, "truncated_bytes": ledger.state.truncated_bytes}
    try:
        for label, backend in bmap.items():
            todo: list[tuple[str, Request]] = []
            for fmt in prompts:
                for person in people_recs:
                    messages = fmt.render(person["name"], description=person["description"],
                                          league=person["league"])
                    for rep in range(repeats):
                        counts["requested"] += 1
                        key = request_key(person["person_id"], label, backend.name, backend.model_id, fmt.id,
                                          fmt.content_hash, params, rep)
                        if ledger.is_done(key):
                            counts["skipped"] += 1
                            continue
                        todo.append((key, Request(person_id=person["person_id"], name=person["name"],
                                                  description=person["description"], league=person["league"],
                                                  prompt=fmt, messages=messages, params=dict(params), repeat=rep)))
            _send_all(label, backend, todo, ledger, counts, show_progress)
    finally:
        ledger.close()
    frame = ledger_frame(ledger_path)
    frame.attrs["run"] = counts
    return frame


def _record(label: str, backend: Backend, key: str, req: Request, raw: RawResponse | None, started: str,
            exc: BaseException | None) -> dict[str, Any]:
    if exc is not None:
        raw = RawResponse(text=None, model=backend.model_id, error=f"{type(exc).__name__}: {exc}")
    assert raw is not None
    parsed = parse_response(raw.text if raw.error is None else None, req.prompt)
    return {
        "key": key, "person_id": req.person_id, "llm": label, "backend": backend.name, "model": backend.model_id,
        "model_reported": raw.model, "prompt_id": req.prompt.id, "prompt_version": req.prompt.version,
        "prompt_hash": req.prompt.content_hash, "params": req.params, "repeat": req.repeat,
        "raw_text": raw.text, "status": parsed.status, "scores": parsed.to_json()["scores"],
        "reasons": parsed.reasons, "descriptions": parsed.descriptions,
        "detail": raw.error if raw.error else parsed.detail, "error": raw.error, "attempts": raw.attempts,
        "latency_s": round(float(raw.latency_s), 4), "finish_reason": raw.finish_reason, "usage": raw.usage,
        "extra": raw.extra, "simulated": bool(raw.simulated or getattr(backend, "simulated", False)),
        "started_utc": started, "finished_utc": utc_now(),
    }


def _send_all(label: str, backend: Backend, todo: list[tuple[str, Request]], ledger: Ledger,
              counts: dict[str, int], show_progress: bool | None) -> None:
    if not todo:
        return
    workers = max(1, int(getattr(backend, "max_concurrency", 1)))
    bar = progress(range(len(todo)), desc=f"{label}", total=len(todo),
                   disable=None if show_progress is None else not show_progress)
    bar_iter = iter(bar)

    def call(req: Request) -> tuple[RawResponse | None, BaseException | None, str]:
        started = utc_now()
        try:
            return backend.assess(req), None, started
        except Exception as exc:  # recorded in the ledger as status "error", never swallowed
            from personax.traits.backends.openai_compat import BackendError

            if isinstance(exc, BackendError):  # configuration error: stop the run, do not record
                raise
            return None, exc, started

    if workers == 1:
        for key, req in todo:
            raw, exc, started = call(req)
            ledger.append(_record(label, backend, key, req, raw, started, exc))
            counts["sent"] += 1
            next(bar_iter, None)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {}
        queue = deque(todo)
        while queue or pending:
            while queue and len(pending) < workers:
                key, req = queue.popleft()
                pending[pool.submit(call, req)] = (key, req)
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                key, req = pending.pop(fut)
                raw, exc, started = fut.result()  # BackendError propagates here
                ledger.append(_record(label, backend, key, req, raw, started, exc))
                counts["sent"] += 1
                next(bar_iter, None)


def ledger_frame(ledger_path: str | os.PathLike) -> pd.DataFrame:
    """A ledger as a tidy DataFrame, one row per (reply, trait).

    Columns
    -------
    person_id, llm, backend, model, prompt_id, prompt_hash : str
    repeat : int
    trait : str (one of TRAITS)
    score : float (NaN when the trait failed; 0 = insufficient information)
    reason : str (per-trait parse reason: ok, missing, out_of_range, ...)
    status : str (reply status: ok, partial, refused, invalid, error)
    attempts : int
    simulated : bool

    When a key appears several times (an ``error`` line followed by a successful retry),
    the last line wins.
    """
    recs = Ledger.read(ledger_path)
    latest: dict[str, dict[str, Any]] = {}
    for rec in recs:
        latest[rec["key"]] = rec
    rows = []
    for rec in latest.values():
        for trait in TRAITS:
            v = (rec.get("scores") or {}).get(trait)
            rows.append({"person_id": rec["person_id"], "llm": rec["llm"], "backend": rec["backend"],
                         "model": rec["model"], "prompt_id": rec["prompt_id"], "prompt_hash": rec["prompt_hash"],
                         "repeat": int(rec.get("repeat", 0)), "trait": trait,
                         "score": float(v) if v is not None else math.nan,
                         "reason": (rec.get("reasons") or {}).get(trait, "missing"), "status": rec["status"],
                         "attempts": int(rec.get("attempts", 1)), "simulated": bool(rec.get("simulated", False))})
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def status_counts(tidy: pd.DataFrame) -> pd.DataFrame:
    """Reply status counts per llm and prompt.

    Returns
    -------
    DataFrame
        Index ``(llm, prompt_id)``; one column per status in :data:`STATUSES` (ints),
        plus ``traits_missing`` (count of NaN trait scores) and ``replies``.
    """
    replies = tidy.drop_duplicates(["person_id", "llm", "prompt_id", "repeat"])
    table = (replies.groupby(["llm", "prompt_id"])["status"].value_counts().unstack(fill_value=0)
             .reindex(columns=list(STATUSES), fill_value=0))
    table["traits_missing"] = tidy.groupby(["llm", "prompt_id"])["score"].apply(lambda s: int(s.isna().sum()))
    table["replies"] = table[list(STATUSES)].sum(axis=1)
    return table.astype(int)


def wide_scores(tidy: pd.DataFrame, prompt_id: str | None = None, repeat: int = 0) -> pd.DataFrame:
    """Per-person wide frame with the data layer's ``{llm}_{trait}`` columns.

    Parameters
    ----------
    tidy : DataFrame
        From :func:`run_inference` / :func:`ledger_frame`.
    prompt_id : str, optional
        Which format to keep (required when the frame holds several).
    repeat : int
        Which repeat to keep.

    Returns
    -------
    DataFrame
        Index ``person_id``; columns ``{llm}_{trait}`` as ``Int64`` (missing = ``<NA>``;
        0 = insufficient information) ordered by llm then trait.
    """
    df = tidy
    prompts = df["prompt_id"].unique()
    if prompt_id is None:
        if len(prompts) > 1:
            raise ValueError(f"the frame holds several prompt formats {list(prompts)}: pass prompt_id=")
    else:
        df = df[df["prompt_id"] == get_format(prompt_id).id]
    df = df[df["repeat"] == repeat]
    wide = df.pivot_table(index="person_id", columns=["llm", "trait"], values="score", aggfunc="first",
                          dropna=False)
    llms = list(dict.fromkeys(df["llm"]))
    cols = [(l, t) for l in llms for t in TRAITS]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(cols))
    wide.columns = [f"{l}_{t}" for l, t in cols]
    return wide.round().astype("Int64")


__all__ = ["run_inference", "ledger_frame", "status_counts", "wide_scores", "TIDY_COLUMNS"]
