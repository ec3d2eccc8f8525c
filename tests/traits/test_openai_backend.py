"""The OpenAI-compatible HTTP backend against a real HTTP server on loopback."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from personax.traits import run_inference
from personax.traits.backends import OpenAICompatBackend
from personax.traits.backends.openai_compat import BackendError
from personax.traits.ledger import Ledger

KEY_ENV = "PERSONAX_TEST_LLM_KEY"
SECRET = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    return SECRET


def _people(n=3):
    return pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "name": [f"Person {i}" for i in range(n)],
                         "description": [f"FICTIONAL test person number {i}." for i in range(n)]})


def _backend(url, sleeps, **kw):
    opts = dict(api_key_env=KEY_ENV, timeout=2.0, max_retries=3, backoff_base=0.01, backoff_max=0.05,
                sleep=lambda s: sleeps.append(s), seed=0)
    opts.update(kw)
    return OpenAICompatBackend("test-model", url, **opts)


def test_success_sends_key_in_header_only(scripted_server, http_helpers, secret_env, tmp_path):
    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))
    with scripted_server(lambda body, seen: (200, good, {}, 0)) as srv:
        sleeps: list[float] = []
        b = _backend(srv.base_url, sleeps, max_concurrency=2)
        ledger = tmp_path / "ledger.jsonl"
        tidy = run_inference(_people(3), {"m": b}, "number-l3-inc", ledger, params={"temperature": 0})
    assert len(srv.log) == 3
    assert all(r["path"] == "/v1/chat/completions" for r in srv.log)
    assert all(r["headers"]["Authorization"] == f"Bearer {SECRET}" for r in srv.log)
    assert all(r["body"]["model"] == "test-model" and r["body"]["temperature"] == 0 for r in srv.log)
    assert sleeps == []
    assert set(tidy["status"]) == {"ok"}
    got = tidy[tidy.person_id == "p0"].set_index("trait")["score"]
    assert got["openness"] == 2 and got["agreeableness"] == 0 and got["conscientiousness"] == 3
    # the key appears nowhere in what we wrote or return
    assert SECRET not in ledger.read_text()
    assert SECRET not in tidy.to_csv()
    assert SECRET not in json.dumps(b.describe())
    rec = Ledger.read(ledger)[0]
    assert rec["model_reported"] == "test-model" and rec["usage"]["total_tokens"] == 15


def test_429_with_retry_after_then_success(scripted_server, http_helpers, secret_env):
    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))

    def script(body, seen):
        if seen < 2:
            return 429, b'{"error": "rate limited"}', {"Retry-After": "0.2"}, 0
        return 200, good, {}, 0

    with scripted_server(script) as srv:
        sleeps: list[float] = []
        b = _backend(srv.base_url, sleeps)
        raw = b.complete([{"role": "user", "content": "Name: A"}])
    assert raw.error is None and raw.attempts == 3
    assert len(srv.log) == 3
    # two back-offs, each at least the server's Retry-After although the jitter cap is 0.05 s
    assert len(sleeps) == 2 and all(s >= 0.2 for s in sleeps)


def test_500s_exhaust_bounded_retries_with_exponential_backoff(scripted_server, secret_env):
    with scripted_server(lambda body, seen: (500, b"internal error", {}, 0)) as srv:
        sleeps: list[float] = []
        b = _backend(srv.base_url, sleeps, max_retries=4, backoff_base=0.01, backoff_max=10.0)
        raw = b.complete([{"role": "user", "content": "Name: A"}])
    assert raw.text is None and "HTTP 500" in raw.error and "gave up after 5 attempts" in raw.error
    assert raw.attempts == 5 and len(srv.log) == 5 and len(sleeps) == 4
    # full jitter in [0.5, 1] x base * 2**i: each delay lies in its own window
    for i, s in enumerate(sleeps):
        assert 0.5 * 0.01 * 2 ** i <= s <= 0.01 * 2 ** i + 1e-12


def test_4xx_is_not_retried_and_error_is_redacted(scripted_server, secret_env):
    echo = json.dumps({"error": f"invalid key {SECRET}"}).encode()
    with scripted_server(lambda body, seen: (401, echo, {}, 0)) as srv:
        sleeps: list[float] = []
        raw = _backend(srv.base_url, sleeps).complete([{"role": "user", "content": "Name: A"}])
    assert len(srv.log) == 1 and sleeps == []
    assert "HTTP 401" in raw.error and SECRET not in raw.error and "***" in raw.error
    assert KEY_ENV in raw.error  # says which variable to check
    assert raw.fatal and KEY_ENV in raw.hint and SECRET not in raw.hint


@pytest.mark.parametrize("status,body,what,fix", [
    (403, b'{"error": "forbidden"}', "not allowed", "has access to model"),
    (404, b'{"error": "no route"}', "nothing answers at", "--base-url"),
    (404, b'{"error": {"message": "The model `test-model` does not exist", "code": "model_not_found"}}',
     "does not know the model", "--model"),
    (400, b'{"error": "model \'test-model\' not found, try pulling it first"}', "does not know the model", "--model"),
])
def test_fatal_replies_name_the_fix(scripted_server, secret_env, status, body, what, fix):
    with scripted_server(lambda b, seen: (status, body, {}, 0)) as srv:
        raw = _backend(srv.base_url, []).complete([{"role": "user", "content": "Name: A"}])
    assert raw.fatal and raw.text is None and len(srv.log) == 1
    assert what in raw.error and fix in raw.hint


def test_a_person_specific_4xx_is_recorded_not_fatal(scripted_server, http_helpers, secret_env, tmp_path):
    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))

    def script(body, seen):
        if http_helpers.person_of(body) == "Person 1":
            return 400, b'{"error": "This model\'s maximum context length is 8192 tokens"}', {}, 0
        return 200, good, {}, 0

    with scripted_server(script) as srv:
        tidy = run_inference(_people(3), {"m": _backend(srv.base_url, [])}, "number-l3-inc", tmp_path / "l.jsonl")
    st = tidy.drop_duplicates("person_id").set_index("person_id")["status"]
    assert st.to_dict() == {"p0": "ok", "p1": "error", "p2": "ok"} and len(srv.log) == 3
    assert tidy.attrs["summary"].groups == {"ok": 2, "invalid": 0, "refused": 0, "error": 1}


def test_401_stops_the_run_after_one_request(scripted_server, secret_env, tmp_path):
    from personax.errors import BackendError as PxBackendError

    ledger = tmp_path / "l.jsonl"
    with scripted_server(lambda body, seen: (401, b'{"error": "bad key"}', {}, 0)) as srv:
        b = _backend(srv.base_url, [], max_concurrency=4)
        with pytest.raises(PxBackendError) as info:
            run_inference(_people(30), {"m": b}, "number-l3-inc", ledger)
    assert len(srv.log) == 1  # not 30
    assert "HTTP 401" in str(info.value) and KEY_ENV in info.value.hint and "stopped" in str(info.value)
    assert Ledger.read(ledger) == []  # nothing about any person was learnt


def test_a_fatal_reply_mid_run_stops_after_the_requests_in_flight(scripted_server, http_helpers, secret_env,
                                                                  tmp_path):
    from personax.errors import BackendError as PxBackendError

    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))
    count = {"n": 0}

    def script(body, seen):
        count["n"] += 1
        return (200, good, {}, 0.02) if count["n"] <= 5 else (401, b"key revoked", {}, 0.02)

    with scripted_server(script) as srv:
        with pytest.raises(PxBackendError):
            run_inference(_people(40), {"m": _backend(srv.base_url, [], max_concurrency=3)}, "number-l3-inc",
                          tmp_path / "l.jsonl")
    recs = Ledger.read(tmp_path / "l.jsonl")
    assert len(recs) == 5 and all(r["status"] == "ok" for r in recs)
    assert len(srv.log) <= 5 + 3  # the first fatal reply plus at most the requests already in flight


def test_malformed_body_is_retried_and_malformed_content_is_parsed_as_invalid(
        scripted_server, http_helpers, secret_env, tmp_path):
    def script(body, seen):
        who = http_helpers.person_of(body)
        if who == "Person 0" and seen == 0:
            return 200, b'{"choices": [ this is not json', {}, 0  # broken HTTP body: retried
        if who == "Person 1":
            return 200, http_helpers.chat_body('{"openness": 2, "conscientiousness": '), {}, 0  # broken JSON reply
        return 200, http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY)), {}, 0

    with scripted_server(script) as srv:
        sleeps: list[float] = []
        tidy = run_inference(_people(2), {"m": _backend(srv.base_url, sleeps)}, "number-l3-inc",
                             tmp_path / "l.jsonl")
    st = tidy.drop_duplicates("person_id").set_index("person_id")
    assert st.loc["p0", "status"] == "ok" and st.loc["p0", "attempts"] == 2
    # the model's malformed JSON is not retried (that would re-ask the model) but recorded
    assert st.loc["p1", "attempts"] == 1 and st.loc["p1", "status"] == "malformed"
    assert st.loc["p1", "group"] == "invalid"
    assert srv.per_person["Person 1"] == 1


def test_slow_reply_hits_timeout_and_is_retried(scripted_server, http_helpers, secret_env):
    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))

    def script(body, seen):
        return (200, good, {}, 1.5) if seen == 0 else (200, good, {}, 0)

    with scripted_server(script) as srv:
        sleeps: list[float] = []
        raw = _backend(srv.base_url, sleeps, timeout=0.4).complete([{"role": "user", "content": "Name: A"}])
    assert raw.error is None and raw.attempts == 2 and len(sleeps) == 1


def test_timeouts_every_time_give_error_status(scripted_server, http_helpers, secret_env, tmp_path):
    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))
    with scripted_server(lambda body, seen: (200, good, {}, 0.6)) as srv:
        sleeps: list[float] = []
        b = _backend(srv.base_url, sleeps, timeout=0.2, max_retries=1)
        tidy = run_inference(_people(1), {"m": b}, "number-l3-inc", tmp_path / "l.jsonl")
    assert set(tidy["status"]) == {"error"} and tidy["score"].isna().all()
    rec = Ledger.read(tmp_path / "l.jsonl")[0]
    assert rec["raw_text"] is None and "timeout" in rec["error"] and rec["attempts"] == 2
    # an errored request is not done: a rerun asks again
    with scripted_server(lambda body, seen: (200, good, {}, 0)) as srv2:
        b2 = _backend(srv2.base_url, sleeps, timeout=2.0)
        tidy2 = run_inference(_people(1), {"m": b2}, "number-l3-inc", tmp_path / "l.jsonl")
    assert len(srv2.log) == 1 and set(tidy2["status"]) == {"ok"}


def test_retry_after_beyond_cap_fails_fast(scripted_server, secret_env):
    with scripted_server(lambda body, seen: (503, b"busy", {"Retry-After": "3600"}, 0)) as srv:
        sleeps: list[float] = []
        raw = _backend(srv.base_url, sleeps, max_retry_after=10).complete([{"role": "user", "content": "x"}])
    assert len(srv.log) == 1 and sleeps == [] and "exceeds max_retry_after" in raw.error


def test_missing_key_variable_is_a_clear_configuration_error(monkeypatch, tmp_path):
    monkeypatch.delenv(KEY_ENV, raising=False)
    b = OpenAICompatBackend("m", "http://127.0.0.1:9/v1", api_key_env=KEY_ENV)
    with pytest.raises(BackendError, match=KEY_ENV):
        b.complete([{"role": "user", "content": "x"}])
    with pytest.raises(BackendError):
        run_inference(_people(1), {"m": b}, "number-l3-inc", tmp_path / "l.jsonl")
    assert Ledger.read(tmp_path / "l.jsonl") == []  # nothing recorded for a configuration error


def test_constructor_rejects_a_key_passed_as_variable_name():
    with pytest.raises(ValueError, match="NAME of an environment variable"):
        OpenAICompatBackend("m", "http://127.0.0.1/v1", api_key_env="sk-abc123")
    with pytest.raises(ValueError, match="credentials"):
        OpenAICompatBackend("m", "http://127.0.0.1/v1", extra_headers={"Authorization": "Bearer x"})
    with pytest.raises(ValueError, match="http"):
        OpenAICompatBackend("m", "localhost:11434")


def test_concurrency_is_bounded(scripted_server, http_helpers, secret_env, tmp_path):
    import threading

    good = http_helpers.chat_body(json.dumps(http_helpers.GOOD_REPLY))
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def script(body, seen):
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        import time
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return 200, good, {}, 0

    with scripted_server(script) as srv:
        b = _backend(srv.base_url, [], max_concurrency=3)
        run_inference(_people(9), {"m": b}, "number-l3-inc", tmp_path / "l.jsonl")
    assert len(srv.log) == 9 and 2 <= active["max"] <= 3
