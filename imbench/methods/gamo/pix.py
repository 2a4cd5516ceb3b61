"""GAMO2pix (Mullick et al. 2019, §5; released code: fashion_mnist_gamo2pix_*): images from GAMO's
convex combinations of feature vectors.

GAMO's convolutional form generates points in the feature space of its extractor F (512-d), not
images. GAMO2pix learns, for each minority class, the way back: a VAE whose encoder is the trained F,
frozen, followed by a small head, and whose decoder maps the latent code to an image. It trains on that
class's real training images only; afterwards a GAMO feature vector goes through the head (a sampled
code) and the decoder to give an image (spec §5.4).

Networks (spec §5.4): head F(x) → Dense 128 tanh → Dense ``latent`` (μ) and Dense ``latent`` (s);
decoder Dense (H/4·W/4·32) LReLU 0.1 → ConvTranspose 4×4 stride 2 (32) LReLU 0.1 → ConvTranspose 4×4
stride 2 (32) LReLU 0.1 → Conv 4×4 stride 1 "same" (image channels), tanh. Loss: (pixels) · MSE + KL,
Adam(2e-4, β1 0.5), batch 32.

The released code's KL term treats ``s`` as a log-variance while its sampling uses it as a log-std
(spec §9.40). ``head: logvar`` (the default) is the standard VAE the paper describes (z = μ + e^{s/2}·ε,
KL of N(μ, e^{s})); ``head: code`` is the released code's pairing (z = μ + e^{s}·ε, the same KL).

F has no batch normalisation or dropout, so with F frozen its features of the class's images are
computed once: the same mathematics as running F inside every step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from imbench.classifiers.models import keras_init_
from imbench.errors import ConfigError, TrainingError

HEADS = ("logvar", "code")


@dataclass(frozen=True)
class PixSchedule:
    """How each class's VAE trains: ``steps`` mini-batches of ``batch_size`` (25,000 and 32 in the
    released code), Adam's ``lr`` and ``betas``, the ``latent`` size, the ``hidden`` width of the head,
    the decoder's ``channels`` and which ``head`` pairing (see the module docstring)."""

    steps: int = 25000
    batch_size: int = 32
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    latent: int = 100
    hidden: int = 128
    channels: int = 32
    head: str = "logvar"

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ConfigError(f"method.vae.head must be one of {', '.join(HEADS)}, got {self.head!r}")
        for key in ("steps", "batch_size", "latent", "hidden", "channels"):
            value = getattr(self, key)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ConfigError(f"method.vae.{key} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError(f"method.vae.lr must be a positive number, got {self.lr!r}")


class EncoderHead(nn.Module):
    """F(x) → Dense ``hidden`` tanh → (μ, s), each ``latent`` wide."""

    def __init__(self, in_features: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(in_features, hidden), nn.Tanh())
        self.mu = nn.Linear(hidden, latent)
        self.s = nn.Linear(hidden, latent)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(features)
        return self.mu(h), self.s(h)


class Decoder(nn.Module):
    """z → an image of ``shape`` (C, H, W) in [−1, 1]; H and W divisible by 4."""

    def __init__(self, latent: int, shape: Sequence[int], channels: int = 32, negative_slope: float = 0.1) -> None:
        super().__init__()
        c, h, w = (int(v) for v in shape)
        if h % 4 or w % 4:
            raise ConfigError(f"GAMO2pix's decoder needs image sides divisible by 4, got {h}×{w}")
        self.start = (channels, h // 4, w // 4)
        self.dense = nn.Sequential(nn.Linear(latent, channels * (h // 4) * (w // 4)), nn.LeakyReLU(negative_slope))
        self.up = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1), nn.LeakyReLU(negative_slope),
            nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1), nn.LeakyReLU(negative_slope),
            nn.ZeroPad2d((1, 2, 1, 2)),  # Keras "same" padding of an even (4×4) kernel: one before, two after
            nn.Conv2d(channels, c, 4), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.dense(z).reshape(len(z), *self.start))


class ClassVAE(nn.Module):
    """One minority class's VAE on frozen features: :class:`EncoderHead` + :class:`Decoder`."""

    def __init__(self, in_features: int, shape: Sequence[int], schedule: PixSchedule) -> None:
        super().__init__()
        self.head = EncoderHead(in_features, schedule.hidden, schedule.latent)
        self.decoder = Decoder(schedule.latent, shape, schedule.channels)
        self.pairing = schedule.head
        keras_init_(self)
        for m in self.modules():  # Keras's Conv2DTranspose starts Glorot-uniform too
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def sample_code(self, features: torch.Tensor, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z, μ, s) for feature vectors: z = μ + σ·ε with σ = e^{s/2} (``logvar``) or e^{s} (``code``)."""
        mu, s = self.head(features)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        scale = torch.exp(0.5 * s) if self.pairing == "logvar" else torch.exp(s)
        return mu + scale * eps, mu, s

    def loss(self, features: torch.Tensor, images: torch.Tensor, generator: torch.Generator | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, KL), each a batch mean: pixels · MSE(x, x̂) and KL(N(μ, e^{s}) ‖ N(0, I))."""
        z, mu, s = self.sample_code(features, generator)
        recon = self.decoder(z)
        pixels = images[0].numel()
        rec = pixels * torch.mean((recon - images) ** 2, dim=tuple(range(1, images.ndim))).mean()
        kl = (-0.5 * torch.sum(1 + s - mu ** 2 - torch.exp(s), dim=1)).mean()
        return rec, kl

    @torch.no_grad()
    def images(self, features: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images (in [−1, 1]) decoded from a sampled code of each feature vector."""
        return self.decoder(self.sample_code(features, generator)[0])


@dataclass
class PixTraining:
    """What one class's VAE training reports: its final reconstruction and KL (means of the last 100
    mini-batches) and seconds."""

    steps: int
    reconstruction: float
    kl: float
    seconds: float


def train_class_vae(vae: ClassVAE, features: torch.Tensor, images: torch.Tensor, schedule: PixSchedule,
                    seed: int, progress: Callable[[int], None] | None = None) -> PixTraining:
    """Train ``vae`` on one class: ``features`` are F's (frozen) features of its ``images`` (in [−1, 1]).

    Mini-batches are drawn by reshuffling the class every epoch; the code draws ε from a generator
    seeded with ``seed``."""
    import time

    if len(features) != len(images):
        raise TrainingError(f"GAMO2pix: {len(features)} feature vectors for {len(images)} images")
    t0 = time.perf_counter()
    device = features.device
    order_rng = torch.Generator(device="cpu").manual_seed(seed)
    noise_rng = torch.Generator(device=device).manual_seed(seed + 1)
    opt = torch.optim.Adam(vae.parameters(), lr=schedule.lr, betas=tuple(schedule.betas))
    vae.train()
    recent_rec, recent_kl, perm, at = [], [], torch.empty(0, dtype=torch.long), 0
    for step in range(schedule.steps):
        if at >= len(perm):
            perm, at = torch.randperm(len(images), generator=order_rng), 0
        idx = perm[at:at + schedule.batch_size].to(device)
        at += schedule.batch_size
        rec, kl = vae.loss(features[idx], images[idx], noise_rng)
        opt.zero_grad(set_to_none=True)
        (rec + kl).backward()
        opt.step()
        recent_rec.append(rec.detach())
        recent_kl.append(kl.detach())
        if (step + 1) % 100 == 0 or step + 1 == schedule.steps:
            last = float((rec + kl).detach())
            if not torch.isfinite(torch.tensor(last)):
                raise TrainingError(f"GAMO2pix's VAE loss became {last} at mini-batch {step + 1} (seed {seed}); "
                                    "lower method.vae.lr")
            del recent_rec[:-100], recent_kl[:-100]
            if progress is not None:
                progress(step + 1)
    vae.eval()
    return PixTraining(steps=schedule.steps, reconstruction=float(torch.stack(recent_rec).mean()),
                       kl=float(torch.stack(recent_kl).mean()), seconds=time.perf_counter() - t0)
