"""The 28×28 networks of Fajardo et al. (2021), Tables 10, 11 and 13 (built on Wu's
tensorflow-generative-model-collections, whose layers are the InfoGAN MNIST ones), also scaled to
S×S images with C channels (S = 32: CIFAR-10, SVHN -- GAMO's cDCGAN+CN row): the generator's FC goes
to 128×(S/4)×(S/4) and its last deconvolution outputs C channels; the discriminator's first conv takes
C (+ label) channels and its FC 128×(S/4)². The defaults (C=1, S=28) are the paper's networks, built
layer for layer as before (same order, same initialisation).

* :class:`ConditionalGenerator` -- CGAN/ACGAN generator and CVAE decoder (identical in all three):
  [z, one-hot y] → FC 1024 BN ReLU → FC 6272 BN ReLU → 128×7×7 → deconv 4×4 s2 64 BN ReLU →
  deconv 4×4 s2 1 → sigmoid.
* :class:`Discriminator` -- conv 4×4 s2 64 LReLU → conv 4×4 s2 128 BN LReLU → FC 1024 BN LReLU (the
  "trunk") → FC 1 (logit). With ``label_channels=K`` the one-hot label is broadcast to K constant maps
  and concatenated to the image (CGAN, Table 11); with 0 it sees the image only (ACGAN, Table 10).
* :class:`AuxClassifier` -- ACGAN's classifier on the 1024-d trunk features: FC 128 BN LReLU → FC K.
* :class:`ConditionalEncoder` -- CVAE's q(z|x, y): the CGAN discriminator trunk on [x, label maps]
  → FC 2·z_dim, split into the mean and ``softplus(raw) + 1e-6`` (one FC of 124 as in the code;
  Table 13 prints two 62+62 rows and "10 maps" for the 11-channel input).

TensorFlow details kept: BatchNorm decay 0.9 (torch momentum 0.1), eps 1e-5, γ=1, β=0; weights
N(0, 0.02) (truncated at ±2σ for convolutions, ``tf.truncated_normal_initializer``), biases 0;
LeakyReLU slope 0.2; 'SAME' padding (= padding 1 for 4×4 stride-2 layers on 28/14/7 maps).
Networks return logits / pre-activation where a loss wants them (the discriminator's logit); the
generator returns the sigmoid image, as the reference code does.

Also here: the training helpers the three samplers share (image-shape check, TF-style Adam, paper/code
learning-rate tables, per-epoch loss check and log); the CUDA-graph replay of their training step is
:class:`imbench.cuda_graphs.GraphedStep`.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from imbench.errors import ConfigError

IMAGE_SHAPE = (1, 28, 28)  # the paper's (C, H, W), the networks' defaults
IMAGE_SIZES = (28, 32)  # square sizes the networks are used at (MNIST/Fashion-MNIST; CIFAR-10/SVHN)
BN_MOMENTUM = 0.1  # TensorFlow decay 0.9
BN_EPS = 1e-5
LEAK = 0.2
INIT_STD = 0.02


def _bn1d(n: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(n, eps=BN_EPS, momentum=BN_MOMENTUM)


def _bn2d(n: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(n, eps=BN_EPS, momentum=BN_MOMENTUM)


def init_weights(module: nn.Module, std: float = INIT_STD) -> None:
    """Wu's ops.py initialisation: conv truncated N(0, std²) at 2σ, deconv and linear N(0, std²), biases 0
    (std 0.02 here; DGC's released code uses the same scheme with 0.01)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
        elif isinstance(m, (nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, std=std)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _base_side(size: int) -> int:
    """The side of the smallest feature map (two stride-2 4×4 layers with padding 1): S/4."""
    if size < 4 or size % 4:
        raise ConfigError(f"the Fajardo networks need an image side divisible by 4, got {size}")
    return size // 4


def label_maps(y_onehot: torch.Tensor, height: int = 28, width: int = 28) -> torch.Tensor:
    """N×K one-hot → N×K×H×W constant maps (``conv_cond_concat``)."""
    return y_onehot[:, :, None, None].expand(-1, -1, height, width)


class ConditionalGenerator(nn.Module):
    """G(z, y) / CVAE decoder p(x|z, y): returns N×C×S×S images in (0, 1) (default N×1×28×28)."""

    def __init__(self, z_dim: int, n_classes: int, channels: int = 1, size: int = 28) -> None:
        super().__init__()
        self.base = _base_side(size)
        m = self.base
        self.fc = nn.Sequential(
            nn.Linear(z_dim + n_classes, 1024), _bn1d(1024), nn.ReLU(inplace=True),
            nn.Linear(1024, 128 * m * m), _bn1d(128 * m * m), nn.ReLU(inplace=True),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), _bn2d(64), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1),
        )
        init_weights(self)

    def logits(self, z: torch.Tensor, y_onehot: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, y_onehot], 1)).view(-1, 128, self.base, self.base)
        return self.deconv(h)

    def forward(self, z: torch.Tensor, y_onehot: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z, y_onehot))


class _Trunk(nn.Module):
    """conv 64 s2 LReLU → conv 128 s2 BN LReLU → FC 1024 BN LReLU (InfoGAN's D trunk)."""

    def __init__(self, in_channels: int, size: int = 28) -> None:
        super().__init__()
        m = _base_side(size)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 64, 4, stride=2, padding=1), nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(64, 128, 4, stride=2, padding=1), _bn2d(128), nn.LeakyReLU(LEAK, inplace=True),
            nn.Flatten(),
            nn.Linear(128 * m * m, 1024), _bn1d(1024), nn.LeakyReLU(LEAK, inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Discriminator(nn.Module):
    """D(x[, y]) → (logit N, features N×1024). ``label_channels`` = K for CGAN, 0 for ACGAN; images
    N×C×S×S (default N×1×28×28)."""

    def __init__(self, label_channels: int = 0, channels: int = 1, size: int = 28) -> None:
        super().__init__()
        self.label_channels = label_channels
        self.trunk = _Trunk(channels + label_channels, size)
        self.head = nn.Linear(1024, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor, y_onehot: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.label_channels:
            x = torch.cat([x, label_maps(y_onehot, x.shape[2], x.shape[3])], 1)
        feat = self.trunk(x)
        return self.head(feat).squeeze(1), feat


class AuxClassifier(nn.Module):
    """ACGAN's auxiliary classifier on D's 1024-d features: FC 128 BN LReLU → FC K (logits)."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1024, 128), _bn1d(128), nn.LeakyReLU(LEAK, inplace=True),
                                 nn.Linear(128, n_classes))
        init_weights(self)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat)


class ConditionalEncoder(nn.Module):
    """CVAE q(z|x, y) → (mean, std), std = softplus(raw) + 1e-6."""

    def __init__(self, z_dim: int, n_classes: int, channels: int = 1, size: int = 28) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.trunk = _Trunk(channels + n_classes, size)
        self.head = nn.Linear(1024, 2 * z_dim)
        init_weights(self)

    def forward(self, x: torch.Tensor, y_onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.head(self.trunk(torch.cat([x, label_maps(y_onehot, x.shape[2], x.shape[3])], 1)))
        mean, raw = h[:, :self.z_dim], h[:, self.z_dim:]
        return mean, F.softplus(raw) + 1e-6


# ----- training helpers shared by the CGAN, ACGAN and CVAE samplers ------------------------------
def check_fajardo_images(X: torch.Tensor, method: str) -> tuple[int, int]:
    """These networks are the 28×28 ones of Fajardo et al. (MNIST / Fashion-MNIST), also built for
    32×32 (CIFAR-10, SVHN); any number of channels. Returns ``(channels, size)`` of the N×C×S×S batch."""
    shape = tuple(X.shape[1:])
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in IMAGE_SIZES or shape[0] < 1:
        raise ConfigError(
            f"{method}: Fajardo et al.'s networks take square 28×28 images (MNIST, Fashion-MNIST) or, scaled, "
            f"32×32 ones (CIFAR-10, SVHN), with C channels; got images of shape {shape} (C, H, W). "
            "Use another oversampler for this dataset")
    if len(X) < 2:
        raise ConfigError(f"{method}: need at least 2 training images for batch normalisation, got {len(X)}")
    return shape[0], shape[1]


def make_adam(params, lr: float, device: torch.device, capturable: bool = False) -> torch.optim.Adam:
    """TensorFlow ``AdamOptimizer(lr, beta1=0.5)`` (β2 0.999, ε 1e-8); fused kernels on CUDA,
    ``capturable`` for CUDA-graph replay (see :class:`imbench.cuda_graphs.GraphedStep`)."""
    cuda = device.type == "cuda"
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), eps=1e-8, fused=cuda, capturable=cuda and capturable)


def resolve_lrs(method: str, table: dict[str, dict[str, float]], lr_source: str,
                overrides: dict[str, float | None]) -> dict[str, float]:
    """Learning rates from ``table[lr_source]``, each replaced by a non-None entry of ``overrides``."""
    if lr_source not in table:
        raise ConfigError(f"{method}: lr_source must be one of {sorted(table)}, got {lr_source!r}")
    out = dict(table[lr_source])
    for key, value in overrides.items():
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{method}: lr_{key} must be a positive number or null, got {value!r}")
            out[key] = float(value)
    return out


def finish_epoch(sampler, epoch: int, sums: torch.Tensor, n_batches: int, names: tuple[str, ...]) -> None:
    """Per-epoch bookkeeping with one device sync: mean losses of the epoch (accumulated on the device
    without ``.item()``), the divergence check (TrainingError naming method, epoch and seed) and the log."""
    means = sums / max(n_batches, 1)
    values = means.tolist()
    if not all(math.isfinite(v) for v in values):
        sampler._check_finite(epoch, **{n: means[i] for i, n in enumerate(names)})
    sampler._log_epoch(epoch, **dict(zip(names, values)))


def release_grads(*modules: nn.Module) -> None:
    """Drop the gradients after training (under CUDA graphs they live in the graph's memory pool)."""
    for m in modules:
        for p in m.parameters():
            p.grad = None
