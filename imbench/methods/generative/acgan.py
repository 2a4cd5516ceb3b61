"""ACGAN oversampler (Odena, Olah & Shlens 2017) as configured by Fajardo et al. (2021), Table 10."""
from __future__ import annotations

from numbers import Real
from typing import Any

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.nn import functional as F

from imbench.methods.generative.cgan import CGANSampler, uniform_noise
from imbench.methods.generative.networks import AuxClassifier, ConditionalGenerator, Discriminator, make_adam
from imbench.methods.generative.stepped import Lanes, params_named

#: Table 10 vs Wu's ACGAN.py (D ``learning_rate = 2e-4``; G and Q ``learning_rate * 5``).
ACGAN_LRS = {"paper": {"g": 2e-4, "d": 1e-3, "q": 1e-3}, "code": {"g": 1e-3, "d": 2e-4, "q": 1e-3}}


class ACGANSampler(CGANSampler):
    """Auxiliary-classifier-GAN oversampler of Fajardo et al. (2021) ("ACGAN"; "R-ACGAN" with
    ``random_oversample_first=True``).

    An ACGAN is trained on the (skewed, or for R-ACGAN randomly over-sampled) training images; each
    minority class is then topped up with ``G(z, y)``, ``z ~ U(−1, 1)^62``. Architecture (Table 10):
    G as in CGAN; D sees the image only (no label channels) and an auxiliary classifier
    (FC 128 BN LReLU → FC K) reads D's 1024-d features. Per mini-batch (size 64, last partial batch
    dropped), as in the code the paper was built from:

    1. D step: BCE(D(real)→1) + BCE(D(fake)→0) over D's parameters;
    2. G step and Q step from one forward pass (after the D step, same z):
       G minimises BCE(D(fake)→1) over G's parameters; Q = CE(C(real), label) + CE(C(fake),
       conditioning label) is minimised over D's trunk, the classifier **and G**'s parameters, each
       with its own Adam (β1 = 0.5).

    Parameters
    ----------
    sampling_strategy : str, float, dict or callable, default="auto"
        imbalanced-learn over-sampling strategy; "auto" tops every class up to the majority count.
    epochs : int, default=60
        Training epochs (Table 10: 60 for ACGAN and for R-ACGAN).
    batch_size : int, default=64
        Mini-batch size; the paper does not give one, Wu's code uses 64.
    lr_source : {"paper", "code"}, default="paper"
        Where the learning rates come from when ``lr_g``/``lr_d``/``lr_q`` are None: Table 10 gives
        G 2e-4, D 1e-3, classifier 1e-3; the code has D 2e-4, G 1e-3, Q 1e-3.
    lr_g, lr_d, lr_q : float or None, default=None
        Explicit learning rates of the generator, discriminator and classification (Q) step.
    noise_dim : int, default=62
        Dimension of z.
    random_oversample_first : bool, default=False
        Train the GAN on a randomly over-sampled balanced copy (R-ACGAN); duplicates are not returned.
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
        Learning rates that were used (``{"g": ..., "d": ..., "q": ...}``).
    history_ : list of dict
        Mean D, G and Q losses per epoch.
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

    Odena, A., Olah, C., Shlens, J. "Conditional image synthesis with auxiliary classifier GANs."
    ICML 2017, PMLR 70:2642-2651.

    Examples
    --------
    >>> X_res, y_res = ACGANSampler(epochs=2, device="cpu", random_state=0).fit_resample(X, y)  # doctest: +SKIP
    """

    base_name = "ACGAN"
    lr_table = ACGAN_LRS

    _parameter_constraints: dict = {
        **CGANSampler._parameter_constraints,
        "lr_source": [StrOptions(set(ACGAN_LRS))],
        "lr_q": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 60, batch_size: int = 64,
                 lr_source: str = "paper", lr_g: float | None = None, lr_d: float | None = None,
                 lr_q: float | None = None, noise_dim: int = 62, random_oversample_first: bool = False,
                 device: str = "auto", cuda_graphs: bool = True, random_state: int | None = None,
                 verbose: bool = False, image_shape: tuple[int, ...] | None = None,
                 max_batches_per_epoch: int | None = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy, epochs=epochs, batch_size=batch_size,
                         lr_source=lr_source, lr_g=lr_g, lr_d=lr_d, noise_dim=noise_dim,
                         random_oversample_first=random_oversample_first, device=device,
                         cuda_graphs=cuda_graphs, random_state=random_state, verbose=verbose,
                         image_shape=image_shape, max_batches_per_epoch=max_batches_per_epoch)
        self.lr_q = lr_q

    def _lr_overrides(self) -> dict[str, float | None]:
        return {"g": self.lr_g, "d": self.lr_d, "q": self.lr_q}

    loss_names = ("d", "g", "q")

    def _networks(self, n_classes: int) -> dict[str, nn.Module]:
        dev = self.device_
        kw = self._image_kw()
        return {"G": ConditionalGenerator(self.noise_dim, n_classes, **kw).to(dev),
                "D": Discriminator(label_channels=0, **kw).to(dev),
                "C": AuxClassifier(n_classes).to(dev)}

    def _optimizers(self, nets: dict, capturable: bool) -> dict[str, torch.optim.Optimizer]:
        dev = self.device_
        g_params = params_named(nets["G"])
        # Wu's q_vars: every 'd_', 'c_' and 'g_' variable; D's logit layer gets no gradient from Q.
        q_params = params_named(nets["D"], "trunk.") + params_named(nets["C"]) + g_params
        return {"d": make_adam(params_named(nets["D"]), self.lrs_["d"], dev, capturable=capturable),
                "g": make_adam(g_params, self.lrs_["g"], dev, capturable=capturable),
                "q": make_adam(q_params, self.lrs_["q"], dev, capturable=capturable)}

    def _step(self, lanes: Lanes, nets: dict, opts: dict, X: torch.Tensor, y: torch.Tensor, eye: torch.Tensor,
              idx: torch.Tensor, sums: torch.Tensor) -> None:
        G, D, C = nets["G"], nets["D"], nets["C"]
        g_params = opts["g"].param_groups[0]["params"]
        q_params = opts["q"].param_groups[0]["params"]
        xb, yb_idx = lanes.take(X, idx), lanes.take(y, idx)
        fake = G(uniform_noise(lanes.shape(idx.shape[-1], self.noise_dim), self.device_), eye[yb_idx])
        # 1. D step
        real_logit, _ = D(xb)
        fake_logit, _ = D(fake.detach())
        d_loss = lanes.mean(F.softplus(-real_logit)) + lanes.mean(F.softplus(fake_logit))
        opts["d"].zero_grad(set_to_none=True)
        d_loss.sum().backward()
        opts["d"].step()
        # 2. G and Q steps, gradients from the same forward pass with the updated D
        g_logit, feat_fake = D(fake)
        _, feat_real = D(xb)
        g_loss = lanes.mean(F.softplus(-g_logit))
        q_loss = lanes.cross_entropy(C(feat_real), yb_idx) + lanes.cross_entropy(C(feat_fake), yb_idx)
        g_grads = torch.autograd.grad(g_loss.sum(), g_params, retain_graph=True)
        opts["q"].zero_grad(set_to_none=True)
        q_loss.sum().backward(inputs=q_params)
        opts["q"].step()
        for p, grad in zip(g_params, g_grads):
            p.grad = grad
        opts["g"].step()
        sums.add_(torch.stack([d_loss.detach(), g_loss.detach(), q_loss.detach()], -1))
