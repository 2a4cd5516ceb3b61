"""SMOTE whose number of neighbours is chosen by cross-validating a downstream MLP (Fajardo Table 9)."""
from __future__ import annotations

import time
from numbers import Integral
from typing import Any, Sequence

import numpy as np
import torch
from imblearn.over_sampling import SMOTE
from sklearn.metrics import f1_score
from sklearn.utils._param_validation import Interval

from imbench.devices import resolve_device
from imbench.methods.protocol import ProfileCap
from imbench.errors import ConfigError, ParameterError
from imbench.methods.base import DEVICE_CONSTRAINTS, ImbenchOverSampler
from imbench.methods.cv_search import CVScores, stratified_cv
from imbench.rng import isolated_rng, resolve_seed

# Fajardo et al. Table 14, the classifier their k study scores with.
TABLE14_MLP = {
    "name": "mlp",
    "arch": {"_target_": "imbench.classifiers.models.mlp", "hidden": [512, 512], "dropout": 0.2, "activation": "relu", "init": "keras"},
    "input": {"range": [0.0, 1.0], "resize": None},
}


class TunedSMOTE(ImbenchOverSampler):
    """SMOTE with ``k_neighbors`` tuned by stratified k-fold CV of the Table 14 MLP.

    For each ``k`` in ``k_grid`` and each of ``cv`` stratified folds of the training set, SMOTE(k)
    balances the training part, the MLP (784-512-512-10, RMSprop, batch 128, ``mlp_epochs`` epochs)
    is trained on it and scored by overall (macro) F1 on the held-out part; the ``k`` with the best
    mean score balances the whole set. This is the "tuned SMOTE" whose cost Fajardo et al. report in
    Table 9 (their Tables 5-8 use fixed k = 5).

    Parameters
    ----------
    k_grid : sequence of int, default=(3, 4, 5, 6, 7)
        Candidate numbers of neighbours (paper: 3..7). A ``k`` that needs more neighbours than the
        smallest class has in a training fold is skipped (and listed in ``skipped_k_``).
    cv : int, default=5
        Folds of the stratified CV (paper: 5).
    mlp_epochs : int, default=20
        Epochs of each scoring MLP (paper: 20, Table 14).
    sampling_strategy : float, str, dict or callable, default="auto"
        As for :class:`imblearn.over_sampling.SMOTE`.
    random_state : int, RandomState instance or None, default=None
        Seed of the folds, the scoring MLPs and SMOTE (``None``: fresh entropy).
    device : str or torch.device, default="auto"
        Torch device of the scoring MLPs.

    Attributes
    ----------
    k_ : int
        The chosen number of neighbours.
    cv_scores_ : dict of int to float
        Mean held-out macro F1 of every scored ``k``.
    skipped_k_ : list of int
        The ``k`` too large for the smallest class of a training fold.
    search_seconds_ : float
        Time the search took.

    References
    ----------
    Fajardo, V. A. et al. "On oversampling imbalanced data with deep conditional generative models."
    Expert Systems with Applications 169 (2021) 114463, Section 4 and Table 9.
    """

    profile_caps = (ProfileCap("mlp_epochs", "max_epochs"),)

    _parameter_constraints: dict = {
        **ImbenchOverSampler._parameter_constraints,
        "k_grid": ["array-like"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "mlp_epochs": [Interval(Integral, 1, None, closed="left")],
        "device": DEVICE_CONSTRAINTS,
    }

    def __init__(self, k_grid: Sequence[int] = (3, 4, 5, 6, 7), cv: int = 5, mlp_epochs: int = 20,
                 sampling_strategy: Any = "auto", random_state: int | None = None, device: str = "auto") -> None:
        self.k_grid = k_grid
        self.cv = cv
        self.mlp_epochs = mlp_epochs
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.device = device

    def _checked_k_grid(self) -> list[int]:
        ks = list(self.k_grid)
        if not ks or not all(isinstance(k, Integral) and not isinstance(k, bool) and k >= 1 for k in ks):
            raise ParameterError(f"The 'k_grid' parameter of {type(self).__name__} must be a non-empty sequence of "
                                 f"integers >= 1. Got {self.k_grid!r} instead.")
        return [int(k) for k in ks]

    def _score(self, X: np.ndarray, y: np.ndarray, k: int, seed: int, device: torch.device) -> list[float]:
        """Macro F1 of the Table 14 MLP on each held-out fold, trained on SMOTE(k) of the other folds."""
        from imbench.classifiers.downstream import DownstreamClassifier

        classes = [int(c) for c in np.unique(y)]
        scores = []
        for fold in stratified_cv(X, y, self.cv, seed):
            f, tr, ho = fold.index, fold.train, fold.held_out
            X_res, y_res = SMOTE(sampling_strategy=self.sampling_strategy, k_neighbors=k,
                                 random_state=seed + f).fit_resample(X[tr], y[tr])
            clf = DownstreamClassifier(**TABLE14_MLP, schedule={
                "epochs": int(self.mlp_epochs), "batch_size": 128, "optimizer": "rmsprop", "lr": 1e-3,
                "alpha": 0.9, "eps": 1e-7, "loss": "ce"})
            clf.fit(np.asarray(X_res, dtype=np.float32), y_res, classes=classes, seed=seed + 10 * f + k, device=device)
            pred = np.asarray(classes)[clf.predict_proba(X[ho].astype(np.float32)).argmax(1)]
            scores.append(f1_score(y[ho], pred, average="macro", zero_division=0))
        return scores

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k_grid = self._checked_k_grid()
        device = resolve_device(self.device)
        seed = resolve_seed(self.random_state)
        smallest_train = min(np.bincount(np.unique(y, return_inverse=True)[1])) * (self.cv - 1) // self.cv
        t0 = time.perf_counter()
        self.skipped_k_ = [k for k in k_grid if k >= smallest_train]
        usable = [k for k in k_grid if k not in self.skipped_k_]
        if not usable:
            raise ConfigError(f"TunedSMOTE: every k in {k_grid} needs more neighbours than the smallest "
                              f"class has in a {self.cv}-fold training part ({smallest_train}); lower k_grid or cv")
        search = CVScores.empty(usable, self.cv)
        with isolated_rng(device):  # the scoring MLPs seed torch's global generator
            for j, k in enumerate(usable):
                search.scores[:, j] = self._score(X, y, k, seed, device)
        self.cv_scores_: dict[int, float] = {k: float(m) for k, m in zip(usable, search.mean())}
        self.k_ = int(search.best("k"))
        self.search_seconds_ = time.perf_counter() - t0
        return SMOTE(sampling_strategy=self.sampling_strategy, k_neighbors=self.k_,
                     random_state=seed).fit_resample(X, y)

    def fit_info(self) -> dict:
        """What the run record keeps about the search."""
        return {"method": "tuned_smote", "k_grid": [int(k) for k in self.k_grid], "cv": int(self.cv),
                "mlp_epochs": int(self.mlp_epochs), "cv_scores": self.cv_scores_, "chosen_k": int(self.k_),
                "skipped_k": self.skipped_k_, "search_seconds": self.search_seconds_}
