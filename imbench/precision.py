"""In which floating-point precision the classifiers and generators train: one rule for all of imbench.

The job's ``amp`` setting (top level, not part of a run's identity, recorded in every run like the
device and the thread count):

``auto`` (the default)
    bfloat16 autocast for the classifiers on a CUDA device that supports it (their
    ``schedule.amp: bf16``), float32 for everything on the CPU. On the CPU the measured gain does not
    pay for the change of numbers: ``benchmarks/bf16_cpu.py`` (ms per training step, float32 vs bf16)
    and ``benchmarks/bf16_check.py`` (metrics over seeds) hold the figures.
``bf16``
    bfloat16 autocast for the classifiers *and* the deep generators wherever the hardware computes in
    bfloat16 natively: a CUDA device with bf16, or a CPU with ``avx512_bf16`` or AMX. A CPU without
    either would only emulate it (slower than float32), so there training stays float32 and the job says
    so once.
``none``
    float32 everywhere (a classifier's ``schedule.amp: bf16`` included).

Autocast runs the forward passes and losses in bfloat16; parameters, gradients and optimiser states stay
float32. The runner sets the job's policy for the duration of a job (:func:`precision_policy`); training
code asks :func:`classifier_precision` / :func:`generator_precision` and enters :func:`autocast_for`.
"""
from __future__ import annotations

import contextlib
import contextvars
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import torch

from imbench.errors import ConfigError

AMP_SETTINGS = ("auto", "bf16", "none")
BF16 = "bf16-autocast"
FLOAT32 = "float32"


@lru_cache(maxsize=1)
def cpu_bf16_support() -> dict:
    """What this CPU offers for bfloat16: ``avx512_bf16`` and ``amx_bf16`` (torch's own checks where it
    has them, else the kernel's CPU flags) and ``native`` (either)."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    cpu = getattr(torch, "cpu", None)

    def check(name: str, flag: str) -> bool:
        fn = getattr(cpu, name, None)
        try:
            return bool(fn()) if callable(fn) else flag in flags
        except Exception:
            return flag in flags

    avx512_bf16 = check("_is_avx512_bf16_supported", "avx512_bf16")
    amx_bf16 = "amx_bf16" in flags
    return {"avx512_bf16": avx512_bf16, "amx_bf16": amx_bf16, "native": avx512_bf16 or amx_bf16,
            "capability": torch.backends.cpu.get_cpu_capability()}


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` computes in bfloat16 natively (CUDA with bf16; a CPU with avx512_bf16 or AMX)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if dev.type == "cpu":
        return cpu_bf16_support()["native"]
    return False


@dataclass(frozen=True)
class PrecisionPolicy:
    """The job's ``amp`` setting. ``require_native=False`` (benchmarks only, never from a config) also
    autocasts where bfloat16 would only be emulated, to measure what that costs."""

    amp: str = "auto"
    require_native: bool = True

    def __post_init__(self) -> None:
        if self.amp not in AMP_SETTINGS:
            raise ConfigError(f"amp must be one of {', '.join(AMP_SETTINGS)}, got {self.amp!r} "
                              "(auto: bf16 on CUDA, float32 on the CPU; bf16: wherever the hardware has it; "
                              "none: float32)")

    @classmethod
    def from_config(cls, value: object) -> "PrecisionPolicy":
        if value is None:
            return cls()
        if not isinstance(value, str):
            raise ConfigError(f"amp must be one of {', '.join(AMP_SETTINGS)}, got {value!r}")
        return cls(value)

    def _bf16_allowed(self, device: torch.device) -> bool:
        return (not self.require_native and device.type in ("cpu", "cuda")) or native_bf16(device)

    def classifier(self, device: torch.device | str, schedule_amp: str = "bf16") -> str:
        """The precision a classifier with ``schedule.amp = schedule_amp`` trains in on ``device``."""
        dev = torch.device(device)
        if self.amp == "none":
            return FLOAT32
        if self.amp == "auto":
            return BF16 if schedule_amp == "bf16" and dev.type == "cuda" and native_bf16(dev) else FLOAT32
        return BF16 if self._bf16_allowed(dev) else FLOAT32

    def generator(self, device: torch.device | str) -> str:
        """The precision a deep generator trains in on ``device`` (float32 unless ``amp=bf16``)."""
        dev = torch.device(device)
        return BF16 if self.amp == "bf16" and self._bf16_allowed(dev) else FLOAT32

    def note(self, device: torch.device | str) -> str | None:
        """One line for the job's log when ``amp=bf16`` cannot be honoured on ``device``, else None."""
        dev = torch.device(device)
        if self.amp != "bf16" or self._bf16_allowed(dev):
            return None
        if dev.type == "cpu":
            return ("amp=bf16: this CPU has neither avx512_bf16 nor AMX, so bfloat16 would only be emulated "
                    "(slower than float32); training in float32")
        return f"amp=bf16: {dev} has no bfloat16 support; training in float32"


_CURRENT: contextvars.ContextVar[PrecisionPolicy] = contextvars.ContextVar("precision", default=PrecisionPolicy())


def current_policy() -> PrecisionPolicy:
    """The policy in force (the job's, inside the runner; ``auto`` elsewhere)."""
    return _CURRENT.get()


@contextmanager
def precision_policy(policy: PrecisionPolicy) -> Iterator[None]:
    """Use ``policy`` for every training started inside the block."""
    token = _CURRENT.set(policy)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def classifier_precision(device: torch.device | str, schedule_amp: str = "bf16") -> str:
    """:meth:`PrecisionPolicy.classifier` under the policy in force."""
    return current_policy().classifier(device, schedule_amp)


def generator_precision(device: torch.device | str) -> str:
    """:meth:`PrecisionPolicy.generator` under the policy in force."""
    return current_policy().generator(device)


def autocast_for(precision: str, device: torch.device | str):
    """The autocast context for ``precision`` (a no-op context for float32)."""
    if precision == BF16:
        # no weight-cast cache: it would outlive a captured CUDA graph step (batched training)
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, cache_enabled=False)
    if precision != FLOAT32:
        raise ValueError(f"unknown precision {precision!r}")
    return contextlib.nullcontext()
