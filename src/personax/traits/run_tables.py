"""Reading a ledger into tidy and wide frames: :func:`ledger_frame`, :func:`status_counts`,
:func:`wide_scores`, :func:`wide_by_format` (re-exported by :mod:`personax.traits.run`)."""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import pandas as pd

from personax.data.schema import TRAITS
from personax.errors import ParameterError
from personax.traits.ledger import Ledger
from personax.traits.parser import GROUPS, STATUS_GROUP, STATUSES, TRAIT_LEVEL
from personax.traits.prompts import get_format

TIDY_COLUMNS = ["person_id", "llm", "backend", "model", "prompt_id", "prompt_hash", "repeat", "trait", "score",
                "reason", "status", "attempts", "simulated", "group", "mass"]



# ----------------------------------------------------------------------------------------
# reading results
# ----------------------------------------------------------------------------------------
def _latest(ledger_path: str | os.PathLike) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for rec in Ledger.read(ledger_path):
        latest[rec["key"]] = rec
    return list(latest.values())


def _reply_scores(rec: dict[str, Any], allow_partial: bool) -> tuple[str, dict[str, Any]]:
    """(status, trait -> score) of one ledger record under the strict / partial reading."""
    status = rec["status"]
    legacy = rec.get("schema") == "personax.traits.ledger/1"
    scores = rec.get("scores") or {}
    if legacy:
        if status == "ok":
            return status, scores
        if status == "partial" and allow_partial:
            return "partial", scores
        return status, {}
    if status == "ok":
        return status, scores
    if allow_partial and status in TRAIT_LEVEL:
        values = {t: v for t, v in (rec.get("values") or {}).items() if v is not None}
        if values:
            return "partial", values
    return status, {}


def ledger_frame(ledger_path: str | os.PathLike, *, allow_partial: bool = False) -> pd.DataFrame:
    """A ledger as a tidy DataFrame, one row per (reply, trait).

    Columns
    -------
    person_id, llm, backend, model, prompt_id, prompt_hash : str
    repeat : int
    trait : str (one of TRAITS)
    score : float (NaN unless the reply is ``ok``; 0 = insufficient information)
    reason : str (per-trait parse reason: ok, missing, out_of_range, ...)
    status : str (reply status, :data:`personax.traits.parser.STATUSES`)
    attempts : int
    simulated : bool
    group : str (ok, invalid, refused, error; partial when opted in)
    mass : float (constrained scoring: probability on the valid answers; else NaN)

    When a key appears several times (an ``error`` line followed by a successful retry, or
    a re-asked invalid reply), the last line wins.  ``allow_partial=True`` (opt-in by
    name) turns replies whose only problems are per-trait into status ``partial`` and
    keeps their individually valid traits; by default they have no scores.
    """
    rows = []
    for rec in _latest(ledger_path):
        status, scores = _reply_scores(rec, allow_partial)
        mass = ((rec.get("extra") or {}).get("answer_mass") or {})
        for trait in TRAITS:
            v = scores.get(trait)
            m = mass.get(trait)
            rows.append({"person_id": rec["person_id"], "llm": rec["llm"], "backend": rec["backend"],
                         "model": rec["model"], "prompt_id": rec["prompt_id"], "prompt_hash": rec["prompt_hash"],
                         "repeat": int(rec.get("repeat", 0)), "trait": trait,
                         "score": float(v) if v is not None else math.nan,
                         "reason": (rec.get("reasons") or {}).get(trait, "missing"), "status": status,
                         "attempts": int(rec.get("attempts", 1)), "simulated": bool(rec.get("simulated", False)),
                         "group": STATUS_GROUP.get(status, "invalid"),
                         "mass": float(m) if isinstance(m, (int, float)) else math.nan})
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def status_counts(tidy: pd.DataFrame, by: str = "status") -> pd.DataFrame:
    """Reply counts per llm and prompt, by status or by group.

    Parameters
    ----------
    tidy : DataFrame
        From :func:`run_inference` / :func:`ledger_frame`.
    by : {"status", "group"}
        One column per status that occurs (in rule-table order), or per group
        (``ok, invalid, refused, error`` and ``partial`` if present).

    Returns
    -------
    DataFrame
        Index ``(llm, prompt_id)``; int columns as chosen, plus ``traits_missing`` (NaN
        trait scores) and ``replies``.
    """
    if by not in ("status", "group"):
        raise ParameterError(f"by must be 'status' or 'group', got {by!r}")
    col = "status" if by == "status" else "group"
    if col not in tidy.columns:  # a frame from an older version: derive the group
        tidy = tidy.assign(group=tidy["status"].map(lambda s: STATUS_GROUP.get(s, "invalid")))
    replies = tidy.drop_duplicates(["person_id", "llm", "prompt_id", "repeat"])
    present = set(replies[col])
    if by == "status":
        cols = [s for s in STATUSES if s in present] + sorted(present - set(STATUSES))
    else:  # the four groups always, partial only when present
        cols = [g for g in GROUPS if g != "partial" or g in present]
    table = (replies.groupby(["llm", "prompt_id"])[col].value_counts().unstack(fill_value=0)
             .reindex(columns=cols, fill_value=0))
    table.columns.name = None
    table["traits_missing"] = tidy.groupby(["llm", "prompt_id"])["score"].apply(lambda s: int(s.isna().sum()))
    table["replies"] = table[cols].sum(axis=1)
    return table.astype(int)


def wide_scores(tidy: pd.DataFrame, prompt_id: str | None = None, repeat: int = 0,
                statuses: Sequence[str] = ("ok",)) -> pd.DataFrame:
    """Per-person wide frame with the data layer's ``{llm}_{trait}`` columns.

    Parameters
    ----------
    tidy : DataFrame
        From :func:`run_inference` / :func:`ledger_frame`.
    prompt_id : str, optional
        Which format to keep (required when the frame holds several).
    repeat : int
        Which repeat to keep.
    statuses : sequence of str
        Reply statuses whose scores are used (default ``("ok",)``; pass
        ``("ok", "partial")`` with a frame read with ``allow_partial=True`` to opt in).

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
            raise ParameterError(f"the frame holds several prompt formats {list(prompts)}", hint="pass prompt_id=")
    else:
        df = df[df["prompt_id"] == get_format(prompt_id).id]
    df = df[df["repeat"] == repeat]
    df = df.assign(score=df["score"].where(df["status"].isin(list(statuses))))
    wide = df.pivot_table(index="person_id", columns=["llm", "trait"], values="score", aggfunc="first",
                          dropna=False)
    llms = list(dict.fromkeys(df["llm"]))
    cols = [(lab, t) for lab in llms for t in TRAITS]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(cols))
    wide.columns = [f"{lab}_{t}" for lab, t in cols]
    return wide.round().astype("Int64")


def wide_by_format(tidy: pd.DataFrame, llm: str | None = None, repeat: int = 0,
                   statuses: Sequence[str] = ("ok",)) -> pd.DataFrame:
    """Per-person frame with one ``{prompt_id}_{trait}`` column per prompt format.

    For agreement *between prompt formats* of one rater: pass it to
    :func:`personax.traits.agreement.agreement_table` with ``llms=`` the format ids.
    Scales differ between formats (3 or 5 levels), so compare with rank statistics
    (Spearman, ordinal alpha) rather than absolute agreement.

    Returns
    -------
    DataFrame
        Index ``person_id``; ``Int64`` columns ``{prompt_id}_{trait}``; formats in the
        order they appear.
    """
    df = tidy
    llms = list(dict.fromkeys(df["llm"]))
    if llm is None:
        if len(llms) > 1:
            raise ParameterError(f"the frame holds several raters {llms}", hint="pass llm=")
        llm = llms[0] if llms else None
    df = df[(df["llm"] == llm) & (df["repeat"] == repeat)]
    df = df.assign(llm=df["prompt_id"])
    return wide_scores(df.assign(prompt_id="all"), None, repeat, statuses)
