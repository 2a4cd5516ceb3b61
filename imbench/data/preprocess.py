"""Feature preprocessing for tabular data, built from short spec strings.

``"impute"``                  SimpleImputer: a missing value (NaN) becomes its column's training median
                              (a column with no value in the training split becomes 0).
``"minmax"``                  MinMaxScaler to [0, 1] (no clipping: unseen data may fall outside).
``"standardize_continuous"``  StandardScaler on the ``continuous`` columns only; others pass through
                              and the column order is kept.
``"pca:<k>"``                 PCA to k dimensions.
``"none"``                    identity.
A list applies its specs in order. The caller fits the pipeline on the training split only.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from imbench.errors import ConfigError

SPECS = ("impute", "minmax", "standardize_continuous", "pca:<k>", "none")


class ColumnStandardizer(TransformerMixin, BaseEstimator):
    """Standardise the listed columns in place; all other columns are returned unchanged."""

    def __init__(self, columns: Sequence[int] = ()):
        self.columns = columns

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.columns_ = np.asarray(self.columns, dtype=int)
        self.scaler_ = StandardScaler().fit(X[:, self.columns_]) if self.columns_.size else None
        return self

    def transform(self, X):
        X = np.array(X, dtype=np.float64)  # copy: never modify the caller's array
        if self.scaler_ is not None:
            X[:, self.columns_] = self.scaler_.transform(X[:, self.columns_])
        return X


def _step(spec: str, continuous: Sequence[int] | None) -> tuple[str, object]:
    if spec == "impute":
        return "impute", SimpleImputer(strategy="median", keep_empty_features=True)
    if spec == "minmax":
        return "minmax", MinMaxScaler(feature_range=(0.0, 1.0))
    if spec == "standardize_continuous":
        if continuous is None:
            raise ConfigError("preprocessing 'standardize_continuous' needs the continuous column indices; "
                              "pass continuous=data.continuous to build_preprocessor")
        return "standardize_continuous", ColumnStandardizer(list(continuous))
    if spec == "none":
        return "identity", "passthrough"
    if spec.startswith("pca:"):
        k = spec[4:]
        if not k.isdigit() or int(k) < 1:
            raise ConfigError(f"preprocessing {spec!r}: the PCA size must be a positive integer, e.g. 'pca:64'")
        return "pca", PCA(n_components=int(k), random_state=0)
    raise ConfigError(f"unknown preprocessing spec {spec!r}; valid specs: {', '.join(SPECS)} or a list of them")


def build_preprocessor(spec: str | Sequence[str], continuous: Sequence[int] | None = None) -> Pipeline:
    """Build an unfitted preprocessing pipeline.

    Parameters
    ----------
    spec : one spec string or a list applied in order (see module docstring).
    continuous : column indices standardised by ``"standardize_continuous"`` (``TabularData.continuous``).

    Returns
    -------
    sklearn Pipeline; fit it on the training split only.
    """
    specs = [spec] if isinstance(spec, str) else list(spec)
    steps = [_step(s, continuous) for s in specs] or [("identity", "passthrough")]
    # Pipeline step names must be unique.
    named = [(f"{name}_{i}" if len(steps) > 1 else name, est) for i, (name, est) in enumerate(steps)]
    return Pipeline(named)
