"""Notebook parameters: overrides from the command line, the parameters cell, and the fast check
of a notebook's own ``setup(...)`` rules before a kernel starts."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Mapping, Sequence

from personax.names import SOURCES
from personax.runner.base import RunnerError, RunnerUsageError

# --------------------------------------------------------------------------- parameters

def parse_value(text: str) -> Any:
    """Parse an override value as a YAML scalar (``"500"`` → 500, ``"null"`` → None, ``"hf"`` → "hf").

    Lists and mappings in YAML flow style are accepted too (``"[kci, hsic]"``).
    """
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RunnerUsageError(f"cannot parse parameter value {text!r} as YAML: {exc}") from exc


def parse_overrides(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """``[("n", "500"), ("source", "hf")]`` → ``{"n": 500, "source": "hf"}`` (YAML values)."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        if len(pair) != 2:
            raise RunnerUsageError(f"a parameter override needs a name and a value, got {list(pair)}")
        key, value = pair
        if not key.isidentifier():
            raise RunnerUsageError(f"parameter name {key!r} is not a Python identifier")
        out[key] = parse_value(value)
    return out


def load_source(path: Path):
    """Read a notebook (jupytext ``.py`` or ``.ipynb``) into an ``nbformat`` node."""
    import jupytext

    try:
        return jupytext.read(str(path))
    except Exception as exc:  # jupytext raises several types for malformed files
        raise RunnerError(f"cannot read notebook {path}: {exc}") from exc


def parameters_cell(nb, path: Path | str = "<notebook>") -> tuple[int, Any]:
    """Index and cell of the unique code cell tagged ``parameters``.

    Raises
    ------
    RunnerError
        When there is none or several, or when the notebook still holds a papermill
        ``injected-parameters`` cell (a sign it was executed in place).
    """
    tagged = [(i, c) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    injected = [i for i, c in enumerate(nb.cells) if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    if injected:
        raise RunnerError(
            f"{path} contains a papermill 'injected-parameters' cell (cell {injected[0]}): it was executed in "
            "place. Delete that cell from the source; executed copies belong in book/executed/."
        )
    if not tagged:
        raise RunnerError(
            f"{path} has no cell tagged 'parameters'. Add one, in jupytext percent format: "
            "'# %% tags=[\"parameters\"]' followed by dataset = ..., source = ..., n = ..., seed = ..., "
            "device = ..., profile = ..."
        )
    if len(tagged) > 1:
        raise RunnerError(f"{path} has {len(tagged)} cells tagged 'parameters' "
                          f"(cells {[i for i, _ in tagged]}); keep one")
    return tagged[0]


def declared_parameters(nb, path: Path | str = "<notebook>") -> dict[str, Any]:
    """Names and default values assigned in the parameters cell.

    Defaults that are not Python literals are returned as their source text.
    """
    _, cell = parameters_cell(nb, path)
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise RunnerError(f"the parameters cell of {path} is not valid Python: {exc}") from exc
    declared: dict[str, Any] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    declared[target.id] = ast.literal_eval(value)
                except ValueError:
                    declared[target.id] = ast.get_source_segment(cell.source, value)
    return declared


def split_overrides(overrides: Mapping[str, Any], declared: Mapping[str, Any]) -> tuple[dict, dict]:
    """(overrides the notebook declares, overrides it does not)."""
    used = {k: v for k, v in overrides.items() if k in declared}
    skipped = {k: v for k, v in overrides.items() if k not in declared}
    return used, skipped


def _absolutise_source(params: dict[str, Any]) -> dict[str, Any]:
    """A relative local ``source`` path means relative to the caller's directory, not the kernel's."""
    source = params.get("source")
    if isinstance(source, str) and source not in SOURCES and Path(source).expanduser().exists():
        params = {**params, "source": str(Path(source).expanduser().resolve())}
    return params




# --------------------------------------------------------------------------- fast parameter check

def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def setup_call(nb) -> ast.Call | None:
    """The first ``personax.notebook.setup(...)`` call in the notebook's code cells, or None."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        # IPython magics and shell escapes are not Python: blank them out before parsing
        text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name == "setup" or name.endswith("notebook.setup"):
                    return node
    return None


def _literal_parameters(nb, path: Path | str) -> dict[str, Any]:
    """Declared parameters whose default is a Python literal (others cannot be checked before running)."""
    _, cell = parameters_cell(nb, path)
    out: dict[str, Any] = {}
    for node in ast.parse(cell.source).body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else [])
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    out[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    out.pop(target.id, None)
    return out


def check_parameters(nb, path: Path | str, overrides: Mapping[str, Any]) -> dict[str, Any] | None:
    """Validate the parameters a notebook will see, before any kernel starts.

    Reads the notebook's ``personax.notebook.setup(...)`` call and applies the same checks
    (:func:`personax.notebook.validate_parameters`) to the declared defaults merged with
    ``overrides``.  Arguments that are not literals or parameters are left to the kernel.

    Returns
    -------
    dict or None
        The validated values, or None when the notebook calls no ``setup`` (nothing to check).

    Raises
    ------
    personax.notebook.ParameterError
        The value is invalid (the message names parameter, value and what is allowed).
    """
    from personax import notebook as _nb

    call = setup_call(nb)
    if call is None or any(kw.arg is None for kw in call.keywords):
        return None
    values = {**_literal_parameters(nb, path), **overrides}
    unknown = object()

    def value_of(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return values.get(node.id, unknown)
        try:
            return ast.literal_eval(node)
        except ValueError:
            return unknown

    name = value_of(call.args[0]) if call.args else unknown
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg == "notebook":
            name = value_of(kw.value)
        elif kw.arg == "show":
            continue
        elif kw.arg == "checks":
            if isinstance(kw.value, ast.Dict):
                checks = {}
                for k, v in zip(kw.value.keys, kw.value.values):
                    key, spec = value_of(k) if k is not None else unknown, value_of(v)
                    if isinstance(key, str) and isinstance(spec, dict):
                        checks[key] = spec
                kwargs["checks"] = checks
        else:
            value = value_of(kw.value)
            if value is not unknown:
                kwargs[kw.arg] = value
    required = ("dataset", "source", "n", "seed", "device", "profile")
    if not isinstance(name, str) or any(r not in kwargs for r in required):
        return None
    checks = kwargs.get("checks", {})
    kwargs["checks"] = {k: v for k, v in checks.items() if k in kwargs}
    return _nb.validate_parameters(name, resolve=False, **kwargs)
