"""DGC's networks (see :mod:`imbench.methods.dgc` for the method and the choices made): the convolutional
encoder q(z|x) with its mean and log-variance heads, the deconvolutional decoder p(x|z) with a sigmoid
output of the input's own size, and the linear classifier p(y|z).

Layer for layer the released DGCMM code's MNIST networks (spec §6): ``conv2d`` 4×4 stride 2 with
TensorFlow's "SAME" padding (output size ⌈H / 2⌉; the padding, when odd, goes one more to the bottom/right,
as TensorFlow puts it), batch norm (ε 1e-5, decay 0.9 = torch momentum 0.1), ReLU; the decoder's first
layer a linear map to s×s×w₀ (s = H / 4 for the three decoder widths) and ReLU, then 4×4 stride-2
deconvolutions doubling the size, each with batch norm and ReLU, then a stride-1 4×4 "deconvolution" to
the input's channels and a sigmoid. A stride-1 transposed convolution is a convolution (with the kernel
flipped, which a learned kernel absorbs), so the last layer is a 4×4 convolution with "SAME" padding.
Weights start N(0, 0.01²) (``init_std`` 0.0099999; truncated at 2σ in the convolutions, as TensorFlow's
``truncated_normal_initializer``), biases 0, batch-norm scales 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from imbench.methods.generative.networks import init_weights

LOGVAR_CLIP = 50.0  # the released code clips the encoder's log-variance to [-50, 50]
VARIANCE_FLOOR = 1e-8  # ... and samples z = μ + ε·√(1e-8 + exp(log σ²))
INIT_STD = 0.0099999


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME" padding of one dimension: (before, after) so that the output has ⌈size /
    stride⌉ positions; the odd unit goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "SAME" padding (computed from the input's size)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 4, stride: int = 2) -> None:
        super().__init__(in_channels, out_channels, kernel, stride=stride, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        top, bottom = same_padding(x.shape[-2], k, s)
        left, right = same_padding(x.shape[-1], k, s)
        return super().forward(F.pad(x, (left, right, top, bottom)))


def encoded_size(size: int, layers: int) -> int:
    """Spatial size after ``layers`` stride-2 "SAME" convolutions (28 → 14 → 7 → 4 → 2)."""
    for _ in range(layers):
        size = math.ceil(size / 2)
    return size


@dataclass
class Posterior:
    """q(z|x) = N(``mean``, diag(exp(``logvar``))) of a batch (both B × z_dim; ``logvar`` clipped)."""

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        """√(1e-8 + exp(log σ²)), the released code's standard deviation."""
        return torch.sqrt(VARIANCE_FLOOR + torch.exp(self.logvar))

    def sample(self, noise: torch.Tensor | None = None) -> torch.Tensor:
        """z = μ + ε·σ with ε ~ N(0, I) (or the given ``noise`` of the same shape, or with leading sample
        dimensions: S × B × z_dim gives S samples per input)."""
        eps = torch.randn_like(self.mean) if noise is None else noise
        return self.mean + eps * self.std


class Encoder(nn.Module):
    """q(z|x): stride-2 4×4 "SAME" convolutions, each with batch norm and ReLU, then linear heads for the
    mean and the log-variance of z.

    Parameters
    ----------
    image_shape : (C, H, W) of the input.
    width : channels of each convolution (the code: 128, 256, 512, 1024).
    z_dim : size of z (64).
    """

    def __init__(self, image_shape: Sequence[int], width: Sequence[int], z_dim: int) -> None:
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = []
        for out in width:
            layers += [SameConv2d(c, out), nn.BatchNorm2d(out, eps=1e-5, momentum=0.1), nn.ReLU()]
            c = out
        self.features = nn.Sequential(*layers)
        flat = c * encoded_size(h, len(width)) * encoded_size(w, len(width))
        self.mean = nn.Linear(flat, z_dim)
        self.logvar = nn.Linear(flat, z_dim)

    def forward(self, x: torch.Tensor) -> Posterior:
        h = self.features(x).flatten(1)
        return Posterior(self.mean(h), self.logvar(h).clamp(-LOGVAR_CLIP, LOGVAR_CLIP))


class Decoder(nn.Module):
    """p(x|z): its mean x̂ in (0, 1), of the input's own shape.

    Parameters
    ----------
    image_shape : (C, H, W) of the output; H and W divisible by 2^(len(width) − 1).
    width : channels at the start (after the linear layer, at H / 2^(len − 1)) and after each
        stride-2 deconvolution (the code: 1024, 512, 256; 7×7 → 14×14 → 28×28 for MNIST).
    z_dim : size of z.
    """

    def __init__(self, image_shape: Sequence[int], width: Sequence[int], z_dim: int) -> None:
        super().__init__()
        c, h, w = image_shape
        factor = 2 ** (len(width) - 1)
        if h % factor or w % factor:
            raise ValueError(f"the decoder needs H and W divisible by {factor}; got {h}×{w}")
        self.start = (width[0], h // factor, w // factor)
        self.linear = nn.Linear(z_dim, width[0] * (h // factor) * (w // factor))
        layers: list[nn.Module] = []
        for a, b in zip(width[:-1], width[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1), nn.BatchNorm2d(b, eps=1e-5, momentum=0.1),
                       nn.ReLU()]
        self.upsample = nn.Sequential(*layers)
        self.out = SameConv2d(width[-1], c, kernel=4, stride=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.linear(z)).reshape(len(z), *self.start)
        return torch.sigmoid(self.out(self.upsample(h)))


class DgcModel(nn.Module):
    """The encoder q(z|x), the decoder p(x|z) and the classifier p(y|z) (one linear layer z → logits).

    Parameters
    ----------
    image_shape : (C, H, W) of the inputs.
    n_classes : number of classes.
    width : encoder channels.
    decoder_width : decoder channels (see :class:`Decoder`).
    z_dim : size of z.
    """

    def __init__(self, image_shape: Sequence[int], n_classes: int, width: Sequence[int],
                 decoder_width: Sequence[int], z_dim: int) -> None:
        super().__init__()
        self.encoder = Encoder(image_shape, width, z_dim)
        self.decoder = Decoder(image_shape, decoder_width, z_dim)
        self.classifier = nn.Linear(z_dim, n_classes)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The released code's initialisation: weights N(0, 0.01²) (convolutions truncated at 2σ), biases 0."""
        init_weights(self, std=INIT_STD)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The parameters that the encoder-only steps (pretraining, LVO) update."""
        return list(self.encoder.parameters())
