"""cWGAN oversampler: the conditional Wasserstein GAN with gradient penalty and auxiliary classifier
loss of Engelmann & Lessmann (2021), as the EGL paper uses it (Table 3 baseline; spec §7.4), on tabular
data with numeric columns only.

What is trained (the authors' suggested settings, spec §7.4; ``GANbasedOversampling`` models.py and its
tutorial):

* **Generator** G(z, c): input = noise z (``noise_dim`` = 30, U(0, 1)) concatenated with the class code
  c; an MLP (128, 64) with LeakyReLU, in parallel one Deep & Cross layer on the input
  (:class:`CrossLayer`); the two concatenated, an extra 32-unit LeakyReLU layer, a linear output of
  the numeric features.
* **Critic** D(x, c): input = features + N(0, ``critic_noise_std``²) noise, concatenated with the class
  code; an MLP (128, 64, 32) with LeakyReLU and LayerNorm after the 2nd and 3rd linear layers (before
  the activation, as the authors' code does), in parallel 2 cross layers on the input; the two
  concatenated, a linear output.
* **WGAN-GP**: critic loss ``-(mean D(real) - mean D(fake)) + gp_weight * GP`` with
  ``GP = mean((||∇_x̂ D(x̂, c)||₂ - 1)²)`` on x̂ = ε·real + (1 − ε)·fake, ε ~ U(0, 1) per row
  (:func:`gradient_penalty`; the norm is ``sqrt(sum g² + 1e-12)`` as in the code); generator loss
  ``-mean D(G(z, c), c)``. Adam(``lr`` = 1e-4, β = (0, 0.9)) for both; ``gp_weight`` 15; batch 64;
  300 epochs. Fakes are conditioned on the labels of the real mini-batch they are compared with.
* **Auxiliary classifier loss**: a separate MLP (64, 64; LeakyReLU, LayerNorm after the 2nd linear
  layer, as the authors' classifier inherits from their critic class; 2 cross layers; sigmoid output) on
  the features alone, pre-trained ``aux_epochs`` = 30 epochs with BCE and Adam(``aux_lr`` = 5e-4,
  β = (0, 0.9), the authors' default betas), then frozen. In every generator update the generator
  loss gets ``aux_weight * mean(max(BCE_i, aux_clamp)) * |L_adv|`` added (:func:`aux_term`): the
  per-element BCE of the classifier on the fake rows against their conditioning labels, clamped below
  at ``aux_clamp`` = 0.3 element by element, then averaged; ``L_adv`` is the adversarial generator loss
  of the same update *before* the aux term is added, taken as a constant (detached, as the code's
  ``.item()`` does), so the scale follows the critic's magnitude without adding its own gradient.
  ``aux_weight=0`` switches the term off and skips the pre-training.

Choices where the spec and the authors' code are silent or differ (all documented in the class too):

* **Classes**: binary data (EGL's) use the authors' single ±1 code column: the second class in sorted
  order (EGL's minority +1) is +1, the first −1; the aux classifier has one sigmoid output. With K > 2
  classes, the code is K columns, +1 for the row's class and −1 for the others, and the aux classifier
  has K one-vs-rest sigmoid outputs (BCE against the one-hot target, per element, clamped as above).
* **Update schedule**: one critic update per mini-batch; a generator update after the critic updates
  number 1, 4, 7, ... counted over the whole training (the code counts per epoch, ``batch_idx % 3 == 0``,
  which gives more than 1 generator update per 3 critic updates when an epoch has few batches; its own
  TODO says to count globally). Every epoch is a fresh shuffle, the last partial batch included (as the
  code does).
* **Resampling**: the amount imbalanced-learn's ``sampling_strategy`` asks for (imbench's method config
  passes EGL's ``double_minority``, spec §2.3; the authors fully balance), each class conditioned on its
  own code; with ``clip`` (default) every synthetic feature is clipped to the per-feature [min, max]
  observed in the training data (all classes), which is [0, 1] for EGL's min–max scaled training split.
  Features are used as given (no scaling inside): the method expects min–max scaled input, as EGL's
  protocol provides.
* **LeakyReLU** slope 0.01 (torch's and the code's default); cross layers initialised as the code does
  (weights N(0, 2/d), bias 0.1); linear layers with torch's default initialisation.
* **Numeric columns only** (spec §7.4 [R]): the authors' categorical branch (Gumbel-softmax outputs,
  embeddings, "condition numeric on categorical") is not implemented; every column is numeric.
* A non-finite loss (checked once per epoch, from sums kept on the device) raises
  :class:`~imbench.errors.TrainingError` naming the method, the loss, the epoch and the seed; the
  critic loss is also watched for growth by :class:`~imbench.divergence.LossWatch` (the generator loss
  is not: a WGAN critic's output has a free offset, so ``-mean D(fake)`` may drift without diverging).

References
----------
J. Engelmann and S. Lessmann, "Conditional Wasserstein GAN-based oversampling of tabular data for
imbalanced learning", Expert Systems with Applications 174 (2021) 114582.
I. Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
R. Wang, B. Fu, G. Fu and M. Wang, "Deep & Cross Network for Ad Click Predictions", ADKDD 2017.
"""
from __future__ import annotations

import time
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from torch import nn

from imbench.devices import resolve_device
from imbench.divergence import LossWatch
from imbench.errors import ConfigError, TrainingError
from imbench.methods.base import DEVICE_CONSTRAINTS, ImbenchOverSampler
from imbench.methods.protocol import ProfileCap
from imbench.rng import isolated_rng, resolve_seed

METHOD = "CWGAN"
GENERATOR_HIDDEN = (128, 64)
GENERATOR_CROSS = 1
GENERATOR_EXTRA = 32
CRITIC_HIDDEN = (128, 64, 32)
CRITIC_CROSS = 2
AUX_HIDDEN = (64, 64)
AUX_CROSS = 2
ADAM_BETAS = (0.0, 0.9)
GP_EPS = 1e-12
# the columns of one epoch's loss sums: critic loss, distance, GP (per critic update), then generator
# loss, its adversarial part, the clamped aux BCE (per generator update)
_CRITIC_KEYS = ("critic_loss", "distance", "gradient_penalty")
_GEN_KEYS = ("generator_loss", "generator_adversarial", "aux_bce")


# ----- building blocks -----------------------------------------------------------------------------------
class CrossLayer(nn.Module):
    """One Deep & Cross layer (Wang et al. 2017): ``x_{l+1} = x_0 · (x_l^T w) + b + x_l``.

    ``x_0`` and ``x_l`` are (N, d); ``w`` and ``b`` are d-vectors; the output is (N, d). Initialised as
    the authors' code does: ``w ~ N(0, 2/d)``, ``b = 0.1``.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features))
        self.bias = nn.Parameter(torch.full((features,), 0.1))
        nn.init.normal_(self.weight, mean=0.0, std=(2.0 / features) ** 0.5)

    def forward(self, x0: torch.Tensor, xl: torch.Tensor) -> torch.Tensor:
        return x0 * (xl @ self.weight).unsqueeze(-1) + self.bias + xl


class _CrossMLP(nn.Module):
    """An MLP (LeakyReLU after every linear layer; with ``layer_norm``, a LayerNorm between the linear
    layer and its activation on every layer but the first) beside ``n_cross`` cross layers on the same
    input; returns the MLP's and the last cross layer's outputs concatenated."""

    def __init__(self, d_in: int, hidden: tuple[int, ...], n_cross: int, layer_norm: bool) -> None:
        super().__init__()
        layers, width = [], d_in
        for i, h in enumerate(hidden):
            block: list[nn.Module] = [nn.Linear(width, h)]
            if layer_norm and i > 0:
                block.append(nn.LayerNorm(h))
            layers.append(nn.Sequential(*block))
            width = h
        self.hidden = nn.ModuleList(layers)
        self.cross = nn.ModuleList(CrossLayer(d_in) for _ in range(n_cross))
        self.out_features = width + (d_in if n_cross else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.hidden:
            h = F.leaky_relu(layer(h))
        if not len(self.cross):
            return h
        c = x
        for layer in self.cross:
            c = layer(x, c)
        return torch.cat([h, c], dim=1)


class Generator(nn.Module):
    """G(z, code): (noise, class code) -> numeric features; see the module docstring."""

    def __init__(self, noise_dim: int, code_dim: int, n_features: int) -> None:
        super().__init__()
        self.body = _CrossMLP(noise_dim + code_dim, GENERATOR_HIDDEN, GENERATOR_CROSS, layer_norm=False)
        self.extra = nn.Linear(self.body.out_features, GENERATOR_EXTRA)
        self.out = nn.Linear(GENERATOR_EXTRA, n_features)

    def forward(self, z: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = self.body(torch.cat([z, code], dim=1))
        return self.out(F.leaky_relu(self.extra(h)))


class Critic(nn.Module):
    """D(x, code) -> one unbounded score per row; Gaussian noise on the features while training."""

    def __init__(self, n_features: int, code_dim: int, noise_std: float = 0.01) -> None:
        super().__init__()
        self.noise_std = float(noise_std)
        self.body = _CrossMLP(n_features + code_dim, CRITIC_HIDDEN, CRITIC_CROSS, layer_norm=True)
        self.out = nn.Linear(self.body.out_features, 1)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        return self.out(self.body(torch.cat([x, code], dim=1))).squeeze(1)


class AuxClassifier(nn.Module):
    """The auxiliary classifier: features -> one logit per code column (sigmoid = P(code = +1))."""

    def __init__(self, n_features: int, code_dim: int) -> None:
        super().__init__()
        self.body = _CrossMLP(n_features, AUX_HIDDEN, AUX_CROSS, layer_norm=True)
        self.out = nn.Linear(self.body.out_features, code_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, code: torch.Tensor,
                     eps: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP's penalty ``mean((sqrt(sum_j g_j² + 1e-12) - 1)²)``, ``g = ∇_x̂ critic(x̂, code)`` at
    ``x̂ = eps·real + (1 - eps)·fake`` (``eps``: (N, 1), drawn U(0, 1) when None), differentiable in the
    critic's parameters."""
    if eps is None:
        eps = torch.rand(len(real), 1, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat, code)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norm = torch.sqrt(grad.square().sum(dim=1) + GP_EPS)
    return (norm - 1).square().mean()


def aux_term(logits: torch.Tensor, target: torch.Tensor, adversarial_loss: torch.Tensor, weight: float,
             clamp: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The auxiliary classifier's addition to the generator loss, and the clamped BCE it scales.

    ``weight * mean(max(BCE(sigmoid(logits), target), clamp)) * |adversarial_loss|``, the BCE element by
    element (rows × code columns), ``adversarial_loss`` detached (a constant scale, as the code's
    ``.item()``)."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").clamp(min=clamp).mean()
    return weight * bce * adversarial_loss.detach().abs(), bce


def class_codes(n_classes: int) -> torch.Tensor:
    """(K, code_dim) ±1 codes: for 2 classes one column (first class −1, second +1, the authors'
    {0, 1} → {−1, +1}); for K > 2 one column per class (+1 for the class, −1 for the others)."""
    if n_classes == 2:
        return torch.tensor([[-1.0], [1.0]])
    return 2 * torch.eye(n_classes) - 1


# ----- the sampler ---------------------------------------------------------------------------------------
class CWGANSampler(ImbenchOverSampler):
    """Oversample tabular data with the cWGAN of Engelmann & Lessmann (2021) (EGL's "CWGAN").

    Trains a class-conditional WGAN-GP with an auxiliary classifier loss on the whole training set (all
    classes), then draws each class's synthetic rows from the generator conditioned on that class. See
    the module docstring for the networks, the losses and every choice the sources leave open.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        imbalanced-learn's over-sampling strategy ("auto" tops every class up to the majority count, as
        the authors' ``resample`` does; imbench's ``cwgan`` config asks for EGL's ``double_minority``).
    epochs : int, default=300
        Passes over the training set (one critic update per mini-batch).
    batch_size : int, default=64
    critic_updates : int, default=3
        Critic updates per generator update.
    gp_weight : float, default=15.0
        Weight of the gradient penalty in the critic loss.
    lr : float, default=1e-4
        Adam learning rate of generator and critic (β = (0, 0.9)).
    noise_dim : int, default=30
        Dimension of the generator's U(0, 1) noise.
    critic_noise_std : float, default=0.01
        Standard deviation of the Gaussian noise added to the critic's feature inputs while training.
    aux_weight : float, default=0.1
        Weight of the auxiliary classifier term; 0 switches it (and the classifier's pre-training) off.
    aux_clamp : float, default=0.3
        Lower clamp of the auxiliary BCE, per element.
    aux_epochs : int, default=30
        Pre-training epochs of the auxiliary classifier.
    aux_lr : float, default=5e-4
        Adam learning rate of the auxiliary classifier (β = (0, 0.9)).
    clip : bool, default=True
        Clip the synthetic features to the per-feature [min, max] of the training data.
    device : str or torch.device, default="auto"
        "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, data order, noises and sampling (None: fresh entropy; kept in ``seed_``).
        On the CPU a fixed seed gives identical rows; ``fit_resample`` leaves torch's global random
        state as it found it.
    verbose : bool, default=False
        Print the mean losses of every epoch.
    max_batches_per_epoch : int or None, default=None
        Stop each epoch (of the GAN and of the aux pre-training) after this many mini-batches (None: a
        full pass). For smoke runs only; the ``quick`` profile sets it.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class -> number of samples added.
    classes_ : ndarray
        The classes, sorted; class i is conditioned on row i of ``class_codes(len(classes_))``.
    generator_, critic_, aux_classifier_ : torch.nn.Module
        The trained networks (eval mode); ``aux_classifier_`` is None when ``aux_weight`` is 0.
    history_ : list of dict
        Per epoch: mean critic loss, distance (mean D(real) − mean D(fake)), gradient penalty, generator
        loss (with the aux term), its adversarial part and the clamped aux BCE (None in an epoch
        without a generator update).
    aux_accuracy_ : float or None
        Training accuracy of the pre-trained auxiliary classifier.
    n_generated_ : dict
        Class -> number of synthetic rows made.
    seed_ : int
        The seed the fit used.

    Notes
    -----
    Input must be a 2-D array of numeric columns (n_samples, n_features), best min–max scaled to
    [0, 1]; images or other N-D input raise :class:`~imbench.errors.ConfigError` (the runner flattens
    images before they reach a tabular sampler).

    Examples
    --------
    >>> X_res, y_res = CWGANSampler(epochs=10, random_state=0).fit_resample(X, y)  # doctest: +SKIP
    """

    # a profile caps the GAN's and the aux classifier's epochs (quick: 1) and the batches of an epoch
    profile_caps = (ProfileCap("epochs", "max_generator_epochs"), ProfileCap("aux_epochs", "max_generator_epochs"),
                    ProfileCap("max_batches_per_epoch", "max_generator_batches", none_is_unlimited=True))

    _parameter_constraints: dict = {
        **ImbenchOverSampler._parameter_constraints,
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "critic_updates": [Interval(Integral, 1, None, closed="left")],
        "gp_weight": [Interval(Real, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "noise_dim": [Interval(Integral, 1, None, closed="left")],
        "critic_noise_std": [Interval(Real, 0, None, closed="left")],
        "aux_weight": [Interval(Real, 0, None, closed="left")],
        "aux_clamp": [Interval(Real, 0, None, closed="left")],
        "aux_epochs": [Interval(Integral, 1, None, closed="left")],
        "aux_lr": [Interval(Real, 0, None, closed="neither")],
        "clip": ["boolean"],
        "device": DEVICE_CONSTRAINTS,
        "verbose": ["boolean"],
        "max_batches_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 300, batch_size: int = 64,
                 critic_updates: int = 3, gp_weight: float = 15.0, lr: float = 1e-4, noise_dim: int = 30,
                 critic_noise_std: float = 0.01, aux_weight: float = 0.1, aux_clamp: float = 0.3,
                 aux_epochs: int = 30, aux_lr: float = 5e-4, clip: bool = True,
                 device: str | torch.device = "auto", random_state: int | None = None, verbose: bool = False,
                 max_batches_per_epoch: int | None = None) -> None:
        self.sampling_strategy = sampling_strategy
        self.epochs = epochs
        self.batch_size = batch_size
        self.critic_updates = critic_updates
        self.gp_weight = gp_weight
        self.lr = lr
        self.noise_dim = noise_dim
        self.critic_noise_std = critic_noise_std
        self.aux_weight = aux_weight
        self.aux_clamp = aux_clamp
        self.aux_epochs = aux_epochs
        self.aux_lr = aux_lr
        self.clip = clip
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.max_batches_per_epoch = max_batches_per_epoch

    # ----- input ---------------------------------------------------------------------------------------
    def _check_X_y(self, X: Any, y: Any, accept_sparse: Any = None) -> tuple[np.ndarray, np.ndarray, bool]:
        try:
            ndim = np.ndim(X)
        except (TypeError, ValueError):  # ragged nested lists: scikit-learn's validation says why
            ndim = 2
        if ndim > 2:
            raise ConfigError(f"{METHOD} takes tabular data, a 2-D array (n_samples, n_features) of numeric "
                              f"columns; got an array of shape {np.shape(X)} (images?). Flatten it to "
                              "(n_samples, n_features) first, or use an image oversampler (cgan, cvae)")
        return super()._check_X_y(X, y, accept_sparse)

    # ----- the sampler contract ------------------------------------------------------------------------
    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        self.seed_ = resolve_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        self.classes_ = np.unique(y)
        index = {c: i for i, c in enumerate(self.classes_)}
        y_idx = np.array([index[c] for c in y], dtype=np.int64)
        codes = class_codes(len(self.classes_))
        lo, hi = X.min(axis=0), X.max(axis=0)
        dev = self.device_
        with isolated_rng(dev):
            torch.manual_seed(self.seed_)
            xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=dev)
            code_t = codes.to(dev)[torch.as_tensor(y_idx, device=dev)]
            self.aux_classifier_, self.aux_accuracy_, self.aux_history_ = self._pretrain_aux(xt, code_t, y_idx)
            self._train(xt, code_t)
            new_x, new_y, self.n_generated_ = [], [], {}
            for c, n in self.sampling_strategy_.items():
                n = int(n)
                if n <= 0:
                    continue
                rows = self._generate(codes[index[c]].to(dev), n, c)
                if self.clip:
                    rows = np.clip(rows, lo, hi)
                new_x.append(rows)
                new_y.append(np.full(n, c, dtype=y.dtype))
                self.n_generated_[c.item() if hasattr(c, "item") else c] = n
        self.fit_seconds_ = time.perf_counter() - t0
        out_dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        if not new_x:
            return X.astype(out_dtype, copy=False), y
        return (np.concatenate([X.astype(out_dtype, copy=False), *[a.astype(out_dtype, copy=False) for a in new_x]]),
                np.concatenate([y, *new_y]))

    # ----- training ------------------------------------------------------------------------------------
    def _batches(self, n: int) -> list[torch.Tensor]:
        """One epoch's index batches: a fresh permutation, the last partial batch included."""
        order = torch.randperm(n).to(self.device_)
        bs = int(self.batch_size)
        out = [order[s:s + bs] for s in range(0, n, bs)]
        limit = self.max_batches_per_epoch
        return out if limit is None else out[:int(limit)]

    def _adam(self, net: nn.Module, lr: float) -> torch.optim.Adam:
        return torch.optim.Adam(net.parameters(), lr=float(lr), betas=ADAM_BETAS)

    def _pretrain_aux(self, X: torch.Tensor, code: torch.Tensor,
                      y_idx: np.ndarray) -> tuple[AuxClassifier | None, float | None, list[float]]:
        if float(self.aux_weight) == 0:
            return None, None, []
        net = AuxClassifier(X.shape[1], code.shape[1]).to(self.device_).train()
        opt = self._adam(net, self.aux_lr)
        target = (code + 1) / 2
        history = []
        for epoch in range(int(self.aux_epochs)):
            total, count = torch.zeros((), device=self.device_), 0
            for idx in self._batches(len(X)):
                loss = F.binary_cross_entropy_with_logits(net(X[idx]), target[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total, count = total + loss.detach(), count + 1
            mean = float(total) / count
            if not np.isfinite(mean):
                raise TrainingError(self._diverged(f"the auxiliary classifier's BCE is {mean}", epoch,
                                                   "its pre-training", "lower aux_lr"))
            history.append(mean)
        net.eval().requires_grad_(False)
        with torch.no_grad():
            logits = torch.cat([net(X[s:s + 4096]) for s in range(0, len(X), 4096)])
        pred = (logits[:, 0] > 0).long() if code.shape[1] == 1 else logits.argmax(1)
        accuracy = float((pred.cpu().numpy() == y_idx).mean())
        return net, accuracy, history

    def _train(self, X: torch.Tensor, code: torch.Tensor) -> None:
        dev, n_features = self.device_, X.shape[1]
        G = Generator(int(self.noise_dim), code.shape[1], n_features).to(dev).train()
        D = Critic(n_features, code.shape[1], float(self.critic_noise_std)).to(dev).train()
        opt_g, opt_d = self._adam(G, self.lr), self._adam(D, self.lr)
        g_params = list(G.parameters())
        aux = self.aux_classifier_
        aux_target = (code + 1) / 2
        watch = LossWatch(f"{METHOD}'s critic", self.seed_, "lower lr or try another seed")
        self.history_: list[dict] = []
        self.critic_steps_ = self.generator_steps_ = 0
        for epoch in range(int(self.epochs)):
            sums = torch.zeros(6, device=dev)
            n_critic = n_gen = 0
            for idx in self._batches(len(X)):
                real, c = X[idx], code[idx]
                # critic: one update per mini-batch
                with torch.no_grad():
                    fake = G(self._noise(len(idx)), c)
                d_real, d_fake = D(real, c).mean(), D(fake, c).mean()
                gp = gradient_penalty(D, real, fake, c)
                distance = d_real - d_fake
                d_loss = -distance + float(self.gp_weight) * gp
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                sums[:3] += torch.stack([d_loss.detach(), distance.detach(), gp.detach()])
                n_critic += 1
                self.critic_steps_ += 1
                # generator: after critic updates 1, 4, 7, ... of the whole training
                if (self.critic_steps_ - 1) % int(self.critic_updates) != 0:
                    continue
                fake = G(self._noise(len(idx)), c)
                adversarial = -D(fake, c).mean()
                g_loss, bce = adversarial, torch.zeros((), device=dev)
                if aux is not None:
                    term, bce = aux_term(aux(fake), aux_target[idx], adversarial, float(self.aux_weight),
                                         float(self.aux_clamp))
                    g_loss = adversarial + term
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward(inputs=g_params)
                opt_g.step()
                sums[3:] += torch.stack([g_loss.detach(), adversarial.detach(), bce.detach()])
                n_gen += 1
                self.generator_steps_ += 1
            self._log_epoch(epoch, sums.cpu().numpy(), n_critic, n_gen, watch)
        self.generator_, self.critic_ = G.eval(), D.eval()

    def _noise(self, n: int) -> torch.Tensor:
        return torch.rand(n, int(self.noise_dim), device=self.device_)

    def _log_epoch(self, epoch: int, sums: np.ndarray, n_critic: int, n_gen: int, watch: LossWatch) -> None:
        row: dict[str, Any] = {"epoch": epoch + 1}
        for keys, values, count in ((_CRITIC_KEYS, sums[:3], n_critic), (_GEN_KEYS, sums[3:], n_gen)):
            for key, total in zip(keys, values):
                if count and not np.isfinite(total):
                    raise TrainingError(self._diverged(f"the {key.replace('_', ' ')} is {total / count}", epoch,
                                                       "training", "lower lr or try another seed"))
                row[key] = float(total / count) if count else None
        if self.aux_classifier_ is None:
            row["aux_bce"] = None
        watch.check(row["critic_loss"], f"epoch {epoch + 1}")
        self.history_.append(row)
        if self.verbose:
            print(f"{METHOD} epoch {epoch + 1}/{self.epochs}: "
                  + " ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch" and v is not None), flush=True)

    def _diverged(self, what: str, epoch: int, phase: str, hint: str) -> str:
        return (f"{METHOD} diverged: {what} at epoch {epoch + 1} of {phase} (seed {self.seed_}); {hint}, "
                "or check that the features are scaled (e.g. min-max to [0, 1])")

    @torch.no_grad()
    def _generate(self, code_row: torch.Tensor, n: int, label: Any, chunk: int = 4096) -> np.ndarray:
        parts = []
        for s in range(0, n, chunk):
            m = min(chunk, n - s)
            parts.append(self.generator_(self._noise(m), code_row.expand(m, -1)).cpu().numpy())
        rows = np.concatenate(parts).astype(np.float64)
        if not np.isfinite(rows).all():
            raise TrainingError(f"{METHOD} generated non-finite rows for class {label!r} (seed {self.seed_}); "
                                "training diverged: lower lr or try another seed")
        return rows

    # ----- the record --------------------------------------------------------------------------------------
    def fit_info(self) -> dict:
        """What the run record keeps about the training."""
        return {"method": "cwgan", "epochs": int(self.epochs), "batch_size": int(self.batch_size),
                "critic_updates": int(self.critic_updates), "gp_weight": float(self.gp_weight),
                "lr": float(self.lr), "noise_dim": int(self.noise_dim),
                "critic_noise_std": float(self.critic_noise_std), "aux_weight": float(self.aux_weight),
                "aux_clamp": float(self.aux_clamp), "aux_epochs": int(self.aux_epochs), "aux_lr": float(self.aux_lr),
                "aux_accuracy": self.aux_accuracy_,
                "aux_final_bce": self.aux_history_[-1] if self.aux_history_ else None,
                "critic_steps": int(self.critic_steps_), "generator_steps": int(self.generator_steps_),
                "final_losses": self._final_losses(),
                "generated": {str(k): int(v) for k, v in self.n_generated_.items()},
                "n_generated": int(sum(self.n_generated_.values())), "clip": bool(self.clip),
                "max_batches_per_epoch": self.max_batches_per_epoch, "classes": [str(c) for c in self.classes_],
                "fit_seconds": self.fit_seconds_, "device": str(self.device_), "seed": int(self.seed_)}

    def _final_losses(self) -> dict | None:
        """The last epoch's critic losses, and the generator losses of the last epoch that updated it
        (``generator_epoch``; an epoch of fewer than ``critic_updates`` batches may have none)."""
        if not self.history_:
            return None
        out = dict(self.history_[-1])
        done = [row for row in self.history_ if row["generator_loss"] is not None]
        if done:
            out.update({k: done[-1][k] for k in _GEN_KEYS})
        out["generator_epoch"] = done[-1]["epoch"] if done else None
        return out
