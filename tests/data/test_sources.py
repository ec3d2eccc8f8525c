"""One dataset / source vocabulary: ``personax.data.schema.DATASETS`` and ``SOURCES``, read everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

from personax import names
from personax.data import load
from personax.data.schema import DATASETS, SOURCES, SYNTHETIC_SOURCES
from personax.errors import ParameterError


def test_every_reader_uses_the_one_definition():
    from personax import notebook, runner

    assert SOURCES == ("sample", "synthetic", "hf") and set(SYNTHETIC_SOURCES) < set(SOURCES)
    assert SOURCES is names.SOURCES and DATASETS is names.DATASETS
    assert notebook.SOURCES is SOURCES
    assert runner.SOURCES is SOURCES
    assert notebook.DATASETS_ALLOWED == (*DATASETS, "both")


def test_synthetic_is_a_fresh_draw_accepted_by_load_notebook_and_cli(tmp_path):
    from personax import notebook
    from personax.independence.cli import load_dataset

    ds = load("athlepersona", source="synthetic", n=120, seed=3, embedding_dims=(16, 16))
    assert len(ds) == 120 and ds.info["synthetic"] and ds.truth is not None
    assert ds.embeddings["face_1"].shape == (120, 16)
    # not an alias of the shipped sample: other rows
    sample = load("athlepersona", source="sample", n=120, seed=3)
    assert not ds.frame["height_cm"].equals(sample.frame["height_cm"])
    # the independence CLI goes through load(): the same rows
    cli = load_dataset("athlepersona", "synthetic", 120, 3)
    assert cli.frame.equals(load("athlepersona", source="synthetic", n=120, seed=3,
                                                  embedding_dims=(32, 32)).frame)
    ctx = notebook.setup("01_data", dataset="athlepersona", source="synthetic", n=120, seed=3, device="cpu",
                         profile="ci", show=False)
    assert ctx.source == "synthetic" and ctx.is_synthetic and not ctx.is_sample
    assert "fresh synthetic draw of athlepersona (seed 3)" in notebook.sample_banner(ctx)


def test_unknown_source_names_the_vocabulary():
    from personax import notebook

    with pytest.raises(notebook.ParameterError, match="'sample', 'synthetic', 'hf' or an existing local path"):
        notebook.validate_parameters("01_data", dataset="both", source="synthtic", n=None, seed=0, device="cpu",
                                     profile="ci")
    with pytest.raises(ParameterError, match="embedding_dims applies to source='synthetic' only"):
        load("celebpersona", source="sample", embedding_dims=(8, 8))


def test_notebook_and_runner_checks_do_not_load_pandas():
    code = "import sys, personax.notebook, personax.runner; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_other_copy_of_the_vocabulary():
    """``("celebpersona", "athlepersona")`` / ``("sample", "hf")`` written as code only in personax/names.py."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    # double quotes: the code style; doctest output (single quotes) shows values, not definitions
    copy = re.compile(r'[(\[]\s*"(?:celebpersona"\s*,\s*"athlepersona|sample"\s*,\s*"hf)"')
    files = [*(repo / "src" / "personax").rglob("*.py"), *(repo / "notebooks").glob("*.py")]
    hits = [f"{f.relative_to(repo)}:{i}: {line.strip()}" for f in files if f.name != "names.py"
            for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
            if copy.search(line) and "``" not in line and ">>>" not in line]
    assert not hits, f"use personax.names (or personax.data.schema) DATASETS / SOURCES instead: {hits}"
