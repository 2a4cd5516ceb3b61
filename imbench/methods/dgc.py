"""DGC, the Deep Generative Classifier (Wang, Lyu & Jing, CVPR 2020): IMSIC's baseline row "DGC" (He et
al. 2021, Table 1), an end-to-end method: a VAE-like model whose latent code also feeds a classifier, that
classifies by Monte-Carlo estimates of log p(x, y). It makes no synthetic samples.

Sources. Spec §6: the settings of the released DGCMM code (anonymous184/DGCMM, configs.config_mnist,
which states it also implements DGC; the CVPR-2020-only DGC code could not be retrieved), §3.4 and §9
items 10 and 43 (the IMSIC paper gives no DGC settings). Where the spec summarises the code, the code
(``dgc.py``, ``models.py``, ``configs.py``) was read for the details below.

The model (:mod:`imbench.methods.dgc_nets`): q(z|x) = N(μ(x), diag σ²(x)) from 4 stride-2 convolutions
(128, 256, 512, 1024 channels by default), z-dim 64; p(x|z) a deconvolutional decoder with a sigmoid
mean x̂(z); p(y|z) one linear layer. The released encoder also computes a label-conditioned branch that
it never uses, so q(z|x, y) = q(z|x) here (spec §9.43).

Training, as the released code does it (spec §6):

1. encoder pre-training: at most ``pretrain_steps`` (200) steps of Adam on the encoder alone, each on
   ``pretrain_batch`` (1,000) training images drawn without replacement, matching the mean and the
   covariance of the sampled z to those of as many N(0, I) draws (mean of the squared differences of the
   means plus mean of the squared differences of the covariances); stop after the first step whose loss
   (before its update) is below ``pretrain_stop`` (0.1);
2. ``warmup_epochs`` (2) epochs on the main objective (the code logs recon + MMD + CE here, but steps the
   main objective), without perturbation or LVO;
3. class-wise Gaussians of z (mean and covariance of z ~ q(z|x) over each class's training images, the
   networks in eval mode) are fitted. In the released code they only feed the MMD term, which the main
   objective does not contain, so they change nothing; they are kept on the predictor
   (``class_gaussians``) for inspection;
4. ``epochs`` (50) epochs of mini-batches of ``batch_size`` (100), Adam(lr 1e-5, β (0.5, 0.999)), the
   learning rate multiplied by ``lr_decay`` at the start of the epochs it names (the code's ``manual``
   schedule: ×0.5 at epoch 30, ×0.2 at 50, ×0.1 at 100). Each mini-batch is perturbed (below), then,
   with ``lvo``, the encoder alone takes one step on the main objective ("LVO"), then encoder, decoder and
   classifier take one step on it.

The main objective of a mini-batch of B (perturbed) images:
0.5 · mean_b Σ_pixels (x − x̂(z))² + λ_cls · Σ_b CE(p(y|z), y), z ~ q(z|x) by the reparameterisation
z = μ + ε·√(1e-8 + σ²) (log σ² clipped to [−50, 50]); λ_cls = 10; the cross-entropy is summed over the
batch, as the code's ``reduce_mean(reduce_sum(...))`` does. There is no KL and no MMD term: the code's
main objective has neither (its MMD term is only in a logged, never stepped, objective), so only the
pre-training keeps q(z) near N(0, I). DGCMM's Gaussian-mixture term (λ_mixture 1e-4) is not part of
plain DGC (spec §6 [R]); ``lambda_mixture`` must be 0.

The data perturbation (the code's ``augment_batch``, aug_rate 0.5): with the training counts n_c and
n_max = max n_c, class c's rate is r_c = aug_rate · (n_max − n_c) / n_c. In a mini-batch holding m_c
images of class c with r_c > 0, each image is repeated ⌈1 + r_c⌉ times in a row and the class's run is
cut to ⌊m_c · (1 + r_c)⌋ rows (so the last images of the class get fewer copies); classes with r_c = 0
(the majority) are kept once. The perturbed batch is ordered class by class. E.g. counts {0: 100, 1: 10}:
r_1 = 4.5; 3 class-1 images in a batch become 6 + 6 + 4 = ⌊16.5⌋ = 16 rows.

Prediction: for every candidate class y, S = ``mc_samples`` (10) draws z_s ~ q(z|x) and
score(y) = log (1/S) Σ_s exp[0.5 · log p(x|z_s) + λ_cls · log p(y|z_s)] with log p(x|z) = −Σ_pixels
(x − x̂(z))² (the code's form: no constant, no 1/2 inside), networks in eval mode; probabilities are the
softmax of the scores over classes. The code draws new z for every candidate class (``mc_shared:
false``); ``mc_shared: true`` reuses the same S draws for all classes (K times cheaper).

Choices made here where the spec and the code are silent, or where the code cannot be followed as is:

* the data order: one seeded shuffle of the fold's training part, read in that order every epoch
  (``shuffle: once``; the code reads its once-shuffled arrays in a fixed order); ``shuffle: epoch``
  reshuffles every epoch. The last mini-batch of an epoch may be short (the code's main loop takes
  ⌈n / batch⌉ mini-batches). The code's warm-up takes ⌊n / batch⌋, which is none when n < batch; here the
  warm-up epochs are full epochs too;
* the pre-training compares min(n, 1,000) encoded images with as many N(0, I) draws, both covariances
  divided by their own count − 1 (the code divides by 999 whatever the count, which only differs when
  the training part has fewer than 1,000 images);
* the LVO step uses the encoder's own Adam, the pre-training's (the code reuses that optimiser object),
  whose learning rate the schedule does not decay; its moments carry over from the pre-training;
* ``max_batches_per_epoch`` (null: all) cuts every epoch (warm-up and main) short: only for smoke runs
  (the ``quick`` profile sets it from ``max_generator_batches``, which also caps ``pretrain_steps``;
  ``max_epochs`` caps ``epochs`` and ``warmup_epochs``);
* weights start N(0, 0.01²) (the code's ``init_std``), biases 0;
* the record's ``steps`` counts the main phase's mini-batches (the LVO steps, the warm-up and the
  pre-training are counted apart).

Left open: how IMSIC ran DGC on Fashion-MNIST (the code has no Fashion config; the MNIST one is used,
spec §6 [R]) and which epoch it reported (the last one here, spec §6 [R]).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from imbench.classifiers.downstream import InputSpec, label_indices, prepare_inputs
from imbench.errors import ConfigError, TrainingError
from imbench.methods.dgc_nets import DgcModel
from imbench.methods.protocol import FittedRun, FoldFit, FoldTask, JobContext, Method, ProfileCap
from imbench.rng import isolated_rng

SHUFFLES = ("once", "epoch")
RECONSTRUCTION_WEIGHT = 0.5  # the code's 'l2sq' cost: 0.5 · Σ (x − x̂)², batch mean
SCORE_RECONSTRUCTION_WEIGHT = 0.5  # the score's 0.5 · log p(x|z), log p(x|z) = −Σ (x − x̂)²
INPUT = InputSpec(range=(0.0, 1.0))


# -- the data perturbation ---------------------------------------------------------------------------
def repeat_rates(counts: Sequence[int], aug_rate: float) -> list[float]:
    """r_c = aug_rate · (n_max − n_c) / n_c for the training counts n_c (by class index; all > 0)."""
    n_max = max(counts)
    return [aug_rate * (n_max - n) / n for n in counts]


def perturbation_indices(labels: np.ndarray, rates: Sequence[float]) -> np.ndarray:
    """Rows of a mini-batch after the perturbation: for each class index c in order, its m_c rows; when
    r_c > 0 each row repeated ⌈1 + r_c⌉ times in a row, the class's run cut to ⌊m_c · (1 + r_c)⌋.

    Parameters
    ----------
    labels : class indices of the mini-batch's rows.
    rates : r_c by class index (:func:`repeat_rates`).

    Returns
    -------
    numpy.ndarray
        Indices into the mini-batch.
    """
    out = []
    for c, rate in enumerate(rates):
        rows = np.flatnonzero(labels == c)
        if len(rows) == 0:
            continue
        if rate <= 0:
            out.append(rows)
            continue
        out.append(np.repeat(rows, math.ceil(1 + rate))[:math.floor(len(rows) * (1 + rate))])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


# -- losses ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossTerms:
    """A mini-batch's main objective: ``total`` = ``reconstruction`` + λ_cls · ``classification``."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    classification: torch.Tensor


def main_objective(model: DgcModel, x: torch.Tensor, y: torch.Tensor, lambda_cls: float) -> LossTerms:
    """0.5 · mean_b Σ_pixels (x − x̂)² + λ_cls · Σ_b CE, z ~ q(z|x) (see the module docstring)."""
    z = model.encoder(x).sample()
    recon = RECONSTRUCTION_WEIGHT * ((x - model.decoder(z)) ** 2).flatten(1).sum(1).mean()
    cls = F.cross_entropy(model.classifier(z), y, reduction="sum")
    return LossTerms(recon + lambda_cls * cls, recon, cls)


def moment_matching_loss(z: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The encoder pre-training's loss: mean of the squared differences of the means of ``z`` and
    ``noise`` (N(0, I) draws) plus mean of the squared differences of their covariances (each divided by
    its own count − 1)."""
    mean_q, mean_p = z.mean(0, keepdim=True), noise.mean(0, keepdim=True)
    cov_q = (z - mean_q).T @ (z - mean_q) / (len(z) - 1)
    cov_p = (noise - mean_p).T @ (noise - mean_p) / (len(noise) - 1)
    return ((mean_p - mean_q) ** 2).mean() + ((cov_p - cov_q) ** 2).mean()


# -- prediction --------------------------------------------------------------------------------------
def mc_log_bound(log_px: torch.Tensor, log_py: torch.Tensor, lambda_cls: float) -> torch.Tensor:
    """log (1/S) Σ_s exp[0.5 · log p(x|z_s) + λ_cls · log p(y|z_s)] over the first dimension (S)."""
    terms = SCORE_RECONSTRUCTION_WEIGHT * log_px + lambda_cls * log_py
    return torch.logsumexp(terms, dim=0) - math.log(terms.shape[0])


@dataclass(frozen=True)
class Scoring:
    """How the predictor scores: Monte-Carlo draws per class, the classification weight, whether the
    classes share the draws, inputs per batch and the seed of the draws."""

    mc_samples: int = 10
    lambda_cls: float = 10.0
    shared: bool = False
    batch: int = 100
    seed: int = 0


@dataclass(frozen=True)
class Likelihoods:
    """For S draws of z per input of a batch of B: ``log_px`` = log p(x|z) = −Σ (x − x̂)² (S × B) and
    ``log_py`` = log p(·|z) (S × B × K)."""

    log_px: torch.Tensor
    log_py: torch.Tensor


@dataclass
class ClassGaussians:
    """Mean (K × z) and covariance (K × z × z) of z ~ q(z|x) over each class's training images."""

    means: np.ndarray
    covariances: np.ndarray


class DgcPredictor:
    """``predict_proba``: the softmax over classes of the Monte-Carlo scores (see the module docstring).

    The draws come from a generator seeded with ``scoring.seed`` at every call, so the same inputs give
    the same probabilities.
    """

    def __init__(self, model: DgcModel, device: torch.device, scoring: Scoring,
                 class_gaussians: ClassGaussians | None = None) -> None:
        self.model, self.device, self.scoring, self.class_gaussians = model, device, scoring, class_gaussians

    def likelihoods(self, x: torch.Tensor, z: torch.Tensor) -> Likelihoods:
        """log p(x|z) and log p(·|z) of a batch ``x`` for draws ``z`` (S × B × z_dim)."""
        S, B = z.shape[:2]
        flat = z.reshape(S * B, -1)
        recon = self.model.decoder(flat).reshape(S, B, -1).float()
        return Likelihoods(log_px=-((x.reshape(1, B, -1) - recon) ** 2).sum(-1),
                           log_py=torch.log_softmax(self.model.classifier(flat).float(), dim=1).reshape(S, B, -1))

    @torch.no_grad()
    def log_scores(self, X: np.ndarray) -> np.ndarray:
        """score(y) of every input (N × K)."""
        s, model = self.scoring, self.model
        model.eval()
        Xt = prepare_inputs(X, INPUT, self.device)
        gen = torch.Generator(device=self.device).manual_seed(s.seed)
        K = model.classifier.out_features
        out = []
        for i in range(0, len(Xt), s.batch):
            x = Xt[i:i + s.batch]
            q = model.encoder(x)
            shape = (s.mc_samples, *q.mean.shape)
            scores = torch.empty(len(x), K, device=self.device)
            lik = None
            for k in range(K):
                if lik is None or not s.shared:  # new draws for every class unless they are shared
                    lik = self.likelihoods(x, q.sample(torch.randn(shape, generator=gen, device=self.device)))
                scores[:, k] = mc_log_bound(lik.log_px, lik.log_py[..., k], s.lambda_cls)
            out.append(scores.double().cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, K))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (N × K), columns in the job's class order."""
        proba = torch.softmax(torch.as_tensor(self.log_scores(X)), dim=1).numpy()
        if not np.all(np.isfinite(proba)):
            raise TrainingError("DGC's scores are NaN/inf; training diverged")
        return proba


# -- training ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DgcSchedule:
    """How DGC trains (see the module docstring)."""

    epochs: int = 50
    batch_size: int = 100
    lr: float = 1e-5
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: dict[int, float] = field(default_factory=lambda: {30: 0.5, 50: 0.2, 100: 0.1})
    warmup_epochs: int = 2
    pretrain_steps: int = 200
    pretrain_batch: int = 1000
    pretrain_stop: float = 0.1
    lvo: bool = True
    aug_rate: float = 0.5
    lambda_cls: float = 10.0
    shuffle: str = "once"
    max_batches_per_epoch: int | None = None


@dataclass
class TrainingLog:
    """What the record says about one DGC training: main epochs and mini-batches (``steps``), mini-batches
    per epoch, LVO steps, warm-up epochs and mini-batches, pre-training steps, its last loss and whether it
    stopped below ``pretrain_stop``, rows presented per main epoch after the perturbation, the learning
    rate at the end and the mean of each loss term over the last main epoch."""

    epochs: int = 0
    steps: int = 0
    batches_per_epoch: int = 0
    lvo_steps: int = 0
    warmup_epochs: int = 0
    warmup_steps: int = 0
    pretrain_steps: int = 0
    pretrain_loss: float | None = None
    pretrain_stopped_early: bool = False
    presentations_per_epoch: int = 0
    lr_final: float = 0.0
    final_losses: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainingResult:
    """A training's log (for the record) and its class-wise Gaussians of z."""

    log: TrainingLog
    class_gaussians: ClassGaussians


class DgcTrainer:
    """Trains ``model`` on (X, y) by DGC's schedule: pre-training, warm-up, class-wise Gaussians, main
    epochs with perturbation and LVO.

    Parameters
    ----------
    model : the networks, on the device, freshly initialised (seed torch first).
    schedule : the schedule.
    X, y : training images in [0, 1] and their class indices, on the device.
    counts : training count of every class index (all > 0).
    seed : seeds the data order and the pre-training draws (torch's global generator, seeded by the
        caller, draws the reparameterisation noise).
    progress : called as ``progress(done, total)`` after every mini-batch of the warm-up and main epochs.
    """

    def __init__(self, model: DgcModel, schedule: DgcSchedule, X: torch.Tensor, y: torch.Tensor,
                 counts: Sequence[int], seed: int, progress: Callable[[int, int], None] | None = None) -> None:
        self.model, self.s, self.X, self.y, self.seed, self.progress = model, schedule, X, y, seed, progress
        self.rates = repeat_rates(counts, schedule.aug_rate)
        self.rng = np.random.default_rng(seed)
        betas = tuple(schedule.betas)
        self.encoder_opt = torch.optim.Adam(model.encoder_parameters(), lr=schedule.lr, betas=betas)
        self.main_opt = torch.optim.Adam(model.parameters(), lr=schedule.lr, betas=betas)
        self.y_np = y.cpu().numpy()

    def _check(self, loss: torch.Tensor, phase: str, step: int) -> None:
        if not torch.isfinite(loss):
            raise TrainingError(f"DGC's {phase} loss became {float(loss)} at mini-batch {step} (seed {self.seed}); "
                                "lower method.lr or check the input data for NaN/inf")

    def pretrain(self, log: TrainingLog) -> None:
        """Encoder pre-training: moment matching of q(z) to N(0, I)."""
        s, n = self.s, len(self.y)
        size = min(n, s.pretrain_batch)
        for step in range(s.pretrain_steps):
            ids = torch.as_tensor(self.rng.choice(n, size, replace=False), device=self.X.device)
            z = self.model.encoder(self.X[ids]).sample()
            loss = moment_matching_loss(z, torch.randn_like(z))
            self._check(loss, "pre-training", step + 1)
            self.encoder_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.encoder_opt.step()
            log.pretrain_steps, log.pretrain_loss = step + 1, loss.item()
            if log.pretrain_loss < s.pretrain_stop:
                log.pretrain_stopped_early = True
                break

    def _batches(self, order: np.ndarray) -> list[np.ndarray]:
        s = self.s
        batches = [order[i:i + s.batch_size] for i in range(0, len(order), s.batch_size)]
        return batches[:s.max_batches_per_epoch] if s.max_batches_per_epoch else batches

    def _step(self, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, phase: str,
              step: int) -> LossTerms:
        terms = main_objective(self.model, x, y, self.s.lambda_cls)
        self._check(terms.total, phase, step)
        opt.zero_grad(set_to_none=True)
        terms.total.backward()
        opt.step()
        return terms

    def _epoch(self, order: np.ndarray, log: TrainingLog, main: bool, done: int, total: int) -> dict[str, float]:
        """One epoch of the main objective; ``main``: with the perturbation and LVO. Returns the mean of
        each loss term over its mini-batches."""
        sums = {"total": 0.0, "reconstruction": 0.0, "classification": 0.0}
        batches = self._batches(order)
        presented = 0
        for rows in batches:
            if main:
                rows = rows[perturbation_indices(self.y_np[rows], self.rates)]
            idx = torch.as_tensor(rows, device=self.X.device)
            x, y = self.X[idx], self.y[idx]
            presented += len(rows)
            if main:
                if self.s.lvo:
                    self._step(self.encoder_opt, x, y, "LVO", log.steps + 1)
                    log.lvo_steps += 1
                terms = self._step(self.main_opt, x, y, "main", log.steps + 1)
                log.steps += 1
            else:
                terms = self._step(self.main_opt, x, y, "warm-up", log.warmup_steps + 1)
                log.warmup_steps += 1
            for k in sums:
                sums[k] += getattr(terms, k).item()
            done += 1
            if self.progress is not None:
                self.progress(done, total)
        log.batches_per_epoch = len(batches)
        if main:
            log.presentations_per_epoch = presented
        return {k: v / max(len(batches), 1) for k, v in sums.items()}

    def _order(self, fixed: np.ndarray | None) -> np.ndarray:
        return fixed if fixed is not None else self.rng.permutation(len(self.y))

    @torch.no_grad()
    def class_gaussians(self, n_classes: int, batch: int = 500) -> ClassGaussians:
        """Mean and covariance of z ~ q(z|x) over each class's training images (eval mode)."""
        self.model.eval()
        z = torch.cat([self.model.encoder(self.X[i:i + batch]).sample() for i in range(0, len(self.X), batch)])
        self.model.train()
        z = z.double().cpu().numpy()
        d = z.shape[1]
        means, covs = np.zeros((n_classes, d)), np.zeros((n_classes, d, d))
        for c in range(n_classes):
            zc = z[self.y_np == c]
            if len(zc):
                means[c] = zc.mean(0)
            if len(zc) > 1:
                covs[c] = np.cov(zc, rowvar=False)
        return ClassGaussians(means, covs)

    def run(self, n_classes: int) -> TrainingResult:
        """The whole schedule; the networks end in eval mode."""
        s, log = self.s, TrainingLog()
        self.model.train()
        self.pretrain(log)
        fixed = self.rng.permutation(len(self.y)) if s.shuffle == "once" else None
        per_epoch = len(self._batches(np.arange(len(self.y))))
        total, done = per_epoch * (s.warmup_epochs + s.epochs), 0
        for _ in range(s.warmup_epochs):
            self._epoch(self._order(fixed), log, main=False, done=done, total=total)
            done += per_epoch
            log.warmup_epochs += 1
        gaussians = self.class_gaussians(n_classes)
        decay, losses = 1.0, {}
        for epoch in range(s.epochs):
            if epoch in s.lr_decay:
                decay *= s.lr_decay[epoch]
            for group in self.main_opt.param_groups:
                group["lr"] = s.lr * decay
            losses = self._epoch(self._order(fixed), log, main=True, done=done, total=total)
            done += per_epoch
            log.epochs += 1
        log.lr_final, log.final_losses = s.lr * decay, losses
        self.model.eval()
        return TrainingResult(log=log, class_gaussians=gaussians)


# -- the method --------------------------------------------------------------------------------------
def _int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum):
        raise ConfigError(f"DGC: method.{name} must be an integer ≥ {minimum}, got {value!r}")


def _number(name: str, value: Any, minimum: float, strict: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < minimum or (strict and value == minimum):
        raise ConfigError(f"DGC: method.{name} must be a finite number {'>' if strict else '≥'} {minimum}, "
                          f"got {value!r}")


def _widths(name: str, value: Any) -> tuple[int, ...]:
    if not (isinstance(value, (list, tuple)) and value
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
        raise ConfigError(f"DGC: method.{name} must list positive channel counts, got {value!r}")
    return tuple(int(v) for v in value)


class Dgc(Method):
    """The Deep Generative Classifier (see the module docstring for the algorithm and the choices).

    Parameters
    ----------
    width : encoder channels (stride-2 convolutions).
    decoder_width : decoder channels: after the linear layer, then after each stride-2 deconvolution;
        H and W must be divisible by 2^(len − 1).
    z_dim : size of z.
    lambda_cls : weight of the classification term (training and scoring).
    lambda_mixture : DGCMM's mixture weight; must be 0 (plain DGC).
    aug_rate : rate of the data perturbation (0: none).
    epochs, batch_size, lr, betas, lr_decay : main training: epochs, mini-batch, Adam's settings, the
        learning-rate factors applied at the start of the named epochs ({epoch: factor}).
    warmup_epochs : epochs of the main objective before the main epochs (no perturbation, no LVO).
    pretrain_steps, pretrain_batch, pretrain_stop : encoder pre-training: at most that many steps on
        that many images, stopping below that loss (0: no pre-training).
    lvo : whether each main mini-batch adds an encoder-only step.
    shuffle : ``once`` (one seeded order for every epoch) or ``epoch`` (a new order every epoch).
    max_batches_per_epoch : cut every epoch to this many mini-batches (null: all; smoke runs only).
    mc_samples : Monte-Carlo draws per class when predicting.
    mc_shared : whether all candidate classes share the draws (the code: no).
    predict_batch : inputs per prediction batch (each decodes mc_samples × predict_batch latents at once).
    """

    kind = "end_to_end"
    label = "DGC"
    reference = ("Wang, Lyu & Jing 2020, 'Deep Generative Model for Robust Imbalance Classification', CVPR "
                 "(code: anonymous184/DGCMM)")
    profile_caps: ClassVar[tuple[ProfileCap, ...]] = (
        ProfileCap("epochs", "max_epochs"), ProfileCap("warmup_epochs", "max_epochs"),
        ProfileCap("pretrain_steps", "max_generator_batches"),
        ProfileCap("max_batches_per_epoch", "max_generator_batches", none_is_unlimited=True))

    def __init__(self, width: Sequence[int] = (128, 256, 512, 1024), decoder_width: Sequence[int] = (1024, 512, 256),
                 z_dim: int = 64, lambda_cls: float = 10.0, lambda_mixture: float = 0.0, aug_rate: float = 0.5,
                 epochs: int = 50, batch_size: int = 100, lr: float = 1e-5, betas: Sequence[float] = (0.5, 0.999),
                 lr_decay: Mapping[Any, float] | None = None, warmup_epochs: int = 2, pretrain_steps: int = 200,
                 pretrain_batch: int = 1000, pretrain_stop: float = 0.1, lvo: bool = True, shuffle: str = "once",
                 max_batches_per_epoch: int | None = None, mc_samples: int = 10, mc_shared: bool = False,
                 predict_batch: int = 100) -> None:
        self.width, self.decoder_width = _widths("width", width), _widths("decoder_width", decoder_width)
        for name, value, minimum in (("z_dim", z_dim, 1), ("epochs", epochs, 1), ("batch_size", batch_size, 1),
                                     ("warmup_epochs", warmup_epochs, 0), ("pretrain_steps", pretrain_steps, 0),
                                     ("pretrain_batch", pretrain_batch, 2), ("mc_samples", mc_samples, 1),
                                     ("predict_batch", predict_batch, 1)):
            _int(name, value, minimum)
        _int("max_batches_per_epoch", max_batches_per_epoch, 1, allow_none=True)
        _number("lambda_cls", lambda_cls, 0.0)
        _number("aug_rate", aug_rate, 0.0)
        _number("lr", lr, 0.0, strict=True)
        _number("pretrain_stop", pretrain_stop, 0.0)
        if lambda_mixture != 0:
            raise ConfigError(f"DGC: method.lambda_mixture must be 0, got {lambda_mixture!r}: imbench implements "
                              "plain DGC (spec §6 [R]); DGCMM's Gaussian-mixture term is not implemented")
        if not (isinstance(betas, (list, tuple)) and len(betas) == 2
                and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise ConfigError(f"DGC: method.betas must be two numbers in [0, 1), got {betas!r}")
        for name, value in (("lvo", lvo), ("mc_shared", mc_shared)):
            if not isinstance(value, bool):
                raise ConfigError(f"DGC: method.{name} must be true or false, got {value!r}")
        if shuffle not in SHUFFLES:
            raise ConfigError(f"DGC: method.shuffle must be one of {', '.join(SHUFFLES)}, got {shuffle!r}")
        decay = {30: 0.5, 50: 0.2, 100: 0.1} if lr_decay is None else lr_decay
        if not isinstance(decay, Mapping):
            raise ConfigError(f"DGC: method.lr_decay must map epochs to factors ({{30: 0.5}}), got {lr_decay!r}")
        try:
            decay = {int(e): float(f) for e, f in decay.items()}
        except (TypeError, ValueError):
            raise ConfigError(f"DGC: method.lr_decay must map epochs (integers) to factors, got {lr_decay!r}") from None
        if any(e < 0 or not (math.isfinite(f) and f > 0) for e, f in decay.items()):
            raise ConfigError(f"DGC: method.lr_decay needs epochs ≥ 0 and factors > 0, got {lr_decay!r}")
        self.z_dim, self.mc_samples, self.mc_shared, self.predict_batch = z_dim, mc_samples, mc_shared, predict_batch
        self.schedule = DgcSchedule(
            epochs=epochs, batch_size=batch_size, lr=float(lr), betas=(float(betas[0]), float(betas[1])),
            lr_decay=decay, warmup_epochs=warmup_epochs, pretrain_steps=pretrain_steps,
            pretrain_batch=pretrain_batch, pretrain_stop=float(pretrain_stop), lvo=lvo, aug_rate=float(aug_rate),
            lambda_cls=float(lambda_cls), shuffle=shuffle, max_batches_per_epoch=max_batches_per_epoch)

    @classmethod
    def own_classifier(cls, cfg: Mapping[str, Any]) -> dict:
        keys = ("epochs", "batch_size", "lr", "betas", "lr_decay", "warmup_epochs", "pretrain_steps",
                "max_batches_per_epoch")
        return {"name": "dgc", "loss": "dgc",
                "schedule": {"optimizer": "adam", **{k: cfg.get(k) for k in keys}}}

    # -- what a fold needs -----------------------------------------------------------------------
    def class_counts(self, task: FoldTask, classes: Sequence[int]) -> list[int]:
        """Training count of every class; a ConfigError when a class has none."""
        counts = [int(task.counts.get(c, 0)) for c in classes]
        empty = [c for c, n in zip(classes, counts) if n == 0]
        if empty:
            raise ConfigError(f"DGC: class(es) {empty} have no training samples in fold {task.fold}; the data "
                              "perturbation divides by every class's count. Lower ir or raise the skew's smallest "
                              "count")
        return counts

    def inputs(self, X: np.ndarray, device: torch.device) -> torch.Tensor:
        """The training images on the device; a ConfigError for data DGC cannot model."""
        if X.ndim != 4:
            raise ConfigError(f"DGC needs images (N×C×H×W); this data has shape {X.shape[1:]}. DGC is an image "
                              "model (convolutional encoder and decoder): use it with image data sets")
        factor = 2 ** (len(self.decoder_width) - 1)
        if X.shape[2] % factor or X.shape[3] % factor:
            raise ConfigError(f"DGC's decoder builds images whose height and width are divisible by {factor} "
                              f"(28×28, 32×32); this data has {X.shape[2]}×{X.shape[3]}")
        lo, hi = float(np.min(X)), float(np.max(X))
        if not (lo >= -1e-6 and hi <= 1 + 1e-6):
            raise ConfigError(f"DGC models pixels in [0, 1] (sigmoid decoder); this data spans [{lo}, {hi}]")
        return prepare_inputs(X, INPUT, device)

    def settings_record(self) -> dict:
        """The settings that ran, and which terms."""
        s = asdict(self.schedule)
        return {"width": list(self.width), "decoder_width": list(self.decoder_width), "z_dim": self.z_dim, **s,
                "betas": list(s["betas"]), "lr_decay": dict(s["lr_decay"]),
                "loss_terms": {"reconstruction": RECONSTRUCTION_WEIGHT, "classification": self.schedule.lambda_cls,
                               "classification_reduction": "sum over the batch", "mixture": 0.0, "kl": None,
                               "mmd": None},
                "mc_samples": self.mc_samples, "mc_shared": self.mc_shared,
                "class_gaussians": "fitted after the warm-up; no loss term uses them (as in the released code)"}

    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        classes = list(ctx.classes)
        counts = self.class_counts(task, classes)
        X = self.inputs(task.train.X, ctx.device)
        y = label_indices(task.train.y, classes, ctx.device)
        runs = {}
        for repeat, seed in task.repeats.items():
            t0 = time.perf_counter()
            with isolated_rng(ctx.device):
                torch.manual_seed(seed)
                model = DgcModel(tuple(X.shape[1:]), len(classes), self.width, self.decoder_width,
                                 self.z_dim).to(ctx.device)
                bar = tqdm(total=1, desc=f"DGC fold {task.fold} repeat {repeat}", unit="batch", leave=False,
                           disable=not ctx.progress)

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                trainer = DgcTrainer(model, self.schedule, X, y, counts, seed, progress=progress)
                try:
                    result = trainer.run(len(classes))
                finally:
                    bar.close()
            scoring = Scoring(mc_samples=self.mc_samples, lambda_cls=self.schedule.lambda_cls, shared=self.mc_shared,
                              batch=self.predict_batch, seed=seed)
            training = {**asdict(result.log), "precision": "float32",
                        "repeat_rates": {c: r for c, r in zip(classes, trainer.rates)}}
            runs[repeat] = FittedRun(predictor=DgcPredictor(model, ctx.device, scoring, result.class_gaussians),
                                     training=training, train_s=time.perf_counter() - t0)
        return FoldFit(runs=runs, info={"dgc": self.settings_record()})
