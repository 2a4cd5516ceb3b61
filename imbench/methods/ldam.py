"""LDAM loss, optionally with deferred re-weighting (Cao et al. 2019, "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", NeurIPS), on the configured classifier.

The classifier's last layer becomes a cosine layer (normalised features and weights); the true class's
cosine is lowered by its margin Δ_j = C / n_j^{1/4}, scaled so that the largest margin is ``max_margin``
(0.5), and the cosines are scaled by ``s`` (30) before the cross-entropy. With ``drw: true`` the classes
weigh (1 - β) / (1 - β^{n_j}) (β = 0.9999, normalised to sum to the number of classes) from 80% of
training on, as LDAM-DRW does at epoch 160 of 200; before that they weigh 1. Weighted losses are
averaged as torch's weighted cross-entropy does (divided by the batch's total weight).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from imbench.errors import ConfigError
from imbench.methods.classifier_change import ClassifierChange
from imbench.methods.protocol import FoldTask, JobContext


def ldam_margins(counts: Sequence[int], max_margin: float) -> np.ndarray:
    """Δ_j ∝ n_j^{-1/4}, the largest equal to ``max_margin``."""
    m = 1.0 / np.power(np.asarray(counts, dtype=np.float64), 0.25)
    return m * (max_margin / m.max())


def drw_weights(counts: Sequence[int], beta: float) -> np.ndarray:
    """Class-balanced weights (1 - β) / (1 - β^{n_j}) (Cui et al. 2019), summing to the number of classes."""
    w = (1.0 - beta) / (1.0 - np.power(beta, np.asarray(counts, dtype=np.float64)))
    return w * (len(w) / w.sum())


class LDAMLoss:
    """Per-sample LDAM loss on cosine logits; ``weights`` (per class index) apply from ``drw_at`` on."""

    def __init__(self, margins: Sequence[float], s: float, weights: Sequence[float] | None = None,
                 drw_at: float = 0.8) -> None:
        self.margins = torch.tensor(list(margins), dtype=torch.float32)
        self.s = float(s)
        self.weights = None if weights is None else torch.tensor(list(weights), dtype=torch.float32)
        self.drw_at = float(drw_at)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, progress: float = 0.0) -> torch.Tensor:
        margin = self.margins.to(logits.device)[target]
        shifted = logits - F.one_hot(target, logits.shape[1]).to(logits.dtype) * margin.unsqueeze(1)
        loss = F.cross_entropy(self.s * shifted, target, reduction="none")
        if self.weights is None or progress < self.drw_at:
            return loss
        w = self.weights.to(logits.device)[target]
        return loss * w * (len(w) / w.sum())


class LDAM(ClassifierChange):
    """The configured classifier with a cosine last layer, trained with the LDAM loss (and DRW).

    Parameters
    ----------
    max_margin : the largest class margin (Cao et al.: 0.5).
    s : scale of the cosine logits (30).
    drw : add the deferred re-weighting of LDAM-DRW.
    beta : β of the class-balanced weights (0.9999).
    drw_at : fraction of training after which the weights apply (0.8).
    """

    label = "LDAM"
    reference = ("Cao et al. 2019, 'Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss', "
                 "NeurIPS (LDAM; DRW optional)")

    def __init__(self, max_margin: float = 0.5, s: float = 30.0, drw: bool = False, beta: float = 0.9999,
                 drw_at: float = 0.8) -> None:
        if not 0 < max_margin:
            raise ConfigError(f"method.max_margin (ldam) must be > 0, got {max_margin!r}")
        if not 0 < s:
            raise ConfigError(f"method.s (ldam) must be > 0, got {s!r}")
        if not isinstance(drw, bool):
            raise ConfigError(f"method.drw (ldam) must be true or false, got {drw!r}")
        if not 0 < beta < 1 or not 0 <= drw_at <= 1:
            raise ConfigError(f"method.beta must be in (0, 1) and method.drw_at in [0, 1]; got {beta!r}, {drw_at!r}")
        self.max_margin, self.s, self.drw, self.beta, self.drw_at = float(max_margin), float(s), drw, float(beta), float(drw_at)

    def loss_for(self, counts: Sequence[int]) -> LDAMLoss:
        weights = drw_weights(counts, self.beta) if self.drw else None
        return LDAMLoss(ldam_margins(counts, self.max_margin), self.s, weights, self.drw_at)

    def classifier_overrides(self, task: FoldTask, ctx: JobContext) -> dict:
        arch = {**ctx.classifiers.config["arch"], "head": "cosine"}
        return {"loss_fn": self.loss_for([task.counts[c] for c in ctx.classes]), "arch": arch}

    def record_info(self, task: FoldTask, ctx: JobContext) -> dict:
        counts = [task.counts[c] for c in ctx.classes]
        return {"loss": {"name": "ldam-drw" if self.drw else "ldam", "s": self.s, "max_margin": self.max_margin,
                         "margins": [float(m) for m in ldam_margins(counts, self.max_margin)],
                         "drw": {"beta": self.beta, "from": self.drw_at,
                                 "weights": [float(w) for w in drw_weights(counts, self.beta)]} if self.drw else None}}
