"""Smoke tests of the data layer's public API (schema constants, sample load, generator)."""

import numpy as np

from personax.data import DATASETS, SCHEMAS, TRAITS, load
from personax.data.synthetic import generate


def test_load_sample_both_datasets():
    for ds in DATASETS:
        data = load(ds)
        assert data.info["synthetic"] is True and data.info["source"] == "sample"
        assert list(data.frame.columns) == list(SCHEMAS[ds].columns)
        assert len(data.measurements("text")) == 3
        assert data.truth is not None and data.truth.latents.shape[0] == len(data)


def test_generate_small_is_seeded():
    a = generate("athlepersona", n=50, seed=3, face_dim=16, text_dim=24)
    b = generate("athlepersona", n=50, seed=3, face_dim=16, text_dim=24)
    assert a.frame.equals(b.frame)
    assert np.array_equal(a.embeddings["text_llama"], b.embeddings["text_llama"])
    assert set(TRAITS) <= set(a.frame.columns)
