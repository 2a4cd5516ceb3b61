"""Stopping a training whose loss diverges, instead of recording its numbers as a result.

A loss that becomes NaN/inf always stops the training. With the ``divergence`` settings on (the
default), a loss that grows beyond ``factor`` times its first value (at least ``factor`` × 1, so that a
loss starting near zero is not held to a tiny bound) stops it too: a learning rate of 1e6 drives a
cross-entropy from 2.3 to 1e21 without ever becoming inf. The error names what was training, where
(epoch or mini-batch) and the seed, and no run of that training is marked done.

The runner sets the job's settings for the duration of a job (:func:`divergence_settings`); every
training loop makes one :class:`LossWatch` per loss it wants watched and calls :meth:`LossWatch.check`
with each value it already has on the host (no extra device syncs).
"""
from __future__ import annotations

import contextvars
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from imbench.errors import ConfigError, TrainingError


@dataclass(frozen=True)
class DivergenceSettings:
    """``check``: stop on growth beyond ``factor`` × the first value (non-finite losses always stop)."""

    check: bool = True
    factor: float = 1000.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> "DivergenceSettings":
        cfg = dict(cfg or {})
        unknown = set(cfg) - {"check", "factor"}
        if unknown:
            raise ConfigError(f"divergence has unknown key(s) {sorted(unknown)}; known: check, factor")
        check, factor = cfg.get("check", True), cfg.get("factor", 1000.0)
        if not isinstance(check, bool):
            raise ConfigError(f"divergence.check must be true or false, got {check!r}")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 1:
            raise ConfigError(f"divergence.factor must be a number > 1 (how many times its first value a loss may "
                              f"grow to), got {factor!r}")
        return cls(check, float(factor))


_CURRENT: contextvars.ContextVar[DivergenceSettings] = contextvars.ContextVar("divergence",
                                                                              default=DivergenceSettings())


def current_settings() -> DivergenceSettings:
    """The settings in force (the job's, inside the runner; the defaults elsewhere)."""
    return _CURRENT.get()


@contextmanager
def divergence_settings(settings: DivergenceSettings) -> Iterator[None]:
    """Use ``settings`` for every :class:`LossWatch` made inside the block."""
    token = _CURRENT.set(settings)
    try:
        yield
    finally:
        _CURRENT.reset(token)


class LossWatch:
    """Watches one loss of one training.

    Parameters
    ----------
    what : what is training, for the message (``"the classifier"``, ``"CGAN's generator"``).
    seed : its seed, for the message.
    hint : the fix to suggest (e.g. which learning rate to lower).
    """

    def __init__(self, what: str, seed: int | None = None, hint: str = "lower its learning rate") -> None:
        self.what, self.seed, self.hint = what, seed, hint
        self.settings = _CURRENT.get()
        self.start: float | None = None

    def check(self, value: float, where: str) -> None:
        """Raise :class:`TrainingError` when ``value`` (the loss at ``where``, e.g. ``"epoch 3"``) is
        non-finite or, with the check on, beyond the bound."""
        value = float(value)
        seed = "" if self.seed is None else f", seed {self.seed}"
        if not math.isfinite(value):
            raise TrainingError(f"{self.what} diverged: its loss became {value} at {where}{seed}; {self.hint} "
                                "or check the input data for NaN/inf")
        if not self.settings.check:
            return
        if self.start is None:
            self.start = abs(value)
            return
        bound = self.settings.factor * max(self.start, 1.0)
        if abs(value) > bound:
            raise TrainingError(
                f"{self.what} diverged: its loss grew to {value:.4g} at {where}{seed}, beyond "
                f"{self.settings.factor:g} × its first value {self.start:.4g}; {self.hint} (or set "
                "divergence.factor higher, or divergence.check=false, if this loss may grow that much)")
