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

from personax import provenance as _provenance
from personax.utils import saved_environ

#: Kernel used for every execution (ipykernel's wheel installs it into the venv).
KERNEL = "python3"
#: Default per-cell time limit in seconds (a hung cell must not hang CI forever).
DEFAULT_CELL_TIMEOUT = 1800
#: Parameters every notebook of the book must declare.
REQUIRED_PARAMETERS = ("dataset", "source", "n", "seed", "device", "profile")
#: Profiles (kept in sync with personax.notebook.PROFILES).
PROFILES = ("ci", "quick", "paper")


class RunnerError(RuntimeError):
    """A notebook could not be found, parameterised or executed; the message says why."""


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
    raise RunnerError(
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
    """Jupytext sources ``notebooks/NN_*.py`` in chapter order."""
    folder = notebooks_dir(root)
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py") if p.is_file())


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
    raise RunnerError(f"no notebook {str(name)!r} in {folder}; available: {available or 'none'}")


# --------------------------------------------------------------------------- parameters

def parse_value(text: str) -> Any:
    """Parse an override value as a YAML scalar (``"500"`` → 500, ``"null"`` → None, ``"hf"`` → "hf").

    Lists and mappings in YAML flow style are accepted too (``"[kci, hsic]"``).
    """
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RunnerError(f"cannot parse parameter value {text!r} as YAML: {exc}") from exc


def parse_overrides(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """``[("n", "500"), ("source", "hf")]`` → ``{"n": 500, "source": "hf"}`` (YAML values)."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        if len(pair) != 2:
            raise RunnerError(f"a parameter override needs a name and a value, got {list(pair)}")
        key, value = pair
        if not key.isidentifier():
            raise RunnerError(f"parameter name {key!r} is not a Python identifier")
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
        raise RunnerError(f"{path} has {len(tagged)} cells tagged 'parameters' (cells {[i for i, _ in tagged]}); keep one")
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
    if isinstance(source, str) and source not in ("sample", "hf") and Path(source).expanduser().exists():
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
def _kernel_environment(provenance_file: Path) -> Iterator[None]:
    """Environment inherited by the kernel: provenance target, no Agg backend, quiet progress bars."""
    with saved_environ(_provenance.PROVENANCE_ENV, "MPLBACKEND", "PERSONAX_QUIET"):
        os.environ[_provenance.PROVENANCE_ENV] = str(provenance_file)
        # progress bars would end up as stderr noise in the rendered page; keep an explicit setting
        os.environ.setdefault("PERSONAX_QUIET", "1")
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


def run_notebook(notebook: str | os.PathLike, parameters: Mapping[str, Any] | None = None, *,
                 out_dir: str | os.PathLike | None = None, root: Path | None = None, strict: bool = True,
                 timeout: int | None = DEFAULT_CELL_TIMEOUT, progress_bar: bool = False,
                 log_output: bool = False) -> RunResult:
    """Execute one notebook from its jupytext source into ``out_dir`` with papermill.

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

    Returns
    -------
    RunResult
        ``ok`` is False when a cell raised; the executed notebook (with the traceback) and
        the provenance sidecar are written either way.

    Raises
    ------
    RunnerError
        Unknown notebook, missing parameters cell, undeclared override under ``strict``,
        or an output folder that would overwrite the paired notebook.
    """
    import nbformat
    import papermill

    source = find_notebook(notebook, root)
    name = source.stem
    out = Path(out_dir) if out_dir is not None else executed_dir(root)
    out = out.resolve()
    if out == source.parent.resolve():
        raise RunnerError(
            f"refusing to write executed notebooks into {out}, the folder of the source notebooks "
            "(papermill output would overwrite the paired .ipynb); use book/executed or another folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    output = out / f"{name}.ipynb"
    sidecar = out / f"{name}.provenance.json"

    nb = load_source(source)
    declared = declared_parameters(nb, source)
    overrides = _absolutise_source(dict(parameters or {}))
    used, skipped = split_overrides(overrides, declared)
    if skipped and strict:
        raise RunnerError(
            f"{name} does not declare parameter(s) {sorted(skipped)}; its parameters cell declares "
            f"{sorted(declared)}. Check the spelling (personax run {name} -p NAME VALUE)."
        )
    nb.metadata.setdefault("kernelspec", {"name": KERNEL, "display_name": "Python 3", "language": "python"})
    nb.metadata["kernelspec"]["name"] = KERNEL

    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    error: str | None = None
    with tempfile.TemporaryDirectory(prefix="personax-run-") as tmp:
        kernel_record_path = Path(tmp) / "provenance.json"
        with _kernel_environment(kernel_record_path), _quiet_papermill_inference():
            try:
                papermill.execute_notebook(
                    nb, str(output), parameters=used, kernel_name=KERNEL, language="python",
                    cwd=str(source.parent), progress_bar=progress_bar, log_output=log_output,
                    execution_timeout=timeout, request_save_on_cell_execute=True,
                )
            except papermill.PapermillExecutionError as exc:
                error = _error_summary(exc)
            except Exception as exc:  # kernel death, timeout, ...: still record provenance
                error = _error_summary(exc)
        wall = time.perf_counter() - t0
        if kernel_record_path.exists():
            record = json.loads(kernel_record_path.read_text(encoding="utf-8"))
            from_kernel = True
        else:
            record = _provenance.collect({**{k: v for k, v in declared.items()}, **used}, notebook=name)
            from_kernel = False

    record["runner"] = _provenance.jsonable({
        "source": str(source),
        "source_sha256": _sha256(source),
        "output": str(output),
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
    _provenance.write(record, sidecar)
    if output.exists():
        executed = nbformat.read(str(output), as_version=4)
        executed.metadata.setdefault("personax", {})["provenance"] = _provenance.jsonable(record)
        nbformat.write(executed, str(output))
    elif error is None:
        raise RunnerError(f"papermill reported success but wrote no notebook at {output}")
    return RunResult(name=name, source=source, output=output, provenance_path=sidecar, parameters=used,
                     skipped=skipped, ok=error is None, error=error, wall_s=wall)


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
            raise RunnerError(f"profile {profile!r} is invalid: allowed {list(PROFILES)}")
        params["profile"] = profile
    sources = [find_notebook(n, root) for n in notebooks] if notebooks else list_notebooks(root)
    if not sources:
        raise RunnerError(f"no notebooks found in {notebooks_dir(root)} (expected NN_name.py files)")
    declared_by = {s: declared_parameters(load_source(s), s) for s in sources}
    unused = [k for k in params if not any(k in d for d in declared_by.values())]
    if unused:
        known = sorted(set().union(*declared_by.values()))
        raise RunnerError(f"no notebook declares parameter(s) {unused}; declared parameters are {known}")
    results = []
    for source in sources:
        if echo:
            print(f"[personax] running {source.stem} ...", flush=True)
        result = run_notebook(source, params, out_dir=out_dir, root=root, strict=False, timeout=timeout)
        results.append(result)
        if echo:
            status = "ok" if result.ok else f"FAILED: {result.error}"
            skipped = f" (not declared, skipped: {sorted(result.skipped)})" if result.skipped else ""
            print(f"[personax] {source.stem}: {status} in {result.wall_s:.1f} s -> {result.output}{skipped}",
                  flush=True)
        if not result.ok and stop_on_error:
            break
    return results


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

    With ``fresh`` (default) the previous ``_build/html`` and ``_build/.doctrees`` are
    removed first, so pages of notebooks that no longer exist cannot linger (Sphinx's
    incremental build keeps them); a full render takes seconds because nothing executes.

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
    if fresh:
        for stale in (root / "_build" / "html", root / "_build" / ".doctrees"):
            shutil.rmtree(stale, ignore_errors=True)
    cmd = _jupyter_book_command() + ["build", str(root)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    if echo:
        print("[personax] " + " ".join(cmd), flush=True)
    env = dict(os.environ)
    if (env.get("MPLBACKEND") or "").lower() == "agg":
        env.pop("MPLBACKEND")
    proc = subprocess.run(cmd, cwd=str(root), env=env)
    if proc.returncode != 0:
        raise RunnerError(f"jupyter-book build failed (exit code {proc.returncode}); see the log above")
    index = root / "_build" / "html" / "index.html"
    if not index.exists():
        raise RunnerError(f"jupyter-book build succeeded but {index} is missing")
    return index
