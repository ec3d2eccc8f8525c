"""Backend for a local Hugging Face causal language model (CPU or GPU).

Two ways to answer:

``scoring="constrained"`` (default for number formats)
    For each trait in turn, the prompt (through the model's chat template) is followed by
    the start of the JSON reply the prompt asks for, pinned to that trait
    (``{"openness": {"score":``), and the log-probability of every allowed answer
    (``" 0"``, ``" 1"``, ... or ``' "low"'``, ``' "very high"'``, ...) is computed; the
    answer with the highest probability is taken.  With single-token answers this is the next-token distribution restricted
    to the allowed tokens; multi-token answers are scored by their summed token
    log-probabilities.  No free text is parsed; the answer probabilities go to the ledger.
``scoring="generate"`` (default for text formats)
    Greedy (``temperature=0``) or seeded sampling decoding of a full reply, parsed like any
    other LLM reply.  Sampling uses a private ``torch.Generator``, never global RNG.

Loading goes through ``from_pretrained`` and therefore respects ``HF_HUB_OFFLINE=1``: a
model that is neither a local folder nor in the local Hugging Face cache fails with a
message saying so.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from personax.data.schema import TRAITS
from personax.traits.backends.base import ChatBackend, RawResponse, Request
from personax.utils import resolve_device



def score_prefix(trait: str) -> str:
    """Assistant-turn prefix used by constrained scoring: the requested JSON, opened at ``trait``."""
    return '{"%s": {"score":' % trait


def answer_strings(fmt) -> list[str]:
    """Continuations scored for each answer of ``fmt`` (insufficient information first)."""
    levels = [fmt.insufficient] + sorted(fmt.scale, key=lambda s: s.value)
    if fmt.answer_kind == "number":
        return [" " + lvl.answer for lvl in levels]
    return [' "%s"' % lvl.answer for lvl in levels]  # closing quote included: "low" must end


class TransformersBackend(ChatBackend):
    """A local causal LM with its chat template.

    Parameters
    ----------
    model : str or transformers.PreTrainedModel
        A local folder or Hub id (loaded with ``AutoModelForCausalLM``), or a model object.
    tokenizer : str or tokenizer, optional
        Defaults to the same path as ``model``; required when ``model`` is an object.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``... (see :func:`personax.utils.resolve_device`).
    dtype : str, optional
        ``"float32"``, ``"bfloat16"``, ``"float16"``; default float32 on CPU, bfloat16 on CUDA.
    scoring : {"auto", "constrained", "generate"}
        ``auto`` = constrained for number formats, generate for text formats.
    chat_template : str, optional
        Jinja chat template overriding (or supplying) the tokenizer's.
    max_new_tokens : int
        Generation budget in ``generate`` mode.
    model_id : str, optional
        Name recorded in the ledger (default: the path or ``config.name_or_path``).
    """

    name = "transformers"

    def __init__(self, model: Any, tokenizer: Any = None, *, device: str = "auto", dtype: str | None = None,
                 scoring: str = "auto", chat_template: str | None = None, max_new_tokens: int = 400,
                 model_id: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if scoring not in ("auto", "constrained", "generate"):
            raise ValueError(f"scoring must be 'auto', 'constrained' or 'generate', got {scoring!r}")
        self.device = resolve_device(device)
        dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
        if dtype is None:
            torch_dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        elif dtype in dtypes:
            torch_dtype = dtypes[dtype]
        else:
            raise ValueError(f"dtype must be one of {sorted(dtypes)} or None, got {dtype!r}")
        if isinstance(model, str):
            path = model
            try:
                tok = tokenizer if tokenizer is not None and not isinstance(tokenizer, str) else \
                    AutoTokenizer.from_pretrained(tokenizer or path)
                mdl = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
            except OSError as exc:
                raise OSError(
                    f"could not load the model {path!r}: {exc}. Pass a local folder with the weights, or a Hub id "
                    "that is already in the Hugging Face cache (HF_HUB_OFFLINE=1 forbids downloads here)") from exc
            self.model_id = model_id or path
        else:
            if tokenizer is None or isinstance(tokenizer, str) and not tokenizer:
                raise ValueError("a model object needs its tokenizer: pass tokenizer=...")
            mdl = model.to(torch_dtype)
            tok = AutoTokenizer.from_pretrained(tokenizer) if isinstance(tokenizer, str) else tokenizer
            self.model_id = model_id or str(getattr(mdl.config, "name_or_path", "") or type(mdl).__name__)
        if chat_template is not None:
            tok.chat_template = chat_template
        if not getattr(tok, "chat_template", None):
            raise ValueError(f"tokenizer of {self.model_id!r} has no chat template: pass chat_template=... "
                             "(a Jinja template as in the model card)")
        self.model = mdl.to(self.device).eval()
        self.tokenizer = tok
        self.scoring = scoring
        self.max_new_tokens = int(max_new_tokens)
        self.max_concurrency = 1  # one model, one forward at a time
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "device": self.device, "scoring": self.scoring,
                "simulated": False}

    # -- building blocks -------------------------------------------------------------
    def _prompt_ids(self, messages: list[dict[str, str]], assistant_prefix: str = "") -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        text += assistant_prefix
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def answer_logprobs(self, messages: list[dict[str, str]], prefix: str, answers: list[str]) -> list[float]:
        """Log-probability of each answer string after ``messages`` + assistant ``prefix``.

        Returns
        -------
        list of float
            Summed token log-probabilities, one per answer (not renormalised).
        """
        import torch

        ctx = self._prompt_ids(messages, prefix)
        conts = [list(self.tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers]
        if any(len(c) == 0 for c in conts):
            raise ValueError(f"an answer tokenises to nothing: {answers!r}")
        with self._lock, torch.no_grad():
            if all(len(c) == 1 for c in conts):
                ids = torch.tensor([ctx], device=self.device)
                logp = torch.log_softmax(self.model(input_ids=ids).logits[0, -1].float(), dim=-1)
                return [float(logp[c[0]]) for c in conts]
            out = []
            for c in conts:
                ids = torch.tensor([ctx + c], device=self.device)
                logp = torch.log_softmax(self.model(input_ids=ids).logits[0].float(), dim=-1)
                # token at position p is predicted by the logits at p - 1
                out.append(float(sum(logp[len(ctx) - 1 + i, tok] for i, tok in enumerate(c))))
            return out

    def generate_text(self, messages: list[dict[str, str]], *, temperature: float = 0.0, top_p: float = 1.0,
                      max_tokens: int | None = None, seed: int = 0) -> tuple[str, str]:
        """Decode a reply token by token (greedy, or seeded sampling); returns (text, finish_reason)."""
        import torch

        ids = torch.tensor([self._prompt_ids(messages)], device=self.device)
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        eos = self.tokenizer.eos_token_id
        budget = int(max_tokens or self.max_new_tokens)
        new: list[int] = []
        past = None
        finish = "length"
        # transformers >= 5.2x renamed past_key_values -> cache (argument and output field)
        import inspect

        cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        with self._lock, torch.no_grad():
            inp = ids
            for _ in range(budget):
                out = self.model(input_ids=inp, use_cache=True, **({cache_arg: past} if past is not None else {}))
                past = getattr(out, cache_arg, None)
                logits = out.logits[0, -1].float()
                if temperature and temperature > 0:
                    probs = torch.softmax(logits / temperature, dim=-1)
                    if top_p < 1.0:
                        sp, si = torch.sort(probs, descending=True)
                        keep = torch.cumsum(sp, 0) - sp < top_p
                        probs = torch.zeros_like(probs).scatter(0, si[keep], sp[keep])
                        probs /= probs.sum()
                    tok = int(torch.multinomial(probs, 1, generator=gen))
                else:
                    tok = int(torch.argmax(logits))
                if eos is not None and tok == eos:
                    finish = "stop"
                    break
                new.append(tok)
                inp = torch.tensor([[tok]], device=self.device)
        return self.tokenizer.decode(new, skip_special_tokens=True), finish

    # -- protocol --------------------------------------------------------------------
    def complete(self, messages: list[dict[str, str]], **params: Any) -> RawResponse:
        import time

        t0 = time.monotonic()
        text, finish = self.generate_text(messages, temperature=float(params.get("temperature", 0.0) or 0.0),
                                          top_p=float(params.get("top_p", 1.0) or 1.0),
                                          max_tokens=params.get("max_tokens"), seed=int(params.get("seed", 0) or 0))
        return RawResponse(text=text, model=self.model_id, latency_s=time.monotonic() - t0, finish_reason=finish)

    def assess(self, request: Request) -> RawResponse:
        import time

        fmt = request.prompt
        mode = self.scoring
        if mode == "auto":
            mode = "constrained" if fmt.answer_kind == "number" else "generate"
        if mode == "generate":
            return self.complete(request.messages, **request.params)
        t0 = time.monotonic()
        levels = [fmt.insufficient] + sorted(fmt.scale, key=lambda s: s.value)
        answers = answer_strings(fmt)
        reply: dict[str, Any] = {}
        probs_all: dict[str, dict[str, float]] = {}
        for trait in TRAITS:
            # the whole JSON task stays in the prompt; the assistant turn is pinned to one trait
            lp = self.answer_logprobs(request.messages, score_prefix(trait), answers)
            m = max(lp)
            z = sum(math.exp(v - m) for v in lp)
            probs = {lvl.answer: math.exp(v - m) / z for lvl, v in zip(levels, lp)}
            best = levels[max(range(len(lp)), key=lambda i: lp[i])]
            value: Any = best.value if fmt.answer_kind == "number" else best.answer
            reply[trait] = {"score": value, "description": "constrained scoring (no free text)"}
            probs_all[trait] = {k: round(v, 6) for k, v in probs.items()}
        return RawResponse(text=json.dumps(reply), model=self.model_id, latency_s=time.monotonic() - t0,
                           finish_reason="constrained", extra={"scoring": "constrained", "answer_probs": probs_all})


__all__ = ["TransformersBackend"]
