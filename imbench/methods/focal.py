"""Focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection", ICCV) on the configured classifier.

FL(p_t) = -α_t (1 - p_t)^γ log p_t. The paper's α weighs the positive (rare) class and 1 - α the other;
with several classes imbench gives α to every minority class and 1 - α to the rest. ``alpha: null``
drops the α factor. EGL's Table 1 does not give γ or α (spec §9.29): γ = 2, α = 0.25 are Lin et al.'s
defaults; γ = 1 is LDAM-DRW's setting.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from imbench.errors import ConfigError
from imbench.methods.classifier_change import ClassifierChange
from imbench.methods.protocol import FoldTask, JobContext


class FocalLoss:
    """Per-sample focal loss; ``class_alpha`` holds α_t per class index, or None for no α factor."""

    def __init__(self, gamma: float, class_alpha: Sequence[float] | None = None) -> None:
        self.gamma = float(gamma)
        self.class_alpha = None if class_alpha is None else torch.tensor(list(class_alpha), dtype=torch.float32)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, progress: float = 0.0) -> torch.Tensor:
        log_pt = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        loss = -((1.0 - log_pt.exp()) ** self.gamma) * log_pt
        if self.class_alpha is not None:
            loss = loss * self.class_alpha.to(logits.device)[target]
        return loss


class Focal(ClassifierChange):
    """The configured classifier trained with the focal loss.

    Parameters
    ----------
    gamma : focusing parameter γ ≥ 0 (0 with α = None is cross-entropy).
    alpha : weight α in (0, 1) of the minority classes (1 - α for the others), or None.
    """

    label = "Focal"
    reference = "Lin et al. 2017, 'Focal Loss for Dense Object Detection', ICCV (as EGL Table 1's Focal row)"

    def __init__(self, gamma: float = 2.0, alpha: float | None = 0.25) -> None:
        if not isinstance(gamma, (int, float)) or gamma < 0:
            raise ConfigError(f"method.gamma (focal) must be a number >= 0, got {gamma!r}")
        if alpha is not None and not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
            raise ConfigError(f"method.alpha (focal) must be in (0, 1) or null, got {alpha!r}")
        self.gamma = float(gamma)
        self.alpha = None if alpha is None else float(alpha)

    def loss_for(self, classes: Sequence[int], minority: Sequence[int]) -> FocalLoss:
        if self.alpha is None:
            return FocalLoss(self.gamma)
        return FocalLoss(self.gamma, [self.alpha if c in minority else 1.0 - self.alpha for c in classes])

    def classifier_overrides(self, task: FoldTask, ctx: JobContext) -> dict:
        return {"loss_fn": self.loss_for(ctx.classes, task.minority)}

    def record_info(self, task: FoldTask, ctx: JobContext) -> dict:
        return {"loss": {"name": "focal", "gamma": self.gamma, "alpha": self.alpha}}
