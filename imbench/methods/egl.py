"""EGL: augmentation by explicit-gradient meta-learning (Yasinnik, Salhov, Lindenbaum & Averbuch).

The configured classifier C_θ trains together with a set of synthetic minority points that move
(spec §7.1, the paper's Algorithm 1):

1. train C_θ0 on the training part only (the classifier's own schedule and model selection);
2. the synthetic set: duplicates of the minority training points x with C_θ0(x) ≤ c (own-class
   probability); the paper sets c = 1 in every experiment, i.e. duplicates every minority point;
3. for each mini-batch X_1 ∪ X^syn of the training part and the synthetic set, and a batch X_2 of the
   validation part:
   θ′ = θ − η_1 ∇_θ L(X_1 ∪ X^syn; θ), kept differentiable in X^syn;
   X^syn ← X^syn − η_2 ∇_{X^syn} L(X_2; θ′) (a second-order gradient, :func:`synthetic_gradient`);
   then θ is updated on the batch (below). η_2 = 0 is plain up-sampling.

The paper leaves open how θ is updated, the batch sizes, the length and the model selection. The
``paper`` mode reads it as the classifier's own training continued on the up-sampled set: each
mini-batch of (training part ∪ synthetic set), shuffled together, first moves its synthetic rows and then
updates θ with the classifier's optimiser on the moved batch, and the epoch with the best validation
score is kept (``schedule.selection: best_val``; AUC-PR of the minority class in a binary task). So with
η_2 = 0 EGL is exactly up-sampling continued from C_θ0. The ``code`` mode follows the authors' repository
(spec §7.2, broniyasinnik/deep-tabular-imbalance @fbab1be, config ``adult_ir_50/config_meta.yml``):

==================  ================================  ==============================================
setting             paper (default)                   code
==================  ================================  ==============================================
``eta1``            η_1 = 1e-2                        lr_model 1e-2
``eta2``            η_2 = 10 (Adult)                  lr_data 1e3 (spec §9.24)
``select``, ``c``   threshold, c = 1 (every point)    quantile 0.5: the less-confident half
                                                      (``low_minority_q50``, spec §9.25)
``update``          ``optimizer``: the classifier's   ``inner_sgd``: θ ← θ′ (α = 0), the SGD step
                    optimiser on the moved batch      with η_1 and the gradient before the move
``train_batch``     the classifier's (128)            1,024
``synthetic_batch`` ``mixed``: synthetic rows are     1 synthetic row added to each batch of real rows
                    shuffled into the training part
``val_batch``       64 (spec §7.2 [R])                512
==================  ================================  ==============================================

Either mode's value can be replaced key by key; each run's record says which mode ran, every setting's
value and which follow the code (``egl.from_code``). In both modes the validation part serves as D^valid
of the meta step and for model selection (the repository holds out a third split for the meta step).
With several minority classes (not in the paper, which is binary) the synthetic set duplicates the
points of every minority class.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from imbench.classifiers.downstream import DownstreamClassifier, prepare_inputs, transform_inputs, validation_score
from imbench.classifiers.train import Schedule, per_sample_loss, train_model
from imbench.divergence import LossWatch
from imbench.errors import ConfigError, TrainingError
from imbench.methods.executor import training_summary
from imbench.methods.protocol import FittedRun, FoldFit, FoldTask, JobContext, Method, ProfileCap, SyntheticSamples
from imbench.rng import isolated_rng

MODES = ("paper", "code")
SELECTS = ("threshold", "quantile")
UPDATES = ("optimizer", "inner_sgd")
MIXED = "mixed"

#: Each mode's value of every setting that a config leaves null (see the module docstring).
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"eta1": 1e-2, "eta2": 10.0, "select": "threshold", "c": 1.0, "quantile": 0.5, "update": "optimizer",
              "train_batch": None, "synthetic_batch": MIXED, "val_batch": 64},
    "code": {"eta1": 1e-2, "eta2": 1e3, "select": "quantile", "c": 1.0, "quantile": 0.5, "update": "inner_sgd",
             "train_batch": 1024, "synthetic_batch": 1, "val_batch": 512},
}

# a per-sample loss as the training loop calls it: (logits, class indices, progress) -> losses
Loss = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


@dataclass(frozen=True)
class EglSettings:
    """EGL's settings once the mode has filled the ones a config left null (checked on construction).

    Parameters
    ----------
    mode : ``paper`` or ``code``: whose values fill the settings left null.
    eta1 : η_1 > 0, the step of the differentiable inner update θ′ = θ − η_1 ∇_θ L.
    eta2 : η_2 ≥ 0, the synthetic points' step (0: plain up-sampling).
    select : ``threshold`` (points with own-class probability ≤ ``c``) or ``quantile`` (the ``quantile``
        fraction of the minority points with the lowest own-class probability).
    c : the paper's confidence bound c in [0, 1].
    quantile : fraction in (0, 1] of the minority points kept by ``select: quantile``.
    update : ``optimizer`` (the classifier's optimiser on the batch after the move) or ``inner_sgd``
        (θ ← θ′: an SGD step with η_1 on the batch before the move).
    train_batch : mini-batch size of the training part (None: the classifier's batch size).
    synthetic_batch : ``mixed`` (the synthetic set is shuffled into the training part) or the number of
        synthetic points added to each batch of ``train_batch`` real points.
    val_batch : size of the validation batch X_2.
    epochs : passes over the training part in the meta phase (after the pre-training).
    steps : mini-batches of the meta phase, replacing ``epochs`` when set.
    """

    mode: str
    eta1: float
    eta2: float
    select: str
    c: float
    quantile: float
    update: str
    train_batch: int | None
    synthetic_batch: int | str
    val_batch: int
    epochs: int
    steps: int | None

    def __post_init__(self) -> None:
        for key, valid in (("mode", MODES), ("select", SELECTS), ("update", UPDATES)):
            if getattr(self, key) not in valid:
                raise ConfigError(f"method.{key} (EGL) must be one of {', '.join(valid)}, got {getattr(self, key)!r}")
        if not (_is_number(self.eta1) and self.eta1 > 0):
            raise ConfigError(f"method.eta1 (EGL's η1, the inner step of θ' = θ - η1·∇L) must be a finite "
                              f"number > 0, got {self.eta1!r}; the paper and the authors' code use 1e-2")
        if not (_is_number(self.eta2) and self.eta2 >= 0):
            raise ConfigError(f"method.eta2 (EGL's η2, the step of the synthetic points) must be a finite number "
                              f">= 0, got {self.eta2!r}; the paper uses 10, the authors' code 1e3, 0 is plain "
                              "up-sampling")
        if not (_is_number(self.c) and 0 <= self.c <= 1):
            raise ConfigError(f"method.c (EGL's confidence bound: minority points with probability <= c are "
                              f"duplicated) must be in [0, 1], got {self.c!r}; the paper uses c = 1 (all of them)")
        if not (_is_number(self.quantile) and 0 < self.quantile <= 1):
            raise ConfigError(f"method.quantile (EGL: the fraction of least-confident minority points duplicated "
                              f"with select=quantile) must be in (0, 1], got {self.quantile!r}; the authors' code "
                              "uses 0.5")
        for key in ("train_batch", "steps"):
            value = getattr(self, key)
            if value is not None and not _is_count(value):
                raise ConfigError(f"method.{key} (EGL) must be a positive integer or null, got {value!r}")
        for key in ("val_batch", "epochs"):
            if not _is_count(getattr(self, key)):
                raise ConfigError(f"method.{key} (EGL) must be a positive integer, got {getattr(self, key)!r}")
        if self.synthetic_batch != MIXED and not _is_count(self.synthetic_batch):
            raise ConfigError(f"method.synthetic_batch (EGL) must be '{MIXED}' (synthetic points shuffled into the "
                              f"training part) or a positive integer (synthetic points per mini-batch), got "
                              f"{self.synthetic_batch!r}")

    def record(self) -> dict:
        """The settings as the run's record gives them: every value, and which follow the authors' code
        rather than the paper."""
        values = dataclasses.asdict(self)
        if self.select == "threshold":
            values.pop("quantile")
        else:
            values.pop("c")
        paper, code = PRESETS["paper"], PRESETS["code"]
        from_code = sorted(k for k in values if k in code and values[k] == code[k] and values[k] != paper[k])
        return {**values, "from_code": from_code}


def synthetic_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, synthetic: torch.Tensor,
                       x_val: torch.Tensor, y_val: torch.Tensor, eta1: float, loss: Loss, progress: float = 0.0,
                       weight: torch.Tensor | None = None,
                       transform: Callable[[torch.Tensor], torch.Tensor] = lambda t: t) -> tuple[torch.Tensor, float]:
    """EGL's explicit gradient: ∇_{X^syn} L(X_2; θ′(X^syn)) with θ′ = θ − η_1 ∇_θ L(X_1 ∪ X^syn; θ).

    Parameters
    ----------
    model : the classifier; its parameters θ are read, never changed.
    x, y : the mini-batch X_1 ∪ X^syn (inputs before ``transform``) and its class indices.
    synthetic : boolean mask of the batch's synthetic rows.
    x_val, y_val : the validation batch X_2 (inputs already transformed) and its class indices.
    eta1 : η_1.
    loss : per-sample loss ``loss(logits, target, progress)``.
    progress : fraction of training done (for losses that change during training).
    weight : per-sample weights of the batch (its mean is the training loss), or None.
    transform : the classifier's input transform (differentiable).

    Returns
    -------
    The gradient with respect to the synthetic rows ``x[synthetic]`` (same shape) and the validation loss
    L(X_2; θ′).
    """
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    # copies: a layer with running statistics must not count the meta step's forward passes
    buffers = {k: b.clone() for k, b in model.named_buffers()}
    rows = torch.nonzero(synthetic).squeeze(1)
    xs = x[rows].detach().requires_grad_(True)
    batch = x.detach().index_put((rows,), xs)
    per = loss(functional_call(model, (params, buffers), (transform(batch),)), y, progress)
    inner = (per * weight).mean() if weight is not None else per.mean()
    grads = torch.autograd.grad(inner, list(params.values()), create_graph=True)
    stepped = {k: p - eta1 * g for (k, p), g in zip(params.items(), grads)}
    val_loss = loss(functional_call(model, (stepped, buffers), (x_val,)), y_val, progress).mean()
    (grad,) = torch.autograd.grad(val_loss, xs)
    return grad, float(val_loss.detach())


class SyntheticBatches:
    """Mini-batches of ``real`` training rows (one pass over the training part per epoch) each followed by
    ``synthetic`` rows, read cyclically from a permutation of the synthetic set (rows ``n_real`` on);
    an :class:`imbench.classifiers.train.EpochOrder` for a batch size of ``real + synthetic``."""

    def __init__(self, n_real: int, n_synthetic: int, real: int, synthetic: int) -> None:
        self.n_real, self.n_synthetic = n_real, n_synthetic
        self.real, self.synthetic = real, min(synthetic, n_synthetic)  # no row twice in one batch

    def __call__(self, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        chunks = torch.randperm(self.n_real, generator=generator).split(self.real)
        cycle = torch.randperm(self.n_synthetic, generator=generator)
        picks = self.n_real + cycle[torch.arange(len(chunks) * self.synthetic) % self.n_synthetic]
        return torch.cat([torch.cat([c, s]) for c, s in zip(chunks, picks.split(self.synthetic))])


class SyntheticMover:
    """The meta step before each mini-batch's update (a :class:`imbench.classifiers.train.BatchInputs`):
    moves the batch's synthetic rows of ``X`` (rows ``n_real`` on, changed in place) by
    −η_2 × :func:`synthetic_gradient`, then gives the inputs the update trains on: the moved batch
    (``update: optimizer``) or the batch before the move (``inner_sgd``, as the authors' code)."""

    def __init__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None, n_real: int,
                 val: tuple[torch.Tensor, torch.Tensor], settings: EglSettings, loss: Loss,
                 transform: Callable[[torch.Tensor], torch.Tensor], seed: int) -> None:
        self.model, self.X, self.y, self.weight, self.n_real = model, X, y, weight, n_real
        self.x_val, self.y_val = val
        self.settings, self.loss, self.transform = settings, loss, transform
        self.gen = torch.Generator(device="cpu").manual_seed(seed)
        self.val_order, self.val_at = torch.randperm(len(self.y_val), generator=self.gen), 0
        self.watch = LossWatch("EGL's validation loss under the inner step θ'", seed,
                               "lower method.eta1 or method.eta2")
        self.moves = 0
        self.last_val_loss: float | None = None
        self.start = X[n_real:].detach().clone()
        self._epoch_losses: list[float] = []
        self.val_loss_per_epoch: list[float | None] = []  # mean meta-step validation loss (App. C's check)
        self.shift_per_epoch: list[float] = []  # mean distance of the synthetic points from where they started

    def end_epoch(self) -> None:
        """Close one epoch of the convergence curves."""
        losses, self._epoch_losses = self._epoch_losses, []
        self.val_loss_per_epoch.append(float(sum(losses) / len(losses)) if losses else None)
        shift = (self.X[self.n_real:] - self.start).flatten(1).norm(dim=1)
        self.shift_per_epoch.append(float(shift.mean()) if len(shift) else 0.0)

    def validation_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next X_2: ``val_batch`` rows of a permutation of the validation part, reshuffled when used up."""
        n = len(self.y_val)
        size = min(self.settings.val_batch, n)
        if self.val_at + size > n:
            self.val_order, self.val_at = torch.randperm(n, generator=self.gen), 0
        idx = self.val_order[self.val_at:self.val_at + size].to(self.y_val.device)
        self.val_at += size
        return self.x_val[idx], self.y_val[idx]

    def __call__(self, idx: torch.Tensor, progress: float) -> torch.Tensor:
        before = self.X[idx]
        synthetic = idx >= self.n_real
        if bool(synthetic.any()):
            x_val, y_val = self.validation_batch()
            w = None if self.weight is None else self.weight[idx]
            grad, val_loss = synthetic_gradient(self.model, before, self.y[idx], synthetic, x_val, y_val,
                                                self.settings.eta1, self.loss, progress, w, self.transform)
            self.moves += 1
            self.watch.check(val_loss, f"meta step {self.moves}")
            moved = before[synthetic] - self.settings.eta2 * grad
            if not bool(torch.isfinite(moved).all()):
                raise TrainingError(f"EGL's synthetic points became NaN/inf at meta step {self.moves}; lower "
                                    "method.eta2 (the synthetic points' step) or method.eta1")
            self.X[idx[synthetic]] = moved
            self.last_val_loss = val_loss
            self._epoch_losses.append(float(val_loss))
        return self.transform(before if self.settings.update == "inner_sgd" else self.X[idx])


@dataclass
class _Repeat:
    run: FittedRun
    synthetic: SyntheticSamples


class EGL(Method):
    """The configured classifier trained with EGL's moving synthetic minority points.

    Parameters
    ----------
    mode : ``paper`` or ``code``: whose values fill the settings left null (module docstring).
    eta1, eta2, select, c, quantile, update, train_batch, synthetic_batch, val_batch : see
        :class:`EglSettings`; None takes the mode's value.
    epochs : passes over the training part in the meta phase (spec §7.2 [R]: 200); the pre-training
        follows the classifier's own schedule.
    steps : mini-batches of the meta phase, replacing ``epochs`` when set.
    """

    kind = "with_classifier"
    label = "Explicit Gradient (EGL)"
    reference = ("Yasinnik, Salhov, Lindenbaum & Averbuch, 'Imbalanced Classification via Explicit Gradient "
                 "Learning From Augmented Data' (preprint); code broniyasinnik/deep-tabular-imbalance @fbab1be")
    profile_caps: ClassVar[tuple[ProfileCap, ...]] = (ProfileCap("epochs", "max_epochs"),
                                                      ProfileCap("steps", "max_steps"))

    def __init__(self, mode: str = "paper", eta1: float | None = None, eta2: float | None = None,
                 select: str | None = None, c: float | None = None, quantile: float | None = None,
                 update: str | None = None, train_batch: int | None = None, synthetic_batch: int | str | None = None,
                 val_batch: int | None = None, epochs: int = 200, steps: int | None = None) -> None:
        if mode not in PRESETS:
            raise ConfigError(f"method.mode (EGL) must be one of {', '.join(MODES)}, got {mode!r}")
        given = {"eta1": eta1, "eta2": eta2, "select": select, "c": c, "quantile": quantile, "update": update,
                 "train_batch": train_batch, "synthetic_batch": synthetic_batch, "val_batch": val_batch}
        values = {k: PRESETS[mode][k] if v is None else v for k, v in given.items()}
        self.settings = EglSettings(mode=mode, epochs=epochs, steps=steps, **values)

    # -- pieces of a fit -------------------------------------------------------------------------
    def select_synthetic(self, own_proba: np.ndarray, minority: np.ndarray) -> np.ndarray:
        """Indices of the training points to duplicate, given each point's own-class probability under
        C_θ0 and a mask of the minority points (sorted indices)."""
        candidates = np.flatnonzero(minority)
        if self.settings.select == "threshold":
            return candidates[own_proba[candidates] <= self.settings.c]
        keep = max(1, int(round(self.settings.quantile * len(candidates))))
        return np.sort(candidates[np.argsort(own_proba[candidates], kind="stable")[:keep]])

    def meta_schedule(self, clf: DownstreamClassifier) -> Schedule:
        """The classifier's schedule for the meta phase: EGL's length and batch, and under ``inner_sgd``
        plain SGD with η_1 (θ ← θ′)."""
        s = self.settings
        batch = s.train_batch or clf.schedule.batch_size
        if s.synthetic_batch != MIXED:
            batch += s.synthetic_batch
        out = dataclasses.replace(clf.schedule, epochs=s.epochs, steps=s.steps, batch_size=batch)
        if s.update == "inner_sgd":
            out = dataclasses.replace(out, optimizer="sgd", lr=s.eta1, momentum=0.0, weight_decay=0.0)
        return out

    @staticmethod
    def _classifier(ctx: JobContext) -> DownstreamClassifier:
        clf = ctx.classifiers()
        if not isinstance(clf, DownstreamClassifier):
            raise ConfigError(f"EGL trains the configured classifier's torch model through its gradients; "
                              f"{type(clf).__name__} is not an imbench.classifiers.downstream.DownstreamClassifier")
        return clf

    def fit_repeat(self, task: FoldTask, ctx: JobContext, seed: int, positive: int | None,
                   minority: list[int]) -> _Repeat:
        """Pre-train, select, and train one classifier repeat with moving synthetic points."""
        s, classes, device = self.settings, list(ctx.classes), ctx.device
        train, val = task.train, task.val
        index = {c: i for i, c in enumerate(classes)}
        t0 = time.perf_counter()
        with isolated_rng(device):
            clf = self._classifier(ctx)
            score = validation_score(classes, positive) if clf.schedule.selection == "best_val" else None
            val_arrays = (val.X, val.y) if score is not None else None
            clf.fit(train.X, train.y, classes=classes, seed=seed, device=device, val=val_arrays, val_score=score)
            pretrain = training_summary(clf)
            y_idx = np.vectorize(index.__getitem__)(train.y)
            own = clf.predict_proba(train.X)[np.arange(len(y_idx)), y_idx]
            chosen = self.select_synthetic(own, np.isin(train.y, minority))
            if len(chosen) == 0:
                raise TrainingError(f"EGL selected no synthetic points in fold {task.fold} (classifier seed {seed}): "
                                    f"no minority training point has probability <= c = {s.c}; raise method.c")
            n = len(train.y)
            X = torch.as_tensor(np.concatenate([train.X, train.X[chosen]]), dtype=torch.float32, device=device)
            y = torch.as_tensor(np.concatenate([y_idx, y_idx[chosen]]), dtype=torch.long, device=device)
            weight = None
            if clf.synthetic_weight != 1.0:
                weight = torch.ones(len(y), device=device)
                weight[n:] = clf.synthetic_weight
            y_val = torch.as_tensor(np.vectorize(index.__getitem__)(val.y), dtype=torch.long, device=device)
            val_t = (prepare_inputs(val.X, clf.input, device), y_val)

            def loss(logits: torch.Tensor, target: torch.Tensor, progress: float) -> torch.Tensor:
                if clf.loss_fn is not None:
                    return clf.loss_fn(logits, target, progress)
                return per_sample_loss(logits, target, clf.schedule.loss)

            mover = SyntheticMover(clf.model, X, y, weight, n, val_t, s, loss,
                                   lambda t: transform_inputs(t, clf.input), seed)
            order = clf.epoch_order
            if s.synthetic_batch != MIXED:
                if order is not None:
                    raise ConfigError("EGL with a fixed method.synthetic_batch draws its own mini-batches; it cannot "
                                      "be combined with a classifier whose batches a method already changes")
                order = SyntheticBatches(n, len(chosen), s.train_batch or clf.schedule.batch_size, s.synthetic_batch)
            schedule = self.meta_schedule(clf)
            bar = tqdm(total=None if s.steps else s.epochs, desc=f"EGL fold {task.fold}", unit="ep", leave=False,
                       disable=not ctx.progress)
            try:
                result = train_model(clf.model, X, y, schedule, sample_weight=weight, seed=seed,
                                     val=val_t if score is not None else None, val_score=score,
                                     progress=lambda e, v: (mover.end_epoch(), bar.update(1),
                                                           bar.set_postfix(loss=f"{v:.4f}")),
                                     loss_fn=clf.loss_fn, epoch_order=order, batch_inputs=mover)
            finally:
                bar.close()
            clf.result = result
        moved = X[n:].cpu().numpy().astype(train.X.dtype)
        shift = np.linalg.norm((moved - train.X[chosen]).reshape(len(chosen), -1), axis=1)
        training = {**training_summary(clf), "pretrain": pretrain, "meta_step_precision": "float32",
                    "meta_schedule": {k: getattr(schedule, k) for k in ("epochs", "steps", "batch_size", "optimizer",
                                                                         "lr", "selection")},
                    "synthetic": {"count": int(len(chosen)), "of_minority": int(np.isin(train.y, minority).sum()),
                                  "moves": mover.moves, "mean_shift": float(shift.mean()),
                                  "max_shift": float(shift.max()), "final_val_loss": mover.last_val_loss,
                                  "curves": {"val_loss": mover.val_loss_per_epoch,
                                             "mean_shift": mover.shift_per_epoch}}}
        samples = SyntheticSamples(np.concatenate([train.X, moved]), np.concatenate([train.y, train.y[chosen]]),
                                   np.r_[np.zeros(n, bool), np.ones(len(chosen), bool)],
                                   seconds=0.0)  # made during the training, whose time is train_s
        return _Repeat(FittedRun(clf, training, time.perf_counter() - t0, clf.synthetic_weight), samples)

    # -- the protocol ----------------------------------------------------------------------------
    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        if task.val is None or len(task.val.y) == 0:
            raise ConfigError("EGL needs a validation part (its synthetic points move to lower the validation loss); "
                              "this protocol gives none. Use a protocol with one, e.g. protocol=shuffle_split "
                              "(val_size > 0)")
        minority = [c for c in task.minority if task.counts.get(c, 0) > 0]
        if not minority:
            raise ConfigError(f"EGL: fold {task.fold} has no minority class with training samples to duplicate; "
                              "use an imbalanced skew (e.g. skew=binary) or method=none")
        positive = minority[0] if len(ctx.classes) == 2 else None
        runs: dict[int, FittedRun | TrainingError] = {}
        synthetic, source = None, None
        for repeat, seed in task.repeats.items():
            try:
                done = self.fit_repeat(task, ctx, seed, positive, minority)
            except TrainingError as e:
                runs[repeat] = e
                continue
            runs[repeat] = done.run
            if synthetic is None:
                synthetic, source = done.synthetic, repeat
        info = {"egl": {**self.settings.record(), "synthetic_of_repeat": source}}
        return FoldFit(runs=runs, synthetic=synthetic, info=info)
