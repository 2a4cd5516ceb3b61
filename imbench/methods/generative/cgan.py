"""CGAN oversampler (Mirza & Osindero 2014) as configured by Fajardo et al. (2021), Table 11."""
from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.nn import functional as F

from imbench.methods.generative.networks import ConditionalGenerator, Discriminator, make_adam, resolve_lrs
from imbench.methods.generative.stepped import Lanes, SteppedGenerator, params_named

#: Table 11 vs Wu's CGAN.py (``learning_rate = 2e-4`` for D, ``learning_rate * 5`` for G).
CGAN_LRS = {"paper": {"g": 2e-4, "d": 1e-3}, "code": {"g": 1e-3, "d": 2e-4}}


def class_onehot(class_index: int, n: int, n_classes: int, device: torch.device) -> torch.Tensor:
    """n copies of the one-hot code of ``class_index``."""
    out = torch.zeros(n, n_classes, device=device)
    out[:, class_index] = 1
    return out


def uniform_noise(shape: tuple[int, ...], device: torch.device, gen: torch.Generator | None = None) -> torch.Tensor:
    """q_Z = U(−1, 1) noise of ``shape``; from the device's seeded default RNG in training, from ``gen``
    (CPU) when sampling."""
    if gen is None:
        return torch.rand(shape, device=device).mul_(2).sub_(1)
    return torch.rand(shape, generator=gen).mul_(2).sub_(1).to(device)


class CGANSampler(SteppedGenerator):
    """Conditional-GAN oversampler of Fajardo et al. (2021) ("CGAN"; "R-CGAN" with
    ``random_oversample_first=True``).

    A conditional GAN is trained on the (skewed, or for R-CGAN randomly over-sampled) training
    images; each minority class is then topped up with ``G(z, y)``, ``z ~ U(−1, 1)^62``.
    Architecture (Table 11, :mod:`~imbench.methods.generative.networks`): G takes [z, one-hot y];
    D sees the image with the label broadcast as K constant channels. Per mini-batch (size 64, last
    partial batch dropped): one D step on BCE(real→1) + BCE(fake→0), then one G step on the
    non-saturating BCE(fake→1) with the same z. Adam with β1 = 0.5.

    Parameters
    ----------
    sampling_strategy : str, float, dict or callable, default="auto"
        imbalanced-learn over-sampling strategy; "auto" tops every class up to the majority count.
    epochs : int, default=30
        Training epochs (Table 11: 30 for CGAN, 60 for R-CGAN).
    batch_size : int, default=64
        Mini-batch size; the paper does not give one, Wu's code uses 64.
    lr_source : {"paper", "code"}, default="paper"
        Where the learning rates come from when ``lr_g``/``lr_d`` are None. The paper's Table 11 gives
        G 2e-4, D 1e-3; the code the paper was built from has the reverse (D 2e-4, G 1e-3).
    lr_g, lr_d : float or None, default=None
        Explicit learning rates of the generator / discriminator (override ``lr_source``).
    noise_dim : int, default=62
        Dimension of z.
    random_oversample_first : bool, default=False
        Train the GAN on a randomly over-sampled balanced copy (R-CGAN); duplicates are not returned.
    device : str, default="auto"
        "auto", "cpu", "cuda" or "cuda:N".
    cuda_graphs : bool, default=True
        On CUDA, replay the whole training step as a CUDA graph after 3 eager warm-up steps (same
        computation, far less launch overhead). Ignored on CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, data order, noise and sampling (None: a fresh seed, kept in ``seed_``).
    verbose : bool, default=False
        Print the mean losses of every epoch.
    image_shape : tuple or None, default=None
        (C, H, W) for flattened input that is not square single-channel; (C, 28, 28) or (C, 32, 32) here.

    Attributes
    ----------
    generator_ : ConditionalGenerator
        The trained generator (eval mode).
    lrs_ : dict
        Learning rates that were used (``{"g": ..., "d": ...}``).
    history_ : list of dict
        Mean D and G losses per epoch.
    train_size_ : int
        Number of images the GAN was trained on.

    Notes
    -----
    Input images must be in [0, 1]: 28×28 single-channel as in the paper (N×28×28, N×1×28×28 or N×784),
    or 32×32 with C channels (N×C×32×32, e.g. CIFAR-10 / SVHN; the same networks scaled: FC to
    128×8×8, C output / input channels); any other shape raises ConfigError. A non-finite loss raises TrainingError naming the method, epoch and
    seed (checked once per epoch from losses accumulated on the device).

    References
    ----------
    Fajardo, V.A., Findlay, D., Jaiswal, C., Yin, X., Houmanfar, R., Xie, H., Liang, J., She, X.,
    Emerson, D.B. "On oversampling imbalanced data with deep conditional generative models."
    Expert Systems with Applications 169 (2021) 114463. https://doi.org/10.1016/j.eswa.2020.114463

    Mirza, M., Osindero, S. "Conditional generative adversarial nets." arXiv:1411.1784 (2014).

    Examples
    --------
    >>> X_res, y_res = CGANSampler(epochs=2, device="cpu", random_state=0).fit_resample(X, y)  # doctest: +SKIP
    """

    base_name = "CGAN"
    lr_table = CGAN_LRS

    _parameter_constraints: dict = {
        **SteppedGenerator._parameter_constraints,
        "lr_source": [StrOptions(set(CGAN_LRS))],
        "lr_g": [Interval(Real, 0, None, closed="neither"), None],
        "lr_d": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 30, batch_size: int = 64,
                 lr_source: str = "paper", lr_g: float | None = None, lr_d: float | None = None,
                 noise_dim: int = 62, random_oversample_first: bool = False, device: str = "auto",
                 cuda_graphs: bool = True, random_state: int | None = None, verbose: bool = False,
                 image_shape: tuple[int, ...] | None = None,
                 max_batches_per_epoch: int | None = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy, epochs=epochs, batch_size=batch_size,
                         random_oversample_first=random_oversample_first, device=device,
                         random_state=random_state, verbose=verbose, image_shape=image_shape, max_batches_per_epoch=max_batches_per_epoch)
        self.lr_source = lr_source
        self.lr_g = lr_g
        self.lr_d = lr_d
        self.noise_dim = noise_dim
        self.cuda_graphs = cuda_graphs

    @property
    def method_name(self) -> str:  # used in error messages and logs: "CGAN" or "R-CGAN"
        return ("R-" if self.random_oversample_first else "") + self.base_name

    def _lr_overrides(self) -> dict[str, float | None]:
        return {"g": self.lr_g, "d": self.lr_d}

    def _resolve_lrs(self) -> dict[str, float]:
        return resolve_lrs(self.method_name, self.lr_table, self.lr_source, self._lr_overrides())

    loss_names = ("d", "g")

    def _setup(self, n_classes: int) -> None:
        self.n_classes_ = n_classes
        self.lrs_ = self._resolve_lrs()

    def _networks(self, n_classes: int) -> dict[str, nn.Module]:
        dev = self.device_
        kw = self._image_kw()
        return {"G": ConditionalGenerator(self.noise_dim, n_classes, **kw).to(dev),
                "D": Discriminator(label_channels=n_classes, **kw).to(dev)}

    def _optimizers(self, nets: dict, capturable: bool) -> dict[str, torch.optim.Optimizer]:
        dev = self.device_
        return {"g": make_adam(params_named(nets["G"]), self.lrs_["g"], dev, capturable=capturable),
                "d": make_adam(params_named(nets["D"]), self.lrs_["d"], dev, capturable=capturable)}

    def _step(self, lanes: Lanes, nets: dict, opts: dict, X: torch.Tensor, y: torch.Tensor, eye: torch.Tensor,
              idx: torch.Tensor, sums: torch.Tensor) -> None:
        G, D = nets["G"], nets["D"]
        xb, yb = lanes.take(X, idx), eye[lanes.take(y, idx)]
        fake = G(uniform_noise(lanes.shape(idx.shape[-1], self.noise_dim), self.device_), yb)
        # D step: BCE(real -> 1) + BCE(fake -> 0); softplus(-l) = BCE(l, 1), softplus(l) = BCE(l, 0)
        real_logit, _ = D(xb, yb)
        fake_logit, _ = D(fake.detach(), yb)
        d_loss = lanes.mean(F.softplus(-real_logit)) + lanes.mean(F.softplus(fake_logit))
        opts["d"].zero_grad(set_to_none=True)
        d_loss.sum().backward()
        opts["d"].step()
        # G step with the same z (G is unchanged, so the same fake images): BCE(D(fake) -> 1)
        g_logit, _ = D(fake, yb)
        g_loss = lanes.mean(F.softplus(-g_logit))
        opts["g"].zero_grad(set_to_none=True)
        g_loss.sum().backward(inputs=params_named(G))
        opts["g"].step()
        sums.add_(torch.stack([d_loss.detach(), g_loss.detach()], -1))

    def _adopt(self, nets: dict[str, nn.Module]) -> None:
        self.generator_ = nets["G"]

    def _sample(self, class_index: int, n: int, gen: torch.Generator) -> torch.Tensor:
        dev = self.device_
        z = uniform_noise((n, self.noise_dim), dev, gen)
        return self.generator_(z, class_onehot(class_index, n, self.n_classes_, dev))

    def _extra_info(self) -> dict:
        return {"lr_source": self.lr_source, "lrs": self._resolve_lrs(), "noise_dim": self.noise_dim,
                "noise": "U(-1,1)", "sampling": "generator output G(z, y)", **self._graphs_info()}
