"""Append-only JSONL ledger of trait-inference requests and replies.

One line per answered (or finally failed) request, written with ``flush`` + ``fsync`` so
that a line is on disk before the next request is counted as done.  (The ledger is the
one file the package appends to instead of writing through
:class:`personax.utils.atomic_path`: a rename per line would rewrite the whole file each
time; crash safety comes from the fsync and the truncated-tail repair below.)  A line holds:

``schema``          ledger schema version (:data:`LEDGER_SCHEMA`)
``key``             SHA-256 of the request identity (person, llm label, backend, model,
                    prompt id + hash, sampling parameters, repeat): a rerun skips keys
                    already present with a final status
``person_id, llm, backend, model, model_reported, prompt_id, prompt_version, prompt_hash,
params, repeat``    what was asked
``retry, params_sent``  how many lines this key had before (0 = first ask) and the
                    parameters actually sent (``params`` plus any retry overrides)
``raw_text``        the reply exactly as received (None when there was none)
``scores, values, reasons, descriptions, status, group, detail``  the parse (see
                    :mod:`~personax.traits.parser`; ``scores`` are null unless ``ok``)
``error, attempts, latency_s, finish_reason, usage, extra, simulated``  how it went
``started_utc, finished_utc``  ISO-8601 UTC times

Several lines may share a key: a request that ended in ``error`` is sent again by the
next run, and ``retry_statuses`` (``--retry-invalid``) re-asks keys whose latest line has
one of the given statuses.  Old lines are never rewritten; readers use the **last** line
of each key, earlier ones are history.

Secrets never reach the ledger: backends do not return headers or keys, and
:func:`append` refuses a record whose params contain key-like fields.

Crash safety: a run killed with ``kill -9`` can leave at most a truncated last line (no
trailing newline).  :meth:`Ledger.open` detects it, cuts it off (it was never counted as
done) and resumes.  A corrupt line in the middle of the file is not guessed around: it
raises an error naming the line.  Requests that were in flight when a run was killed
got no recorded reply and are sent again on resume (at most ``max_concurrency`` of them).

Schema history: ``personax.traits.ledger/1`` lines (parser version 1, statuses ``ok``,
``partial``, ``refused``, ``invalid``, ``error``) are still read; their ``partial``
scores are not used unless partial results are asked for by name.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from personax.errors import DataError, InputOutputError, ParameterError
from personax.traits.parser import STATUS_GROUP, STATUSES

LEDGER_SCHEMA = "personax.traits.ledger/2"
#: schemas this version reads (the first is the one it writes)
READ_SCHEMAS = (LEDGER_SCHEMA, "personax.traits.ledger/1")
#: statuses that count as done (a rerun does not send them again), old ones included
FINAL_STATUSES = frozenset(s for s in STATUSES if s != "error") | {"invalid", "partial"}
# parameter names that would carry a credential (max_tokens etc. are fine)
_SECRET_RE = re.compile(
    r"^(api[_-]?key|apikey|authorization|bearer|access[_-]?token|auth[_-]?token|token|secret|password)$"
    r"|(_key|_secret|_password|_token)$", re.IGNORECASE)
_NOT_SECRET = frozenset({"max_tokens", "max_new_tokens", "max_completion_tokens", "stop_token", "eos_token"})


def utc_now() -> str:
    """Current UTC time, ISO-8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def request_key(person_id: str, llm: str, backend: str, model: str, prompt_id: str, prompt_hash: str,
                params: dict[str, Any], repeat: int) -> str:
    """Stable identity of one request (hex SHA-256)."""
    ident = json.dumps([str(person_id), llm, backend, model, prompt_id, prompt_hash,
                        params, int(repeat)], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()


def _check_no_secrets(obj: Any, path: str = "") -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            name = str(k).lower()
            if _SECRET_RE.search(name) and name not in _NOT_SECRET and not name.endswith("_env"):
                raise ParameterError(f"refusing to write a ledger field {path + str(k)!r} that looks like a secret; "
                                 "pass credentials through environment variables only")
            _check_no_secrets(v, f"{path}{k}.")


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


@dataclass
class LedgerState:
    """What :meth:`Ledger.open` found.

    Attributes
    ----------
    n_records : int
        Intact lines (records are not kept in memory; read them with :meth:`Ledger.read`).
    done : set of str
        Keys whose latest line has a final status not asked to be retried (skipped by a rerun).
    latest : dict
        key -> status of its latest line.
    lines : dict
        key -> number of lines written for it (history included).
    truncated_bytes : int
        Size of the partial last line that was cut off (0 if none).
    """

    n_records: int = 0
    done: set[str] = field(default_factory=set)
    latest: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    truncated_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, JSON friendly (``done`` as a sorted list)."""
        return {"n_records": self.n_records, "done": sorted(self.done), "latest": dict(self.latest),
                "lines": dict(self.lines), "truncated_bytes": self.truncated_bytes}


def expand_statuses(statuses) -> frozenset[str]:
    """Status names and group names (``invalid``, ``refused``, ...) -> the set of statuses.

    >>> sorted(expand_statuses(["refused", "out_of_range"]))
    ['out_of_range', 'refused']
    >>> "malformed" in expand_statuses(["invalid"])
    True
    """
    if statuses is None:
        return frozenset()
    if isinstance(statuses, str):
        statuses = [s.strip() for s in statuses.split(",") if s.strip()]
    out: set[str] = set()
    known = set(STATUS_GROUP) | set(STATUS_GROUP.values())
    for s in statuses:
        if s not in known:
            raise ParameterError(f"unknown reply status {s!r} to retry",
                                 hint=f"use a status ({', '.join(STATUSES)}) or a group (invalid, refused, error)")
        members = {st for st, g in STATUS_GROUP.items() if g == s} if s in STATUS_GROUP.values() else set()
        out |= members | {s}
    return frozenset(out)


class Ledger:
    """An append-only JSONL ledger (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The file; parent folders are created.
    retry_errors : bool
        If True (default), lines with status ``error`` (no reply after all retries) are
        not counted as done, so a rerun asks again.
    retry_statuses : iterable of str, optional
        Statuses or groups (e.g. ``["invalid"]``) whose keys are not counted as done
        either: a run re-asks them and appends a new line, keeping the old one.
    """

    def __init__(self, path: str | os.PathLike, *, retry_errors: bool = True, retry_statuses=None):
        self.path = Path(path)
        self.retry_errors = retry_errors
        self.retry_statuses = expand_statuses(retry_statuses)
        self._lock = threading.Lock()
        self.state = LedgerState()
        self._fh = None

    # -- reading ---------------------------------------------------------------------
    @staticmethod
    def read(path: str | os.PathLike) -> list[dict[str, Any]]:
        """All intact records of a ledger (a truncated last line is ignored, with a warning)."""
        return list(_iter_records(Path(path), repair=False)[0])

    def _final(self, status: str) -> bool:
        if status == "error":
            return not self.retry_errors and "error" not in self.retry_statuses
        return status in FINAL_STATUSES and status not in self.retry_statuses

    def open(self) -> "Ledger":
        """Read the existing file (repairing a truncated last line) and open it for appending."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputOutputError(f"cannot create the ledger folder {self.path.parent}: {exc}",
                                   hint="pass a --ledger path in a writable folder") from exc
        records, truncated = _iter_records(self.path, repair=True)
        latest: dict[str, str] = {}
        lines: dict[str, int] = {}
        for rec in records:
            latest[rec["key"]] = rec["status"]
            lines[rec["key"]] = lines.get(rec["key"], 0) + 1
        done = {k for k, st in latest.items() if self._final(st)}
        self.state = LedgerState(n_records=len(records), done=done, latest=latest, lines=lines,
                                 truncated_bytes=truncated)
        try:
            self._fh = open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise InputOutputError(f"cannot open the ledger {self.path} for appending: {exc}",
                                   hint="pass a --ledger path in a writable folder") from exc
        return self

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "Ledger":
        return self.open() if self._fh is None else self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def is_done(self, key: str) -> bool:
        return key in self.state.done

    def n_lines(self, key: str) -> int:
        """How many lines the ledger holds for ``key`` (0 = never asked)."""
        return self.state.lines.get(key, 0)

    # -- writing ---------------------------------------------------------------------
    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line, then flush and fsync before returning."""
        if self._fh is None:
            raise RuntimeError("ledger is not open: use `with Ledger(path) as led:` or call .open()")
        for required in ("key", "person_id", "status"):
            if required not in record:
                raise ValueError(f"ledger record lacks {required!r}")
        _check_no_secrets(record.get("params", {}), "params.")
        _check_no_secrets(record.get("params_sent", {}), "params_sent.")
        rec = {"schema": LEDGER_SCHEMA, **_json_safe(record)}
        line = json.dumps(rec, ensure_ascii=False, allow_nan=False, sort_keys=False)
        if "\n" in line:  # json.dumps escapes newlines; a raw one would break the format
            raise AssertionError("JSON line contains a newline")
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.state.n_records += 1
            key = rec["key"]
            self.state.latest[key] = rec["status"]
            self.state.lines[key] = self.state.lines.get(key, 0) + 1
            if self._final(rec["status"]):
                self.state.done.add(key)
            else:
                self.state.done.discard(key)


def _iter_records(path: Path, repair: bool) -> tuple[list[dict[str, Any]], int]:
    if not path.exists():
        return [], 0
    if path.is_dir():
        raise InputOutputError(f"the ledger path {path} is a folder", hint="pass a file name such as runs/ledger.jsonl")
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # tail is b"" when the file ends with a newline
    for i, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: line {i} is not valid JSON ({exc}); the ledger is corrupt in the middle, "
                            "which a crash cannot cause",
                            hint="inspect or move the file; it is never rewritten automatically") from exc
        if not isinstance(rec, dict) or "key" not in rec or "status" not in rec:
            raise DataError(f"{path}: line {i} is not a ledger record (needs 'key' and 'status')",
                            hint="--ledger must name a ledger written by `personax traits run` (or a new file)")
        if rec.get("schema") not in READ_SCHEMAS:
            raise DataError(f"{path}: line {i} has schema {rec.get('schema')!r}; this version reads "
                            f"{', '.join(READ_SCHEMAS)}", hint="use a new ledger path for this version")
        records.append(rec)
    truncated = 0
    if tail:
        # No trailing newline: the last write was cut short (kill -9 mid-write).  The
        # record was never counted as done, so dropping it loses nothing.
        truncated = len(tail)
        warnings.warn(f"{path}: dropping a truncated last line ({truncated} bytes) left by an interrupted run",
                      RuntimeWarning, stacklevel=3)
        if repair:
            with open(path, "r+b") as fh:
                fh.truncate(len(data) - truncated)
                fh.flush()
                os.fsync(fh.fileno())
    return records, truncated


def iter_ledger(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Iterate over the intact records of a ledger file."""
    yield from Ledger.read(path)


__all__ = ["Ledger", "LedgerState", "LEDGER_SCHEMA", "READ_SCHEMAS", "FINAL_STATUSES", "request_key", "iter_ledger",
           "utc_now", "expand_statuses"]
