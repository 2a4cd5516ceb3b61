"""CVAE oversampler: the conditional VAE proposed by Fajardo et al. (2021), Table 13 (after Sohn et
al. 2015 / Kingma et al. 2014's M2 objective)."""
from __future__ import annotations

from numbers import Real
from typing import Any

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from imbench.methods.generative.cgan import class_onehot
from imbench.methods.generative.networks import ConditionalEncoder, ConditionalGenerator, make_adam
from imbench.methods.generative.stepped import Lanes, SteppedGenerator, params_named

SAMPLING_MODES = ("bernoulli", "mean")


class CVAESampler(SteppedGenerator):
    """Conditional-VAE oversampler of Fajardo et al. (2021) ("CVAE"; "R-CVAE" with
    ``random_oversample_first=True``).

    A CVAE with encoder q(z|x, y) and Bernoulli decoder p(x|z, y) (Table 13) is trained on the
    (skewed, or for R-CVAE randomly over-sampled) training images by minimising the negative ELBO per
    example, averaged over the mini-batch: Bernoulli NLL summed over the 784 pixels (decoder output
    clipped to [1e-8, 1 − 1e-8]) plus KL(N(μ, σ²) ‖ N(0, I)) summed over the 62 latent dims, with
    σ = softplus(raw) + 1e-6 and one reparameterised z per example. Adam(1e-3, β1 = 0.5), batch 64
    (last partial batch dropped). Each minority class is then topped up with decoded
    ``z ~ N(0, I_62)`` and the wanted label.

    Parameters
    ----------
    sampling_strategy : str, float, dict or callable, default="auto"
        imbalanced-learn over-sampling strategy; "auto" tops every class up to the majority count.
    epochs : int, default=300
        Training epochs (Table 13: 300 for CVAE, 125 for R-CVAE).
    batch_size : int, default=64
        Mini-batch size; the paper does not give one, Wu's code uses 64.
    lr : float, default=1e-3
        Adam learning rate (Table 13 and the code agree).
    sampling : {"bernoulli", "mean"}, default="bernoulli"
        How a synthetic image x' is drawn from the decoder's p(x|z, y). "bernoulli" (the paper, §2.2
        and footnote 1: "one must sample from these distributions") draws every pixel from
        Bernoulli(p), giving binary images; "mean" returns p itself (grey-level images), as the code
        the paper was built from does when it shows samples. Paper and code disagree; the paper is
        the default.
    noise_dim : int, default=62
        Dimension of z.
    random_oversample_first : bool, default=False
        Train the CVAE on a randomly over-sampled balanced copy (R-CVAE); duplicates are not returned.
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
    encoder_ : ConditionalEncoder
        The trained encoder (eval mode).
    decoder_ : ConditionalGenerator
        The trained decoder (eval mode).
    history_ : list of dict
        Per epoch: mean −ELBO ("neg_elbo"), NLL and KL.
    train_size_ : int
        Number of images the CVAE was trained on.

    Notes
    -----
    Input images must be in [0, 1]: 28×28 single-channel as in the paper (N×28×28, N×1×28×28 or N×784),
    or 32×32 with C channels (N×C×32×32, e.g. CIFAR-10 / SVHN; the same networks scaled: FC to
    128×8×8, C output / input channels); any other shape raises ConfigError. Pixels are Bernoulli targets in [0, 1] (not binarised), as in the code.
    A non-finite loss raises TrainingError naming the method, epoch and seed (checked once per
    epoch from losses accumulated on the device).

    References
    ----------
    Fajardo, V.A., Findlay, D., Jaiswal, C., Yin, X., Houmanfar, R., Xie, H., Liang, J., She, X.,
    Emerson, D.B. "On oversampling imbalanced data with deep conditional generative models."
    Expert Systems with Applications 169 (2021) 114463. https://doi.org/10.1016/j.eswa.2020.114463

    Sohn, K., Lee, H., Yan, X. "Learning structured output representation using deep conditional
    generative models." NeurIPS 2015.

    Examples
    --------
    >>> X_res, y_res = CVAESampler(epochs=2, device="cpu", random_state=0).fit_resample(X, y)  # doctest: +SKIP
    """

    base_name = "CVAE"

    _parameter_constraints: dict = {
        **SteppedGenerator._parameter_constraints,
        "lr": [Interval(Real, 0, None, closed="neither")],
        "sampling": [StrOptions(set(SAMPLING_MODES))],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 300, batch_size: int = 64,
                 lr: float = 1e-3, sampling: str = "bernoulli", noise_dim: int = 62,
                 random_oversample_first: bool = False, device: str = "auto", cuda_graphs: bool = True,
                 random_state: int | None = None, verbose: bool = False,
                 image_shape: tuple[int, ...] | None = None,
                 max_batches_per_epoch: int | None = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy, epochs=epochs, batch_size=batch_size,
                         random_oversample_first=random_oversample_first, device=device,
                         random_state=random_state, verbose=verbose, image_shape=image_shape, max_batches_per_epoch=max_batches_per_epoch)
        self.lr = lr
        self.sampling = sampling
        self.noise_dim = noise_dim
        self.cuda_graphs = cuda_graphs

    @property
    def method_name(self) -> str:  # used in error messages and logs: "CVAE" or "R-CVAE"
        return ("R-" if self.random_oversample_first else "") + self.base_name

    loss_names = ("neg_elbo", "nll", "kl")

    def _networks(self, n_classes: int) -> dict[str, nn.Module]:
        dev = self.device_
        kw = self._image_kw()
        return {"E": ConditionalEncoder(self.noise_dim, n_classes, **kw).to(dev),
                "Dec": ConditionalGenerator(self.noise_dim, n_classes, **kw).to(dev)}

    def _optimizers(self, nets: dict, capturable: bool) -> dict[str, torch.optim.Optimizer]:
        params = params_named(nets["E"]) + params_named(nets["Dec"])
        return {"vae": make_adam(params, float(self.lr), self.device_, capturable=capturable)}

    def _step(self, lanes: Lanes, nets: dict, opts: dict, X: torch.Tensor, y: torch.Tensor, eye: torch.Tensor,
              idx: torch.Tensor, sums: torch.Tensor) -> None:
        xb, yb = lanes.take(X, idx), eye[lanes.take(y, idx)]
        n = idx.shape[-1]
        mean, std = nets["E"](xb, yb)
        z = mean + std * torch.randn_like(std)
        p = nets["Dec"](z, yb).clamp(1e-8, 1 - 1e-8)
        # written out (not F.binary_cross_entropy, which asserts on NaN input -- fatal on CUDA)
        nll = lanes.total(-(xb * torch.log(p) + (1 - xb) * torch.log1p(-p))) / n
        kl = lanes.total(0.5 * (mean.square() + std.square() - torch.log(1e-8 + std.square()) - 1)) / n
        loss = nll + kl
        opts["vae"].zero_grad(set_to_none=True)
        loss.sum().backward()
        opts["vae"].step()
        sums.add_(torch.stack([loss.detach(), nll.detach(), kl.detach()], -1))

    def _adopt(self, nets: dict[str, nn.Module]) -> None:
        self.encoder_ = nets["E"]
        self.decoder_ = nets["Dec"]

    def _sample(self, class_index: int, n: int, gen: torch.Generator) -> torch.Tensor:
        dev = self.device_
        z = torch.randn(n, self.noise_dim, generator=gen).to(dev)
        p = self.decoder_(z, class_onehot(class_index, n, self.n_classes_, dev))
        if self.sampling == "mean":
            return p
        u = torch.rand(p.shape, generator=gen).to(dev)
        return (u < p).to(p.dtype)

    def _extra_info(self) -> dict:
        return {"lr": float(self.lr), "sampling": self.sampling, "noise_dim": self.noise_dim,
                "prior": "N(0, I)", **self._graphs_info()}
