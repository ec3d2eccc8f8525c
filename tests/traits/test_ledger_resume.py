"""Ledger crash safety: a run killed with SIGKILL resumes with nothing lost and nothing re-sent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from personax.traits.ledger import LEDGER_SCHEMA, Ledger, request_key

KEY_ENV = "PERSONAX_TEST_LLM_KEY"

CHILD = textwrap.dedent("""
    import sys
    import pandas as pd
    from personax.traits import run_inference
    from personax.traits.backends import OpenAICompatBackend

    url, ledger, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    people = pd.DataFrame({"person_id": [f"p{i:03d}" for i in range(n)],
                           "name": [f"Person {i:03d}" for i in range(n)],
                           "description": ["FICTIONAL test person."] * n})
    b = OpenAICompatBackend("test-model", url, api_key_env="PERSONAX_TEST_LLM_KEY", timeout=10,
                            max_retries=2, backoff_base=0.01, max_concurrency=2)
    out = run_inference(people, {"m": b}, "number-l3-inc", ledger, show_progress=False)
    print("RUN", out.attrs["run"])
""")


@pytest.mark.slow
def test_kill_9_mid_run_then_resume(scripted_server, http_helpers, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-child-secret-42")
    n, concurrency = 40, 2
    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))
    script_path = tmp_path / "child.py"
    script_path.write_text(CHILD)
    ledger = tmp_path / "ledger.jsonl"
    env = {**os.environ, KEY_ENV: "sk-child-secret-42", "PERSONAX_QUIET": "1"}
    with scripted_server(lambda body, seen: (200, good, {}, 0.05)) as srv:
        child = subprocess.Popen([sys.executable, str(script_path), srv.base_url, str(ledger), str(n)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if ledger.exists() and ledger.read_text().count("\n") >= 12:
                break
            if child.poll() is not None:
                pytest.fail(f"child ended early: {child.stderr.read().decode()[-2000:]}")
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        before = Ledger.read(ledger)
        sent_before_kill = len(srv.log)
        assert 12 <= len(before) < n, "the kill must land mid-run"
        # Emulate the worst case of a kill during a write: a torn last line without newline.
        with open(ledger, "ab") as fh:
            fh.write(b'{"schema": "' + LEDGER_SCHEMA.encode() + b'", "key": "abc", "person_id": "p0')
        before_bytes = ledger.read_bytes()

        done = subprocess.run([sys.executable, str(script_path), srv.base_url, str(ledger), str(n)],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "truncated last line" in done.stderr  # the repair is announced, not silent
    after = Ledger.read(ledger)
    keys = [r["key"] for r in after]
    # nothing lost: every person answered exactly once, all ok
    assert len(after) == n and len(set(keys)) == n
    assert {r["person_id"] for r in after} == {f"p{i:03d}" for i in range(n)}
    assert all(r["status"] == "ok" for r in after)
    # the lines written before the kill are untouched (the torn tail was cut off)
    good_prefix = b"".join(line + b"\n" for line in before_bytes.split(b"\n")[:-1])
    assert ledger.read_bytes().startswith(good_prefix)
    # nothing sent twice: people recorded before the kill were never asked again
    recorded_before = {r["person_id"] for r in before}
    names = {f"p{i:03d}": f"Person {i:03d}" for i in range(n)}
    for pid in recorded_before:
        assert srv.per_person[names[pid]] == 1, pid
    # only requests in flight at the kill (sent, reply never recorded) may be re-sent
    resent = sum(c - 1 for c in srv.per_person.values() if c > 1)
    assert resent <= concurrency
    assert len(srv.log) == n + resent
    assert "sk-child-secret-42" not in ledger.read_text()
    print(f"\nLEDGER RESUME: n={n}; before kill: {len(before)} lines recorded, {sent_before_kill} requests sent; "
          f"after resume: {len(after)} lines, {len(srv.log)} requests in total, {resent} re-sent (in flight at kill)")


def test_corrupt_middle_line_is_an_error_not_a_guess(tmp_path):
    p = tmp_path / "l.jsonl"
    good = json.dumps({"schema": LEDGER_SCHEMA, "key": "a", "person_id": "x", "status": "ok"})
    p.write_text(good + "\n" + "{not json\n" + good + "\n")
    with pytest.raises(ValueError, match="line 2"):
        Ledger(p).open()


def test_torn_last_line_is_dropped_with_warning_and_file_repaired(tmp_path):
    p = tmp_path / "l.jsonl"
    good = json.dumps({"schema": LEDGER_SCHEMA, "key": "a", "person_id": "x", "status": "ok"})
    p.write_text(good + "\n" + '{"schema": "x", "ke')
    with pytest.warns(RuntimeWarning, match="truncated"):
        led = Ledger(p).open()
    led.close()
    assert p.read_text() == good + "\n"
    assert led.state.done == {"a"} and led.state.truncated_bytes == len('{"schema": "x", "ke')


def test_ledger_refuses_secret_like_params(tmp_path):
    with Ledger(tmp_path / "l.jsonl") as led:
        with pytest.raises(ValueError, match="secret"):
            led.append({"key": "k", "person_id": "p", "status": "ok", "params": {"api_key": "sk-1"}})
    assert (tmp_path / "l.jsonl").read_text() == ""


def test_request_key_depends_on_every_identity_field():
    base = dict(person_id="p", llm="l", backend="b", model="m", prompt_id="f", prompt_hash="h",
                params={"temperature": 0}, repeat=0)
    k0 = request_key(**base)
    for field, other in [("person_id", "q"), ("llm", "l2"), ("model", "m2"), ("prompt_hash", "h2"),
                         ("params", {"temperature": 0.7}), ("repeat", 1)]:
        assert request_key(**{**base, field: other}) != k0, field
    assert request_key(**{**base, "params": {"temperature": 0}}) == k0


def test_version_1_lines_are_read_and_their_partial_scores_not_used(tmp_path):
    """Ledgers written by parser version 1 still resume; its 'partial' replies no longer feed scores."""
    from personax.traits.run import ledger_frame, wide_scores

    def v1(key, person, status, scores):
        return json.dumps({"schema": "personax.traits.ledger/1", "key": key, "person_id": person, "llm": "m",
                           "backend": "openai", "model": "m", "prompt_id": "number-l3-inc", "prompt_hash": "h",
                           "repeat": 0, "status": status, "scores": scores, "reasons": {}, "attempts": 1})

    p = tmp_path / "old.jsonl"
    full = {"openness": 1, "conscientiousness": 2, "extraversion": 3, "agreeableness": 0, "neuroticism": 1}
    part = {**full, "openness": None}
    p.write_text(v1("a", "p1", "ok", full) + "\n" + v1("b", "p2", "partial", part) + "\n"
                 + v1("c", "p3", "invalid", {t: None for t in full}) + "\n")
    led = Ledger(p).open()
    led.close()
    assert led.state.done == {"a", "b", "c"}
    strict = ledger_frame(p)
    assert strict.groupby("person_id")["score"].count().to_dict() == {"p1": 5, "p2": 0, "p3": 0}
    assert set(strict.loc[strict.person_id == "p3", "group"]) == {"invalid"}
    lenient = ledger_frame(p, allow_partial=True)
    assert lenient.groupby("person_id")["score"].count().to_dict() == {"p1": 5, "p2": 4, "p3": 0}
    assert wide_scores(lenient).loc["p2"].isna().all()  # wide_scores uses ok replies unless asked
    assert wide_scores(lenient, statuses=("ok", "partial")).loc["p2"].notna().sum() == 4
    # a new line is written with the current schema, after the old ones
    with Ledger(p) as led:
        led.append({"key": "d", "person_id": "p4", "status": "ok"})
    assert json.loads(p.read_text().splitlines()[-1])["schema"] == LEDGER_SCHEMA == "personax.traits.ledger/2"
