"""What notebooks accept: datasets, profiles, sources, test names, the project-wide parameter
rules, renamed parameters and the chapters' paper sections."""

from __future__ import annotations

from typing import Any

from personax import names as _names, profiles as _profiles

#: Dataset names a notebook may accept; ``"both"`` expands to the two datasets
#: (:data:`personax.data.schema.DATASETS`).
DATASETS_ALLOWED: tuple[str, ...] = (*_names.DATASETS, _names.BOTH)
#: Execution profiles: ``ci`` (seconds, ``make test``), ``quick`` (default, ``make book``),
#: ``paper`` (full protocol, GPU advised); defined in :mod:`personax.profiles`.
PROFILES: tuple[str, ...] = _profiles.PROFILE_NAMES
#: Named data sources (:data:`personax.data.schema.SOURCES`, what :func:`personax.data.load`
#: accepts); anything else must be an existing local file or folder.
SOURCES: tuple[str, ...] = _names.SOURCES



def independence_tests() -> tuple[str, ...]:
    """The Level I tests: the keys of the registry (:data:`personax.independence.TESTS`).

    Read from the registry, so a new test is one spec there; imported only when a check
    needs the names, because the registry loads torch.
    """
    from personax.independence.registry import TESTS

    return tuple(TESTS)


def independence_test_names() -> tuple[str, ...]:
    """Names a notebook parameter may use: the tests and the deprecated alias ``hsic`` (= ``hsic_gamma``)."""
    return (*independence_tests(), "hsic")


def __getattr__(name: str):
    # INDEPENDENCE_TESTS / INDEPENDENCE_TEST_NAMES: the old constants, computed on first use
    if name == "INDEPENDENCE_TESTS":
        return independence_tests()
    if name == "INDEPENDENCE_TEST_NAMES":
        return independence_test_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_BOTH = _names.DATASETS
#: Notebooks that take one dataset at a time (no ``"both"``): the datasets they accept
#: when their ``setup(...)`` passes no ``datasets_allowed``.
NOTEBOOK_DATASETS: dict[str, tuple[str, ...]] = {
    "02_trait_inference": _names.DATASETS,
    "03_face_features": _names.DATASETS,
}


def _prompt_ids() -> tuple[str, ...]:
    from personax.traits.prompts import FORMAT_IDS

    return tuple(FORMAT_IDS)


#: Project-wide rules for notebook-specific parameters, applied by :func:`setup` and
#: :func:`validate_parameters` to the parameters a notebook passes, before the notebook's
#: own ``checks``.  Values are keyword arguments of :func:`check_param`; a callable
#: ``choices`` is resolved when the check runs.
_ALPHA = {"kind": "float", "low": 0, "high": 1, "low_inclusive": False, "high_inclusive": False}
#: ``llm_backend`` (chapter 02): the language model; ``test_backend`` (chapters 04, 04b):
#: the independence tests' implementation.  One name, one meaning across notebooks.
LLM_BACKENDS: tuple[str, ...] = ("simulated", "openai", "transformers")
TEST_BACKENDS: tuple[str, ...] = ("fast", "reference")

NOTEBOOK_CHECKS: dict[str, dict[str, dict[str, Any]]] = {
    "02_trait_inference": {"prompt_id": {"kind": "str", "choices": _prompt_ids},
                           "llm_backend": {"kind": "str", "choices": LLM_BACKENDS},
                           "model": {"kind": "str"}, "base_url": {"kind": "str"}, "api_key_env": {"kind": "str"}},
    "04_independence": {"tests": {"kind": "names", "choices": independence_test_names}, "alpha": _ALPHA,
                        "test_backend": {"kind": "str", "choices": TEST_BACKENDS}},
    "04b_level1_beyond": {"alpha": _ALPHA, "test_backend": {"kind": "str", "choices": TEST_BACKENDS}},
    "05_crl_synthetic": {"seeds": {"kind": "ints", "low": 0, "allow_none": True}},
    "06_crl_realworld": {"seeds": {"kind": "ints", "low": 0, "allow_none": True}},
}


#: Renamed notebook parameters, ``old -> {notebook: new}``.  ``personax run`` still accepts
#: the old name for one release (with a ``FutureWarning`` naming the new one, see
#: :func:`rename_parameters`); ``backend`` meant the LLM in 02 and the test implementation
#: in 04 / 04b, so ``personax run --all -p backend X`` goes to the notebooks whose new name
#: accepts ``X``.
RENAMED_PARAMETERS: dict[str, dict[str, str]] = {
    "backend": {"02_trait_inference": "llm_backend", "04_independence": "test_backend",
                "04b_level1_beyond": "test_backend"},
}



#: What each chapter reproduces: ``notebook -> (paper section, what the page reproduces)``.
#: Shown at the top of every page by :func:`reproduce_html`; ``book/intro.md``'s map
#: reads the same way (a test keeps the two in step).  A notebook missing here gets no line.
CHAPTERS: dict[str, tuple[str, str]] = {
    "01_data": ("§2.1–2.3, §2.10", "the two datasets: schema, sizes, distributions, missingness"),
    "02_trait_inference": ("§2.4–2.7", "LLM trait inference: the six prompt formats, parsing, "
                                      "aggregation by the median of non-zero scores, rater agreement"),
    "03_face_features": ("§2.8–2.9", "face embeddings and the invertible privacy transform"),
    "04_independence": ("§3 (Level I)", "the five independence tests between traits and attributes, "
                                       "with p-value heatmaps"),
    "04b_level1_beyond": ("§3 (Level I), beyond the paper", "conditional tests, raters, power and test names"),
    "05_crl_synthetic": ("§4.1–4.4 (Level II)", "the CRL model on synthetic data with known latents (R², MCC)"),
    "06_crl_realworld": ("§4.5 (Level II)", "the CRL model on PersonaX and the PC graph over learned latents"),
    "07_performance": ("— (no paper section)", "speed of the tests and models, from the committed benchmarks"),
}
