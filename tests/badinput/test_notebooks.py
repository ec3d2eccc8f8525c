"""Each notebook's own parameters: a bad value stops ``personax run`` before a kernel starts,
naming the notebook, the parameter, the value and what is allowed."""

from __future__ import annotations

import pytest

AREA = "notebook parameters"

CASES = [
    ("01_data", "alpha", "1.5", ["alpha=1.5", "> 0 and < 1"]),
    ("01_data", "dataset", "celeb", ["dataset='celeb'", "'celebpersona', 'athlepersona', 'both'"]),
    ("02_trait_inference", "llm_backend", "claude", ["llm_backend='claude'", "'simulated', 'openai', 'transformers'"]),
    ("04b_level1_beyond", "test_backend", "slow", ["test_backend='slow'", "'fast', 'reference'"]),
    ("02_trait_inference", "prompt_id", "number-l4", ["prompt_id='number-l4'", "'number-l3-inc'"]),
    ("02_trait_inference", "dataset", "both", ["dataset='both'", "'celebpersona', 'athlepersona'"]),
    ("03_face_features", "detector", "retinaface", ["detector='retinaface'", "'opencv'"]),
    ("03_face_features", "model", "5", ["model=5", "a string"]),
    ("04_independence", "tests", "[]", ["tests=[]", "The value is empty"]),
    ("05_crl_synthetic", "image_source2", "5", ["image_source2=5", "a string"]),
    ("05_crl_synthetic", "seeds", "3", ["seeds=3", "a list of integers >= 0"]),
    ("05_crl_synthetic", "dataset", "celebpersona", ["dataset='celebpersona'", "'synthetic'"]),
    ("06_crl_realworld", "ci_test", "gsq", ["ci_test='gsq'", "'rcit', 'kci', 'fisherz'"]),
    ("06_crl_realworld", "n_boot", "-1", ["n_boot=-1", ">= 0"]),
    ("06_crl_realworld", "seeds", "[0, -1]", ["seeds=[0, -1]", "-1 is out of range"]),
    ("06_crl_realworld", "pc_covariates", "all", ["pc_covariates='all'", "'biographical'"]),
    ("07_performance", "results_dir", "5", ["results_dir=5", "a string"]),
]


@pytest.mark.parametrize("notebook, name, value, fragments", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_notebook_parameter(bad, tmp_path, notebook, name, value, fragments):
    out = tmp_path / "executed"
    out.mkdir()
    (out / f"{notebook}.ipynb").write_text('{"note": "good earlier result"}')
    bad(["run", notebook, "--out", out, "-p", name, value], code=2,
        names=[notebook, *fragments, "nothing was executed"], watch=[out])


def test_every_notebook_is_checked_before_running():
    """Every notebook of the book calls setup(...) with literal checks the runner can read."""
    from personax import runner

    for source in runner.list_notebooks():
        nb = runner.load_source(source)
        assert runner.check_parameters(nb, source, {}) is not None, f"{source.name}: no setup(...) to check"


def test_independence_test_names_match_the_registry():
    from personax.independence import TESTS
    from personax.notebook import INDEPENDENCE_TESTS

    assert INDEPENDENCE_TESTS == tuple(TESTS)


def test_a_new_registry_spec_is_a_valid_notebook_test_name(monkeypatch):
    """Adding a test is one spec in the registry: notebooks accept its name with no other edit."""
    import dataclasses

    import personax.notebook as nb
    from personax.independence import registry

    spec = dataclasses.replace(registry.TESTS["hsic_hyppo"], name="hsic_sixth")
    monkeypatch.setitem(registry.TESTS, "hsic_sixth", spec)
    common = {"dataset": "both", "source": "sample", "n": None, "seed": 0, "device": "cpu", "profile": "ci",
              "resolve": False}
    ok = nb.validate_parameters("04_independence", tests="kci,hsic_sixth", **common)
    assert "hsic_sixth" in str(ok["extra"]["tests"])
    monkeypatch.delitem(registry.TESTS, "hsic_sixth")
    with pytest.raises(nb.ParameterError, match="hsic_sixth"):
        nb.validate_parameters("04_independence", tests="kci,hsic_sixth", **common)


def test_setup_in_the_kernel_applies_the_same_rules():
    import personax.notebook as nb

    with pytest.raises(nb.ParameterError, match=r"tests=\['kci', 'foo'\].*Unknown: 'foo'"):
        nb.setup("04_independence", dataset="both", source="sample", n=None, seed=0, device="cpu", profile="ci",
                 tests=["kci", "foo"], show=False)
    ctx = nb.setup("04_independence", dataset="both", source="sample", n=None, seed=0, device="cpu", profile="ci",
                   tests=["kci", "hsic"], show=False)
    assert ctx.extra["tests"] == "kci,hsic"
