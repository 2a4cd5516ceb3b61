"""Training loop for the downstream classifiers.

The loop is a function of (model, data, schedule). Data are tensors already on the device and
mini-batches are index gathers, so a later change can train many independent models of one
architecture at once with the same schedule semantics.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imbench.divergence import LossWatch
from imbench.errors import ConfigError, TrainingError
from imbench.precision import autocast_for, classifier_precision

LOSSES = ("ce", "ls")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
AMP = ("bf16", "none")


@dataclass
class Schedule:
    """How to train: length, batching, optimiser, loss and model selection.

    ``steps`` (mini-batches), when set, replaces ``epochs``. ``shuffle='epoch'`` reshuffles every
    epoch; ``'once'`` shuffles once and reads the same order every epoch (IMSIC's and GAMO's code).
    ``selection='best_val'`` keeps the epoch with the best validation score (EGL); ``'last'`` the end.
    ``amp='bf16'`` runs the forward pass and the loss under bfloat16 autocast on CUDA (parameters,
    gradients and optimiser state stay float32); on the CPU only when the job's ``amp=bf16`` asks for it
    and the CPU has native bf16. ``'none'``: float32 everywhere. See :func:`precision_for`.
    """

    epochs: int = 20
    steps: int | None = None
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    betas: Sequence[float] = (0.9, 0.999)
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    weight_decay: float = 0.0
    loss: str = "ce"
    shuffle: str = "epoch"
    selection: str = "last"
    amp: str = "bf16"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; valid: {', '.join(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        if self.shuffle not in ("epoch", "once"):
            raise ConfigError(f"schedule.shuffle must be 'epoch' or 'once', got {self.shuffle!r}")
        if self.selection not in ("last", "best_val"):
            raise ConfigError(f"schedule.selection must be 'last' or 'best_val', got {self.selection!r}")
        if self.amp not in AMP:
            raise ConfigError(f"schedule.amp must be one of {', '.join(AMP)}, got {self.amp!r}")
        for key in ("batch_size", "epochs", "steps"):
            value = getattr(self, key)
            if not (value is None and key == "steps") and not (
                    isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ConfigError(f"classifier.schedule.{key} must be a positive integer, got {value!r}")
        for key, low, strict in (("lr", 0.0, True), ("eps", 0.0, True), ("weight_decay", 0.0, False),
                                 ("momentum", 0.0, False), ("alpha", 0.0, False)):
            value = getattr(self, key)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and (
                value > low if strict else value >= low)
            if not ok:
                raise ConfigError(f"classifier.schedule.{key} must be a finite number {'>' if strict else '>='} "
                                  f"{low:g}, got {value!r}")
        betas = self.betas
        if not (isinstance(betas, (list, tuple)) and len(betas) == 2
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)):
            raise ConfigError(f"classifier.schedule.betas must be two numbers in [0, 1), got {betas!r}")


@dataclass
class TrainResult:
    epochs_run: int
    steps_run: int
    final_loss: float
    best_epoch: int | None = None
    history: list[float] = field(default_factory=list)  # mean training loss per epoch
    precision: str = "float32"  # "bf16-autocast" when the forward pass ran under bfloat16 autocast
    val_history: list[float] = field(default_factory=list)  # validation score per epoch (selection='best_val')


def precision_for(schedule: Schedule, device: torch.device | str) -> str:
    """What precision training runs in under the job's ``amp`` policy (:mod:`imbench.precision`):
    ``"bf16-autocast"`` or ``"float32"``. With the default ``amp=auto``: bf16 for ``schedule.amp='bf16'``
    on a CUDA device that supports it, float32 on the CPU."""
    return classifier_precision(device, schedule.amp)


def autocast_context(precision: str, device: torch.device | str):
    """The autocast context for ``precision`` (a no-op context for float32)."""
    return autocast_for(precision, device)


def make_optimizer(params, s: Schedule) -> torch.optim.Optimizer:
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, betas=tuple(s.betas), eps=s.eps, weight_decay=s.weight_decay)
    if s.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=s.lr, alpha=s.alpha, eps=s.eps, weight_decay=s.weight_decay)
    return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)


def per_sample_loss(logits: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Cross-entropy, or least squares between the softmax output and the one-hot target (GAMO's LS).

    The one-hot is built with ``scatter`` so that the function also works under ``torch.vmap``."""
    if loss == "ce":
        return F.cross_entropy(logits, target, reduction="none")
    onehot = torch.zeros_like(logits).scatter(1, target.unsqueeze(1), 1.0)
    return ((torch.softmax(logits, dim=1) - onehot) ** 2).mean(dim=1)


class SampleLoss(Protocol):
    """A per-sample training loss that replaces the schedule's ``ce`` / ``ls`` (Focal, LDAM).

    ``progress`` is the fraction of training done before the current step (0 at the start), for
    losses that change during training (LDAM-DRW's deferred re-weighting)."""

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, progress: float) -> torch.Tensor: ...


class EpochOrder(Protocol):
    """The sample indices of one epoch, in the order they are read (class-balanced batches, RS)."""

    def __call__(self, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor: ...


class BatchInputs(Protocol):
    """The inputs of the mini-batch of samples ``idx`` (default: ``X[idx]``), for a method that changes
    training samples during training (EGL moves its synthetic rows before each update). ``progress`` is
    the fraction of training done before the step, as :class:`SampleLoss` gets it."""

    def __call__(self, idx: torch.Tensor, progress: float) -> torch.Tensor: ...


def train_model(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    schedule: Schedule,
    *,
    sample_weight: torch.Tensor | None = None,
    seed: int = 0,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    val_score: Callable[[np.ndarray, np.ndarray], float] | None = None,
    progress: Callable[[int, float], None] | None = None,
    loss_fn: SampleLoss | None = None,
    epoch_order: EpochOrder | None = None,
    batch_inputs: BatchInputs | None = None,
) -> TrainResult:
    """Train ``model`` in place on (X, y); X and y already live on the model's device.

    ``loss_fn`` replaces the schedule's loss; ``epoch_order`` draws each epoch's sample order (and so
    its length) instead of a permutation of the training set; ``batch_inputs`` gives each mini-batch's
    inputs instead of ``X[idx]``.
    Raises :class:`TrainingError` as soon as the loss is not finite or diverges (:mod:`imbench.divergence`),
    naming epoch, step and seed.
    With ``schedule.amp='bf16'`` on CUDA the forward pass and loss run under bfloat16 autocast.
    """
    n = len(y)
    if n == 0:
        raise TrainingError("empty training set")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    torch.manual_seed(seed)  # dropout randomness
    opt = make_optimizer(model.parameters(), schedule)
    precision = precision_for(schedule, X.device)
    if epoch_order is not None:
        order = epoch_order(y, gen)
        n = len(order)
    else:
        order = torch.randperm(n, generator=gen)
    per_epoch = math.ceil(n / schedule.batch_size)
    total_steps = schedule.steps if schedule.steps is not None else schedule.epochs * per_epoch
    best_score, best_state, best_epoch = -math.inf, None, None
    history: list[float] = []
    val_history: list[float] = []
    step, epoch, running = 0, 0, 0.0
    watch = LossWatch("the classifier", seed, "lower the learning rate (classifier.schedule.lr)")
    model.train()
    while step < total_steps:
        if schedule.shuffle == "epoch" and epoch > 0:
            order = torch.randperm(n, generator=gen) if epoch_order is None else epoch_order(y, gen)
        epoch_loss, batches = 0.0, 0
        for start in range(0, n, schedule.batch_size):
            if step >= total_steps:
                break
            idx = order[start:start + schedule.batch_size].to(X.device)
            xb = X[idx] if batch_inputs is None else batch_inputs(idx, step / total_steps)
            with autocast_context(precision, X.device):
                logits = model(xb)
                losses = per_sample_loss(logits.float(), y[idx], schedule.loss) if loss_fn is None \
                    else loss_fn(logits.float(), y[idx], step / total_steps)
            loss = (losses * sample_weight[idx]).mean() if sample_weight is not None else losses.mean()
            value = float(loss.detach())
            watch.check(value, f"epoch {epoch + 1}, step {step + 1}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_loss += value
            batches += 1
            step += 1
        epoch += 1
        running = epoch_loss / max(batches, 1)
        history.append(running)
        if progress is not None:
            progress(epoch, running)
        if schedule.selection == "best_val" and val is not None:
            score = val_score(val[1].cpu().numpy(), predict_proba(model, val[0]))
            val_history.append(float(score))
            model.train()
            if score > best_score:
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(epochs_run=epoch, steps_run=step, final_loss=running, best_epoch=best_epoch, history=history,
                       precision=precision, val_history=val_history)


@torch.no_grad()
def predict_proba(model: nn.Module, X: torch.Tensor, batch_size: int = 2048) -> np.ndarray:
    """Softmax class probabilities, in evaluation mode, as a float64 numpy array."""
    was_training = model.training
    model.eval()
    # float64 softmax: in float32 a confident row's probability rounds to exactly 1.0 once its logit gap passes
    # ~17, and such ties lower the ranking metrics (AUC-PR); float64 keeps them apart up to a gap of ~37
    out = [torch.softmax(model(X[i:i + batch_size]).double(), dim=1).cpu() for i in range(0, len(X), batch_size)]
    model.train(was_training)
    proba = torch.cat(out).double().numpy()
    if not np.all(np.isfinite(proba)):
        raise TrainingError("the trained classifier predicts NaN/inf probabilities; training diverged")
    return proba
