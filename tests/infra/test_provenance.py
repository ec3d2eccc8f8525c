"""Provenance records: complete, JSON-serialisable, and free of secrets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from personax import provenance

FIELDS = {"notebook", "parameters", "redacted", "seed", "git", "packages", "personax_version", "python",
          "platform", "device", "time_utc"}


def test_record_has_all_fields_and_serialises():
    record = provenance.collect({"seed": np.int64(3), "n": None, "alpha": np.float32(0.5),
                                 "path": Path("/tmp/x"), "tests": ("kci", "hsic"), "device": "cpu"},
                                notebook="04_independence")
    assert FIELDS <= set(record)
    text = json.dumps(record)  # raises if anything is not JSON
    assert json.loads(text)["parameters"] == {"seed": 3, "n": None, "alpha": 0.5, "path": "/tmp/x",
                                              "tests": ["kci", "hsic"], "device": "cpu"}
    assert record["seed"] == 3 and record["notebook"] == "04_independence"
    for package in ("personax", "numpy", "pandas", "torch", "causal-learn", "hyppo", "pingouin", "transformers",
                    "deepface"):
        assert package in record["packages"]
    assert record["packages"]["numpy"] == np.__version__
    assert record["device"]["requested"] == "cpu" and record["device"]["resolved"] == "cpu"
    assert record["time_utc"].endswith("+00:00")


def test_git_commit_matches_checkout():
    root = Path(__file__).resolve().parents[2]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not running from a git checkout")
    info = provenance.git_info(root)
    assert info["commit"] == head.stdout.strip()
    assert isinstance(info["dirty"], bool)


def test_git_info_without_a_repository_or_git(tmp_path, monkeypatch):
    info = provenance.git_info(tmp_path)
    assert info["commit"] is None and info["error"]
    monkeypatch.setenv("PATH", str(tmp_path))  # no git binary on PATH
    info = provenance.git_info(tmp_path)
    assert info["commit"] is None and info["error"] == "git is not installed"


@pytest.mark.parametrize("name", ["api_key", "OPENAI_API_KEY", "hf_token", "token", "password", "dbPassword",
                                  "client_secret", "aws_secret_access_key", "auth", "credentials"])
def test_secret_looking_names_are_dropped(name):
    record = provenance.collect({"seed": 0, name: "value-that-must-not-leak"})
    assert name not in record["parameters"]
    assert name in record["redacted"]
    assert "value-that-must-not-leak" not in json.dumps(record)


@pytest.mark.parametrize("name", ["max_new_tokens", "keyword", "monkey", "n_keys_shown", "seed", "tokenizer"])
def test_ordinary_names_are_kept(name):
    kept, dropped = provenance.redact({name: 1})
    assert name in kept and not dropped


def test_token_shaped_values_are_dropped_whatever_the_name():
    kept, dropped = provenance.redact({"model": "hf_" + "a" * 30, "other": "sk-" + "b" * 30, "fine": "gpt-4o"})
    assert set(kept) == {"fine"} and dropped == ["model", "other"]


def test_non_finite_floats_become_strings():
    assert provenance.jsonable({"x": float("nan"), "y": np.inf}) == {"x": "nan", "y": "inf"}


def test_write_round_trips(tmp_path):
    record = provenance.collect({"seed": 1})
    path = provenance.write(record, tmp_path / "a" / "p.json")
    assert json.loads(path.read_text()) == json.loads(json.dumps(record))
