"""Fixtures for the faces tests: the public-domain astronaut image, temp weights folders,
same-shape fake attribute weights, and a guard that fails any non-loopback connection."""

from __future__ import annotations

import socket

import numpy as np
import pytest


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """RGB uint8 (512, 512, 3): NASA photo of astronaut Eileen Collins, public domain (scikit-image)."""
    from skimage import data

    return data.astronaut()


@pytest.fixture
def no_network(monkeypatch):
    """Make any connection to a non-loopback address fail loudly (proves offline behaviour)."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return real_connect(self, address)
        raise AssertionError(f"network access attempted to {address!r} during an offline test")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


@pytest.fixture(scope="session")
def emotion_home(tmp_path_factory):
    """A deepface home whose weights folder holds a same-shape, randomly initialised emotion model.

    The state_dict of deepface's own pytorch emotion network (seeded) is saved under the file
    name deepface expects, which is exactly what a user's real weights would look like.
    """
    import torch
    from deepface.models.demography.pytorch import Emotion

    from personax.faces.weights import weights_folder

    home = tmp_path_factory.mktemp("emotion_home")
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    model = Emotion.base_model()
    torch.random.set_rng_state(gen_state)  # leave torch's global RNG as we found it
    torch.save(model.state_dict(), weights_folder(home) / "facial_expression_model_weights.pth")
    return home
