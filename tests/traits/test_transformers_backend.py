"""The local transformers backend on a tiny random-weight model (no download)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from personax.data.schema import TRAITS  # noqa: E402
from personax.traits import load_example_people, run_inference  # noqa: E402
from personax.traits.backends import TransformersBackend  # noqa: E402
from personax.traits.backends.base import Request  # noqa: E402
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


def _request(fid, rep=0, params=None):
    fmt = get_format(fid)
    msgs = fmt.render("Maren Olwick", description="FICTIONAL actress.")
    return Request("ex01", "Maren Olwick", "FICTIONAL actress.", None, fmt, msgs, params or {}, rep)


def test_constrained_scoring_equals_manual_next_token_distribution(tiny):
    folder, _, _ = tiny
    b = TransformersBackend(str(folder), device="cpu")  # path load: respects HF_HUB_OFFLINE
    raw = b.assess(_request("number-l3-inc"))
    reply = json.loads(raw.text)
    probs = raw.extra["answer_probs"]
    assert set(probs) == set(TRAITS) and raw.finish_reason == "constrained"
    tok, model = b.tokenizer, b.model
    msgs = _request("number-l3-inc").messages
    for trait in TRAITS:
        assert sum(probs[trait].values()) == pytest.approx(1.0, abs=1e-5)
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) + '{"%s": {"score":' % trait
        ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, -1]
        answers = ["0", "1", "2", "3"]
        cand = [tok(" " + a, add_special_tokens=False)["input_ids"] for a in answers]
        assert all(len(c) == 1 for c in cand)  # digits are single tokens: the next-token path is used
        sub = torch.softmax(logits[[c[0] for c in cand]], dim=0).numpy()
        assert np.allclose(sub, [probs[trait][a] for a in answers], atol=1e-5)
        best = max(answers, key=lambda a: probs[trait][a])
        assert reply[trait]["score"] == int(best)


def test_multi_token_answers_use_summed_logprobs(tiny):
    _, model, tok = tiny
    b = TransformersBackend(model, tok, device="cpu", scoring="constrained", model_id="tiny-gpt2")
    raw = b.assess(_request("text-l5-inc"))
    reply = json.loads(raw.text)
    allowed = {"very low", "low", "medium", "high", "very high", "insufficient information"}
    assert all(reply[t]["score"] in allowed for t in TRAITS)
    msgs = _request("text-l5-inc").messages
    prefix = '{"openness": {"score":'
    lp = b.answer_logprobs(msgs, prefix, [' "very high"', ' "insufficient information"'])
    ctx = tok(tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) + prefix,
              add_special_tokens=False)["input_ids"]
    cont = tok(' "insufficient information"', add_special_tokens=False)["input_ids"]
    assert len(cont) > 1
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ctx + cont])).logits[0], -1)
    manual = sum(float(logp[len(ctx) - 1 + i, t]) for i, t in enumerate(cont))
    assert lp[1] == pytest.approx(manual, abs=1e-4)


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
    people = load_example_people().head(2)
    tidy = run_inference(people, {"tiny": b}, "text-l3-inc", tmp_path / "l.jsonl", params={"max_tokens": 12})
    assert set(tidy["status"]) <= {"invalid", "partial", "refused", "ok"}
    assert tidy.loc[tidy["status"] == "invalid", "score"].isna().all()
    recs = Ledger.read(tmp_path / "l.jsonl")
    assert all(r["backend"] == "transformers" and r["model"] == "tiny-gpt2" for r in recs)


def test_constrained_run_through_runner_records_probabilities(tiny, tmp_path):
    _, model, tok = tiny
    b = TransformersBackend(model, tok, device="cpu", model_id="tiny-gpt2")
    people = load_example_people()
    tidy = run_inference(people.iloc[[0, 9]], {"tiny": b}, "number-l5-inc", tmp_path / "l.jsonl")
    assert set(tidy["status"]) == {"ok"} and tidy["score"].between(0, 5).all()
    recs = Ledger.read(tmp_path / "l.jsonl")
    assert all(math.isclose(sum(r["extra"]["answer_probs"]["openness"].values()), 1.0, abs_tol=1e-4) for r in recs)


def test_missing_chat_template_and_missing_model_are_clear_errors(tiny, tmp_path):
    _, model, tok = tiny
    from transformers import PreTrainedTokenizerFast

    bare = PreTrainedTokenizerFast(tokenizer_object=tok.backend_tokenizer, eos_token="<|endoftext|>")
    with pytest.raises(ValueError, match="chat template"):
        TransformersBackend(model, bare, device="cpu")
    with pytest.raises(OSError, match="HF_HUB_OFFLINE"):
        TransformersBackend(str(tmp_path / "no-such-model"), device="cpu")
    with pytest.raises(ValueError, match="scoring"):
        TransformersBackend(model, tok, device="cpu", scoring="vote")


def test_llama_architecture_generates_and_scores(tiny):
    # a second architecture, so the decoding loop's cache handling is not GPT-2 specific
    from transformers import LlamaConfig, LlamaForCausalLM

    _, _, tok = tiny
    eos = tok.eos_token_id
    llama = LlamaForCausalLM(LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=2, num_key_value_heads=2, vocab_size=len(tok),
                                         max_position_embeddings=1024, bos_token_id=eos, eos_token_id=eos,
                                         pad_token_id=eos))
    b = TransformersBackend(llama, tok, device="cpu", max_new_tokens=8, model_id="tiny-llama")
    g1 = b.complete(_request("number-l3-inc").messages, temperature=0)
    g2 = b.complete(_request("number-l3-inc").messages, temperature=0)
    assert g1.text == g2.text and g1.finish_reason in ("stop", "length")
    # greedy decoding with the cache equals greedy decoding without it (first tokens)
    ids = torch.tensor([b._prompt_ids(_request("number-l3-inc").messages)])
    with torch.no_grad():
        first = int(torch.argmax(llama(input_ids=ids).logits[0, -1]))
    if first != eos:
        assert tok.decode([first], skip_special_tokens=True) == g1.text[: len(tok.decode([first]))]
    raw = b.assess(_request("number-l3-inc"))
    assert all(json.loads(raw.text)[t]["score"] in (0, 1, 2, 3) for t in TRAITS)
