"""GAMO's two objectives: cross-entropy (Eq. 3) and least squares (Eqs. 4-6).

Per mini-batch every player's loss is a mean over the batch; the class weights P_i and (P_c − P_i) of
the equations are realised by how the batch is drawn (real points uniformly from the training set,
generated labels with probability ∝ P_c − P_i for M and D, uniformly over the minority classes for G),
as Algorithm 1 and §3.5 say. Over M's C outputs the losses are averaged, as Keras's MSE and binary
cross-entropy of the released code do (the equations sum them: a constant factor C).

* M: target one-hot(y) on real and on generated points (J_i1..J_i4 / L_i1..L_i4). In the CE form each
  output M_i is scored by a binary cross-entropy -- log M_i for the own class, log(1 − M_i) for the
  others -- as Eq. 3 writes it (``classifier_ce: eq3``); ``categorical`` uses -log M_y alone, the
  usual softmax cross-entropy of the Baseline CN.
* D: target 1 on real points, 0 on generated ones (Q_i1, Q_i2 / L_i5, L_i6); D = sigmoid(logit).
* G against M: M's outputs on G(z|i) should be the complement of one-hot(i) (L_i7, L_i8; Algorithm 1
  line 13). Eq. 6's L_i8 leaves out the majority class c (``include_majority=False``, the paper); the
  released code's target includes it.
* G against D: D(G(z|i)|i) should be 1 (L_i9; Algorithm 1 line 15).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from imbench.errors import ConfigError
from imbench.methods.gamo.nets import one_hot

# Keras clips probabilities to [eps, 1 - eps] in its cross-entropies; so does the CE form here
EPS = 1e-7


def _bce(proba: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = proba.clamp(EPS, 1.0 - EPS)
    return -(target * torch.log(p) + (1.0 - target) * torch.log1p(-p))


@dataclass(frozen=True)
class Objective:
    """The losses of M, D and G in the ``form`` ``ce`` or ``ls``.

    Parameters
    ----------
    form : ``ce`` (Eq. 3) or ``ls`` (Eqs. 4-6).
    classifier_ce : in the CE form, M's loss: ``eq3`` (one binary cross-entropy per output, Eq. 3) or
        ``categorical`` (softmax cross-entropy).
    """

    form: str = "ls"
    classifier_ce: str = "eq3"

    def __post_init__(self) -> None:
        if self.form not in ("ce", "ls"):
            raise ConfigError(f"GAMO's loss must be 'ce' (Eq. 3) or 'ls' (Eqs. 4-6), got {self.form!r}")
        if self.classifier_ce not in ("eq3", "categorical"):
            raise ConfigError(f"method.classifier_ce must be 'eq3' or 'categorical', got {self.classifier_ce!r}")

    def classifier(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """M's loss on points of classes ``labels`` (real or generated)."""
        if self.form == "ce" and self.classifier_ce == "categorical":
            return F.cross_entropy(logits, labels)
        proba = torch.softmax(logits, dim=1)
        onehot = one_hot(labels, logits.shape[1], proba.dtype)
        if self.form == "ls":
            return ((onehot - proba) ** 2).mean()
        return _bce(proba, onehot).mean()

    def discriminator(self, logit: torch.Tensor, target: torch.Tensor | float) -> torch.Tensor:
        """D's loss against ``target`` (1 real, 0 generated; or the code's soft targets)."""
        if self.form == "ls":
            return ((target - torch.sigmoid(logit)) ** 2).mean()
        if not isinstance(target, torch.Tensor):
            target = torch.full_like(logit, target)
        return F.binary_cross_entropy_with_logits(logit, target.expand_as(logit))

    def generator_vs_classifier(self, logits: torch.Tensor, labels: torch.Tensor, majority: int,
                                include_majority: bool) -> torch.Tensor:
        """G's loss through M: M's outputs on G(z|i) pushed to the complement of one-hot(i)."""
        proba = torch.softmax(logits, dim=1)
        complement = 1.0 - one_hot(labels, logits.shape[1], proba.dtype)
        per_output = (complement - proba) ** 2 if self.form == "ls" else _bce(proba, complement)
        if include_majority:
            return per_output.mean()
        kept = _classes_without(logits.shape[1], majority, logits.device)
        return per_output.index_select(1, kept).mean()  # an index, not a mask: runs under torch.vmap

    def generator_vs_discriminator(self, logit: torch.Tensor) -> torch.Tensor:
        """G's loss through D: D(G(z|i)|i) pushed to 1."""
        return self.discriminator(logit, 1.0)


@lru_cache(maxsize=64)
def _classes_without(n_classes: int, majority: int, device: torch.device) -> torch.Tensor:
    """The class indices other than ``majority``, made once."""
    return torch.tensor([c for c in range(n_classes) if c != majority], device=device)
