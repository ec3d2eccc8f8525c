"""Checking one notebook parameter (:func:`check_param`) and the shared ones (source, device)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from personax import errors as _errors
from personax.notebook.catalogue import SOURCES

#: ``names``: a comma-separated string or a list of strings, each one of ``choices``
#: (returned as the comma-separated string); ``ints``: a list of integers (``low``/``high``
#: bound each element).
_KINDS = ("int", "float", "bool", "str", "names", "ints")


class ParameterError(_errors.ParameterError):
    """An invalid notebook parameter; the message names the parameter, value and fix.

    A :class:`personax.errors.ParameterError` (exit code 2), hence a ``ValueError``.
    """




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
    if callable(choices) and (value is not None or not allow_none):
        # resolved only when a value is checked (the test names' callable imports the registry)
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
