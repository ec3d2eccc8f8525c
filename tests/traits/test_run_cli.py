"""``personax traits run`` tells the truth: fatal backends stop at once, a summary is printed,
the exit status follows the documented rules, and ``--retry-invalid`` re-asks exactly the
invalid replies while the ledger keeps the old lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from personax.cli import main
from personax.errors import PersonaXError
from personax.traits import ledger_frame, run_inference
from personax.traits.backends import OpenAICompatBackend
from personax.traits.ledger import Ledger

KEY_ENV = "PERSONAX_TEST_LLM_KEY"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-cli-test-secret-7")
    return "sk-cli-test-secret-7"


def cli(argv, capsys):
    """Exit code, stdout, stderr of one in-process command (with or without the central handler)."""
    try:
        code = main([str(a) for a in argv])
        message = ""
    except PersonaXError as exc:  # before the central handler exists, errors propagate
        code, message = exc.exit_code, f"error: {exc}"
    out, err = capsys.readouterr()
    return code, out, err + message


def people_csv(tmp_path, n):
    path = tmp_path / "people.csv"
    pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "name": [f"Person {i}" for i in range(n)],
                  "description": ["FICTIONAL test person."] * n}).to_csv(path, index=False)
    return path


def openai_args(srv, tmp_path, n, *extra):
    return ["traits", "run", "--backend", "openai", "--model", "test-model", "--base-url", srv.base_url,
            "--api-key-env", KEY_ENV, "--people", people_csv(tmp_path, n), "--ledger", tmp_path / "ledger.jsonl",
            "--max-retries", "0", "--timeout", "5", *extra]


def scripted(http_helpers, replies):
    """A server script answering person i with replies[i] (a JSON-able dict, a string, or an int status)."""
    def script(body, seen):
        who = http_helpers.person_of(body)
        reply = replies[int(who.split()[-1])]
        if isinstance(reply, int):
            return reply, b'{"error": "server trouble"}', {}, 0
        text = reply if isinstance(reply, str) else json.dumps(reply)
        return 200, http_helpers.chat_body(text), {}, 0
    return script


def test_401_exits_non_zero_after_one_request(scripted_server, key, tmp_path, capsys):
    with scripted_server(lambda body, seen: (401, b'{"error": "invalid api key"}', {}, 0)) as srv:
        code, out, err = cli(openai_args(srv, tmp_path, 60, "--concurrency", "4"), capsys)
    assert code == 1 and len(srv.log) == 1
    assert "HTTP 401" in err and KEY_ENV in err and "fix:" in err
    assert key not in err + out
    assert Ledger.read(tmp_path / "ledger.jsonl") == []


def test_401_exit_status_of_the_real_command(scripted_server, key, tmp_path):
    """The same through a separate process: what a shell script sees."""
    with scripted_server(lambda body, seen: (401, b'{"error": "invalid api key"}', {}, 0)) as srv:
        proc = subprocess.run([sys.executable, "-m", "personax.cli", *map(str, openai_args(srv, tmp_path, 20))],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, KEY_ENV: key, "PERSONAX_QUIET": "1"})
    assert proc.returncode != 0 and len(srv.log) == 1
    assert "HTTP 401" in proc.stderr and key not in proc.stderr + proc.stdout


def test_summary_and_exit_zero_when_some_succeed(scripted_server, http_helpers, key, tmp_path, capsys):
    good = http_helpers.GOOD_REPLY
    replies = [good, "I'm sorry, but I can't help with that.", '{"openness": 2', good]
    with scripted_server(scripted(http_helpers, replies)) as srv:
        code, out, err = cli(openai_args(srv, tmp_path, 4), capsys)
    assert code == 0, err
    assert "final status of the requested work: ok 2, invalid 1, refused 1, error 0" in out
    assert "p2 / test-model / number-l3-inc: malformed" in out and "p1 / test-model / number-l3-inc: refused" in out


def test_nothing_succeeded_exits_1_unless_failures_are_allowed(scripted_server, http_helpers, key, tmp_path,
                                                               capsys):
    replies = ["no scores here"] * 3
    with scripted_server(scripted(http_helpers, replies)) as srv:
        code, out, err = cli(openai_args(srv, tmp_path, 3), capsys)
        assert code == 1 and "no request ended with a usable reply" in err
        assert "invalid 3" in out
        code, out, err = cli(openai_args(srv, tmp_path, 3, "--allow-failures"), capsys)
    assert code == 0 and "invalid 3" in out
    assert len(srv.log) == 3  # the second run only read the ledger


def test_errors_beyond_max_error_rate_exit_1(scripted_server, http_helpers, key, tmp_path, capsys):
    good = http_helpers.GOOD_REPLY
    replies = [good, good, good, 500]
    with scripted_server(scripted(http_helpers, replies)) as srv:
        code, out, err = cli(openai_args(srv, tmp_path, 4), capsys)
        assert code == 1 and "1 of 4 requests got no reply" in err and "error 1" in out
        # a rerun resumes: only the errored request is sent again
        code, out, err = cli(openai_args(srv, tmp_path, 4, "--max-error-rate", "0.3"), capsys)
        assert code == 0, err
    assert [r["person"] for r in srv.log].count("Person 3") == 2 and len(srv.log) == 5


def test_invalid_rate_limit(scripted_server, http_helpers, key, tmp_path, capsys):
    good = http_helpers.GOOD_REPLY
    with scripted_server(scripted(http_helpers, [good, "nothing", "nothing", good])) as srv:
        code, out, err = cli(openai_args(srv, tmp_path, 4, "--max-invalid-rate", "0.25"), capsys)
    assert code == 1 and "invalid or refused rate 50.0%" in err


def test_retry_invalid_reasks_exactly_the_invalid_people(scripted_server, http_helpers, key, tmp_path, capsys):
    good = http_helpers.GOOD_REPLY
    first = [good, '{"openness": 9, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, '
                   '"neuroticism": 2}', "I'm sorry, but I can't help with that.", '{"O": 1', good, "no scores"]
    answers = {"n": 0}

    def script(body, seen):
        who = int(http_helpers.person_of(body).split()[-1])
        answers["n"] += 1
        reply = first[who] if seen == 0 else good
        return 200, http_helpers.chat_body(reply if isinstance(reply, str) else json.dumps(reply)), {}, 0

    with scripted_server(script) as srv:
        code, out, _ = cli(openai_args(srv, tmp_path, 6), capsys)
        assert code == 0 and "ok 2, invalid 3, refused 1" in out
        code, out, _ = cli(openai_args(srv, tmp_path, 6, "--retry-invalid", "--retry-temperature", "0.7"), capsys)
        assert code == 0 and "3 re-asked" in out and "ok 5, invalid 0, refused 1" in out
        retried = [r for r in srv.log[6:]]
        code, out, _ = cli(openai_args(srv, tmp_path, 6, "--retry-invalid"), capsys)  # nothing invalid is left
    assert sorted(r["person"] for r in retried) == ["Person 1", "Person 3", "Person 5"]  # not the refusal
    assert all(r["body"]["temperature"] == 0.7 for r in retried)
    assert len(srv.log) == 9 and "0 sent now" in out
    recs = Ledger.read(tmp_path / "ledger.jsonl")
    by_person = {}
    for r in recs:
        by_person.setdefault(r["person_id"], []).append(r)
    assert {p: len(v) for p, v in by_person.items()} == {"p0": 1, "p1": 2, "p2": 1, "p3": 2, "p4": 1, "p5": 2}
    # the old line is kept as history, first; the new one wins and records what was sent
    assert [r["status"] for r in by_person["p1"]] == ["out_of_range", "ok"]
    assert by_person["p1"][1]["retry"] == 1 and by_person["p1"][1]["params_sent"]["temperature"] == 0.7
    assert by_person["p1"][1]["params"]["temperature"] == 0.0 and by_person["p1"][0]["key"] == by_person["p1"][1]["key"]
    tidy = ledger_frame(tmp_path / "ledger.jsonl")
    assert set(tidy.loc[tidy.person_id == "p1", "status"]) == {"ok"}


def test_retry_statuses_in_python(scripted_server, http_helpers, key, tmp_path):
    good = http_helpers.GOOD_REPLY
    replies = {0: "I'm sorry, but I can't help with that.", 1: "no scores", 2: good}

    def script(body, seen):
        who = int(http_helpers.person_of(body).split()[-1])
        reply = replies[who] if seen == 0 else good
        return 200, http_helpers.chat_body(reply if isinstance(reply, str) else json.dumps(reply)), {}, 0

    people = pd.read_csv(people_csv(tmp_path, 3), dtype=str)
    ledger = tmp_path / "l.jsonl"
    with scripted_server(script) as srv:
        b = OpenAICompatBackend("test-model", srv.base_url, api_key_env=KEY_ENV, max_retries=0)
        run_inference(people, {"m": b}, "number-l3-inc", ledger)
        again = run_inference(people, {"m": b}, "number-l3-inc", ledger, retry_statuses=["refused"])
    assert [r["person"] for r in srv.log[3:]] == ["Person 0"]
    assert again.attrs["summary"].retried == 1
    assert again.attrs["summary"].groups == {"ok": 2, "invalid": 1, "refused": 0, "error": 0}


def test_usage_errors_name_the_option(tmp_path, capsys):
    ledger = tmp_path / "l.jsonl"
    for argv, needle in ((["--backend", "openai"], "--model is required"),
                         (["--backend", "transformers"], "--model is required"),
                         (["--prompt", "number-l9-inc"], "unknown prompt format"),
                         (["--backend", "simulated", "--model", "grok"], "unknown simulated rater"),
                         (["--retry-status", "bogus"], "unknown reply status")):
        code, out, err = cli(["traits", "run", "--ledger", ledger, *argv], capsys)
        assert code == 2 and needle in err, (argv, err)
    assert not ledger.exists()
    code, out, err = cli(["traits", "run", "--ledger", ledger, "--people", tmp_path / "nobody.csv"], capsys)
    assert code == 1 and "nobody.csv" in err and "No such file" in err
    (tmp_path / "empty.csv").write_text("")
    code, out, err = cli(["traits", "run", "--ledger", ledger, "--people", tmp_path / "empty.csv"], capsys)
    assert code == 1 and "is empty" in err
    (tmp_path / "cols.csv").write_text("id,who\n1,x\n")
    code, out, err = cli(["traits", "run", "--ledger", ledger, "--people", tmp_path / "cols.csv"], capsys)
    assert code == 1 and "person_id" in err
