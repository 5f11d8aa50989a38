import pytest
import torch

from pyg_signeq._warnings import reset_warnings


@pytest.fixture
def seed() -> int:
    """One fixed seed; tests that want several parametrize instead."""
    torch.manual_seed(12345)
    return 12345


@pytest.fixture(autouse=True)
def _fresh_once_warnings():
    """Let every test hear the package's once-only warnings."""
    reset_warnings()
    yield
    reset_warnings()
