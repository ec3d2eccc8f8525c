"""First cell of every notebook: validate parameters, say what data the page shows, record provenance.

Every notebook of the book has a papermill ``parameters`` cell followed by::

    ctx = personax.notebook.setup("04_independence", dataset=dataset, source=source, n=n,
                                  seed=seed, device=device, profile=profile,
                                  alpha=alpha, checks={"alpha": {"kind": "float", "low": 0, "high": 1}})

:func:`setup` stops the run with a :class:`ParameterError` naming the parameter, the
value and what is allowed when a value is invalid (a typo in ``personax run -p``, a
missing CUDA GPU, ...).  When ``source == "sample"`` it shows a banner saying that the
page is built on the shipped synthetic sample with planted structure, not the released
PersonaX data, and how to rerun on the real data.  It always shows a "Reproduce this
page" box (:func:`reproduce_html`: the parameters of this run, the exact ``personax run``
command, and the compact provenance table) and, when run by :mod:`personax.runner`, writes
the full provenance record to the file named by ``$PERSONAX_PROVENANCE_FILE`` so the runner can store it next to the
executed notebook.

Notebook-specific parameters are checked with :func:`check_param` (directly, or through
``setup(..., checks={...})``), plus the project-wide rules of :data:`NOTEBOOK_CHECKS`
(list-valued parameters such as ``tests`` of ``04_independence``, which accept a
comma-separated string or a YAML list and name the allowed values).

:func:`validate_parameters` runs the same checks without side effects; the runner calls
it before starting a kernel, so a bad ``personax run -p`` value fails in a fraction of a
second and nothing is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from personax import errors as _errors
from personax import names as _names
from personax import profiles as _profiles
from personax import provenance as _provenance

#: Dataset names a notebook may accept; ``"both"`` expands to the two datasets
#: (:data:`personax.data.schema.DATASETS`).
DATASETS_ALLOWED: tuple[str, ...] = (*_names.DATASETS, _names.BOTH)
#: Execution profiles: ``ci`` (seconds, ``make test``), ``quick`` (default, ``make book``),
#: ``paper`` (full protocol, GPU advised); defined in :mod:`personax.profiles`.
PROFILES: tuple[str, ...] = _profiles.PROFILE_NAMES
#: Named data sources (:data:`personax.data.schema.SOURCES`, what :func:`personax.data.load`
#: accepts); anything else must be an existing local file or folder.
SOURCES: tuple[str, ...] = _names.SOURCES

#: The Level I tests (kept equal to ``personax.independence.TESTS`` by a test; not
#: imported from there because that import loads torch).
INDEPENDENCE_TESTS: tuple[str, ...] = ("kci", "rcit", "hsic_gamma", "chi2", "g2", "hsic_hyppo")
#: Names a notebook parameter may use: the tests and the deprecated alias ``hsic`` (= ``hsic_gamma``).
INDEPENDENCE_TEST_NAMES: tuple[str, ...] = (*INDEPENDENCE_TESTS, "hsic")

_BOTH = _names.DATASETS
#: Notebooks that take one dataset at a time (no ``"both"``): the datasets they accept
#: when their ``setup(...)`` passes no ``datasets_allowed``.
NOTEBOOK_DATASETS: dict[str, tuple[str, ...]] = {
    "02_trait_inference": _names.DATASETS,
    "03_face_features": _names.DATASETS,
}
#: ``names``: a comma-separated string or a list of strings, each one of ``choices``
#: (returned as the comma-separated string); ``ints``: a list of integers (``low``/``high``
#: bound each element).
_KINDS = ("int", "float", "bool", "str", "names", "ints")


class ParameterError(_errors.ParameterError):
    """An invalid notebook parameter; the message names the parameter, value and fix.

    A :class:`personax.errors.ParameterError` (exit code 2), hence a ``ValueError``.
    """


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
    "04_independence": {"tests": {"kind": "names", "choices": INDEPENDENCE_TEST_NAMES}, "alpha": _ALPHA,
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


def _accepts(notebook: str, name: str, value: Any) -> bool:
    """Whether ``value`` passes the project-wide check of ``name`` in ``notebook`` (no rule: True)."""
    rule = NOTEBOOK_CHECKS.get(notebook, {}).get(name)
    if rule is None:
        return True
    try:
        check_param(name, value, **rule)
    except ParameterError:
        return False
    return True


def rename_parameters(notebook: str, overrides: Mapping[str, Any], *, route: bool = False) -> dict[str, Any]:
    """``overrides`` with renamed parameters (:data:`RENAMED_PARAMETERS`) under their new names.

    Each rename warns (``FutureWarning``: the old name goes away in the next release).

    Parameters
    ----------
    notebook : str
        The notebook the overrides are for.
    overrides : mapping
        ``{name: value}`` as given to ``personax run -p``.
    route : bool
        For a run over several notebooks (``--all``, ``book``): an old name whose value the
        new name of ``notebook`` does not accept is meant for another notebook and is dropped
        here instead of failing (``-p backend reference`` reaches 04 / 04b, not 02).

    Returns
    -------
    dict

    Raises
    ------
    ParameterError
        When the old and the new name are both given.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     rename_parameters("04_independence", {"backend": "reference", "n": 100})
    {'n': 100, 'test_backend': 'reference'}
    """
    import warnings

    out = dict(overrides)
    for old, targets in RENAMED_PARAMETERS.items():
        new = targets.get(notebook)
        if old not in out or new is None:
            continue
        if new in out:
            raise ParameterError(f"parameters {old}={out[old]!r} and {new}={out[new]!r} both given to {notebook}: "
                                 f"{old!r} is the deprecated name of {new!r}; pass only {new}")
        value = out.pop(old)
        if route and not _accepts(notebook, new, value):
            continue
        warnings.warn(f"parameter {old!r} of {notebook} is deprecated and will be removed in the next release: "
                      f"use -p {new} {value}", FutureWarning, stacklevel=2)
        out[new] = value
    return out


def route_renamed(overrides: Mapping[str, Any], notebooks: Sequence[str]) -> None:
    """Check that each renamed parameter in ``overrides`` reaches at least one of ``notebooks``.

    Raises
    ------
    ParameterError
        Naming the value, the notebooks and the new names with what each accepts, when no
        notebook's new name accepts the value (``personax run --all -p backend slow``).
    """
    for old, targets in RENAMED_PARAMETERS.items():
        if old not in overrides:
            continue
        mine = {nb: new for nb, new in targets.items() if nb in notebooks}
        if any(_accepts(nb, new, overrides[old]) for nb, new in mine.items()):
            continue
        meanings = "; ".join(f"{new} for {nb} ({_allowed_text(_choices(nb, new))})" for nb, new in mine.items())
        raise ParameterError(f"parameter {old}={overrides[old]!r} was renamed and fits none of its new names: "
                             f"{meanings or 'no notebook of this run uses it'}",
                             hint=f"pass the new name, e.g. -p {next(iter(mine.values()), old)} VALUE")


def _choices(notebook: str, name: str) -> Sequence[Any]:
    choices = NOTEBOOK_CHECKS.get(notebook, {}).get(name, {}).get("choices", ())
    return tuple(choices()) if callable(choices) else tuple(choices)


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


@dataclass(frozen=True)
class NotebookContext:
    """Validated parameters of one notebook run.

    Attributes
    ----------
    notebook : str
        Notebook name, e.g. ``"01_data"``.
    dataset : str
        The ``dataset`` parameter as given (may be ``"both"``).
    datasets : list of str
        Datasets to process, ``"both"`` expanded to ``["celebpersona", "athlepersona"]``.
    source : str
        ``"sample"``, ``"synthetic"``, ``"hf"`` or an absolute local path.
    n : int or None
        Row limit (None = the dataset or profile default).
    seed : int
        Seed for every random step of the notebook.
    device : str
        Resolved torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    device_requested : str
        The ``device`` parameter as given (``"auto"``, ...).
    profile : str
        ``"ci"``, ``"quick"`` or ``"paper"``.
    extra : dict
        Notebook-specific parameters (validated when ``checks`` covered them).
    provenance : dict
        Record from :func:`personax.provenance.collect`.
    """

    notebook: str
    dataset: str
    datasets: list[str]
    source: str
    n: int | None
    seed: int
    device: str
    device_requested: str
    profile: str
    extra: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sample(self) -> bool:
        """True when the page is built on the shipped synthetic sample."""
        return self.source == "sample"

    @property
    def is_synthetic(self) -> bool:
        """True when the page is built on synthetic data (the shipped sample or a fresh draw)."""
        return self.source in _names.SYNTHETIC_SOURCES

    @property
    def params(self) -> dict[str, Any]:
        """All parameters of the run (common ones first, then the notebook's own)."""
        common = {"dataset": self.dataset, "source": self.source, "n": self.n, "seed": self.seed,
                  "device": self.device_requested, "profile": self.profile}
        return {**common, **self.extra}

    def by_profile(self, **values: Any) -> Any:
        """Pick the value for the current profile: ``ctx.by_profile(ci=..., quick=..., paper=...)``.

        Every profile must be given so a new profile cannot silently fall back to a default.
        Budgets (rows, permutations, epochs, ...) do not belong here: they live in
        :mod:`personax.profiles` and are read with :meth:`budget`.
        """
        missing = [p for p in PROFILES if p not in values]
        unknown = [p for p in values if p not in PROFILES]
        if missing or unknown:
            raise ParameterError(
                f"by_profile needs exactly one value per profile {list(PROFILES)}; "
                f"missing {missing}, unknown {unknown}"
            )
        return values[self.profile]

    def budget(self, area: str, key: str | None = None) -> Any:
        """A budget setting of this run's profile from :data:`personax.profiles.BUDGETS`.

        ``ctx.budget("independence.battery", "n_perm")`` is
        ``personax.profiles.budget("independence.battery", "n_perm", profile=ctx.profile)``;
        without ``key``, the area's whole dict for the profile.
        """
        return _profiles.budget(area, key, profile=self.profile)


def _allowed_text(allowed: Sequence[Any]) -> str:
    return ", ".join(repr(a) for a in allowed)


def _fail(name: str, value: Any, allowed: str, hint: str = "") -> ParameterError:
    msg = f"parameter {name}={value!r} is invalid: allowed {allowed}."
    if hint:
        msg += f" {hint}"
    return ParameterError(msg)


def check_param(name: str, value: Any, *, kind: str | None = None, choices: Sequence[Any] | None = None,
                low: float | None = None, high: float | None = None, low_inclusive: bool = True,
                high_inclusive: bool = True, allow_none: bool = False) -> Any:
    """Validate one notebook parameter and return it (ints stay ints; numpy scalars become Python).

    Parameters
    ----------
    name : str
        Parameter name, used in the error message.
    value : object
        The value from the parameters cell (after papermill overrides).
    kind : {"int", "float", "bool", "str", "names", "ints"}, optional
        Required type.  ``"float"`` accepts ints (converted to float); ``"int"`` rejects
        floats and bools; nothing is parsed from strings.  ``"names"``: a comma-separated
        string or a list of strings, each in ``choices``, returned as the comma-separated
        string (``["kci", "hsic"]`` → ``"kci,hsic"``).  ``"ints"``: a non-empty list of
        integers, each within ``low``/``high``.
    choices : sequence or callable, optional
        Allowed values (checked after the type); a callable is called to get them.
    low, high : float, optional
        Range bounds for ``int``/``float`` values.
    low_inclusive, high_inclusive : bool
        Whether the bounds themselves are allowed (default True).
    allow_none : bool
        Whether ``None`` is accepted (it skips all other checks).

    Returns
    -------
    object
        The validated value.

    Raises
    ------
    ParameterError
        Naming the parameter, the value and what is allowed.
    """
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"check_param kind={kind!r} is not one of {_KINDS}")
    if callable(choices):
        choices = tuple(choices())
    if kind == "names" and value is not None:
        return _check_names(name, value, choices)
    if kind == "ints" and value is not None:
        return _check_ints(name, value, low, high, low_inclusive, high_inclusive, allow_none)
    if value is None:
        if allow_none:
            return None
        if kind is None and choices is not None and None in choices:
            return None
        raise _fail(name, value, f"a {kind or 'value'}" + (f" in {_allowed_text(choices)}" if choices else ""),
                    "None is not allowed here.")
    # numpy scalars (e.g. from a computed default) behave like Python scalars
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    shown = value  # messages show the value as given, not after int -> float conversion
    or_none = " or None" if allow_none else ""
    if kind == "bool" and not isinstance(value, bool):
        raise _fail(name, shown, "True or False" + or_none)
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise _fail(name, shown, "an integer" + _range_text(low, high, low_inclusive, high_inclusive) + or_none)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(name, shown, "a number" + _range_text(low, high, low_inclusive, high_inclusive) + or_none)
        value = float(value)
        if value != value:  # NaN never satisfies a range and is never a useful parameter
            raise _fail(name, shown, "a number (not NaN)" + or_none)
    if kind == "str" and not isinstance(value, str):
        raise _fail(name, shown, "a string" + (f" in {_allowed_text(choices)}" if choices else "") + or_none)
    if choices is not None and value not in choices:
        raise _fail(name, shown, _allowed_text(choices))
    if low is not None or high is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(name, shown, "a number" + _range_text(low, high, low_inclusive, high_inclusive))
        too_low = low is not None and (value < low or (value == low and not low_inclusive))
        too_high = high is not None and (value > high or (value == high and not high_inclusive))
        if too_low or too_high:
            what = {"int": "an integer", "float": "a number"}.get(kind or "", "a value")
            raise _fail(name, shown, what + _range_text(low, high, low_inclusive, high_inclusive)
                        + (" or None" if allow_none else ""))
    return value


def _check_names(name: str, value: Any, choices: Sequence[Any] | None) -> str:
    allowed = (f"a comma-separated subset of {', '.join(map(str, choices))} (or a YAML list such as "
               f"[{', '.join(map(str, list(choices)[:2]))}])" if choices
               else "a comma-separated string or a list of strings")
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise _fail(name, value, allowed)
    items = [v for v in items if v]
    if not items:
        raise _fail(name, value, allowed, "The value is empty.")
    if choices:
        unknown = [v for v in items if v not in choices]
        if unknown:
            raise _fail(name, value, allowed, f"Unknown: {', '.join(map(repr, unknown))}.")
    return ",".join(dict.fromkeys(items))


def _check_ints(name: str, value: Any, low, high, low_inclusive, high_inclusive, allow_none) -> list[int]:
    allowed = ("a list of integers" + _range_text(low, high, low_inclusive, high_inclusive)
               + " such as [0, 1, 2]" + (" or None" if allow_none else ""))
    if not isinstance(value, (list, tuple)) or not value:
        raise _fail(name, value, allowed)
    out = []
    for v in value:
        item = getattr(v, "item", None)
        if callable(item) and getattr(v, "shape", None) == ():
            v = item()
        if isinstance(v, bool) or not isinstance(v, int):
            raise _fail(name, value, allowed, f"{v!r} is not an integer.")
        too_low = low is not None and (v < low or (v == low and not low_inclusive))
        too_high = high is not None and (v > high or (v == high and not high_inclusive))
        if too_low or too_high:
            raise _fail(name, value, allowed, f"{v!r} is out of range.")
        out.append(v)
    return out


def _range_text(low, high, low_inclusive, high_inclusive) -> str:
    if low is None and high is None:
        return ""
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {low}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {high}")
    return " " + " and ".join(parts)


def _check_source(source: Any) -> str:
    if not isinstance(source, (str, os.PathLike)) or str(source).strip() == "":
        raise _fail("source", source, f"{_allowed_text(SOURCES)} or a path to a local folder/Parquet/CSV file")
    text = str(source)
    if text in SOURCES:
        return text
    path = Path(text).expanduser()
    if not path.exists():
        raise _fail("source", source, f"{_allowed_text(SOURCES)} or an existing local path",
                    f"No file or folder exists at {str(path.resolve())!r}.")
    return str(path.resolve())


_DEVICE_ALLOWED = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def _check_device(device: Any, resolve: bool) -> str | None:
    if not isinstance(device, str) or not device.strip():
        raise _fail("device", device, _DEVICE_ALLOWED)
    dev = device.strip().lower()
    if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise _fail("device", device, _DEVICE_ALLOWED, f"unknown device {device!r}.")
    if not resolve and dev in ("auto", "cpu"):
        return None  # always satisfiable; resolving "auto" would import torch
    from personax.utils import resolve_device

    try:
        return resolve_device(device)
    except (ValueError, RuntimeError) as exc:
        raise ParameterError(f"parameter device={device!r} is invalid: {exc}") from exc


def validate_parameters(notebook: str, *, dataset: Any, source: Any, n: Any, seed: Any, device: Any,
                        profile: Any, datasets_allowed: Sequence[str] | None = None,
                        profiles: Sequence[str] = PROFILES, checks: Mapping[str, Mapping[str, Any]] | None = None,
                        resolve: bool = True, **extra: Any) -> dict[str, Any]:
    """Check a notebook's parameters exactly as :func:`setup` does, without any side effect.

    Parameters
    ----------
    notebook, dataset, source, n, seed, device, profile, datasets_allowed, profiles, checks, **extra
        As in :func:`setup`; :data:`NOTEBOOK_CHECKS` of ``notebook`` apply as well.
    resolve : bool
        Resolve ``device="auto"`` to a torch device (imports torch).  With ``False`` (the
        runner's fast pre-check) ``"auto"``/``"cpu"`` are only checked for spelling and
        ``"device"`` of the result is None for them; a CUDA request is always checked.

    Returns
    -------
    dict
        ``dataset``, ``datasets`` (``"both"`` expanded), ``source`` (absolute path for a
        local source), ``n``, ``seed``, ``device`` (resolved, or None, see ``resolve``),
        ``profile`` and ``extra`` (the notebook's own parameters, validated and normalised).

    Raises
    ------
    ParameterError
        Naming the parameter, the value and what is allowed.

    Examples
    --------
    >>> v = validate_parameters("04_independence", dataset="both", source="sample", n=None, seed=0,
    ...                         device="cpu", profile="ci", tests=["kci", "hsic"])
    >>> v["datasets"], v["extra"]["tests"]
    (['celebpersona', 'athlepersona'], 'kci,hsic')
    """
    if not isinstance(notebook, str) or not notebook:
        raise ParameterError(f"setup(notebook=...) needs the notebook name such as '01_data', got {notebook!r}")
    if datasets_allowed is None:
        datasets_allowed = NOTEBOOK_DATASETS.get(notebook, DATASETS_ALLOWED)
    dataset = check_param("dataset", dataset, kind="str", choices=tuple(datasets_allowed))
    datasets = list(_BOTH) if dataset == "both" else [dataset]
    source = _check_source(source)
    n = check_param("n", n, kind="int", low=1, allow_none=True)
    seed = check_param("seed", seed, kind="int", low=0)
    profile = check_param("profile", profile, kind="str", choices=tuple(profiles))
    resolved = _check_device(device, resolve)

    checks = dict(checks or {})
    unknown_checks = sorted(set(checks) - set(extra))
    if unknown_checks:
        raise ParameterError(
            f"setup(checks=...) names {unknown_checks}, which were not passed as parameters; "
            f"pass them as keyword arguments too (got {sorted(extra)})"
        )
    rules = NOTEBOOK_CHECKS.get(notebook, {})
    validated_extra = {}
    for name, value in extra.items():
        if name in rules:
            value = check_param(name, value, **rules[name])
        if name in checks:
            value = check_param(name, value, **checks[name])
        validated_extra[name] = value
    return {"dataset": dataset, "datasets": datasets, "source": source, "n": n, "seed": seed,
            "device": resolved, "profile": profile, "extra": validated_extra}


def setup(notebook: str, *, dataset: Any, source: Any, n: Any, seed: Any, device: Any, profile: Any,
          datasets_allowed: Sequence[str] | None = None, profiles: Sequence[str] = PROFILES,
          checks: Mapping[str, Mapping[str, Any]] | None = None, show: bool = True,
          **extra: Any) -> NotebookContext:
    """Validate a notebook's parameters, show the sample banner and provenance, return a context.

    Parameters
    ----------
    notebook : str
        Notebook name (``"01_data"``); recorded in the provenance.
    dataset : str
        One of ``datasets_allowed``; ``"both"`` expands to both datasets.
    source : str
        ``"sample"`` (shipped synthetic sample), ``"synthetic"`` (a fresh synthetic draw of
        ``n`` rows with ``seed``), ``"hf"`` (Hugging Face) or an existing local path
        (:data:`SOURCES`).
    n : int or None
        Row limit, a positive integer, or None for the default size.
    seed : int
        Non-negative integer seed.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; CUDA must be available when asked.
    profile : str
        One of ``profiles``.
    datasets_allowed : sequence of str, optional
        Datasets this notebook supports (default: :data:`NOTEBOOK_DATASETS` of the notebook,
        else :data:`DATASETS_ALLOWED`, both datasets and ``"both"``).
    profiles : sequence of str
        Profiles this notebook supports.
    checks : mapping, optional
        ``{name: keyword arguments of check_param}`` for notebook-specific parameters in
        ``extra``; e.g. ``{"alpha": {"kind": "float", "low": 0, "high": 1}}``.
    show : bool
        Display the banner and provenance table (IPython) or print them (plain Python).
    **extra
        The notebook's own parameters, recorded in the provenance and ``ctx.extra``.

    Returns
    -------
    NotebookContext

    Raises
    ------
    ParameterError
        For any invalid value, naming the parameter, the value and the allowed values.
    """
    v = validate_parameters(notebook, dataset=dataset, source=source, n=n, seed=seed, device=device,
                            profile=profile, datasets_allowed=datasets_allowed, profiles=profiles,
                            checks=checks, **extra)
    dataset, datasets, source, n, seed = v["dataset"], v["datasets"], v["source"], v["n"], v["seed"]
    profile, resolved, validated_extra = v["profile"], v["device"], v["extra"]

    params = {"dataset": dataset, "source": source, "n": n, "seed": seed, "device": device,
              "profile": profile, **validated_extra}
    record = _provenance.collect(params, notebook=notebook, device=device)
    ctx = NotebookContext(notebook=notebook, dataset=dataset, datasets=datasets, source=source, n=n,
                          seed=seed, device=resolved, device_requested=device, profile=profile,
                          extra=validated_extra, provenance=record)
    target = os.environ.get(_provenance.PROVENANCE_ENV)
    if target:
        _provenance.write(record, target)
    from personax.utils import quiet_third_party

    quiet_third_party()  # no "IProgress not found" warnings from libraries' tqdm.auto on the page
    if os.environ.get("PERSONAX_FIGURES_FILE"):  # under the runner: measure every displayed figure
        from personax.plots.layout import audit_displayed_figures

        audit_displayed_figures()
    if show:
        _show(ctx)
    return ctx


def sample_banner(ctx: NotebookContext) -> str:
    """Markdown banner for pages built on the shipped synthetic sample."""
    names = " and ".join(ctx.datasets)
    first = ctx.datasets[0]
    origin = (f"the synthetic sample of {names} shipped with the `personax` package" if ctx.is_sample else
              f"a fresh synthetic draw of {names} (seed {ctx.seed}) from the `personax` package's generator")
    return (
        f"> **Synthetic sample — not the released PersonaX data.** The numbers and figures on this page "
        f"come from {origin}: data generated by a "
        f"documented structural causal model with *planted* dependences and a planted latent graph, so the "
        f"methods can be checked against a known truth. They say nothing about real people.\n>\n"
        f"> To rerun this page on the real data, accept the dataset terms on Hugging Face "
        f"(`Persona-X/{first}`), run `huggingface-cli login`, then "
        f"`personax run {ctx.notebook} -p source hf -p dataset {first}` "
        f"(or `make book SOURCE=hf DATASET={first}` for the whole book); "
        f"a downloaded copy works with `-p source /path/to/folder`."
    )


def provenance_rows(ctx: NotebookContext) -> list[tuple[str, str]]:
    """(field, value) rows of the compact provenance table."""
    rec = ctx.provenance
    git = rec.get("git", {})
    commit = git.get("commit")
    commit_text = ("not a git checkout" if commit is None
                   else commit[:10] + (" (uncommitted changes)" if git.get("dirty") else ""))
    dev = rec.get("device", {})
    device_text = str(dev.get("resolved") or ctx.device) + (f" ({dev['gpu']})" if dev.get("gpu") else "")
    if ctx.device_requested != ctx.device:
        device_text += f" (requested {ctx.device_requested!r})"
    pkgs = rec.get("packages", {})
    rows = [
        ("notebook", ctx.notebook),
        ("dataset", ", ".join(ctx.datasets)),
        ("source", ctx.source + (" (synthetic)" if ctx.is_synthetic else "")),
        ("profile", ctx.profile),
        ("n", "default" if ctx.n is None else str(ctx.n)),
        ("seed", str(ctx.seed)),
        ("device", device_text),
    ]
    if rec.get("parameters"):
        own = {k: v for k, v in rec["parameters"].items() if k in ctx.extra}
        if own:
            rows.append(("other parameters", ", ".join(f"{k}={v!r}" for k, v in own.items())))
    rows += [
        ("git commit", commit_text),
        ("versions", f"personax {pkgs.get('personax')}, python {rec.get('python')}, torch {pkgs.get('torch')}, "
                     f"numpy {pkgs.get('numpy')}, pandas {pkgs.get('pandas')}"),
        ("run at (UTC)", str(rec.get("time_utc"))),
    ]
    return rows


def provenance_html(ctx: NotebookContext) -> str:
    """Compact HTML provenance table: a one-line summary that unfolds into all rows."""
    from html import escape

    rows = provenance_rows(ctx)
    values = dict(rows)
    summary = (f"Run: {', '.join(ctx.datasets)} · source {ctx.source + (' (synthetic)' if ctx.is_synthetic else '')}"
               f" · profile {ctx.profile} · seed {ctx.seed} · {values['device']} · commit {values['git commit']}")
    body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th>"
                   f"<td><code>{escape(str(v))}</code></td></tr>" for k, v in rows)
    return (f"<details class='personax-provenance'><summary>{escape(summary)}</summary>"
            f"<table>{body}</table></details>")


def _yaml_value(value: Any) -> str:
    """A parameter value as ``personax run -p NAME VALUE`` reads it back (YAML), shell-quoted."""
    import json
    import shlex

    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(_yaml_value(v).strip("'") for v in value) + "]"
    else:
        import yaml

        text = str(value)
        try:
            round_trips = bool(text) and yaml.safe_load(text) == text
        except yaml.YAMLError:
            round_trips = False
        if not round_trips:  # "null", "1", "yes", "" would come back as another type
            text = json.dumps(text)
    return shlex.quote(text)


def reproduce_command(ctx: NotebookContext) -> str:
    """The exact ``personax run`` command that re-executes this page with this run's parameters.

    Every parameter is spelled out (not only the ones that differ from the notebook's
    defaults), so the command stays right when a default changes.

    Examples
    --------
    >>> ctx = setup("01_data", dataset="both", source="sample", n=None, seed=0, device="cpu",
    ...             profile="ci", show=False)
    >>> reproduce_command(ctx)
    'personax run 01_data -p dataset both -p source sample -p n null -p seed 0 -p device cpu -p profile ci'
    """
    parts = [f"-p {name} {_yaml_value(value)}" for name, value in ctx.params.items()]
    return " ".join([f"personax run {ctx.notebook}", *parts])


def reproduce_html(ctx: NotebookContext) -> str:
    """The "Reproduce this page" box: parameters of this run, the exact command, the provenance.

    Shown by :func:`setup` right under the sample banner; the runner hides the cell's code
    (see :func:`personax.runner.tag_plumbing`), so this box is how a page shows its parameters.
    """
    from html import escape

    params = " · ".join(f"<code>{escape(k)}={escape(repr(v))}</code>" for k, v in ctx.params.items())
    command = reproduce_command(ctx)
    chapter = CHAPTERS.get(ctx.notebook)
    reproduces = (f"<p><strong>Reproduces</strong> paper {escape(chapter[0])}: {escape(chapter[1])}.</p>"
                  if chapter else "")
    return (
        "<div class='admonition tip personax-reproduce'>"
        "<p class='admonition-title'>Reproduce this page</p>"
        f"{reproduces}"
        f"<p>Parameters of this run: {params}</p>"
        f"<p>From the repository checkout (after <code>make venv</code>):</p>"
        f"<pre style='white-space:pre-wrap'>.venv/bin/{escape(command)}</pre>"
        f"<p>The whole book with the same profile: <code>make book PROFILE={escape(ctx.profile)}</code>. "
        f"Source: <code>notebooks/{escape(ctx.notebook)}.py</code>; executed copy and provenance record: "
        f"<code>book/executed/{escape(ctx.notebook)}.ipynb</code>, "
        f"<code>book/executed/{escape(ctx.notebook)}.provenance.json</code>.</p>"
        f"{provenance_html(ctx)}</div>"
    )


def _show(ctx: NotebookContext) -> None:
    banner = sample_banner(ctx) if ctx.is_synthetic else None
    try:
        from IPython import get_ipython
        from IPython.display import HTML, Markdown, display
    except ImportError:  # plain Python without IPython: print instead
        get_ipython = None  # type: ignore[assignment]
    if get_ipython is not None and get_ipython() is not None:
        if banner:
            display(Markdown(banner))
        display(HTML(reproduce_html(ctx)))
        return
    if banner:
        print(banner.replace("> ", "").replace(">\n", "\n"))
    print(f"{'reproduce':>16}: {reproduce_command(ctx)}")
    for key, value in provenance_rows(ctx):
        print(f"{key:>16}: {value}")
