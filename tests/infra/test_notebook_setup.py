"""personax.notebook.setup validates parameters, shows the sample banner and records provenance."""

from __future__ import annotations

import json

import numpy as np
import pytest

from personax import notebook
from personax.notebook import ParameterError, check_param, setup

GOOD = dict(dataset="celebpersona", source="sample", n=100, seed=0, device="cpu", profile="quick")


def _setup(**changes):
    return setup("01_test", **{**GOOD, **changes}, show=False)


def test_valid_parameters_give_a_context():
    ctx = _setup()
    assert ctx.notebook == "01_test"
    assert ctx.datasets == ["celebpersona"]
    assert ctx.is_sample and ctx.source == "sample"
    assert (ctx.n, ctx.seed, ctx.device, ctx.profile) == (100, 0, "cpu", "quick")
    assert ctx.params == {**GOOD}
    assert ctx.provenance["notebook"] == "01_test"
    assert ctx.provenance["parameters"]["seed"] == 0


def test_both_expands_and_auto_device_resolves():
    ctx = _setup(dataset="both", device="auto", n=None)
    assert ctx.datasets == ["celebpersona", "athlepersona"]
    assert ctx.device in ("cpu", "cuda")
    assert ctx.device_requested == "auto"
    assert ctx.n is None


@pytest.mark.parametrize("name, value, fragment", [
    ("dataset", "celeb", "'celebpersona', 'athlepersona', 'both'"),
    ("dataset", 3, "'celebpersona'"),
    ("profile", "fast", "'ci', 'quick', 'paper'"),
    ("n", 0, "an integer >= 1 or None"),
    ("n", 2.5, "an integer"),
    ("n", True, "an integer"),
    ("n", "500", "an integer"),
    ("seed", -1, ">= 0"),
    ("seed", None, "None is not allowed"),
    ("device", "tpu", "unknown device 'tpu'"),
    ("device", 0, "'auto', 'cpu', 'cuda'"),
    ("source", "/definitely/not/here", "No file or folder exists"),
    ("source", "", "'sample', 'synthetic', 'hf'"),
])
def test_bad_values_are_rejected_naming_parameter_value_and_allowed(name, value, fragment):
    with pytest.raises(ParameterError) as info:
        _setup(**{name: value})
    message = str(info.value)
    assert f"parameter {name}={value!r}" in message
    assert fragment in message


def test_cuda_request_without_gpu_stops_with_the_fix():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU; the missing-GPU path is exercised on CPU-only machines")
    with pytest.raises(ParameterError, match=r"device='cuda'.*no CUDA GPU.*'auto' or 'cpu'"):
        _setup(device="cuda")


def test_notebook_may_restrict_datasets_and_profiles():
    with pytest.raises(ParameterError, match="allowed 'athlepersona'"):
        setup("x", **{**GOOD}, datasets_allowed=("athlepersona",), show=False)
    with pytest.raises(ParameterError, match="'quick', 'paper'"):
        setup("x", **{**GOOD, "profile": "ci"}, profiles=("quick", "paper"), show=False)


def test_local_path_source_is_resolved(tmp_path):
    data = tmp_path / "celeb.parquet"
    data.write_bytes(b"")
    ctx = _setup(source=str(data))
    assert ctx.source == str(data.resolve()) and not ctx.is_sample


def test_extra_parameters_are_checked_and_recorded():
    ctx = setup("x", **GOOD, alpha=0.05, tests=["kci"], show=False,
                checks={"alpha": {"kind": "float", "low": 0, "high": 1, "low_inclusive": False}})
    assert ctx.extra == {"alpha": 0.05, "tests": ["kci"]}
    assert ctx.provenance["parameters"]["alpha"] == 0.05
    with pytest.raises(ParameterError, match=r"parameter alpha=0 is invalid: allowed a number > 0 and <= 1"):
        setup("x", **GOOD, alpha=0, show=False, checks={"alpha": {"kind": "float", "low": 0, "high": 1,
                                                                 "low_inclusive": False}})
    with pytest.raises(ParameterError, match="were not passed as parameters"):
        setup("x", **GOOD, show=False, checks={"beta": {"kind": "int"}})


@pytest.mark.parametrize("kwargs, value, expected", [
    ({"kind": "int", "low": 1}, 5, 5),
    ({"kind": "int", "low": 1}, np.int64(5), 5),
    ({"kind": "float", "low": 0, "high": 1}, 1, 1.0),
    ({"kind": "bool"}, False, False),
    ({"choices": ("a", "b")}, "b", "b"),
    ({"kind": "int", "allow_none": True}, None, None),
])
def test_check_param_accepts(kwargs, value, expected):
    result = check_param("p", value, **kwargs)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("kwargs, value, fragment", [
    ({"kind": "int"}, 1.0, "allowed an integer"),
    ({"kind": "int", "low": 0, "high": 10}, 11, "an integer >= 0 and <= 10"),
    ({"kind": "float"}, "0.5", "allowed a number"),
    ({"kind": "float"}, float("nan"), "not NaN"),
    ({"kind": "bool"}, 1, "True or False"),
    ({"kind": "str", "choices": ("kci", "hsic")}, "rcit", "'kci', 'hsic'"),
    ({"high": 3, "high_inclusive": False}, 3, "< 3"),
])
def test_check_param_rejects(kwargs, value, fragment):
    with pytest.raises(ParameterError, match="parameter p=") as info:
        check_param("p", value, **kwargs)
    assert fragment in str(info.value)


def test_by_profile_requires_every_profile():
    ctx = _setup(profile="ci")
    assert ctx.by_profile(ci=1, quick=2, paper=3) == 1
    with pytest.raises(ParameterError, match="missing \\['paper'\\]"):
        ctx.by_profile(ci=1, quick=2)


def test_sample_banner_printed_outside_ipython(capsys):
    setup("01_test", **GOOD, show=True)
    out = capsys.readouterr().out
    assert "Synthetic sample" in out and "not the released PersonaX data" in out
    assert "personax run 01_test -p source hf" in out
    assert "git commit" in out and "seed" in out
    assert "reproduce: personax run 01_test -p dataset celebpersona" in out


def test_no_banner_for_real_data(tmp_path, capsys):
    (tmp_path / "x.csv").write_text("a\n1\n")
    setup("01_test", **{**GOOD, "source": str(tmp_path / "x.csv")}, show=True)
    out = capsys.readouterr().out
    assert "Synthetic sample" not in out and "source" in out


def test_provenance_html_is_escaped_and_complete():
    ctx = _setup()
    html = notebook.provenance_html(ctx)
    assert html.startswith("<details") and "<table>" in html
    for key in ("notebook", "dataset", "seed", "device", "git commit", "versions", "run at (UTC)"):
        assert key in html


def test_setup_writes_provenance_for_the_runner(tmp_path, monkeypatch):
    target = tmp_path / "prov" / "record.json"
    monkeypatch.setenv("PERSONAX_PROVENANCE_FILE", str(target))
    _setup(seed=7)
    record = json.loads(target.read_text())
    assert record["seed"] == 7 and record["notebook"] == "01_test"
    assert record["device"]["resolved"] == "cpu"


def test_reproduce_command_round_trips_through_the_runner_parser():
    from personax.runner import parse_value

    ctx = _setup(seed=3)
    ctx = notebook.NotebookContext(**{**ctx.__dict__, "extra": {"tests": "kci,hsic", "alpha": 0.05, "seeds": [0, 1],
                                                              "label": "null", "flag": True, "note": "two words"}})
    command = notebook.reproduce_command(ctx)
    assert command.startswith("personax run 01_test -p dataset ")
    import shlex

    words = shlex.split(command)[3:]
    pairs = dict(zip(words[1::3], words[2::3]))
    assert all(w == "-p" for w in words[::3])
    parsed = {k: parse_value(v) for k, v in pairs.items()}
    assert parsed == ctx.params, "every value comes back as the same type through personax run -p"


def test_reproduce_box_shows_parameters_command_and_provenance():
    ctx = _setup()
    html = notebook.reproduce_html(ctx)
    assert "Reproduce this page" in html and "Parameters of this run" in html
    assert "personax run 01_test" in html and "<details" in html and "make book PROFILE=" in html


def test_renamed_parameters_keep_one_meaning_per_name():
    from personax import notebook

    with pytest.warns(FutureWarning, match="'backend' of 02_trait_inference is deprecated.*use -p llm_backend openai"):
        assert notebook.rename_parameters("02_trait_inference", {"backend": "openai"}) == {"llm_backend": "openai"}
    with pytest.warns(FutureWarning, match="use -p test_backend reference"):
        assert notebook.rename_parameters("04b_level1_beyond", {"backend": "reference"}) == {
            "test_backend": "reference"}
    # over several notebooks a value meant for the others is dropped here, without a warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert notebook.rename_parameters("02_trait_inference", {"backend": "reference", "n": 5}, route=True) == {
            "n": 5}
        assert notebook.rename_parameters("01_data", {"backend": "reference"}) == {"backend": "reference"}
    notebook.route_renamed({"backend": "openai"}, ["01_data", "02_trait_inference"])
    with pytest.raises(notebook.ParameterError, match="fits none of its new names: test_backend for 04_independence"):
        notebook.route_renamed({"backend": "openai"}, ["04_independence"])
    with pytest.raises(notebook.ParameterError, match="no notebook of this run uses it"):
        notebook.route_renamed({"backend": "openai"}, ["01_data"])
    # the old name is gone from the notebooks: the checks apply to the new names
    with pytest.raises(notebook.ParameterError, match="test_backend='slow'"):
        notebook.validate_parameters("04_independence", dataset="both", source="sample", n=None, seed=0,
                                     device="cpu", profile="ci", tests="kci", alpha=0.05, test_backend="slow")
