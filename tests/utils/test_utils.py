"""Shared helpers: seeded RNGs, device resolution, environment restoration."""

from __future__ import annotations

import os

import numpy as np
import pytest

from personax.utils import make_rng, resolve_device, saved_environ


def test_make_rng_is_seeded_and_rejects_none():
    assert make_rng(3).integers(1_000_000) == make_rng(3).integers(1_000_000)
    g = np.random.default_rng(1)
    assert make_rng(g) is g
    with pytest.raises(ValueError, match="seed=None"):
        make_rng(None)
    with pytest.raises(ValueError, match="non-negative int"):
        make_rng(-1)


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")


def test_saved_environ_restores_set_and_unset(monkeypatch):
    monkeypatch.setenv("PX_KEEP", "a")
    monkeypatch.delenv("PX_NEW", raising=False)
    with saved_environ("PX_KEEP", "PX_NEW"):
        os.environ["PX_KEEP"] = "b"
        os.environ["PX_NEW"] = "c"
    assert os.environ["PX_KEEP"] == "a" and "PX_NEW" not in os.environ
    with pytest.raises(RuntimeError):
        with saved_environ("PX_KEEP"):
            del os.environ["PX_KEEP"]
            raise RuntimeError("body fails")
    assert os.environ["PX_KEEP"] == "a"


def test_progress_passes_items_through_without_tqdm_warning(recwarn):
    from personax.utils import progress

    assert list(progress(range(5), desc="x", disable=False)) == [0, 1, 2, 3, 4]
    assert not [w for w in recwarn if "IProgress" in str(w.message)]
