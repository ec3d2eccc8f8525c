"""Building the Jupyter Book from the executed notebooks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from personax.runner.base import RunnerError, project_root

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
