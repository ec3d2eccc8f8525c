"""Fixtures for the independence tests: small seeded samples of each data type."""

from __future__ import annotations

import numpy as np
import pytest


def make_pair(kind: str, n: int, seed: int, dependent: bool = False):
    """(x, y) samples: ``kind`` in cc (continuous/continuous), cd (continuous/discrete), dd.

    Under ``dependent=True`` y depends on x non-linearly (a parabola), else independent.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    noise = rng.normal(size=n)
    y = (x ** 2 + 0.5 * noise) if dependent else noise
    if kind in ("cd", "dd"):
        # discrete y with 4 levels (quantile bins of the continuous y)
        y = np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75])).astype(float)
    if kind == "dd":
        x = np.digitize(x, [-1.0, 0.0, 1.0]).astype(float) + 1.0
    return x, y


@pytest.fixture
def pair():
    return make_pair
