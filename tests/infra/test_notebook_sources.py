"""Every notebook source follows the contract: one parameters cell, paired .ipynb in sync, in the toc."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

from personax import runner

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.py"))
IDS = [p.stem for p in SOURCES]


def _cells(nb):
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def test_toc_chapters_have_notebook_sources():
    """Each book/executed/NN_name page of _toc.yml is produced by notebooks/NN_name.py, and vice versa."""
    toc = runner.toc_files(REPO)
    executed = [Path(entry).name for entry in toc if entry.startswith("book/executed/")]
    assert executed, "_toc.yml lists no executed notebooks"
    missing = [name for name in executed if not (REPO / "notebooks" / f"{name}.py").exists()]
    assert not missing, f"_toc.yml lists chapters with no notebooks/NAME.py source: {missing}"
    unlisted = [p.stem for p in SOURCES if p.stem not in executed]
    assert not unlisted, f"notebooks not in _toc.yml (they would never be rendered): {unlisted}"
    for entry in toc:
        if not entry.startswith("book/executed/"):
            assert (REPO / f"{entry}.md").exists(), f"_toc.yml page {entry} has no {entry}.md"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_one_parameters_cell_with_required_names(source):
    nb = runner.load_source(source)
    declared = runner.declared_parameters(nb, source)  # raises on 0 or >1 cells, or injected-parameters
    missing = [name for name in runner.REQUIRED_PARAMETERS if name not in declared]
    assert not missing, f"{source.name}: parameters cell lacks {missing}"
    assert declared["profile"] == "quick", f"{source.name}: the default profile must be 'quick'"
    assert declared["source"] == "sample", f"{source.name}: the default source must be the shipped sample"
    assert not any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells)
    text = source.read_text(encoding="utf-8")
    assert "papermill" not in text.split("\n# %%", 1)[0], f"{source.name}: papermill metadata leaked into the header"
    assert "personax.notebook.setup(" in text or "notebook.setup(" in text, \
        f"{source.name}: the first code cell after the parameters must call personax.notebook.setup"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_py_and_ipynb_pair_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} missing: run `make sync` (jupytext --sync {source.name})"
    py_cells = _cells(jupytext.read(str(source)))
    nb_cells = _cells(jupytext.read(str(paired)))
    assert py_cells == nb_cells, f"{source.name} and {paired.name} differ: run `make sync`"
    outputs = [c for c in jupytext.read(str(paired)).cells if c.cell_type == "code" and c.get("outputs")]
    assert not outputs, f"{paired.name} holds outputs: executed copies belong in book/executed/, not notebooks/"
