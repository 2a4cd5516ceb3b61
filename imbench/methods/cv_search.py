"""Choosing a setting by stratified cross-validation: the shared part of Fajardo's synthetic-weight search
(:mod:`imbench.methods.weight_search`) and tuned SMOTE's choice of k (:mod:`imbench.methods.tuned_smote`).

Both split the real training set into stratified folds, train one classifier per (fold, candidate) on
the fold's training rows, score it on the held-out rows, and keep the candidate with the best mean
score; a candidate whose training failed scores -inf on that fold and cannot win.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

import numpy as np
from sklearn.model_selection import StratifiedKFold

from imbench.errors import TrainingError

Candidate = TypeVar("Candidate")


@dataclass(frozen=True)
class CVFold:
    """Row indices of one fold: the rows to train on and the rows held out for scoring."""

    index: int
    train: np.ndarray
    held_out: np.ndarray


def stratified_cv(X: np.ndarray, y: np.ndarray, folds: int, seed: int) -> list[CVFold]:
    """Shuffled stratified ``folds``-fold CV of (X, y), seeded with ``seed`` (scikit-learn's splitter)."""
    splitter = StratifiedKFold(int(folds), shuffle=True, random_state=seed)
    X2 = np.asarray(X).reshape(len(X), -1)
    return [CVFold(i, tr, ho) for i, (tr, ho) in enumerate(splitter.split(X2, y))]


@dataclass
class CVScores(Generic[Candidate]):
    """Scores of every (fold, candidate); -inf marks a candidate excluded on that fold."""

    candidates: list[Candidate]
    scores: np.ndarray  # folds × candidates

    @classmethod
    def empty(cls, candidates: Sequence[Candidate], folds: int) -> "CVScores[Candidate]":
        return cls(list(candidates), np.zeros((int(folds), len(candidates))))

    def mean(self) -> np.ndarray:
        return self.scores.mean(axis=0)

    def best(self, what: str = "candidate") -> Candidate:
        """The candidate with the best mean score (the first one on ties)."""
        mean = self.mean()
        if not np.isfinite(mean).any():
            raise TrainingError(f"the cross-validated search failed: no {what} could be scored")
        return self.candidates[int(np.argmax(mean))]

    def mean_or_none(self) -> list[float | None]:
        return [float(m) if np.isfinite(m) else None for m in self.mean()]
