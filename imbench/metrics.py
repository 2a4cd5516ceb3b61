"""Evaluation metrics of the four papers, computed with scikit-learn.

Group averages (minority m, majority M, overall) are unweighted means of the per-class values,
as Fajardo et al. report them (spec §1.3); ACSA and GM follow GAMO (spec §1.4).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize


def acsa(recalls: Sequence[float]) -> float:
    """Average class-specific accuracy: the mean of the per-class recalls."""
    return float(np.mean(recalls))


def geometric_mean(recalls: Sequence[float]) -> float:
    """Geometric mean of per-class recalls; 0 as soon as one class has zero recall."""
    r = np.asarray(recalls, dtype=float)
    if np.any(r <= 0):
        return 0.0
    return float(np.exp(np.mean(np.log(r))))


def precision_at_recall(y_true: np.ndarray, score: np.ndarray, k: float) -> float:
    """EGL's AP@k: precision at the highest-threshold PR-curve point whose recall is still >= k."""
    precision, recall, _ = precision_recall_curve(y_true, score)
    # sklearn returns recall in decreasing order; the last point with recall >= k has the highest threshold.
    ok = np.flatnonzero(recall >= k)
    return float(precision[ok[-1]]) if len(ok) else 0.0


def pr_curve(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[int], minority: Sequence[int],
             digits: int = 6) -> dict | None:
    """The test precision-recall curve of the positive (minority) class of a binary task.

    Only the points a plotted curve shows are kept (scikit-learn's ``drop_intermediate``), so the record
    stays small; recall decreases along the lists. Returns None for a multiclass task.

    Returns
    -------
    dict or None
        ``{"recall": [...], "precision": [...], "positive": label}``, values rounded to ``digits``.
    """
    classes = [int(c) for c in classes]
    if len(classes) != 2:
        return None
    pos = int(minority[0]) if len(minority) == 1 else classes[1]
    score = np.asarray(proba, dtype=np.float64)[:, classes.index(pos)]
    precision, recall, _ = precision_recall_curve(np.asarray(y_true) == pos, score, drop_intermediate=True)
    return {"recall": [round(float(v), digits) for v in recall],
            "precision": [round(float(v), digits) for v in precision], "positive": pos}


def auc_pr(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[int], positive: int | None) -> float:
    """Average precision: of the positive class for binary tasks, one-vs-rest macro otherwise."""
    if len(classes) == 2:
        pos = positive if positive is not None else classes[1]
        return float(average_precision_score(y_true == pos, proba[:, list(classes).index(pos)]))
    onehot = label_binarize(y_true, classes=list(classes))
    return float(average_precision_score(onehot, proba, average="macro"))


def auc_roc(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[int], positive: int | None) -> float:
    """Area under the ROC curve: positive class for binary, one-vs-rest macro for multiclass."""
    if len(classes) == 2:
        pos = positive if positive is not None else classes[1]
        return float(roc_auc_score(y_true == pos, proba[:, list(classes).index(pos)]))
    return float(roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=list(classes)))


def _group(values: dict[str, np.ndarray], idx: list[int]) -> dict[str, float]:
    if not idx:
        return {k: float("nan") for k in values}
    return {k: float(np.mean(v[idx])) for k, v in values.items()}


def evaluate(
    y_true: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[int],
    minority: Sequence[int],
) -> dict:
    """All metrics of one test evaluation.

    Parameters
    ----------
    y_true : (N,) true labels.
    proba : (N, C) class scores (probabilities), columns in the order of ``classes``.
    classes : the class labels, sorted.
    minority : the minority group m; the majority group M is every other class.

    Returns
    -------
    dict with ``per_class`` (precision/recall/f1/support lists in class order), ``minority``,
    ``majority`` and ``overall`` group means, ``acsa``, ``gm``, ``accuracy``, ``auc_pr``, ``auc_roc``,
    and for binary tasks ``ap_at`` (EGL's precision at recall 0.75/0.5/0.25).
    """
    classes = [int(c) for c in classes]
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    pred = np.asarray(classes)[np.argmax(proba, axis=1)]
    p, r, f, s = precision_recall_fscore_support(y_true, pred, labels=classes, zero_division=0)
    per = {"precision": p, "recall": r, "f1": f}
    m_idx = [classes.index(c) for c in minority if c in classes]
    M_idx = [i for i in range(len(classes)) if i not in m_idx]
    positive = int(minority[0]) if len(classes) == 2 and len(minority) == 1 else None
    out = {
        "classes": classes,
        "per_class": {**{k: [float(x) for x in v] for k, v in per.items()}, "support": [int(x) for x in s]},
        "minority": _group(per, m_idx),
        "majority": _group(per, M_idx),
        "overall": _group(per, list(range(len(classes)))),
        "acsa": acsa(r),
        "gm": geometric_mean(r),
        "accuracy": float(np.mean(pred == y_true)),
        "auc_pr": auc_pr(y_true, proba, classes, positive),
        "auc_roc": auc_roc(y_true, proba, classes, positive),
    }
    if len(classes) == 2:
        pos = positive if positive is not None else classes[1]
        score = proba[:, classes.index(pos)]
        out["ap_at"] = {str(k): precision_at_recall(y_true == pos, score, k) for k in (0.75, 0.5, 0.25)}
    return out


def lift_percent(f1: float, f1_reference: float) -> float:
    """Fajardo's Lift %: relative change of overall F1 against a reference method (SMOTE)."""
    return 100.0 * (f1 - f1_reference) / f1_reference
