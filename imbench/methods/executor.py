"""Train many configured classifiers: one by one, or as one vmap group when the job's batching allows.

Every method that trains the configured downstream classifier (the resample adapter, its weight search,
Focal, LDAM, RS) hands its trainings here as :class:`TrainRequest` objects, so batching is one decision
in one place: requests train as a group (:func:`imbench.classifiers.downstream.fit_batched`) when the
policy allows it for their number and device, and every classifier can train batched (no per-epoch
model selection, no custom loss or batch order); otherwise they train one after the other.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from imbench.classifiers.downstream import DownstreamClassifier, fit_batched, validation_score
from imbench.errors import TrainingError
from imbench.methods.protocol import FittedRun, JobContext, Split


@dataclass
class TrainRequest:
    """One classifier to train on ``X, y`` (``synthetic`` marks synthetic rows, or None), seeded with
    ``seed``; ``val`` is the validation part for per-epoch model selection, ``positive`` the class whose
    AUC-PR that selection scores in a binary task."""

    classifier: DownstreamClassifier
    X: np.ndarray
    y: np.ndarray
    seed: int
    synthetic: np.ndarray | None = None
    val: Split | None = None
    positive: int | None = None


def training_summary(clf: DownstreamClassifier) -> dict:
    """The record's ``training`` entry for a fitted classifier."""
    r = clf.result
    return {"epochs": r.epochs_run, "steps": r.steps_run, "final_loss": r.final_loss, "best_epoch": r.best_epoch,
            "precision": r.precision,
            "curves": {"train_loss": [float(v) for v in r.history], "val_score": [float(v) for v in r.val_history]}}


def can_batch(requests: Sequence[TrainRequest], ctx: JobContext) -> bool:
    """Whether ``requests`` train as one vmap group under the job's batching policy."""
    return bool(requests) and ctx.batching.allows(len(requests), ctx.device) and all(
        r.classifier.batchable() for r in requests)


def train_classifiers(requests: Sequence[TrainRequest], ctx: JobContext) -> list[FittedRun | TrainingError]:
    """Fit every request's classifier; per request a :class:`FittedRun` or the error it alone hit."""
    requests = list(requests)
    if can_batch(requests, ctx):
        return _train_group(requests, ctx)
    return [_train_one(r, ctx) for r in requests]


def _train_group(requests: list[TrainRequest], ctx: JobContext) -> list[FittedRun | TrainingError]:
    t0 = time.perf_counter()
    errors = fit_batched([r.classifier for r in requests], [(r.X, r.y, r.synthetic) for r in requests],
                         classes=ctx.classes, seeds=[r.seed for r in requests], device=ctx.device)
    total = time.perf_counter() - t0
    out: list[FittedRun | TrainingError] = []
    for r, err in zip(requests, errors):
        clf = r.classifier
        if err is not None:
            out.append(TrainingError(f"classifier seed {r.seed}: {err}"))
            continue
        out.append(FittedRun(clf, training_summary(clf), total / len(requests), clf.synthetic_weight,
                             {"group_size": clf.group_size, "group_train_s": total}))
    return out


def _train_one(r: TrainRequest, ctx: JobContext) -> FittedRun | TrainingError:
    clf = r.classifier
    score = None
    if r.val is not None and clf.schedule.selection == "best_val":
        score = validation_score(ctx.classes, r.positive)
    bar = tqdm(total=clf.schedule.epochs, desc="epochs", leave=False, unit="ep",
               disable=not ctx.progress or clf.schedule.steps is not None)
    t0 = time.perf_counter()
    try:
        clf.fit(r.X, r.y, classes=ctx.classes, synthetic=r.synthetic, seed=r.seed, device=ctx.device,
                val=None if score is None else (r.val.X, r.val.y), val_score=score,
                progress=lambda e, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.4f}")))
    except TrainingError as e:
        return e
    finally:
        bar.close()
    return FittedRun(clf, training_summary(clf), time.perf_counter() - t0, clf.synthetic_weight)
