"""BAGAN (Mariani et al. 2018) as Fajardo et al. (2021) used it: an imbalanced-learn style sampler.

A PyTorch port of the IBM/BAGAN Keras code (``balancing_gan.py``) with the settings of Fajardo et al.
(2021), Table 12; see :class:`BAGANSampler`.
"""
from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from imbench.methods.protocol import ProfileCap
from imbench.errors import ConfigError, TrainingError
from imbench.methods.generative.base import GenerativeOversampler

COVARIANCES = ("empirical", "shrinkage")


class DegenerateClassWarning(UserWarning):
    """A class has a single training image: its latent Gaussian has zero covariance."""


# ----- Keras-equivalent building blocks -------------------------------------------------------------
def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow/Keras ``padding='same'``: output ceil(size/stride), any odd pad goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _glorot_normal_(w: torch.Tensor) -> torch.Tensor:
    """Keras ``glorot_normal``: truncated normal (±2σ), σ = sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return nn.init.trunc_normal_(w, 0.0, std, -2 * std, 2 * std)


def _keras_default_(m: nn.Module) -> None:
    """Keras defaults for Dense/Conv2D: glorot_uniform kernel, zero bias."""
    nn.init.xavier_uniform_(m.weight)
    if m.bias is not None:
        nn.init.zeros_(m.bias)


class _SameConv(nn.Module):
    """Conv2d with Keras 'same' padding (asymmetric where TensorFlow pads asymmetrically)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, size: int, bias: bool) -> None:
        super().__init__()
        top, bottom = _same_pad(size, kernel, stride)
        self.pad = None if top == bottom else (top, bottom, top, bottom)
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=top if top == bottom else 0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x if self.pad is None else F.pad(x, self.pad))


class BAGANGenerator(nn.Module):
    """Decoder / generator: FC 1024 ReLU → FC 128·r·r ReLU → 128×r×r → (upsample ×2, conv 5×5 ReLU)*
    → conv 2×2 tanh; no biases, no BatchNorm; Glorot-normal convolutions, Glorot-uniform dense layers.
    Convolutions below half the output resolution have 256 maps, the others 128 (28×28: 7→14 (256)→28
    (128))."""

    def __init__(self, latent_dim: int, channels: int, resolution: int, init_resolution: int) -> None:
        super().__init__()
        self.init_resolution = init_resolution
        self.fc = nn.Sequential(nn.Linear(latent_dim, 1024, bias=False), nn.ReLU(),
                                nn.Linear(1024, 128 * init_resolution ** 2, bias=False), nn.ReLU())
        layers: list[nn.Module] = []
        res, cin = init_resolution, 128
        while res != resolution:
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            cout = 256 if res < resolution / 2 else 128
            res *= 2
            layers += [_SameConv(cin, cout, 5, 1, res, bias=False), nn.ReLU()]
            cin = cout
        layers += [_SameConv(cin, channels, 2, 1, res, bias=False), nn.Tanh()]
        self.conv = nn.Sequential(*layers)
        for m in self.fc:
            if isinstance(m, nn.Linear):
                _keras_default_(m)
        for m in self.conv.modules():
            if isinstance(m, nn.Conv2d):
                _glorot_normal_(m.weight)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        r = self.init_resolution
        return self.conv(self.fc(z).view(len(z), 128, r, r))


def _trunk(channels: int, resolution: int, min_latent_res: int, slope: float, dropout: float
           ) -> tuple[nn.Sequential, int]:
    """Shared encoder/discriminator trunk: conv3×3 s2 32, s1 64, s2 128, s1 256 (then (s2, s1) 256
    pairs while the map is larger than ``min_latent_res``), each LeakyReLU + Dropout; flatten."""
    plan = [(32, 2), (64, 1), (128, 2), (256, 1)]
    layers: list[nn.Module] = []
    cin, res = channels, resolution

    def add(cout: int, stride: int) -> None:
        nonlocal cin, res
        layers.extend([_SameConv(cin, cout, 3, stride, res, bias=True), nn.LeakyReLU(slope), nn.Dropout(dropout)])
        cin, res = cout, -(-res // stride)

    for cout, stride in plan:
        add(cout, stride)
    while res > min_latent_res:
        add(256, 2)
        add(256, 1)
    layers.append(nn.Flatten())
    trunk = nn.Sequential(*layers)
    for m in trunk.modules():
        if isinstance(m, nn.Conv2d):
            _keras_default_(m)
    return trunk, cin * res * res


class BAGANCritic(nn.Module):
    """Trunk + dense head: the encoder (head = latent_dim, linear) or the discriminator
    (head = n_classes + 1 logits; softmax is in the loss; the last class is "fake")."""

    def __init__(self, channels: int, resolution: int, min_latent_res: int, out_dim: int,
                 slope: float = 0.3, dropout: float = 0.3) -> None:
        super().__init__()
        self.trunk, feat = _trunk(channels, resolution, min_latent_res, slope, dropout)
        self.head = nn.Linear(feat, out_dim)
        _keras_default_(self.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


# ----- the sampler ------------------------------------------------------------------------------------
class BAGANSampler(GenerativeOversampler):
    """Balancing GAN (BAGAN) oversampler, as used by Fajardo et al. (2021).

    BAGAN (Mariani et al., 2018) trains in three stages on the whole imbalanced training set:

    1. an autoencoder (encoder + generator-as-decoder) with mean-squared reconstruction error,
       ``ae_epochs`` epochs;
    2. the discriminator's convolutional trunk is initialised from the trained encoder, and a
       Gaussian N(μ_c, Σ_c) is fitted to the 100-d encodings of each class's training images;
    3. ``epochs`` adversarial epochs. For each real batch (size B, last partial batch dropped), the
       discriminator (K + 1 softmax outputs, the last meaning "fake") is trained with sparse
       cross-entropy on the real images with their labels plus ⌈B/K⌉ generated images labelled
       "fake"; then the generator is trained through the frozen discriminator (dropout still active,
       as in Keras' ``train_on_batch``) on ⌈B/K⌉ + B generated images to be classified as the class
       whose Gaussian produced their latent vector. Classes are drawn uniformly (the code's default
       "uniform" d/g ratio modes).

    New images of class c are G(z), z ~ N(μ_c, Σ_c). The networks work in [−1, 1] (tanh output); the
    base class maps inputs from and outputs back to [0, 1].

    Architecture (IBM/BAGAN for 28×28, ``min_latent_res`` 7): generator FC 1024 ReLU → FC 128·7·7
    ReLU → 128×7×7 → upsample ×2 → conv 5×5 256 ReLU → upsample ×2 → conv 5×5 128 ReLU → conv 2×2
    tanh, no biases or BatchNorm, Glorot-normal convolutions. Encoder/discriminator trunk: conv 3×3
    stride 2/1/2/1 with 32/64/128/256 maps, each LeakyReLU(0.3) (Keras' default slope) and
    Dropout(0.3), flattened; encoder head Dense(100) linear, discriminator head Dense(K + 1). Keras
    ``padding='same'`` is reproduced exactly: TensorFlow pads the extra row/column of an even-sized
    total padding *after* the input, so the final 2×2 convolution pads (top 0, bottom 1, left 0,
    right 1) to keep 28×28, and the stride-2 3×3 convolutions on even maps pad (0, 1) rather than
    PyTorch's symmetric (1, 1). Three Adam optimisers (reconstruction, discriminator, generator),
    each lr 5e-5, β1 0.5, as Fajardo et al.'s Table 12 states.

    Rank-deficient covariances. With n_c images per class, the empirical Σ_c (``np.cov``, ddof 1, as
    the reference code) has rank ≤ n_c − 1: with Fajardo's 10 minority images in a 100-d latent it is
    a 9-dimensional (at most) Gaussian. ``covariance="empirical"`` (default, what the reference code
    effectively does: ``np.random.multivariate_normal`` samples through an SVD factor and tolerates
    singular matrices) samples z = μ_c + V_c Λ_c^{1/2} ε through the eigendecomposition of Σ_c, with
    eigenvalues below the numerical-rank tolerance (``numpy.linalg.matrix_rank``'s) set to zero, so
    samples stay in the affine span of the class's encodings. ``covariance="shrinkage"`` uses the
    Ledoit–Wolf estimate (``sklearn.covariance.LedoitWolf``), which is full rank. A class with a
    single image gets Σ_c = 0 under both options (every sample decodes the mean, i.e. near-copies of
    the autoencoded image); a :class:`DegenerateClassWarning` is issued and the class is listed in
    ``fit_info()["single_image_classes"]``. The rank of every Σ_c is recorded in
    ``fit_info()["covariance_rank"]``.

    Parameters
    ----------
    sampling_strategy : str, dict, float or callable, default="auto"
        imbalanced-learn over-sampling strategy; ``"auto"`` tops every class up to the majority count.
    epochs : int, default=30
        Adversarial epochs (Fajardo et al.: 30).
    ae_epochs : int or None, default=None
        Autoencoder pre-training epochs; ``None`` means ``epochs`` (the reference code uses the same
        count for both stages).
    batch_size : int, default=128
        Real images per step; the last partial batch is dropped.
    latent_dim : int, default=100
    lr : float, default=5e-5
        Learning rate of all three Adam optimisers.
    beta1 : float, default=0.5
    covariance : {"empirical", "shrinkage"}, default="empirical"
        How Σ_c is estimated (see above).
    min_latent_res : int or None, default=None
        Spatial size of the generator's first feature map and of the trunk's output; ``None`` halves
        the image size while it exceeds 8 (the reference's rule: 28 → 7, 32 → 8).
    device : str, default="auto"
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, data order, noise and sampling (None: a fresh seed, kept in ``seed_``).
    verbose : bool, default=False
    image_shape : tuple or None, default=None
        (C, H, W) for flattened non-square or multi-channel input.
    max_batches_per_epoch : int or None, default=None
        Stop each epoch (of both stages) after this many mini-batches; for smoke runs only.

    Attributes
    ----------
    generator_, encoder_, discriminator_ : torch.nn.Module
    means_ : numpy.ndarray, shape (K, latent_dim)
    covariances_ : numpy.ndarray, shape (K, latent_dim, latent_dim)
    covariance_ranks_ : list of int
    history_ : list of dict
        One entry per epoch: ``{"epoch", "ae_mse"}`` for pre-training, then ``{"epoch", "d_loss",
        "g_loss"}``.

    Notes
    -----
    Deviations from the Keras code, none of which changes the method: the softmax is folded into
    the cross-entropy (log-softmax, no 1e-7 probability clipping); latent vectors during training are
    drawn on the device by PyTorch rather than by ``np.random.multivariate_normal``; a class with a
    single image gets a zero covariance (``np.cov`` would give NaN). Losses are checked for finiteness
    once per epoch (a non-finite step makes the epoch sum non-finite), which raises
    :class:`imbench.errors.TrainingError`. The stored IBM/BAGAN ``bagan_train.py`` we could read sets
    batch size 32; the method spec (from commit b57fc15) gives 128, used here as the default.
    BAGAN's reference code trains one model per pruned minority class; with several minority
    classes one model is trained on the whole skewed set. There is no random-oversampling-first
    ("R-BAGAN") variant: Fajardo et al. did not run one (too expensive).

    References
    ----------
    G. Mariani, F. Scheidegger, R. Istrate, C. Bekas, C. Malossi (2018). BAGAN: Data augmentation
    with balancing GAN. arXiv:1803.09655. Code: IBM/BAGAN (Mariani & Martinelli, 2019).

    F. Fajardo, D. Yuan, J. Levy, E. Rodriguez, J. Mehrkanoon (2021). On oversampling imbalanced data
    with deep conditional generative models. Expert Systems with Applications 169, 114463 (Table 12).

    Examples
    --------
    >>> sampler = BAGANSampler(epochs=1, device="cpu", random_state=0)  # doctest: +SKIP
    >>> X_res, y_res = sampler.fit_resample(X, y)  # X: N×28×28, N×1×28×28 or N×784 in [0, 1]
    """

    profile_caps = (*GenerativeOversampler.profile_caps, ProfileCap("ae_epochs", "max_generator_epochs"))

    method_name = "BAGAN"
    value_range = (-1.0, 1.0)
    random_oversample_first = False  # no R-BAGAN (Fajardo et al. ran none)

    _parameter_constraints: dict = {
        **{k: v for k, v in GenerativeOversampler._parameter_constraints.items() if k != "random_oversample_first"},
        "ae_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "beta1": [Interval(Real, 0, 1, closed="left")],
        "covariance": [StrOptions(set(COVARIANCES))],
        "min_latent_res": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 30, ae_epochs: int | None = None,
                 batch_size: int = 128, latent_dim: int = 100, lr: float = 5e-5, beta1: float = 0.5,
                 covariance: str = "empirical", min_latent_res: int | None = None, device: str = "auto",
                 random_state: int | None = None, verbose: bool = False,
                 image_shape: tuple[int, ...] | None = None, max_batches_per_epoch: int | None = None) -> None:
        self.sampling_strategy = sampling_strategy
        self.epochs = epochs
        self.ae_epochs = ae_epochs
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.lr = lr
        self.beta1 = beta1
        self.covariance = covariance
        self.min_latent_res = min_latent_res
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape
        self.max_batches_per_epoch = max_batches_per_epoch

    def _architecture(self, X: torch.Tensor) -> tuple[int, int, int]:
        channels, h, w = X.shape[1:]
        if h != w:
            raise ConfigError(f"BAGAN supports square images only (as the reference code), got {h}×{w}")
        init = self.min_latent_res
        if init is None:
            init = h
            while init > 8:
                init //= 2
        r = init
        while r < h:
            r *= 2
        if r != h:
            raise ConfigError(f"BAGAN: image size {h} must be min_latent_res·2^n (min_latent_res {init}); "
                              "set min_latent_res")
        return channels, h, init

    # ----- training ---------------------------------------------------------------------------------
    def _fit_generator(self, X: torch.Tensor, y: torch.Tensor, n_classes: int, gen: torch.Generator) -> None:
        dev = self.device_
        channels, res, init = self._architecture(X)
        d = int(self.latent_dim)
        self.n_classes_ = n_classes
        self.generator_ = BAGANGenerator(d, channels, res, init).to(dev)
        self.encoder_ = BAGANCritic(channels, res, init, d).to(dev)
        self.discriminator_ = BAGANCritic(channels, res, init, n_classes + 1).to(dev)
        G, E, D = self.generator_, self.encoder_, self.discriminator_
        betas = (float(self.beta1), 0.999)
        opt_ae = torch.optim.Adam(list(E.parameters()) + list(G.parameters()), lr=self.lr, betas=betas)
        opt_d = torch.optim.Adam(D.parameters(), lr=self.lr, betas=betas)
        opt_g = torch.optim.Adam(G.parameters(), lr=self.lr, betas=betas)
        n = len(X)
        ae_epochs = self.epochs if self.ae_epochs is None else int(self.ae_epochs)
        self.ae_epochs_ = ae_epochs

        # Stage 1: autoencoder.
        G.train()
        E.train()
        for epoch in range(ae_epochs):
            total = torch.zeros((), device=dev)
            steps = 0
            for idx in self._batches(n, gen):
                xb = X[idx]
                loss = F.mse_loss(G(E(xb)), xb)
                opt_ae.zero_grad(set_to_none=True)
                loss.backward()
                opt_ae.step()
                total = total + loss.detach()
                steps += 1
            mean = total / steps
            self._check_finite(epoch, autoencoder_mse=mean)
            self._log_epoch(epoch, ae_mse=mean.item())

        # Stage 2: discriminator trunk from the encoder; class-conditional latent Gaussians.
        D.trunk.load_state_dict(E.trunk.state_dict())
        self._fit_gaussians(X, y, n_classes)

        # Stage 3: adversarial training.
        G.train()
        D.train()
        for epoch in range(int(self.epochs)):
            d_total = torch.zeros((), device=dev)
            g_total = torch.zeros((), device=dev)
            steps = 0
            for idx in self._batches(n, gen):
                xb, yb = X[idx], y[idx]
                b = len(idx)
                fake_size = -(-b // n_classes)
                # Discriminator: real with labels + fake_size generated labelled "fake" (= n_classes).
                with torch.no_grad():
                    fake = G(self._latent(torch.randint(n_classes, (fake_size,), device=dev)))
                D.requires_grad_(True)
                target = torch.cat([yb, torch.full((fake_size,), n_classes, device=dev, dtype=yb.dtype)])
                d_loss = F.cross_entropy(D(torch.cat([xb, fake])), target)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                # Generator through the frozen discriminator.
                D.requires_grad_(False)
                c = torch.randint(n_classes, (fake_size + b,), device=dev)
                g_loss = F.cross_entropy(D(G(self._latent(c))), c)
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                d_total = d_total + d_loss.detach()
                g_total = g_total + g_loss.detach()
                steps += 1
            D.requires_grad_(True)
            d_mean, g_mean = d_total / steps, g_total / steps
            self._check_finite(epoch, discriminator=d_mean, generator=g_mean)
            self._log_epoch(epoch, d_loss=d_mean.item(), g_loss=g_mean.item())
        G.eval()
        E.eval()
        D.eval()

    @torch.no_grad()
    def _fit_gaussians(self, X: torch.Tensor, y: torch.Tensor, n_classes: int) -> None:
        """Per-class mean, covariance and sampling factor A_c (Σ_c = A_c A_cᵀ) of the encodings."""
        E = self.encoder_
        E.eval()  # Keras predict(): dropout off
        codes = torch.cat([E(X[s:s + 1024]) for s in range(0, len(X), 1024)]).double().cpu().numpy()
        E.train()
        if not np.all(np.isfinite(codes)):
            raise TrainingError(f"BAGAN training diverged: the encoder gives non-finite latent vectors after "
                                f"autoencoder epoch {self.ae_epochs_} (seed {self.seed_}); lower the learning "
                                "rate or try another seed")
        labels = y.cpu().numpy()
        d = codes.shape[1]
        means, covs, factors, ranks, shrink, single = [], [], [], [], [], []
        for k in range(n_classes):
            z = codes[labels == k]
            mu = z.mean(axis=0)
            if len(z) < 2:
                cov = np.zeros((d, d))
                single.append(k)
                shrink.append(None)
                warnings.warn(
                    f"BAGAN: class {self.classes_[k]} has a single training image; its latent Gaussian has "
                    "zero covariance and every generated image decodes its encoding", DegenerateClassWarning,
                    stacklevel=3)
            elif self.covariance == "shrinkage":
                from sklearn.covariance import LedoitWolf
                lw = LedoitWolf().fit(z)
                cov = lw.covariance_
                shrink.append(float(lw.shrinkage_))
            else:
                cov = np.cov(z, rowvar=False)
                shrink.append(None)
            cov = (cov + cov.T) / 2
            lam, vec = np.linalg.eigh(cov)
            tol = (lam.max() if lam.size else 0.0) * d * np.finfo(np.float64).eps
            lam = np.where(lam > tol, lam, 0.0)
            means.append(mu)
            covs.append(cov)
            factors.append(vec * np.sqrt(lam))
            ranks.append(int(np.count_nonzero(lam)))
        self.means_ = np.stack(means)
        self.covariances_ = np.stack(covs)
        self.covariance_ranks_ = ranks
        self.shrinkage_ = shrink
        self.single_image_classes_ = single
        self.class_counts_ = [int(np.sum(labels == k)) for k in range(n_classes)]
        self._mu = torch.as_tensor(self.means_, dtype=torch.float32, device=self.device_)
        self._factor = torch.as_tensor(np.stack(factors), dtype=torch.float32, device=self.device_)

    def _latent(self, c: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """z ~ N(μ_c, Σ_c) for a vector of class indices (noise from the device's RNG unless given)."""
        if eps is None:
            eps = torch.randn(len(c), self._mu.shape[1], device=self._mu.device)
        return self._mu[c] + torch.bmm(self._factor[c], eps.unsqueeze(-1)).squeeze(-1)

    def _sample(self, class_index: int, n: int, gen: torch.Generator) -> torch.Tensor:
        eps = torch.randn(n, self._mu.shape[1], generator=gen).to(self.device_)
        z = self._mu[class_index] + eps @ self._factor[class_index].T
        self.generator_.eval()
        return self.generator_(z)

    def _extra_info(self) -> dict:
        name = [str(c) for c in self.classes_]
        info = {
            "ae_epochs": int(self.ae_epochs_), "latent_dim": int(self.latent_dim), "lr": float(self.lr),
            "beta1": float(self.beta1), "covariance": self.covariance,
            "covariance_sampling": ("eigendecomposition of the empirical covariance (ddof 1), eigenvalues under "
                                    "the numerical-rank tolerance zeroed: samples stay in the span of the "
                                    "class's encodings" if self.covariance == "empirical"
                                    else "Ledoit-Wolf shrinkage covariance, sampled by eigendecomposition"),
            "class_counts": dict(zip(name, self.class_counts_)),
            "covariance_rank": dict(zip(name, self.covariance_ranks_)),
            "single_image_classes": [name[k] for k in self.single_image_classes_],
        }
        if self.covariance == "shrinkage":
            info["ledoit_wolf_shrinkage"] = dict(zip(name, self.shrinkage_))
        return info
