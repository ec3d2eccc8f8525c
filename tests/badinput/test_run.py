"""``personax run``: bad overrides fail before any kernel starts; a failed run never replaces a good result.

The book's real notebooks are used for the parameter cases (their ``setup(...)`` checks are
read from the sources, nothing is executed); a tiny temporary book for the rest.
"""

from __future__ import annotations

import json

import pytest

AREA = "personax run"


@pytest.fixture
def executed(tmp_path):
    """An output folder holding an earlier good result of every notebook (fake, checksummed)."""
    out = tmp_path / "executed"
    out.mkdir()
    for nb in ("01_data", "02_trait_inference", "03_face_features", "04_independence", "05_crl_synthetic",
               "06_crl_realworld", "07_performance"):
        (out / f"{nb}.ipynb").write_text('{"cells": [], "note": "good earlier result"}')
        (out / f"{nb}.provenance.json").write_text('{"runner": {"status": "ok"}}')
    return out


def run(notebook, out, *params):
    argv = ["run", notebook, "--out", str(out)]
    for name, value in params:
        argv += ["-p", name, value]
    return argv


@pytest.mark.parametrize("params, fragments", [
    ([("dataset", "foo")], ["dataset='foo'", "'celebpersona', 'athlepersona', 'both'"]),
    ([("tests", "[kci,foo]")],
     ["tests=['kci', 'foo']", "Unknown: 'foo'", "kci, rcit, hsic_gamma, chi2, g2, hsic_hyppo, hsic"]),
    ([("tests", "kci,g3")], ["tests='kci,g3'", "Unknown: 'g3'", "kci, rcit, hsic_gamma, chi2, g2, hsic_hyppo, hsic"]),
    ([("n", "-5")], ["n=-5", "an integer >= 1 or None"]),
    ([("n", "abc")], ["n='abc'", "an integer"]),
    ([("n", "1.5")], ["n=1.5", "an integer"]),
    ([("seed", "-1")], ["seed=-1", ">= 0"]),
    ([("alpha", "2")], ["alpha=2", "> 0 and < 1"]),
    ([("test_backend", "slow")], ["test_backend='slow'", "'fast', 'reference'"]),
    ([("device", "gpu")], ["device='gpu'", "'auto', 'cpu', 'cuda' or 'cuda:N'"]),
    ([("source", "/nonexistent/data")], ["source='/nonexistent/data'", "'sample', 'synthetic', 'hf'"]),
    ([("profile", "fast")], ["profile='fast'", "'ci', 'quick', 'paper'"]),
])
def test_bad_value_stops_before_any_kernel_and_keeps_the_good_result(bad, executed, params, fragments):
    bad(run("04_independence", executed, *params), code=2,
        names=["04_independence", *fragments, "nothing was executed"], watch=[executed])


def test_cuda_without_a_gpu(bad, executed, no_gpu):
    bad(run("04_independence", executed, ("device", "cuda")), code=2, names=["device='cuda'", "no CUDA GPU"],
        watch=[executed])


def test_list_values_are_valid_where_the_readme_says_so(executed):
    from personax import runner

    source = runner.find_notebook("04_independence")
    checked = runner.check_parameters(runner.load_source(source), source, {"tests": ["kci", "hsic"]})
    assert checked["extra"]["tests"] == "kci,hsic"


def test_undeclared_parameter(bad, executed):
    bad(run("04_independence", executed, ("alhpa", "0.1")), code=2,
        names=["does not declare parameter(s) ['alhpa']", "'alpha'"], watch=[executed])


def test_unknown_notebook(bad, executed):
    bad(["run", "99_nothing", "--out", executed], code=2, names=["'99_nothing'", "01_data", "07_performance"],
        watch=[executed])


def test_yaml_that_does_not_parse(bad, executed):
    bad(run("01_data", executed, ("n", "[1")), code=2, names=["'[1'", "YAML"], watch=[executed])


def test_parameter_name_that_is_not_an_identifier(bad, executed):
    bad(run("01_data", executed, ("n-rows", "5")), code=2, names=["'n-rows'", "identifier"], watch=[executed])


def test_missing_value_is_an_argparse_error(bad, executed):
    bad(["run", "01_data", "--out", executed, "-p", "n"], code=2, names=["-p", "expected 2 arguments"],
        watch=[executed])


def test_unknown_profile_option(bad, executed):
    bad(["run", "01_data", "--out", executed, "--profile", "fast"], code=2, names=["--profile", "'fast'"],
        watch=[executed])


def test_notebook_and_all_together(bad, executed):
    bad(["run", "01_data", "--all", "--out", executed], code=2, names=["either a NOTEBOOK or --all"], watch=[executed])


def test_output_folder_is_a_file(bad, tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    bad(["run", "01_data", "--out", target], code=2, names=["taken", "is a file"], watch=[tmp_path])


def test_root_that_is_not_a_book(bad, tmp_path):
    bad(["run", "01", "--root", tmp_path], code=2, names=[str(tmp_path), "no _toc.yml"], watch=[tmp_path])


def test_all_checks_every_notebook_first(bad, executed):
    _, err = bad(["run", "--all", "--out", executed, "-p", "seed", "-2"], code=2,
                 names=["nothing was executed", "01_data: parameter seed=-2", "07_performance: parameter seed=-2"],
                 watch=[executed])


def test_a_failed_run_is_kept_beside_the_good_result(bad, tiny_book, checksum):
    """One kernel: the notebook raises after setup; exit 1, NN.failed.ipynb, the good NN.ipynb untouched."""
    book = tiny_book(body='raise ValueError("planted failure")')
    done = book / "book" / "executed"
    _, err = bad(["run", "01_tiny", "--root", book], code=1,
                 names=["01_tiny failed", "ValueError", "planted failure", "01_tiny.failed.ipynb",
                        "the previous result", "is unchanged"],
                 watch=[done], created=["01_tiny.failed.ipynb", "01_tiny.failed.provenance.json"])
    record = json.loads((done / "01_tiny.failed.provenance.json").read_text())
    assert record["runner"]["status"] == "failed" and "planted failure" in record["runner"]["error"]
    assert not list(done.glob(".*tmp*")), "no temporary file is left behind"


@pytest.mark.slow
def test_a_good_run_replaces_the_result_and_clears_the_stale_failure(tiny_book, capsys):
    from personax.cli import main

    book = tiny_book()
    done = book / "book" / "executed"
    (done / "01_tiny.failed.ipynb").write_text("{}")
    (done / "01_tiny.failed.provenance.json").write_text("{}")
    assert main(["run", "01_tiny", "--root", str(book), "-p", "n", "3"]) == 0
    assert "good earlier result" not in (done / "01_tiny.ipynb").read_text()
    assert json.loads((done / "01_tiny.provenance.json").read_text())["runner"]["status"] == "ok"
    assert not (done / "01_tiny.failed.ipynb").exists() and not (done / "01_tiny.failed.provenance.json").exists()


def test_exit_code_of_a_parameter_error_raised_inside_the_kernel():
    from pathlib import Path

    from personax.runner import RunResult

    common = dict(name="x", source=Path("x.py"), output=Path("x.ipynb"), provenance_path=Path("x.json"), ok=False)
    assert RunResult(**common, error_type="ParameterError").exit_code == 2
    assert RunResult(**common, error_type="ValueError").exit_code == 1


def test_renamed_backend_is_routed_by_its_value_with_all(bad, executed):
    """``backend`` meant the LLM in 02 and the tests' implementation in 04/04b: -p backend reference
    reaches 04 and 04b as test_backend (a warning names the new spelling) and not 02."""
    _, err = bad(["run", "--all", "--out", executed, "-p", "backend", "reference", "-p", "seed", "-2"], code=2,
                 names=["warning: FutureWarning: parameter 'backend' of 04_independence is deprecated",
                        "use -p test_backend reference", "04b_level1_beyond: parameter seed=-2",
                        "nothing was executed"], watch=[executed])
    assert "llm_backend" not in err


def test_renamed_backend_that_fits_no_new_name(bad, executed):
    bad(["run", "--all", "--out", executed, "-p", "backend", "slow"], code=2,
        names=["backend='slow' was renamed", "llm_backend for 02_trait_inference ('simulated', 'openai', "
               "'transformers')", "test_backend for 04_independence ('fast', 'reference')", "nothing was executed"],
        watch=[executed])


def test_renamed_backend_for_one_notebook(bad, executed):
    _, err = bad(run("02_trait_inference", executed, ("backend", "claude")), code=2,
                 names=["use -p llm_backend claude", "llm_backend='claude'", "nothing was executed"], watch=[executed])
    bad(run("04_independence", executed, ("backend", "fast"), ("test_backend", "reference")), code=2,
        names=["backend='fast' and test_backend='reference' both given", "pass only test_backend"], watch=[executed])
