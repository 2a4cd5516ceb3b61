"""Shared fixtures: where real MNIST / Fashion-MNIST live for the tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _candidate_roots() -> list[Path]:
    roots = []
    if os.environ.get("IMBENCH_DATA"):
        roots.append(Path(os.environ["IMBENCH_DATA"]))
    roots.append(REPO.parent / "shared" / "datasets")
    roots.append(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "imbench" / "data")
    return roots


def find_data_root(folder: str) -> Path | None:
    for root in _candidate_roots():
        if (root / folder / "raw").is_dir():
            return root
    return None


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    root = find_data_root("MNIST")
    if root is None:
        pytest.skip("MNIST not found: run `make data` or set IMBENCH_DATA")
    return root


@pytest.fixture(scope="session")
def fmnist_root() -> Path:
    root = find_data_root("FashionMNIST")
    if root is None:
        pytest.skip("Fashion-MNIST not found: run `make data-fmnist` or set IMBENCH_DATA")
    return root


@pytest.fixture
def one_torch_thread():
    """Torch on one thread during the test (the tests' models are small; use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
