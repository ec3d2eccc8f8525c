"""Renamed notebook parameters: old names accepted for one release, routed by the value."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from personax.notebook.catalogue import NOTEBOOK_CHECKS, RENAMED_PARAMETERS
from personax.notebook.checks import ParameterError, _allowed_text, check_param


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
