"""Fixtures for the infrastructure tests: a tiny temporary book and the check_book script."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TINY_NOTEBOOK = textwrap.dedent('''\
    # %% [markdown]
    # # Tiny notebook
    # Used by the runner tests. Some math: $x^2$.

    # %% tags=["parameters"]
    dataset = "celebpersona"
    source = "sample"
    n = 20            # rows (None = all): a comment with "=" trips papermill's own parser
    seed = 0
    device = "cpu"
    profile = "quick"
    scale = 1.0

    # %%
    import personax.notebook
    ctx = personax.notebook.setup("01_tiny", dataset=dataset, source=source, n=n, seed=seed, device=device,
                                  profile=profile, scale=scale, checks={"scale": {"kind": "float", "low": 0}})

    # %%
    import numpy as np
    import matplotlib.pyplot as plt
    values = np.random.default_rng(ctx.seed).normal(size=ctx.n) * scale
    print(f"n={len(values)} scale={scale}")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.hist(values)
    plt.show()
    ''')


@pytest.fixture(scope="session")
def check_book():
    """The scripts/check_book.py module (scripts/ is not a package)."""
    path = REPO / "scripts" / "check_book.py"
    spec = importlib.util.spec_from_file_location("check_book", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_book"] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def make_book(root: Path, notebooks: dict[str, str] | None = None) -> Path:
    """A minimal book checkout: _config.yml (the project's), _toc.yml, intro, notebooks/."""
    notebooks = notebooks if notebooks is not None else {"01_tiny": TINY_NOTEBOOK}
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    shutil.copytree(REPO / "_static", root / "_static")
    (root / "book" / "intro.md").write_text("# Tiny book\n\nMath: $E = mc^2$.\n", encoding="utf-8")
    chapters = "".join(f"  - file: book/executed/{name}\n" for name in notebooks)
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: book/intro\nchapters:\n{chapters}", encoding="utf-8")
    for name, text in notebooks.items():
        (root / "notebooks" / f"{name}.py").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tiny_book(tmp_path):
    """A temporary book checkout with one tiny notebook."""
    return make_book(tmp_path / "book_root")


@pytest.fixture
def book_factory():
    """``make_book(root, {name: jupytext text})`` (tests cannot import conftest under importlib mode)."""
    return make_book


@pytest.fixture
def tiny_notebook_text():
    """The jupytext source of the tiny notebook."""
    return TINY_NOTEBOOK
