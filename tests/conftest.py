"""Shared test setup.

Two pytest-xdist workers share 2 cores: each worker uses one torch thread and OpenMP threads
sleep instead of spin-waiting (OMP_WAIT_POLICY=PASSIVE, set before torch is imported), or small
training loops slow down ~50× from oversubscription.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Quiet command lines in tests (one-line errors are checked on stderr); progress tests set it themselves.
os.environ.setdefault("DLSCOPE_PROGRESS", "0")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

# ../shared/data beside the checkout (CI), or $DLSCOPE_SHARED_DATA (a checkout elsewhere).
SHARED_DATA = Path(os.environ.get("DLSCOPE_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA
