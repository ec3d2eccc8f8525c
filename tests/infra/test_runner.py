"""The papermill runner: executes jupytext sources into a separate folder, with overrides and provenance."""

from __future__ import annotations

import json
import textwrap

import jupytext
import nbformat
import pytest

from personax import runner
from personax.runner import RunnerError


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") if out.get("output_type") == "stream" else json.dumps(out.get("data", {})))
    return "\n".join(parts)


@pytest.mark.slow
def test_run_notebook_with_override_writes_outputs_and_provenance(tiny_book, tmp_path, tiny_notebook_text, caplog):
    out = tmp_path / "executed"
    result = runner.run_notebook(tiny_book / "notebooks" / "01_tiny.py", {"n": 7, "scale": 2}, out_dir=out)
    assert result.ok, result.error
    # papermill's regex inference noise is filtered; the runner's AST parse decides instead
    assert not [r for r in caplog.records if "Unable to parse line" in r.getMessage()
                or "Passed unknown parameter" in r.getMessage()]
    assert result.output == out / "01_tiny.ipynb" and result.parameters == {"n": 7, "scale": 2}
    nb = nbformat.read(str(result.output), as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["injected-parameters", "remove-cell"] in tags, "papermill injects the override; the runner hides it"
    assert ["parameters", "remove-cell"] in tags
    [figure] = nb.metadata["personax"]["figures"]  # measured when displayed (plots.layout)
    assert figure["width_in"] == 3.0 and 5 < figure["min_font_pt"] < 20 and figure["execution_count"] >= 1
    setup_cells = [c for c in nb.cells if "notebook.setup(" in c.source]
    assert setup_cells and all("remove-input" in c.metadata["tags"] for c in setup_cells)
    text = _outputs_text(nb)
    assert "n=7 scale=2" in text                      # the override reached the code
    assert "image/png" in text                        # the figure survived (no Agg backend)
    assert "Synthetic sample" in text                 # setup's banner on sample data
    record = json.loads(result.provenance_path.read_text())
    assert record["parameters"]["n"] == 7 and record["seed"] == 0
    assert record["runner"]["status"] == "ok" and record["runner"]["recorded_by"].startswith("notebook.setup")
    assert record["runner"]["parameters_injected"] == {"n": 7, "scale": 2}
    assert nb.metadata["personax"]["provenance"]["runner"]["source_sha256"] == record["runner"]["source_sha256"]
    # the source of truth is untouched and no paired .ipynb was written next to it
    assert (tiny_book / "notebooks" / "01_tiny.py").read_text() == tiny_notebook_text
    assert not (tiny_book / "notebooks" / "01_tiny.ipynb").exists()


def test_undeclared_override_is_an_error_for_one_notebook(tiny_book, tmp_path):
    with pytest.raises(RunnerError, match=r"does not declare parameter\(s\) \['sclae'\].*declares \[.*'scale'"):
        runner.run_notebook(tiny_book / "notebooks" / "01_tiny.py", {"sclae": 2}, out_dir=tmp_path)


def test_missing_parameters_cell_is_a_clear_error(tmp_path):
    source = tmp_path / "nb" / "01_bare.py"
    source.parent.mkdir()
    source.write_text("# %%\nx = 1\n")
    with pytest.raises(RunnerError, match="has no cell tagged 'parameters'"):
        runner.run_notebook(source, out_dir=tmp_path / "out")


def test_injected_parameters_in_source_is_rejected(tmp_path):
    source = tmp_path / "01_dirty.py"
    source.write_text('# %% tags=["parameters"]\nn = 1\n\n# %% tags=["injected-parameters"]\nn = 2\n')
    with pytest.raises(RunnerError, match="injected-parameters"):
        runner.declared_parameters(runner.load_source(source), source)


def test_two_parameters_cells_are_rejected(tmp_path):
    source = tmp_path / "01_two.py"
    source.write_text('# %% tags=["parameters"]\nn = 1\n\n# %% tags=["parameters"]\nm = 2\n')
    with pytest.raises(RunnerError, match="2 cells tagged 'parameters'"):
        runner.declared_parameters(runner.load_source(source), source)


def test_refuses_to_write_next_to_the_sources(tiny_book):
    with pytest.raises(RunnerError, match="refusing to write"):
        runner.run_notebook(tiny_book / "notebooks" / "01_tiny.py", out_dir=tiny_book / "notebooks")


def test_declared_parameters_reads_defaults(tiny_book):
    nb = runner.load_source(tiny_book / "notebooks" / "01_tiny.py")
    declared = runner.declared_parameters(nb)
    assert declared == {"dataset": "celebpersona", "source": "sample", "n": 20, "seed": 0, "device": "cpu",
                        "profile": "quick", "scale": 1.0}


@pytest.mark.parametrize("text, value", [("500", 500), ("0.05", 0.05), ("null", None), ("hf", "hf"),
                                         ("true", True), ("[kci, hsic]", ["kci", "hsic"]), ("cuda:0", "cuda:0")])
def test_values_are_parsed_as_yaml(text, value):
    assert runner.parse_overrides([("x", text)]) == {"x": value}


def test_bad_override_names_are_rejected():
    with pytest.raises(RunnerError, match="not a Python identifier"):
        runner.parse_overrides([("n-rows", "5")])


def test_find_notebook_by_name_number_and_path(tiny_book):
    source = tiny_book / "notebooks" / "01_tiny.py"
    assert runner.find_notebook("01_tiny", tiny_book) == source
    assert runner.find_notebook("01", tiny_book) == source
    assert runner.find_notebook(str(source)) == source.resolve()
    with pytest.raises(RunnerError, match=r"available: \['01_tiny'\]"):
        runner.find_notebook("02_nothing", tiny_book)


def test_run_all_rejects_overrides_no_notebook_declares(tiny_book):
    with pytest.raises(RunnerError, match=r"no notebook declares parameter\(s\) \['alhpa'\]"):
        runner.run_all({"alhpa": 0.1}, root=tiny_book)
    with pytest.raises(RunnerError, match="profile 'fast' is invalid"):
        runner.run_all(profile="fast", root=tiny_book)


@pytest.mark.slow
def test_run_all_injects_only_declared_parameters_and_reports_failures(tmp_path, book_factory, tiny_notebook_text,
                                                                      monkeypatch):
    second = textwrap.dedent('''\
        # %% tags=["parameters"]
        dataset = "athlepersona"
        source = "sample"
        n = 5
        seed = 0
        device = "cpu"
        profile = "quick"

        # %%
        raise ValueError(f"planted failure with n={n}")
        ''')
    book = book_factory(tmp_path / "b", {"01_tiny": tiny_notebook_text, "02_fails": second})
    timings = tmp_path / "timings.tsv"
    timings.write_text("unit-tests\t1.0\t0\n")
    monkeypatch.setenv(runner.TIMINGS_ENV, str(timings))
    results = runner.run_all({"scale": 3, "n": 4}, profile="ci", root=book, echo=False)
    rows = [line.split("\t") for line in timings.read_text().splitlines()]
    assert [r[0] for r in rows] == ["unit-tests", "notebook:01_tiny", "notebook:02_fails"]
    assert [r[2] for r in rows[1:]] == ["0", "1"] and all(float(r[1]) > 0 for r in rows[1:])
    tiny, fails = results
    assert tiny.ok and tiny.parameters == {"scale": 3, "n": 4, "profile": "ci"}
    assert not fails.ok and fails.skipped == {"scale": 3}
    assert "ValueError" in fails.error and "planted failure with n=4" in fails.error
    record = json.loads(fails.provenance_path.read_text())
    assert record["runner"]["status"] == "failed" and record["runner"]["overrides_skipped"] == ["scale"]
    assert record["runner"]["recorded_by"].startswith("runner")  # the failing notebook never called setup
    assert fails.output.exists(), "the failed notebook is kept with its traceback for inspection"


@pytest.mark.slow
def test_run_all_in_parallel_gives_the_sequential_results(tmp_path, book_factory, tiny_notebook_text, monkeypatch):
    """jobs=2: each notebook in its own process, results in notebook order, own provenance, one timing line each."""
    other = tiny_notebook_text.replace('dataset = "celebpersona"', 'dataset = "athlepersona"').replace(
        'setup("01_tiny"', 'setup("02_other"')
    book = book_factory(tmp_path / "p", {"01_tiny": tiny_notebook_text, "02_other": other})
    timings = tmp_path / "timings.tsv"
    monkeypatch.setenv(runner.TIMINGS_ENV, str(timings))
    results = runner.run_all({"scale": 2}, profile="ci", root=book, echo=False, jobs=2)
    assert [r.name for r in results] == ["01_tiny", "02_other"] and all(r.ok for r in results)
    records = [json.loads(r.provenance_path.read_text()) for r in results]
    assert [rec["notebook"] for rec in records] == ["01_tiny", "02_other"]  # no crossed provenance files
    assert sorted(line.split("\t")[0] for line in timings.read_text().splitlines()) == [
        "notebook:01_tiny", "notebook:02_other"]
    with pytest.raises(RunnerError, match="stop_on_error needs jobs=1"):
        runner.run_all(root=book, jobs=2, stop_on_error=True)


@pytest.mark.slow
def test_cli_run_and_book_on_a_temporary_book(tiny_book, capsys):
    from personax.cli import main

    assert main(["run", "01_tiny", "--root", str(tiny_book), "-p", "n", "9", "--profile", "ci"]) == 0
    executed = tiny_book / "book" / "executed" / "01_tiny.ipynb"
    assert "n=9 scale=1.0" in _outputs_text(nbformat.read(str(executed), as_version=4))
    assert main(["run", "01_tiny", "--root", str(tiny_book), "-p", "bogus", "1"]) == 2
    assert "does not declare" in capsys.readouterr().err
    assert main(["book", "--root", str(tiny_book), "--no-execute"]) == 0
    assert (tiny_book / "_build" / "html" / "book" / "executed" / "01_tiny.html").exists()
    assert "_build/html/index.html" in capsys.readouterr().out


def test_book_build_names_missing_pages(tiny_book):
    with pytest.raises(RunnerError, match=r"no file: \['book/executed/01_tiny'\]"):
        runner.build_book(tiny_book, echo=False)


def test_jupytext_pairing_config_is_percent(tiny_notebook_text):
    from pathlib import Path

    config = (Path(__file__).resolve().parents[2] / "jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in config
    nb = jupytext.reads(tiny_notebook_text, fmt="py:percent")
    assert nb.cells[1].metadata["tags"] == ["parameters"]


def test_tag_plumbing_hides_parameters_setup_and_marked_cells_only():
    cells = [nbformat.v4.new_markdown_cell("# Title"),
             nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell("n = 2", metadata={"tags": ["injected-parameters"]}),
             nbformat.v4.new_code_cell("\n# plumbing\nimport numpy as np"),
             nbformat.v4.new_code_cell("# plumbing: hide\nhelper = 1"),
             nbformat.v4.new_code_cell("ctx = personax.notebook.setup('01_x', dataset=d)"),
             nbformat.v4.new_code_cell("# plumbing\nx = 1", metadata={"tags": ["hide-output"]}),
             nbformat.v4.new_code_cell("result = battery(data)  # the method: stays visible"),
             nbformat.v4.new_code_cell("# not plumbing: a comment\nfit(x)")]
    nb = nbformat.v4.new_notebook(cells=cells)
    added = runner.tag_plumbing(nb)
    assert added == {1: "remove-cell", 2: "remove-cell", 3: "remove-input", 4: "hide-input", 5: "remove-input"}
    assert nb.cells[6].metadata["tags"] == ["hide-output"], "an explicit display tag wins"
    assert "tags" not in nb.cells[7].metadata and "tags" not in nb.cells[8].metadata
    assert runner.tag_plumbing(nb) == {}, "idempotent: tagged cells are left alone"


@pytest.mark.slow
def test_reuse_keeps_an_unchanged_result_and_reexecutes_on_any_change(tiny_book, tmp_path):
    """--reuse skips a notebook only while its source, parameters and inputs are unchanged."""
    source, out = tiny_book / "notebooks" / "01_tiny.py", tmp_path / "executed"
    first = runner.run_notebook(source, {"n": 3}, out_dir=out)
    assert first.ok and not first.reused
    key = json.loads(first.provenance_path.read_text())["runner"]["execution_key"]
    stamp = first.output.stat().st_mtime_ns
    again = runner.run_notebook(source, {"n": 3}, out_dir=out, reuse=True)
    assert again.ok and again.reused and again.output.stat().st_mtime_ns == stamp
    # without --reuse, or with another parameter value, it executes
    assert not runner.run_notebook(source, {"n": 3}, out_dir=out).reused
    other = runner.run_notebook(source, {"n": 4}, out_dir=out, reuse=True)
    assert not other.reused and json.loads(other.provenance_path.read_text())["runner"]["execution_key"] != key
    # an edited source re-executes
    source.write_text(source.read_text() + "\n# %%\nprint('edited')\n")
    assert not runner.run_notebook(source, {"n": 4}, out_dir=out, reuse=True).reused


def test_execution_key_covers_data_results_and_environment(tiny_book, monkeypatch):
    from personax.runner import reuse

    source = tiny_book / "notebooks" / "01_tiny.py"
    base = reuse.execution_key(source, {"n": 1}, tiny_book)
    assert reuse.execution_key(source, {"n": 1}, tiny_book) == base
    assert reuse.execution_key(source, {"n": 2}, tiny_book) != base
    (tiny_book / "data").mkdir(exist_ok=True)
    (tiny_book / "data" / "extra.csv").write_text("a\n1\n")
    with_data = reuse.execution_key(source, {"n": 1}, tiny_book)
    assert with_data != base
    (tiny_book / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (tiny_book / "benchmarks" / "results" / "crl.csv").write_text("benchmark\nx\n")
    with_results = reuse.execution_key(source, {"n": 1}, tiny_book)
    assert with_results != with_data
    monkeypatch.setenv("HF_HUB_OFFLINE", "0" if reuse.os.environ.get("HF_HUB_OFFLINE") == "1" else "1")
    assert reuse.execution_key(source, {"n": 1}, tiny_book) != with_results
