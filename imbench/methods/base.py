"""The two method interfaces the runner understands.

* :class:`Oversampler` -- imbalanced-learn's sampler contract: ``fit_resample(X, y) -> (X_res, y_res)``
  with a ``sampling_strategy`` parameter. imbench requires that the returned arrays start with the
  original samples, in order, followed by the synthetic ones (imbalanced-learn's over-samplers all do
  this); the runner checks it and uses it to weight synthetic samples.
* :class:`EndToEndMethod` -- a method that trains its own classifier (GAMO, DGC): ``fit(X, y)`` then
  ``predict_proba(X)``; the runner skips the downstream classifier for it.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

from imbench.errors import ConfigError


@runtime_checkable
class Oversampler(Protocol):
    """Anything with imbalanced-learn's ``fit_resample``."""

    def fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class EndToEndMethod(Protocol):
    """A method that is its own classifier."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "EndToEndMethod": ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


class NoOversampling:
    """The "Imbalanced" / "CE" / "Baseline CN" row: returns the training set unchanged."""

    def __init__(self, sampling_strategy: Any = "auto", random_state: int | None = None) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return X, y


class FlatteningSampler:
    """Lets a vector sampler (SMOTE & co.) work on images: flatten, resample, reshape back."""

    def __init__(self, sampler: Oversampler) -> None:
        self.sampler = sampler

    def fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shape = X.shape[1:]
        X_res, y_res = self.sampler.fit_resample(X.reshape(len(X), -1), y)
        return np.asarray(X_res, dtype=X.dtype).reshape((len(X_res),) + shape), np.asarray(y_res)


def resolve_sampling_strategy(strategy: Any, counts: Mapping[int, int], minority: list[int]) -> Any:
    """Translate imbench's extra strategy names into one imbalanced-learn understands.

    ``double_minority`` adds as many samples as each minority class has (EGL's amount, spec §2.3),
    capped at the majority count; anything else is passed through unchanged.
    """
    if strategy != "double_minority":
        return strategy
    top = max(counts.values())
    return {c: min(2 * counts[c], top) for c in minority if counts[c] < top}


def synthetic_mask(X: np.ndarray, y: np.ndarray, X_res: np.ndarray, y_res: np.ndarray) -> np.ndarray:
    """Boolean mask of synthetic rows, after checking the originals come first and unchanged."""
    n = len(y)
    if len(y_res) < n or not np.array_equal(y_res[:n], y) or not np.array_equal(
        np.asarray(X_res[:n]).reshape(n, -1), np.asarray(X).reshape(n, -1)
    ):
        raise ConfigError(
            "the oversampler did not return the original samples first and unchanged; imbench's sampler "
            "contract needs fit_resample to return the originals followed by the synthetic samples"
        )
    mask = np.zeros(len(y_res), dtype=bool)
    mask[n:] = True
    return mask
