"""What counts as a causal LM, the loading checks and the CPU thread setting of the local
transformers backend (re-exported by :mod:`personax.traits.backends.local_transformers`)."""

from __future__ import annotations

from personax.errors import BackendError

_FIX = ("use an instruction-tuned causal chat model: model='smollm2-135m' (ships offline), a local folder of a "
        "*-Instruct decoder-only model, or backend='openai' with a hosted model")



# ----------------------------------------------------------------------------------------
# what counts as a causal LM
# ----------------------------------------------------------------------------------------
def _causal_tables():
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

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
