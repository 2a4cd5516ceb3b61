"""RS: class-balanced mini-batches (EGL Table 1's "RS", catalyst's ``BalanceClassSampler(mode="upsampling")``).

Every epoch draws every class up to the majority count: the majority classes' samples once each, the
other classes' with replacement; the epoch's samples are then shuffled. An epoch therefore has
(number of classes) × (majority count) samples.
"""
from __future__ import annotations

import torch

from imbench.methods.classifier_change import ClassifierChange
from imbench.methods.protocol import FoldTask, JobContext


class BalancedEpochs:
    """Draws each epoch's order: every class up-sampled to the largest class's count, shuffled."""

    def __call__(self, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        y = y.cpu()
        classes, counts = torch.unique(y, return_counts=True)
        top = int(counts.max())
        parts = []
        for c, n in zip(classes.tolist(), counts.tolist()):
            idx = torch.nonzero(y == c).squeeze(1)
            if n == top:
                parts.append(idx[torch.randperm(n, generator=generator)])
            else:
                parts.append(idx[torch.randint(n, (top,), generator=generator)])
        order = torch.cat(parts)
        return order[torch.randperm(len(order), generator=generator)]


class RS(ClassifierChange):
    """The configured classifier trained on class-balanced (up-sampled) mini-batches."""

    label = "RS"
    reference = "class-balanced re-sampling of mini-batches (EGL Table 1 'RS'; catalyst BalanceClassSampler upsampling)"

    def classifier_overrides(self, task: FoldTask, ctx: JobContext) -> dict:
        return {"epoch_order": BalancedEpochs()}

    def record_info(self, task: FoldTask, ctx: JobContext) -> dict:
        return {"batches": {"name": "class_balanced_upsampling",
                            "epoch_size": len(task.counts) * max(task.counts.values())}}
