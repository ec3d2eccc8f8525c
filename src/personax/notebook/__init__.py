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

The package: ``catalogue`` (accepted datasets, profiles, sources, project-wide rules,
chapters), ``checks`` (:func:`check_param`), ``renames``, ``context``
(:class:`NotebookContext`), ``pages`` (banner, "Reproduce this page"); :func:`setup` and
:func:`validate_parameters` live here.  Every name stays importable from ``personax.notebook``.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from personax import provenance as _provenance
from personax.notebook.catalogue import (  # noqa: F401  (re-exported: the old import path)
    _ALPHA,
    _BOTH,
    CHAPTERS,
    DATASETS_ALLOWED,
    LLM_BACKENDS,
    NOTEBOOK_CHECKS,
    NOTEBOOK_DATASETS,
    PROFILES,
    RENAMED_PARAMETERS,
    SOURCES,
    TEST_BACKENDS,
    _prompt_ids,
    independence_test_names,
    independence_tests,
)
from personax.notebook.checks import (  # noqa: F401  (re-exported: the old import path)
    _DEVICE_ALLOWED,
    _KINDS,
    ParameterError,
    _allowed_text,
    _check_device,
    _check_ints,
    _check_names,
    _check_source,
    _fail,
    _range_text,
    check_param,
)
from personax.notebook.context import NotebookContext  # noqa: F401  (re-exported: the old import path)
from personax.notebook.pages import (  # noqa: F401  (re-exported: the old import path)
    _show,
    _yaml_value,
    provenance_html,
    provenance_rows,
    reproduce_command,
    reproduce_html,
    sample_banner,
)
from personax.notebook.renames import _accepts, _choices, rename_parameters, route_renamed  # noqa: F401  (re-exported: the old import path)


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


def __getattr__(name: str):
    # the old constants INDEPENDENCE_TESTS / INDEPENDENCE_TEST_NAMES, read from the registry on use
    if name in ("INDEPENDENCE_TESTS", "INDEPENDENCE_TEST_NAMES"):
        from personax.notebook import catalogue

        return getattr(catalogue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
