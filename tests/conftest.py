"""Shared test setup.

Two pytest-xdist workers share 2 cores: each worker uses one torch thread, or small
training loops slow down ~50x from oversubscription.
"""
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA
