"""The steps of chapter 02 (trait inference) that are not one call: settings, ledgers, the LLM.

The notebook ``02_trait_inference`` stays a sequence of single calls; what used to be
inline logic lives here, tested:

* :func:`chapter_settings` — people, prompt formats, token budget and bootstrap size per
  profile;
* :func:`ledger_paths` — where the simulated raters' and the LLM's JSONL ledgers go;
* :func:`chapter_llm` — the language model the page rates with (``transformers``,
  ``openai`` or none), its request parameters and its label in the tables;
* :func:`reply_preview` — the first generated replies of a ledger, for reading;
* :func:`format_agreement_sentences` — one sentence per rater reading a format-agreement
  table;
* :func:`embedding_texts` / :func:`trait_distance` — the inputs of the embedding figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from personax.errors import ParameterError


def chapter_settings(profile: str) -> dict[str, Any]:
    """People (None = all twelve), formats, ``max_tokens``, ``n_boot`` and ``sim_repeats`` of a profile.

    Examples
    --------
    >>> chapter_settings("ci")["formats"]
    ['number-l3-inc', 'number-l3-dec', 'text-l3-inc']
    >>> chapter_settings("paper")["n_boot"]
    2000
    """
    from personax.profiles import budget
    from personax.traits.prompts import FORMAT_IDS

    st = dict(budget("traits.chapter", profile=profile))  # the ci profile: two people, three 3-level formats
    st["people"] = None if st["people"] is None else list(st["people"])
    st["formats"] = list(FORMAT_IDS) if st["formats"] is None else list(st["formats"])
    return st


def ledger_paths(backend: str, model: str, seed: int, profile: str, root: Path | None = None) -> dict[str, Path]:
    """``{"simulated": ..., "llm": ...}``: the chapter's ledgers under ``<root>/build/traits``.

    ``root`` defaults to the checkout (or the working directory outside one).  The model
    name is reduced to a file-safe slug of at most 40 characters.

    Examples
    --------
    >>> paths = ledger_paths("openai", "org/model v2", 0, "ci", root=Path("/tmp/book"))
    >>> paths["llm"].name
    '02_openai_org-model-v2_seed0_ci.jsonl'
    """
    from personax.utils import repo_root

    build = Path(root or repo_root() or Path.cwd()) / "build" / "traits"
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", model)[-40:]
    return {"simulated": build / f"02_simulated_seed{seed}_{profile}.jsonl",
            "llm": build / f"02_{backend}_{slug}_seed{seed}_{profile}.jsonl"}


@dataclass
class ChapterLLM:
    """The language model of the page (``backend`` None for ``backend="simulated"``).

    Attributes
    ----------
    backend : object or None
        A :mod:`personax.traits.backends` backend.
    params : dict
        Request parameters for :func:`personax.traits.run_inference`.
    label : str or None
        Its name in the tables ("smollm2", the model name, ...).
    """

    backend: Any
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    def describe(self) -> Any:
        """The backend's own description, or a sentence saying there is no LLM on the page."""
        if self.backend is None:
            return "llm_backend='simulated': no language model on this page"
        return self.backend.describe()

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "params": dict(self.params), "backend": type(self.backend).__name__}


def chapter_llm(backend: str, *, model: str, base_url: str, api_key_env: str, device: str, seed: int,
                max_tokens: int) -> ChapterLLM:
    """Build the page's LLM from its parameters (``backend``: the notebook's ``llm_backend``).

    ``transformers``: a local model (``smollm2-135m`` by default), greedy, ``max_tokens``.
    ``openai``: an OpenAI-compatible server; needs ``model`` and ``base_url``; at least
    600 tokens (hosted models explain before they answer).  ``simulated``: no LLM.

    Raises
    ------
    ParameterError
        ``openai`` without ``model`` or ``base_url``, or an unknown ``backend``.

    Examples
    --------
    >>> chapter_llm("simulated", model="", base_url="", api_key_env="", device="cpu", seed=0,
    ...             max_tokens=48).describe()
    "llm_backend='simulated': no language model on this page"
    """
    from personax.traits.backends import make_backend

    if backend == "transformers":
        llm = make_backend("transformers", model=model, device=device, batch_size=12)
        label = "smollm2" if model == "smollm2-135m" else (Path(model).name or model)
        return ChapterLLM(llm, {"temperature": 0.0, "max_tokens": max_tokens, "seed": seed}, label)
    if backend == "openai":
        if not model or not base_url:
            raise ParameterError("llm_backend='openai' needs model= and base_url=",
                                 hint="e.g. -p model gpt-4o-mini -p base_url https://api.openai.com/v1")
        llm = make_backend("openai", model=model.strip(), base_url=base_url, api_key_env=api_key_env or None,
                           seed=seed)
        return ChapterLLM(llm, {"temperature": 0.0, "max_tokens": max(600, max_tokens)}, model.strip())
    if backend == "simulated":
        return ChapterLLM(None, {}, None)
    raise ParameterError(f"llm_backend={backend!r} is invalid: allowed 'transformers', 'openai', 'simulated'")


def reply_preview(records: Sequence[Mapping[str, Any]], formats: Sequence[str], k: int = 6) -> pd.DataFrame:
    """The first ``k`` *generated* replies (not constrained scoring) of a ledger, shortened for reading.

    Columns: ``person``, ``format``, ``status``, ``finish``, ``detail`` (70 characters),
    ``reply (start)`` (110 characters, one line).

    Examples
    --------
    >>> rec = {"person_id": "ex01", "prompt_id": "text-l3-inc", "status": "ok", "detail": None,
    ...        "raw_text": "Openness: high\\nConscientiousness: medium", "finish_reason": "stop"}
    >>> reply_preview([rec], ["text-l3-inc"])["reply (start)"].iloc[0]
    'Openness: high Conscientiousness: medium'
    """
    generated = [r for r in records if r["prompt_id"] in formats
                 and (r.get("extra") or {}).get("scoring") != "constrained"]
    return pd.DataFrame([{"person": r["person_id"], "format": r["prompt_id"], "status": r["status"],
                          "finish": r.get("finish_reason"), "detail": (r.get("detail") or "")[:70],
                          "reply (start)": (r.get("raw_text") or "").replace("\n", " ")[:110]}
                         for r in generated[:k]],
                        columns=["person", "format", "status", "finish", "detail", "reply (start)"])


def format_agreement_sentences(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """One sentence per rater: for how many format pairs a correlation is defined, and its range.

    ``tables`` maps a rater to :func:`personax.traits.agreement.format_agreement`'s table
    (column ``rho_mean``).

    Examples
    --------
    >>> t = pd.DataFrame({"rho_mean": [0.5, np.nan, 0.9]})
    >>> format_agreement_sentences({"x": t})
    ['x: a correlation is defined for 2 of 3 format pairs, mean rho 0.50 to 0.90']
    """
    out = []
    for rater, table in tables.items():
        defined = table["rho_mean"].notna()
        text = f"{rater}: a correlation is defined for {int(defined.sum())} of {len(table)} format pairs"
        if defined.any():
            rho = table.loc[defined, "rho_mean"]
            text += f", mean rho {rho.min():.2f} to {rho.max():.2f}"
        out.append(text)
    return out


def embedding_texts(people: pd.DataFrame) -> list[str]:
    """The text embedded per person: the description, or "Professional athlete in the <league>." without one.

    Examples
    --------
    >>> embedding_texts(pd.DataFrame({"description": ["A singer.", None], "league": [None, "NBA"]}))
    ['A singer.', 'Professional athlete in the NBA.']
    """
    return [d if isinstance(d, str) and d.strip() else f"Professional athlete in the {lg}."
            for d, lg in zip(people["description"], people["league"])]


def trait_distance(scores: pd.DataFrame, person_ids: Sequence[str]) -> np.ndarray:
    """Euclidean distance between the people's aggregated trait profiles (missing traits skipped).

    Examples
    --------
    >>> s = pd.DataFrame({"o": [1.0, 3.0], "c": [2.0, np.nan]}, index=["a", "b"])
    >>> trait_distance(s, ["a", "b"]).tolist()
    [[0.0, 2.0], [2.0, 0.0]]
    """
    prof = scores.reindex(list(person_ids)).to_numpy(dtype=float)
    return np.sqrt(np.nansum((prof[:, None, :] - prof[None, :, :]) ** 2, axis=-1))
