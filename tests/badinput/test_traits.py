"""``personax traits run``: what the central error path guarantees (no traceback, clear message,
exit code).  The run semantics (summary, exit codes on HTTP 401 after one request,
``--allow-failures``, ``--retry-invalid``) belong to the traits area and are tested there."""

from __future__ import annotations

import pytest

AREA = "traits run"


def traits(ledger, *extra):
    return ["traits", "run", "--ledger", str(ledger), *extra]


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "runs" / "ledger.jsonl"
    path.parent.mkdir()
    path.write_text('{"earlier": "good line"}\n')
    return path


@pytest.mark.parametrize("extra, fragments", [
    (["--backend", "claude"], ["--backend", "'claude'"]),
    (["--temperature", "hot"], ["--temperature", "'hot'"]),
    (["--repeats", "two"], ["--repeats", "'two'"]),
    (["--backend", "openai"], ["--model is required"]),
    (["--backend", "transformers"], ["--model", "required"]),
])
def test_usage_errors(bad, ledger, extra, fragments):
    bad(traits(ledger, *extra), code=2, names=fragments, watch=[ledger.parent])


def test_missing_people_file(bad, ledger, tmp_path):
    bad(traits(ledger, "--people", tmp_path / "nobody.csv"), code=1, names=["nobody.csv", "No such file"],
        watch=[ledger.parent])


def test_package_error_from_the_backend_is_one_clear_message(bad, ledger, monkeypatch):
    """A PersonaXError raised anywhere inside the command (here: an HTTP 401) prints no traceback."""
    import personax.traits as traits_pkg
    from personax.errors import BackendError

    def refuse(*args, **kwargs):
        raise BackendError("HTTP 401 from https://api.example.org/v1: the API key was rejected",
                           hint="check the key in $OPENAI_API_KEY")

    monkeypatch.setattr(traits_pkg, "run_inference", refuse)
    bad(traits(ledger), code=1, names=["HTTP 401", "fix: check the key in $OPENAI_API_KEY"], watch=[ledger.parent])


def test_debug_shows_the_traceback_of_a_package_error(ledger, monkeypatch, cli):
    import personax.traits as traits_pkg
    from personax.errors import BackendError

    def refuse(*args, **kwargs):
        raise BackendError("HTTP 401: the API key was rejected")

    monkeypatch.setattr(traits_pkg, "run_inference", refuse)
    for argv, env in ((traits(ledger, "--debug"), None), (traits(ledger), {"PERSONAX_DEBUG": "1"})):
        code, _, err = cli(argv, env=env)
        assert code == 1 and "Traceback (most recent call last)" in err and "error: HTTP 401" in err


def test_an_unexpected_exception_is_reported_as_a_bug(ledger, monkeypatch, cli):
    """Not a user mistake: the traceback stays, with one line saying it is a bug and where to report it."""
    import personax.traits as traits_pkg

    def crash(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(traits_pkg, "run_inference", crash)
    code, _, err = cli(traits(ledger))
    assert code == 70
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err
    assert err.strip().splitlines()[-1].startswith("personax: this is a bug in personax")
