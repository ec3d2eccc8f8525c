"""Thin notebooks: short code cells, no private imports (the logic lives in the tested package).

A cell's length is its lines of code: blank lines, comment lines and import statements
(all their lines) do not count; the ``parameters`` cell is a list of declarations and is
exempt.

Prose : code (:func:`prose_code_ratio`) is measured on the ``.py`` sources: non-blank lines
of Markdown cells against lines of code (as above) of every code cell but the parameters
cell; the chapters of :data:`PROSE_FIRST` keep it at 1 or more.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import jupytext
import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 8
THIN = ("01_data", "02_trait_inference", "03_face_features", "04_independence", "04b_level1_beyond", "05_crl_synthetic",
        "06_crl_realworld", "07_performance")
#: Chapters whose prose outweighs their code (measured on the sources, see the module docstring).
PROSE_FIRST = THIN


def code_lines(source: str) -> int:
    """Lines of code of a cell: not blank, not only a comment, not part of an import statement."""
    text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    tree = ast.parse(text)
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.update(range(node.lineno, node.end_lineno + 1))
    with_code = set()
    for tok in tokenize.generate_tokens(io.StringIO(text + "\n").readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                            tokenize.ENDMARKER):
            with_code.update(range(tok.start[0], tok.end[0] + 1))
    return len(with_code - imports)


def private_imports(source: str) -> list[str]:
    """Names starting with ``_`` imported from a module, or private modules imported."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if any(part.startswith("_") for part in module.split(".")):
                found.append(module)
            found += [f"{module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(p.startswith("_") for p in a.name.split("."))]
    return found


def prose_code_ratio(nb) -> tuple[int, int]:
    """(prose lines, code lines) of a jupytext notebook: non-blank Markdown lines; code lines as in
    :func:`code_lines`, parameters cell excluded."""
    prose = code = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            prose += sum(1 for line in cell.source.splitlines() if line.strip())
        elif cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            code += code_lines("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                         for line in cell.source.splitlines()))
    return prose, code


def test_code_lines_counts_code_only():
    cell = "import numpy as np\nfrom x import (a,\n    b)\n\n# a comment\nx = f(1,\n      2)  # note\ny = 3\n"
    assert code_lines(cell) == 3
    assert private_imports("from personax.independence.grid import _numeric\nimport os") == [
        "personax.independence.grid._numeric"]


@pytest.mark.parametrize("name", THIN)
def test_cells_are_short_and_imports_public(name):
    nb = jupytext.read(str(REPO / "notebooks" / f"{name}.py"))
    long_cells, private = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
        n = code_lines(text)
        if n > MAX_LINES:
            first = next(line for line in cell.source.splitlines() if line.strip())
            long_cells.append(f"cell {index} ({n} lines): {first[:60]}")
        private += private_imports(text)
    assert not long_cells, (f"notebooks/{name}.py has code cells over {MAX_LINES} lines; move the logic into a "
                            f"tested package function: {long_cells}")
    assert not private, f"notebooks/{name}.py imports private names {private}; make them public or use another API"


@pytest.mark.parametrize("name", PROSE_FIRST)
def test_prose_outweighs_code(name):
    prose, code = prose_code_ratio(jupytext.read(str(REPO / "notebooks" / f"{name}.py")))
    assert code > 0 and prose >= code, (
        f"notebooks/{name}.py has {prose} lines of prose for {code} lines of code "
        "(prose : code < 1); explain the results in Markdown, move logic to the package")
