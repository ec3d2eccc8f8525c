"""The runner's constants, errors, :class:`RunResult` and where notebooks and executed copies live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personax import profiles as _profiles
from personax.errors import PersonaXError, UsageError

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
    reused : bool
        The earlier good result was kept because its inputs had not changed (``reuse=True``;
        see :mod:`personax.runner.reuse`); nothing was executed.
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
    reused: bool = False

    @property
    def status(self) -> str:
        """``"reused (inputs unchanged)"``, ``"ok"`` or ``"FAILED"`` (the runner's status lines)."""
        return "reused (inputs unchanged)" if self.reused else "ok" if self.ok else "FAILED"

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
