"""The MLP conditional GAN of GAMO's "cGAN+CN" row (Mullick et al. 2019, Table 1, MNIST) as an oversampler.

The paper's cGAN architecture is in its unavailable supplement (spec §5.3, §9.37); imbench builds it from
GAMO's own parts, as the spec suggests: the generator is the cG ablation's (the cTMU, 256-64 with batch
norm, then Dense(d, tanh)), the discriminator GAMO's conditional D (256-128, LeakyReLU 0.1). It is trained
on the skewed training set alone -- the classifier network plays no part -- with the non-saturating
binary cross-entropy (one D step on real → 1, generated → 0, then one G step on generated → 1 per
mini-batch), Adam(2e-4, β1 0.5) for both, mini-batches of 32, labels of the generated batch drawn like
the real batch's (the training distribution; ``fake_labels="uniform"`` draws them uniformly over the
classes instead, so that a rare class's conditional gets as many generator updates as the majority's).
Then each class is topped up with G(z, y), z ~ N(0, I).
Inputs are flattened and mapped to [-1, 1] (tanh output); the samples come back in the input's form.
"""
from __future__ import annotations

import time

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions

from imbench.devices import resolve_device
from imbench.errors import ConfigError, TrainingError
from imbench.methods.base import DEVICE_CONSTRAINTS, ImageOverSampler
from imbench.methods.gamo.nets import ClassBatch, ConditionalDiscriminator, FreeGenerator
from imbench.methods.protocol import ProfileCap
from imbench.rng import isolated_rng, resolve_seed


class MLPCGANSampler(ImageOverSampler):
    """Oversample with an MLP conditional GAN (GAMO's cGAN+CN).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
    steps : int, default=25000
        Mini-batches of training (GAMO's budget; the paper gives none for its cGAN).
    batch_size : int, default=32
    latent_dim : int, default=100
    lr : float, default=2e-4
        Adam's learning rate for G and D (β = (0.5, 0.999)).
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
    fake_labels : {"data", "uniform"}, default="data"
        How the labels of each generated training batch are drawn: like the training labels, or uniformly.

    Input: N×D features or images (flattened inside) with values in [0, 1].
    """

    profile_caps = (ProfileCap("steps", "max_steps"),)
    _parameter_constraints: dict = {
        **ImageOverSampler._parameter_constraints,
        "steps": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "device": DEVICE_CONSTRAINTS,
        "fake_labels": [StrOptions({"data", "uniform"})],
    }

    def __init__(self, sampling_strategy: Any = "auto", steps: int = 25000, batch_size: int = 32,
                 latent_dim: int = 100, lr: float = 2e-4, device: str = "auto", random_state: int | None = None,
                 fake_labels: str = "data") -> None:
        self.sampling_strategy = sampling_strategy
        self.steps = steps
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.fake_labels = fake_labels

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = X.reshape(len(X), -1).astype(np.float32)
        if flat.min() < -1e-6 or flat.max() > 1 + 1e-6:
            raise ConfigError(f"cgan_cn: inputs must be in [0, 1] (got min {flat.min()}, max {flat.max()}); "
                              "divide 8-bit images by 255 or scale the features")
        self.seed_ = resolve_seed(self.random_state)
        device = resolve_device(self.device)
        started = time.perf_counter()
        self.classes_ = np.unique(y)
        self.train_labels_ = np.asarray(y)
        index = {c: i for i, c in enumerate(self.classes_)}
        with isolated_rng(device):
            torch.manual_seed(self.seed_)
            G, history = self._train(torch.as_tensor(flat * 2 - 1, device=device),
                                     torch.as_tensor(np.vectorize(index.__getitem__)(y), device=device), device)
            self.generator_, self.history_ = G.eval(), history
            new_x, new_y = [], []
            with torch.no_grad():
                for c, n in self.sampling_strategy_.items():
                    if n <= 0:
                        continue
                    labels = torch.full((int(n),), index[c], dtype=torch.long, device=device)
                    out = G(torch.randn(int(n), self.latent_dim, device=device), ClassBatch(labels, ()))
                    new_x.append(((out + 1) / 2).clamp_(0, 1).cpu().numpy().reshape((int(n),) + X.shape[1:]))
                    new_y.append(np.full(int(n), c, dtype=y.dtype))
        self.fit_seconds_ = time.perf_counter() - started
        self.synthesised_ = {str(c): int(n) for c, n in self.sampling_strategy_.items() if n > 0}
        if not new_x:
            return X, y
        return np.concatenate([X, *[a.astype(X.dtype, copy=False) for a in new_x]]), np.concatenate([y, *new_y])

    def fit_info(self) -> dict:
        """What the run's record keeps about the GAN: its settings, seed, last logged losses, time, and the
        images made per class, and each class's share of the fake labels in training (``fake_label_share``:
        with ``fake_labels="data"`` a rare class's conditional is trained on few fake samples)."""
        counts = {str(c): int(n) for c, n in zip(*np.unique(self.train_labels_, return_counts=True))}
        if self.fake_labels == "uniform":
            counts = {c: 1 for c in counts}
        total = sum(counts.values())
        return {"method": "cGAN (MLP, GAMO's parts)", "steps": int(self.steps), "batch_size": int(self.batch_size),
                "lr": float(self.lr), "latent_dim": int(self.latent_dim), "seed": self.seed_,
                "fake_labels": self.fake_labels,
                "final_losses": self.history_[-1] if self.history_ else None,
                "fake_label_share": {c: n / total for c, n in counts.items()},
                "fit_seconds": self.fit_seconds_, "synthesised": self.synthesised_}

    def _train(self, X: torch.Tensor, y: torch.Tensor, device: torch.device):
        n_classes = len(self.classes_)
        G = FreeGenerator(self.latent_dim, n_classes, X.shape[1]).to(device).train()
        D = ConditionalDiscriminator(X.shape[1], n_classes).to(device).train()
        opt_g = torch.optim.Adam(G.parameters(), lr=self.lr, betas=(0.5, 0.999), eps=1e-7)
        opt_d = torch.optim.Adam(D.parameters(), lr=self.lr, betas=(0.5, 0.999), eps=1e-7)
        gen = torch.Generator().manual_seed(self.seed_)
        order, start, history = torch.randperm(len(y), generator=gen), 0, []
        for step in range(self.steps):
            if start >= len(y):
                order, start = torch.randperm(len(y), generator=gen), 0
            idx = order[start:start + self.batch_size].to(device)
            start += self.batch_size
            xr, yr = X[idx], y[idx]
            if self.fake_labels == "uniform":
                fake_y = torch.randint(n_classes, (len(idx),), generator=gen).to(device)
            else:
                fake_y = y[torch.randint(len(y), (len(idx),), generator=gen).to(device)]
            batch = ClassBatch(fake_y, ())
            z = torch.randn(len(idx), self.latent_dim, device=device)
            fake = G(z, batch)
            real_logit, fake_logit = D(xr, yr), D(fake.detach(), fake_y)
            d_loss = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                      + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            g_logit = D(fake, fake_y)
            g_loss = F.binary_cross_entropy_with_logits(g_logit, torch.ones_like(g_logit))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward(inputs=list(G.parameters()))
            opt_g.step()
            if (step + 1) % 100 == 0 or step + 1 == self.steps:
                d, g = float(d_loss.detach()), float(g_loss.detach())
                if not (np.isfinite(d) and np.isfinite(g)):
                    raise TrainingError(f"cgan_cn: a loss became non-finite at mini-batch {step + 1} (seed "
                                        f"{self.seed_}); lower method.sampler.lr")
                history.append({"step": step + 1, "d_loss": d, "g_loss": g})
        return G, history
