"""Execute the book's notebooks with papermill and render the Jupyter Book.

The reviewed source of every notebook is ``notebooks/NN_name.py`` (jupytext percent
format).  :func:`run_notebook` reads that source with jupytext, injects parameters with
papermill (kernel ``python3``) and writes the executed copy to ``book/executed/`` — never
onto the paired ``notebooks/NN_name.ipynb``, which papermill would otherwise pollute with
an ``injected-parameters`` cell that the next ``jupytext --sync`` copies into the source.

Parameter overrides
-------------------
Values are parsed as YAML scalars (``-p n 500`` → int, ``-p n null`` → None,
``-p source hf`` → str).  Only parameters a notebook *declares* in its ``parameters``
cell are injected into it:

* running one notebook (:func:`run_notebook`, ``personax run NOTEBOOK -p ...``): an
  override the notebook does not declare is an error listing the declared names
  (``strict=True``), because it is almost always a typo;
* running all notebooks (:func:`run_all`, ``personax run --all``, ``personax book``):
  an override goes to the notebooks that declare it and is skipped (and reported) for the
  others — e.g. ``DATASET=athlepersona`` only reaches notebooks with a ``dataset``
  parameter; an override that *no* notebook declares is an error.

Provenance
----------
The runner points ``$PERSONAX_PROVENANCE_FILE`` at a temporary file; the notebook's
:func:`personax.notebook.setup` writes its provenance record there from inside the
kernel.  The runner adds its own facts (injected parameters, skipped overrides, source
checksum, wall time, status) and writes the merged record to
``<out>/<name>.provenance.json`` and into the executed notebook's metadata under
``metadata["personax"]["provenance"]``.  A notebook that never calls ``setup`` still
gets a record, collected by the runner.

Plumbing out of sight
---------------------
Every executed copy goes through :func:`tag_plumbing` before it is written: the
parameters and injected-parameters cells get ``remove-cell``, the cell calling
``personax.notebook.setup(`` and any code cell whose first line is ``# plumbing`` get
``remove-input`` (``# plumbing: hide`` gets ``hide-input``), so the rendered page shows the
banner and the "Reproduce this page" box but not the imports.  The sources are untouched.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from personax import profiles as _profiles
from personax import provenance as _provenance
from personax.errors import PersonaXError, UsageError
from personax.names import SOURCES
from personax.utils import saved_environ

#: Kernel used for every execution (ipykernel's wheel installs it into the venv).
KERNEL = "python3"
#: Default per-cell time limit in seconds (a hung cell must not hang CI forever).
DEFAULT_CELL_TIMEOUT = 1800
#: Parameters every notebook of the book must declare.
REQUIRED_PARAMETERS = ("dataset", "source", "n", "seed", "device", "profile")
#: Profiles (defined in personax.profiles).
PROFILES = _profiles.PROFILE_NAMES


class RunnerError(PersonaXError, RuntimeError):
    """A notebook could not be found, parameterised or executed; the message says why (exit code 1)."""


class RunnerUsageError(RunnerError, UsageError):
    """A bad ``personax run``/``book`` request: unknown notebook, bad override, bad folder (exit code 2).

    Raised before anything is executed or written.
    """

    exit_code = 2


@dataclass
class RunResult:
    """Outcome of one notebook execution.

    Attributes
    ----------
    name : str
        Notebook name (``"01_data"``).
    source : Path
        The jupytext ``.py`` (or ``.ipynb``) that was executed.
    output : Path
        The executed notebook.
    provenance_path : Path
        The JSON sidecar.
    parameters : dict
        Parameters injected by papermill.
    skipped : dict
        Overrides not injected because the notebook does not declare them.
    ok : bool
        Whether every cell ran without error.
    error : str or None
        Summary of the failure.
    wall_s : float
        Execution wall time in seconds.
    error_type : str or None
        Name of the exception that stopped the run (``"ParameterError"``, ...).
    previous : Path or None
        After a failure: the earlier good executed notebook, left untouched (None if none).
    """

    name: str
    source: Path
    output: Path
    provenance_path: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    wall_s: float = 0.0
    error_type: str | None = None
    previous: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 when ok; 2 when a cell raised a ParameterError (a bad -p value); else 1."""
        if self.ok:
            return 0
        return 2 if self.error_type == "ParameterError" else 1


# --------------------------------------------------------------------------- locations

def project_root() -> Path:
    """The book checkout (folder with ``_toc.yml``): the source checkout, else the working directory."""
    from personax.utils import repo_root

    root = repo_root()
    if root is not None:
        return root
    cwd = Path.cwd()
    for parent in (cwd, *cwd.parents):
        if (parent / "_toc.yml").exists():
            return parent
    raise RunnerUsageError(
        "cannot find the book checkout (a folder with _toc.yml and notebooks/): run from the "
        "repository root or pass --root"
    )


def notebooks_dir(root: Path | None = None) -> Path:
    """``<root>/notebooks``."""
    return (root or project_root()) / "notebooks"


def executed_dir(root: Path | None = None) -> Path:
    """``<root>/book/executed`` (git-ignored; what the book renders)."""
    return (root or project_root()) / "book" / "executed"


def list_notebooks(root: Path | None = None) -> list[Path]:
    """Jupytext sources ``notebooks/NN_*.py`` (and ``NNx_*.py`` such as ``04b_*``) in chapter order."""
    folder = notebooks_dir(root)
    return sorted(p for p in folder.glob("[0-9][0-9]*_*.py") if p.is_file())


def find_notebook(name: str | os.PathLike, root: Path | None = None) -> Path:
    """Resolve ``"01_data"``, ``"01"``, ``"01_data.py"`` or a path to the notebook's ``.py`` source.

    A path to an existing ``.py``/``.ipynb`` file is used as given, except that an
    ``.ipynb`` with a paired ``.py`` next to it resolves to the ``.py`` (the source of truth).
    """
    candidate = Path(name)
    if candidate.suffix in (".py", ".ipynb") and candidate.exists():
        paired = candidate.with_suffix(".py")
        return (paired if paired.exists() else candidate).resolve()
    folder = notebooks_dir(root)
    stem = candidate.name
    if candidate.suffix in (".py", ".ipynb"):
        stem = candidate.stem
    exact = folder / f"{stem}.py"
    if exact.exists():
        return exact
    matches = sorted(folder.glob(f"{stem}_*.py")) if stem.isdigit() else []
    if len(matches) == 1:
        return matches[0]
    available = [p.stem for p in list_notebooks(root)]
    raise RunnerUsageError(f"no notebook {str(name)!r} in {folder}; available: {available or 'none'}")


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


# --------------------------------------------------------------------------- execution

class _PapermillInferenceFilter(logging.Filter):
    """Drop papermill's own parameter-inference chatter.

    papermill re-parses the parameters cell with a regex that trips over comments holding
    an ``=`` ("Unable to parse line ...") and then reports such parameters as unknown. The
    runner decides what to inject with an AST parse of the cell (:func:`declared_parameters`)
    and rejects or reports undeclared overrides itself, so these two messages are noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Unable to parse line") or message.startswith("Passed unknown parameter"))


@contextlib.contextmanager
def _quiet_papermill_inference() -> Iterator[None]:
    filt = _PapermillInferenceFilter()
    loggers = [logging.getLogger(name) for name in ("papermill", "papermill.translators", "papermill.parameterize")]
    for log in loggers:
        log.addFilter(filt)
    try:
        yield
    finally:
        for log in loggers:
            log.removeFilter(filt)


@contextlib.contextmanager
def _kernel_environment(provenance_file: Path, figures_file: Path | None = None) -> Iterator[None]:
    """Environment inherited by the kernel: provenance target, figure audit, no Agg backend, quiet bars."""
    from personax.utils import QUIET_ENV

    with saved_environ(_provenance.PROVENANCE_ENV, "MPLBACKEND", "PERSONAX_QUIET", "PERSONAX_FIGURES_FILE",
                       *QUIET_ENV):
        os.environ[_provenance.PROVENANCE_ENV] = str(provenance_file)
        if figures_file is not None:
            os.environ["PERSONAX_FIGURES_FILE"] = str(figures_file)
        # progress bars would end up as stderr noise in the rendered page; keep an explicit setting
        os.environ.setdefault("PERSONAX_QUIET", "1")
        for key, value in QUIET_ENV.items():  # third-party bars (tqdm, huggingface_hub, transformers)
            os.environ.setdefault(key, value)
        if (os.environ.get("MPLBACKEND") or "").lower() == "agg":
            # MPLBACKEND=Agg makes every figure vanish from executed notebooks.
            warnings.warn("MPLBACKEND=Agg is set; unsetting it for the notebook kernel so figures are kept",
                          stacklevel=3)
            del os.environ["MPLBACKEND"]
        yield


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _error_summary(exc: BaseException) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "exec_count", None)
    where = f" in cell [{cell}]" if cell is not None else ""
    return f"{ename}{where}: {evalue}".strip()


# --------------------------------------------------------------------------- plumbing tags

#: First-line marker of a code cell whose input is plumbing (imports, setup, provenance):
#: ``# plumbing`` hides the input from the page (``remove-input``, outputs stay),
#: ``# plumbing: hide`` folds it behind a "show code" toggle (``hide-input``).
PLUMBING_MARKER = "# plumbing"
#: Jupyter Book 1.x tags that already decide how a cell shows; such cells are left alone.
DISPLAY_TAGS = ("remove-cell", "remove-input", "remove-output", "hide-cell", "hide-input", "hide-output")


def plumbing_tag(cell) -> str | None:
    """The display tag :func:`tag_plumbing` gives one cell, or None (the cell shows as written).

    * the ``parameters`` cell and papermill's ``injected-parameters`` cell: ``remove-cell``
      (the values of the run are shown by ``personax.notebook.setup``'s "Reproduce this
      page" box, which lists every parameter and the exact command);
    * a code cell whose first line is ``# plumbing``: ``remove-input``; ``# plumbing: hide``:
      ``hide-input``;
    * a code cell that calls ``personax.notebook.setup(``: ``remove-input`` (its output, the
      banner and the reproduce box, stays);
    * a cell that already carries a display tag (:data:`DISPLAY_TAGS`): None.
    """
    if cell.get("cell_type") != "code":
        return None
    tags = list(cell.get("metadata", {}).get("tags", []))
    if any(t in DISPLAY_TAGS for t in tags):
        return None
    if "parameters" in tags or "injected-parameters" in tags:
        return "remove-cell"
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if first.startswith(PLUMBING_MARKER):
        rest = first[len(PLUMBING_MARKER):].strip(" :").lower()
        return "hide-input" if rest.startswith("hide") else "remove-input"
    if "notebook.setup(" in source:
        return "remove-input"
    return None


def tag_plumbing(nb) -> dict[int, str]:
    r"""Tag the plumbing cells of an executed notebook for Jupyter Book (see :func:`plumbing_tag`).

    Called by :func:`run_notebook` on every executed copy, so chapters get it without edits;
    the sources in ``notebooks/`` are never changed.  Returns ``{cell index: tag added}``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
    ...     nbformat.v4.new_code_cell("# plumbing\nimport numpy as np"),
    ...     nbformat.v4.new_code_cell("result = battery(data)")])
    >>> tag_plumbing(nb)
    {0: 'remove-cell', 1: 'remove-input'}
    """
    added = {}
    for index, cell in enumerate(nb.cells):
        tag = plumbing_tag(cell)
        if tag is not None:
            cell.setdefault("metadata", {}).setdefault("tags", []).append(tag)
            added[index] = tag
    return added


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


# --------------------------------------------------------------------------- execution

def failed_paths(out: Path, name: str) -> tuple[Path, Path]:
    """Where a failed run is kept: ``<out>/<name>.failed.ipynb`` and ``<name>.failed.provenance.json``."""
    return out / f"{name}.failed.ipynb", out / f"{name}.failed.provenance.json"


def run_notebook(notebook: str | os.PathLike, parameters: Mapping[str, Any] | None = None, *,
                 out_dir: str | os.PathLike | None = None, root: Path | None = None, strict: bool = True,
                 timeout: int | None = DEFAULT_CELL_TIMEOUT, progress_bar: bool = False,
                 log_output: bool = False, check: bool = True) -> RunResult:
    """Execute one notebook from its jupytext source into ``out_dir`` with papermill.

    The notebook is executed into a temporary file beside the output.  Only a run in
    which every cell succeeded replaces ``<out>/<name>.ipynb`` and its
    ``<name>.provenance.json`` (and removes a stale ``<name>.failed.ipynb``); a failed run
    is kept as ``<name>.failed.ipynb`` + ``<name>.failed.provenance.json`` and an earlier
    good result is left untouched.

    Parameters
    ----------
    notebook : str or path
        ``"01_data"``, ``"01"`` or a path to a ``.py``/``.ipynb`` notebook.
    parameters : mapping, optional
        Overrides for the parameters cell (already parsed values).
    out_dir : path, optional
        Where the executed ``.ipynb`` and ``.provenance.json`` go (default ``book/executed``).
        Refuses the folder of the source notebook, so a paired ``.ipynb`` is never overwritten.
    root : path, optional
        Book checkout (default: found from the package or the working directory).
    strict : bool
        Raise on overrides the notebook does not declare (default); otherwise skip them
        and report them in :attr:`RunResult.skipped`.
    timeout : int or None
        Per-cell time limit in seconds (None: no limit).
    progress_bar, log_output : bool
        Passed to papermill.
    check : bool
        Validate the parameters with the notebook's own ``setup(...)`` checks before
        starting a kernel (:func:`check_parameters`; default).

    Returns
    -------
    RunResult
        ``ok`` is False when a cell raised; ``output``/``provenance_path`` are then the
        ``.failed`` files (with the traceback) and ``previous`` the untouched earlier result.

    Raises
    ------
    RunnerUsageError
        Unknown notebook, undeclared override under ``strict``, an invalid parameter value
        (nothing is executed or written), or an output folder that would overwrite the
        paired notebook.
    RunnerError
        A malformed notebook (no or several parameters cells).
    """
    import nbformat
    import papermill

    from personax import notebook as _nb

    source = find_notebook(notebook, root)
    name = source.stem
    out = Path(out_dir) if out_dir is not None else executed_dir(root)
    out = out.resolve()
    if out == source.parent.resolve():
        raise RunnerUsageError(
            f"refusing to write executed notebooks into {out}, the folder of the source notebooks "
            "(papermill output would overwrite the paired .ipynb); use book/executed or another folder"
        )
    if out.exists() and not out.is_dir():
        raise RunnerUsageError(f"output folder {out} is a file, not a folder: pass --out DIR (a folder)")
    output = out / f"{name}.ipynb"
    sidecar = out / f"{name}.provenance.json"
    failed_nb, failed_sidecar = failed_paths(out, name)

    nb = load_source(source)
    declared = declared_parameters(nb, source)
    try:
        renamed = _nb.rename_parameters(name, dict(parameters or {}))  # deprecated names, with a warning
    except _nb.ParameterError as exc:
        raise RunnerUsageError(f"{name}: {exc.args[0]}, nothing was executed") from exc
    overrides = _absolutise_source(renamed)
    used, skipped = split_overrides(overrides, declared)
    if skipped and strict:
        raise RunnerUsageError(
            f"{name} does not declare parameter(s) {sorted(skipped)}; its parameters cell declares "
            f"{sorted(declared)}. Check the spelling (personax run {name} -p NAME VALUE)."
        )
    if check:
        try:
            check_parameters(nb, source, used)
        except _nb.ParameterError as exc:
            kept = f"; {output} is unchanged" if output.exists() else ""
            raise RunnerUsageError(f"{name}: {exc.args[0] if exc.args else exc}",
                                   hint=f"change the -p value (personax run {name} -p NAME VALUE); nothing was "
                                        f"executed{kept}") from exc
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunnerUsageError(f"cannot create the output folder {out}: {exc.strerror or exc}") from exc
    nb.metadata.setdefault("kernelspec", {"name": KERNEL, "display_name": "Python 3", "language": "python"})
    nb.metadata["kernelspec"]["name"] = KERNEL

    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    error: str | None = None
    error_type: str | None = None
    tmp_output = out / f".{name}.ipynb.tmp-{os.getpid()}.ipynb"  # renamed onto its final name at the end
    try:
        with tempfile.TemporaryDirectory(prefix="personax-run-") as tmp:
            kernel_record_path = Path(tmp) / "provenance.json"
            figures_path = Path(tmp) / "figures.jsonl"
            with _kernel_environment(kernel_record_path, figures_path), _quiet_papermill_inference():
                try:
                    papermill.execute_notebook(
                        nb, str(tmp_output), parameters=used, kernel_name=KERNEL, language="python",
                        cwd=str(source.parent), progress_bar=progress_bar, log_output=log_output,
                        execution_timeout=timeout, request_save_on_cell_execute=True,
                    )
                except papermill.PapermillExecutionError as exc:
                    error, error_type = _error_summary(exc), getattr(exc, "ename", None)
                except Exception as exc:  # kernel death, timeout, ...: still record provenance
                    error, error_type = _error_summary(exc), type(exc).__name__
            wall = time.perf_counter() - t0
            figures = ([json.loads(line) for line in figures_path.read_text(encoding="utf-8").splitlines() if line]
                       if figures_path.exists() else None)
            if kernel_record_path.exists():
                record = json.loads(kernel_record_path.read_text(encoding="utf-8"))
                from_kernel = True
            else:
                record = _provenance.collect({**{k: v for k, v in declared.items()}, **used}, notebook=name)
                from_kernel = False

        final_nb, final_sidecar = (output, sidecar) if error is None else (failed_nb, failed_sidecar)
        record["runner"] = _provenance.jsonable({
            "source": str(source),
            "source_sha256": _sha256(source),
            "output": str(final_nb),
            "kernel": KERNEL,
            "parameters_injected": used,
            "overrides_skipped": sorted(skipped),
            "recorded_by": "notebook.setup (kernel)" if from_kernel else "runner (notebook did not call setup)",
            "started_utc": started.isoformat(timespec="seconds"),
            "wall_s": round(wall, 2),
            "status": "ok" if error is None else "failed",
            "error": error,
        })
        # secrets never reach the record, even through the injected parameters
        record["runner"]["parameters_injected"], dropped = _provenance.redact(used)
        record["redacted"] = sorted(set(record.get("redacted", [])) | set(dropped))
        if tmp_output.exists():
            executed = nbformat.read(str(tmp_output), as_version=4)
            tag_plumbing(executed)  # imports, setup and parameter cells out of the reader's way
            executed.metadata.setdefault("personax", {})["provenance"] = _provenance.jsonable(record)
            if figures is not None:  # measured by personax.plots.layout.audit_displayed_figures
                executed.metadata["personax"]["figures"] = figures
            nbformat.write(executed, str(tmp_output))
        elif error is None:
            raise RunnerError(f"papermill reported success but wrote no notebook at {tmp_output}")
        _provenance.write(record, final_sidecar)  # atomic (write then rename)
        if tmp_output.exists():
            os.replace(tmp_output, final_nb)
        if error is None:
            # a stale failure from an earlier run would contradict the good result
            failed_nb.unlink(missing_ok=True)
            failed_sidecar.unlink(missing_ok=True)
    finally:
        tmp_output.unlink(missing_ok=True)
    previous = output if error is not None and output.exists() else None
    return RunResult(name=name, source=source, output=final_nb, provenance_path=final_sidecar, parameters=used,
                     skipped=skipped, ok=error is None, error=error, wall_s=wall, error_type=error_type,
                     previous=previous)


def run_all(parameters: Mapping[str, Any] | None = None, *, profile: str | None = None,
            notebooks: Sequence[str | os.PathLike] | None = None, out_dir: str | os.PathLike | None = None,
            root: Path | None = None, timeout: int | None = DEFAULT_CELL_TIMEOUT, stop_on_error: bool = False,
            echo: bool = True) -> list[RunResult]:
    """Execute every notebook (``notebooks/NN_*.py`` in order) with shared overrides.

    Parameters
    ----------
    parameters : mapping, optional
        Overrides; each goes to the notebooks that declare it (see module docstring).
    profile : {"ci", "quick", "paper"}, optional
        Shortcut for ``parameters["profile"]``.
    notebooks : sequence, optional
        Subset to run (names or paths); default all.
    out_dir, root, timeout
        As in :func:`run_notebook`.
    stop_on_error : bool
        Stop at the first failing notebook (default: run them all, report at the end).
    echo : bool
        Print one status line per notebook.

    Returns
    -------
    list of RunResult

    Raises
    ------
    RunnerError
        No notebooks, an unknown profile, or an override that no notebook declares.
    """
    params = dict(parameters or {})
    if profile is not None:
        if profile not in PROFILES:
            raise RunnerUsageError(f"profile {profile!r} is invalid: allowed {list(PROFILES)}")
        params["profile"] = profile
    sources = [find_notebook(n, root) for n in notebooks] if notebooks else list_notebooks(root)
    if not sources:
        raise RunnerError(f"no notebooks found in {notebooks_dir(root)} (expected NN_name.py files)")
    loaded = {s: load_source(s) for s in sources}
    declared_by = {s: declared_parameters(nb, s) for s, nb in loaded.items()}
    from personax import notebook as _nb

    try:  # a renamed parameter (``backend``) goes to the notebooks whose new name accepts its value
        _nb.route_renamed(params, [s.stem for s in sources])
        per_notebook = {s: _nb.rename_parameters(s.stem, params, route=True) for s in sources}
    except _nb.ParameterError as exc:
        raise RunnerUsageError(f"{exc.args[0]}; nothing was executed", hint=exc.hint) from exc
    unused = [k for k in params if not any(k in declared_by[s] or k not in per_notebook[s] for s in sources)]
    if unused:
        known = sorted(set().union(*declared_by.values()))
        raise RunnerUsageError(f"no notebook declares parameter(s) {unused}; declared parameters are {known}")
    # every notebook's parameters are checked before the first one runs: a bad value
    # stops the whole run at once, with nothing executed or written
    bad = []
    for source, nb in loaded.items():
        used, _ = split_overrides(_absolutise_source(per_notebook[source]), declared_by[source])
        try:
            check_parameters(nb, source, used)
        except _nb.ParameterError as exc:
            bad.append(f"{source.stem}: {exc.args[0] if exc.args else exc}")
    if bad:
        raise RunnerUsageError("invalid parameter(s), nothing was executed:\n  " + "\n  ".join(bad),
                               hint="change or drop the -p value(s) above; each notebook's parameters cell "
                                    "lists its defaults")
    results = []
    for source in sources:
        if echo:
            print(f"[personax] running {source.stem} ...", flush=True)
        result = run_notebook(source, per_notebook[source], out_dir=out_dir, root=root, strict=False,
                              timeout=timeout, check=False)
        results.append(result)
        _append_timing(source.stem, result)
        if echo:
            status = "ok" if result.ok else f"FAILED: {result.error}"
            skipped = f" (not declared, skipped: {sorted(result.skipped)})" if result.skipped else ""
            print(f"[personax] {source.stem}: {status} in {result.wall_s:.1f} s -> {result.output}{skipped}",
                  flush=True)
        if not result.ok and stop_on_error:
            break
    return results


#: Environment variable naming a TSV file to which :func:`run_all` appends one
#: ``notebook:<name><TAB>seconds<TAB>exit code`` line per notebook (the Makefile points it
#: at ``build/timings.tsv``, next to the stage lines of ``scripts/timed.sh``).
TIMINGS_ENV = "PERSONAX_TIMINGS"


def _append_timing(name: str, result: RunResult) -> None:
    target = os.environ.get(TIMINGS_ENV)
    if not target:
        return
    from personax.utils import atomic_path

    path = Path(target)
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    with atomic_path(path) as tmp:
        tmp.write_text(before + f"notebook:{name}\t{result.wall_s:.1f}\t{result.exit_code}\n", encoding="utf-8")


# --------------------------------------------------------------------------- book

def toc_files(root: Path | None = None) -> list[str]:
    """Document paths listed in ``_toc.yml`` (without suffix), in order."""
    import yaml

    root = root or project_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def missing_toc_files(root: Path | None = None) -> list[str]:
    """``_toc.yml`` entries with no ``.md``/``.ipynb``/``.rst`` file behind them."""
    root = root or project_root()
    missing = []
    for entry in toc_files(root):
        base = root / entry
        if base.suffix and base.exists():
            continue
        if not any(base.with_suffix(s).exists() for s in (".md", ".ipynb", ".rst", ".myst")):
            missing.append(entry)
    return missing


def _jupyter_book_command() -> list[str]:
    script = Path(sys.executable).parent / "jupyter-book"
    if script.exists():
        return [str(script)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    raise RunnerError("jupyter-book is not installed in this environment (pip install -r requirements.txt)")


def build_book(root: Path | None = None, *, strict: bool = True, fresh: bool = True, echo: bool = True) -> Path:
    """Render the book with ``jupyter-book build <root> -W -n --keep-going`` (execution off).

    The book is rendered into a staging folder (``--path-output``) and moved onto
    ``_build/html`` only when the build succeeded, so a failed build leaves the previous
    HTML untouched.  Every build starts from scratch (``fresh`` also removes a
    ``_build/.doctrees`` left by a direct ``jupyter-book build``), so pages of notebooks
    that no longer exist cannot linger; a full render takes seconds because nothing executes.

    Returns
    -------
    Path
        ``<root>/_build/html/index.html``.

    Raises
    ------
    RunnerError
        A ``_toc.yml`` entry has no file (e.g. a notebook was not executed), or the build
        failed (warnings count as errors under ``strict``).
    """
    root = root or project_root()
    missing = missing_toc_files(root)
    if missing:
        raise RunnerError(
            f"_toc.yml lists page(s) with no file: {missing}. Executed notebooks come from "
            "`personax run --all` (or `make book`); other pages must exist in the checkout."
        )
    build = root / "_build"
    staging = build / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    # build into a staging folder; the previous _build/html is replaced only by a good build
    cmd = _jupyter_book_command() + ["build", str(root), "--path-output", str(staging)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    if echo:
        print("[personax] " + " ".join(cmd), flush=True)
    env = dict(os.environ)
    if (env.get("MPLBACKEND") or "").lower() == "agg":
        env.pop("MPLBACKEND")
    try:
        proc = subprocess.run(cmd, cwd=str(root), env=env)
        new_html = staging / "_build" / "html"
        kept = f"; the previous {build / 'html'} is unchanged" if (build / "html").exists() else ""
        if proc.returncode != 0:
            raise RunnerError(f"jupyter-book build failed (exit code {proc.returncode}); see the log above{kept}")
        if not (new_html / "index.html").exists():
            raise RunnerError(f"jupyter-book build succeeded but wrote no {new_html / 'index.html'}{kept}")
        html = build / "html"
        old = build / f".html.old-{os.getpid()}"
        if html.exists():
            os.replace(html, old)
        os.replace(new_html, html)
        shutil.rmtree(old, ignore_errors=True)
        if fresh:
            # Sphinx's incremental state is not kept: pages of removed notebooks cannot linger
            shutil.rmtree(build / ".doctrees", ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    index = build / "html" / "index.html"
    return index
