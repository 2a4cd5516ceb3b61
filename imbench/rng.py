"""Seeds of a sampler's fit, and keeping its seeding away from the caller's global random state."""
from __future__ import annotations

import contextlib
import copy
import secrets
from typing import Iterator

import numpy as np
import torch

#: Seeds are drawn below this bound, so that a seed plus small offsets is still a valid NumPy seed.
SEED_BOUND = 2**31 - 1


def resolve_seed(random_state: int | np.integer | np.random.RandomState | None) -> int:
    """The integer seed of one fit.

    Parameters
    ----------
    random_state : int, numpy.random.RandomState or None
        An integer is the seed itself; ``None`` draws a fresh seed from the operating system's
        entropy (not from any global generator); a ``RandomState`` is drawn from, as scikit-learn's
        estimators do.

    Returns
    -------
    int
    """
    if random_state is None:
        return secrets.randbelow(SEED_BOUND)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(SEED_BOUND))
    return int(random_state)


@contextlib.contextmanager
def isolated_rng(*devices: torch.device) -> Iterator[None]:
    """Run a block that may reseed torch's global generators; restore the caller's afterwards.

    The CPU generator is always restored; the CUDA generators of every GPU when CUDA is in use
    (initialised before the block, or one of ``devices`` is a CUDA device). Otherwise the block can
    only queue CUDA seeds (``torch.manual_seed`` seeds CUDA lazily, at its initialisation), and that
    queue is restored instead.

    Parameters
    ----------
    *devices : torch.device
        The devices the block computes on.
    """
    uses_cuda = torch.cuda.is_available() and (
        torch.cuda.is_initialized() or any(d.type == "cuda" for d in devices))
    cuda = list(range(torch.cuda.device_count())) if uses_cuda else []
    queued = _queued_cuda_seeds()
    with torch.random.fork_rng(devices=cuda, device_type="cuda"):
        try:
            yield
        finally:
            if not uses_cuda:
                _restore_queued_cuda_seeds(queued)


def _queued_cuda_seeds() -> dict | None:
    # torch keeps seeds asked for before CUDA's initialisation in a private tracker
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    return None if tracker is None else copy.copy(vars(tracker))


def _restore_queued_cuda_seeds(state: dict | None) -> None:
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    if tracker is not None and state is not None:
        vars(tracker).update(state)
