"""CRL tests train many tiny networks: one intra-op thread avoids oversubscribing a small machine."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
