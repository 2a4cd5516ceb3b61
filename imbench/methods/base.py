"""The two method interfaces the runner understands, and the base class of imbench's own samplers.

* :class:`Oversampler` -- imbalanced-learn's sampler contract: ``fit_resample(X, y) -> (X_res, y_res)``
  with a ``sampling_strategy`` parameter. imbench requires that the returned arrays start with the
  original samples, in order, followed by the synthetic ones (imbalanced-learn's over-samplers all do
  this); the runner checks it and uses it to weight synthetic samples.
* :class:`EndToEndMethod` -- a method that trains its own classifier (GAMO, DGC): ``fit(X, y)`` then
  ``predict_proba(X)``; the runner skips the downstream classifier for it.

imbench's samplers derive from :class:`ImbenchOverSampler`, an imbalanced-learn ``BaseOverSampler``.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.utils._param_validation import InvalidParameterError, StrOptions
from sklearn_compat.utils.validation import validate_data

from imbench.devices import DEVICE_PATTERN
from imbench.errors import ConfigError, ParameterError


@runtime_checkable
class Oversampler(Protocol):
    """Anything with imbalanced-learn's ``fit_resample``."""

    def fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class EndToEndMethod(Protocol):
    """A method that is its own classifier."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "EndToEndMethod": ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


class DeviceName(StrOptions):
    """Parameter constraint: a device name :func:`imbench.devices.resolve_device` understands
    (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``)."""

    def __init__(self) -> None:
        super().__init__({"auto", "cpu", "cuda"})

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, str) and re.fullmatch(DEVICE_PATTERN, val) is not None

    def __str__(self) -> str:
        return "a str among {'auto', 'cpu', 'cuda', 'cuda:N'}"


#: Constraints of a ``device`` parameter: a device name or a ``torch.device``.
DEVICE_CONSTRAINTS: list = [DeviceName(), torch.device]


class ImbenchOverSampler(BaseOverSampler):
    """imbalanced-learn's ``BaseOverSampler`` with what all imbench samplers share.

    * Parameters are validated at fit against ``_parameter_constraints`` (extend
      ``ImbenchOverSampler._parameter_constraints``); an invalid one raises
      :class:`imbench.errors.ParameterError`, which is both scikit-learn's ``InvalidParameterError``
      and an imbench ``ConfigError``.
    * Input must be dense (the samplers compute in torch); the estimator tags say so.

    Subclasses implement ``_fit_resample(X, y)`` on validated input, with ``sampling_strategy_``
    (class -> number of samples to add) already set, and return the original samples first.
    """

    _parameter_constraints: dict = {**BaseOverSampler._parameter_constraints}

    def _validate_params(self) -> None:
        try:
            super()._validate_params()
        except InvalidParameterError as e:
            raise ParameterError(str(e)) from None

    def _check_X_y(self, X: Any, y: Any, accept_sparse: Any = None) -> tuple[np.ndarray, np.ndarray, bool]:
        return super()._check_X_y(X, y, accept_sparse=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class ImageOverSampler(ImbenchOverSampler):
    """An imbench sampler that takes images (N×H×W, N×C×H×W) as well as flat N×D input: the runner hands
    it images unflattened (``accepts_images``), and ``n_features_in_`` counts the values of one sample."""

    accepts_images = True

    def _check_X_y(self, X: Any, y: Any, accept_sparse: Any = None) -> tuple[np.ndarray, np.ndarray, bool]:
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X=X, y=y, reset=True, accept_sparse=False, allow_nd=True)
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return X, y, binarize_y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class NoOversampling(ImbenchOverSampler):
    """The "Imbalanced" / "CE" / "Baseline CN" row: returns the training set unchanged.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Validated as imbalanced-learn's, then ignored (``sampling_strategy_`` still says what an
        over-sampler would have added).
    random_state : int, RandomState instance or None, default=None
        Ignored; there is nothing random.
    """

    def __init__(self, sampling_strategy: Any = "auto", random_state: int | None = None) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
