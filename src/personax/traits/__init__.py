"""Big Five trait inference with LLMs: prompts, backends, parsing, ledger, agreement, embeddings.

Reproduces the paper's trait pipeline (three LLMs, six prompt formats, 0 = insufficient
information, median after dropping zeros; paper.md §2.4-2.7) with any model a user has:

``prompts``    the six prompt formats as versioned YAML data with content hashes
``backends``   ``openai`` (any OpenAI-compatible HTTP endpoint), ``transformers`` (local
               Hugging Face model), ``simulated`` (the synthetic world's raters; not an LLM)
``parser``     reply -> scores by a documented rule table; a flawed reply yields no scores
``aliases``    the one table of trait names (letters, synonyms) shared with the data layer
``ledger``     append-only JSONL ledger; resumable after kill -9
``run``        :func:`run_inference` over people x backends x formats -> tidy DataFrame and a
               :class:`~personax.traits.run.RunSummary` (fatal backend errors stop the run)
``agreement``  Krippendorff's alpha, ICC, pairwise Spearman with bootstrap CIs, and the
               prompt-format consistency table
``embeddings`` :func:`embed`, text embeddings of descriptions (MiniLM offline default; gte-Qwen2 optional)

Heavy submodules are imported lazily.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "get_format": "personax.traits.prompts", "list_formats": "personax.traits.prompts",
    "formats_table": "personax.traits.prompts", "PromptFormat": "personax.traits.prompts",
    "FORMAT_IDS": "personax.traits.prompts", "DEFAULT_FORMAT": "personax.traits.prompts",
    "parse_response": "personax.traits.parser", "ParseResult": "personax.traits.parser",
    "Ledger": "personax.traits.ledger",
    "run_inference": "personax.traits.run", "ledger_frame": "personax.traits.run",
    "status_counts": "personax.traits.run", "wide_scores": "personax.traits.run",
    "wide_by_format": "personax.traits.run", "RunSummary": "personax.traits.run",
    "rule_table": "personax.traits.parser", "flag_low_mass": "personax.traits.parser",
    "trait_from_key": "personax.traits.aliases",
    "make_backend": "personax.traits.backends",
    "krippendorff_alpha": "personax.traits.agreement", "icc": "personax.traits.agreement",
    "agreement_table": "personax.traits.agreement", "format_consistency": "personax.traits.agreement",
    "pairwise_spearman": "personax.traits.agreement",
    "embed": "personax.traits.embeddings", "cosine_similarity": "personax.traits.embeddings",
    "load_example_people": "personax.traits.examples",
    "median_drop_zeros": "personax.data.aggregate",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'personax.traits' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
