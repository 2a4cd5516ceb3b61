"""Which torch device a run, a sampler or a benchmark uses: one rule for all of imbench."""
from __future__ import annotations

import re

import torch

from imbench.errors import ConfigError

DEVICE_PATTERN = r"auto|cpu|cuda(:\d+)?"


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``auto`` (or None) is CUDA when available, else the CPU; ``cpu``, ``cuda`` and ``cuda:N`` as named.

    Raises
    ------
    ConfigError
        for a name that is none of these, or for CUDA where CUDA is not available.
    """
    if isinstance(name, torch.device):
        name = str(name)
    name = "auto" if name is None else str(name)
    if not re.fullmatch(DEVICE_PATTERN, name):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name} was asked for but CUDA is not available here; use device=cpu or device=auto")
    return torch.device(name)
