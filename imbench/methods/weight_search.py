"""Fajardo et al.'s synthetic-weight search (Table 14, spec §1.3), part of the resample adapter.

Stratified k-fold on the real training set; synthetic samples are made from, and added to, the training
part only; every weight of the grid trains one classifier per CV fold (synthetic samples weigh that
much); the score is the support-weighted minority F1 on the held-out part, averaged over the folds.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sklearn.metrics import f1_score

from imbench.errors import ImbenchError, TrainingError
from imbench.methods.cv_search import CVScores, stratified_cv
from imbench.methods.executor import TrainRequest
from imbench.methods.oversampling import Oversampled, OversampleTask, fit_k_neighbors
from imbench.methods.protocol import ClassifierFactory, FittedRun, FoldTask


def weighted_minority_f1(y_true: np.ndarray, pred: np.ndarray, minority: list[int]) -> float:
    """Fajardo's grid-search score: support-weighted F1 over the minority classes (spec §1.3)."""
    return float(f1_score(y_true, pred, labels=minority, average="weighted", zero_division=0))


@dataclass(frozen=True)
class SearchFold:
    """One CV fold of the search: the held-out rows and the oversampling of the other rows.
    ``note`` says when SMOTE's ``k_neighbors`` had to be lowered for this fold's small classes."""

    held_out: np.ndarray
    oversample: OversampleTask
    note: str | None


@dataclass(frozen=True)
class Candidate:
    """One (CV fold, weight) training of the search."""

    fold: int
    weight_index: int
    request: TrainRequest


class WeightSearch:
    """The search of one job.

    Parameters
    ----------
    grid : candidate synthetic weights (``classifier.weight_grid``).
    folds : CV folds (``classifier.weight_search_folds``).
    classifiers : factory of the configured classifier.
    """

    def __init__(self, grid: Sequence[float], folds: int, classifiers: ClassifierFactory) -> None:
        self.grid = [float(w) for w in grid]
        self.folds = int(folds)
        self.classifiers = classifiers

    @classmethod
    def configured(cls, classifiers: ClassifierFactory) -> "WeightSearch | None":
        """The search the classifier's config asks for, or None (no ``weight_grid``)."""
        grid = classifiers.config.get("weight_grid")
        if not grid:
            return None
        return cls(grid, classifiers.config.get("weight_search_folds", 2), classifiers)

    def plan(self, task: FoldTask, sampler_cfg: dict) -> list[SearchFold]:
        """The CV folds of ``task``'s training part, each with the oversampling of its training rows."""
        X, y = task.train.X, task.train.y
        out = []
        for fold in stratified_cv(X, y, self.folds, task.method_seed):
            f, tr, ho = fold.index, fold.train, fold.held_out
            cfg, note = fit_k_neighbors(copy.deepcopy(sampler_cfg), y[tr], f"weight-search fold {f}")
            out.append(SearchFold(ho, OversampleTask(cfg, X[tr], y[tr], task.minority, task.method_seed + 1 + f), note))
        return out

    def candidates(self, task: FoldTask, oversampled: Sequence[Oversampled]) -> list[Candidate]:
        """One untrained classifier per (CV fold, weight), seeded ``method_seed + 100·fold + weight index``."""
        out = []
        for f, os_ in enumerate(oversampled):
            s = os_.samples
            for j, w in enumerate(self.grid):
                clf = self.classifiers(synthetic_weight=w)
                out.append(Candidate(f, j, TrainRequest(clf, s.X, s.y, task.method_seed + 100 * f + j, s.mask)))
        return out

    def result(self, task: FoldTask, folds: Sequence[SearchFold], candidates: Sequence[Candidate],
               outcomes: Sequence[FittedRun | ImbenchError], classes: Sequence[int]) -> dict:
        """Score the trained candidates and pick the weight (a candidate that diverged is excluded)."""
        X, y = task.train.X, task.train.y
        notes = [f.note for f in folds if f.note]
        search = CVScores.empty(self.grid, len(folds))
        scores = search.scores
        group_size = None
        for cand, outcome in zip(candidates, outcomes):
            f, j = cand.fold, cand.weight_index
            try:
                if isinstance(outcome, ImbenchError):
                    raise outcome
                ho = folds[f].held_out
                pred = np.asarray(classes)[outcome.predictor.predict_proba(X[ho]).argmax(1)]
            except TrainingError as e:
                scores[f, j] = -np.inf
                notes.append(f"fold {f}: weight {self.grid[j]:g} excluded, its training diverged: {e}")
                continue
            if outcome.batched:
                group_size = outcome.batched["group_size"]
            scores[f, j] = weighted_minority_f1(y[ho], pred, task.minority)
        if not np.isfinite(search.mean()).any():
            raise TrainingError("the synthetic-weight search failed: training diverged for every weight of "
                                f"classifier.weight_grid; {'; '.join(notes)}")
        return {"grid": self.grid, "scores": search.mean_or_none(),
                "chosen": search.best("weight"), "folds": len(folds), "notes": notes,
                "batched": None if group_size is None else {"group_size": group_size}}
