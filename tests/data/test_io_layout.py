"""``personax.data.io`` is a package split along its seams; its public names stay importable from it."""

from __future__ import annotations

import ast
from pathlib import Path

import personax.data.io as io

PACKAGE = Path(io.__file__).parent
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500


def test_public_names_are_importable_from_the_package():
    from personax.data.io import (  # noqa: F401
        SAMPLE_PARAMS,
        ColumnMappingError,
        DataAccessError,
        content_hash,
        load,
        load_hf,
        load_local,
        load_sample,
        map_columns,
        read_column_map,
        read_dataset,
        read_table,
        sample_dir,
        sha256_file,
        to_table,
        write_dataset,
        write_sample,
        write_table,
    )

    assert set(io.__all__) <= set(dir(io))
    assert io.map_columns.__module__ == "personax.data.io.mapping"
    assert io.load_hf.__module__ == "personax.data.io.hf" and io.load_sample.__module__ == "personax.data.io.sample"
    assert io._read_table is io.read_table  # the earlier private name, still imported by crl/cli.py


def test_modules_and_functions_are_short():
    long = []
    for path in sorted(PACKAGE.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.name} is over {MAX_MODULE_LINES} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.name} ({size} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them): {long}"
