"""Methods that change how the configured classifier trains (its loss, its mini-batches), not its data.

A subclass says what to change (:meth:`ClassifierChange.classifier_overrides`, given the fold's class
counts) and what to record; the fold's repeats then train the configured classifier with that change.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Any

from imbench.methods.executor import TrainRequest, train_classifiers
from imbench.methods.protocol import FoldFit, FoldTask, JobContext, Method


class ClassifierChange(Method):
    """Base of Focal, LDAM and RS: train the configured classifier, changed, on the real training part."""

    kind = "classifier_loss"

    @abstractmethod
    def classifier_overrides(self, task: FoldTask, ctx: JobContext) -> dict[str, Any]:
        """Keyword overrides of the configured classifier for this fold (see
        :class:`imbench.methods.protocol.ClassifierFactory`)."""

    def record_info(self, task: FoldTask, ctx: JobContext) -> dict[str, Any]:
        """What the record says about the change (one entry per key)."""
        return {}

    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        positive = task.minority[0] if len(ctx.classes) == 2 and task.minority else None
        repeats = list(task.repeats)
        requests = [TrainRequest(ctx.classifiers(**self.classifier_overrides(task, ctx)), task.train.X, task.train.y,
                                 task.repeats[r], None, task.val, positive) for r in repeats]
        runs = dict(zip(repeats, train_classifiers(requests, ctx)))
        return FoldFit(runs=runs, synthetic=None, info=self.record_info(task, ctx))
