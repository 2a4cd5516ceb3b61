"""Downstream classifiers of the four papers (spec §7A)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def keras_init_(module: nn.Module) -> nn.Module:
    """Keras defaults: Glorot-uniform weights and zero biases for dense and conv layers."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` whose mask, on the CPU, is a uniform draw compared with ``p``.

    The same distribution as torch's (each unit kept with probability 1 - p, kept units scaled by
    1 / (1 - p)) but other draws: torch's CPU Bernoulli sampler is slow, and with this mask a Table 14
    MLP training step on 2 CPU cores took 3.14 instead of 4.04 ms (``benchmarks/dropout.py``,
    ``benchmarks/results/dropout-vm-20261125-054906.json``). On CUDA it is torch's fused dropout.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.is_cuda:
            return super().forward(x)
        if self.p >= 1.0:
            return x * 0.0
        return x * (torch.rand_like(x) >= self.p).to(x.dtype) * (1.0 / (1.0 - self.p))


class MLP(nn.Module):
    """Fully connected classifier: flatten -> [Linear -> activation -> dropout]* -> Linear.

    With ``hidden=(512, 512)``, ``dropout=0.2`` and ReLU this is Fajardo et al.'s Table 14 MLP; with
    ``hidden=(256, 128)`` and LeakyReLU 0.1 it is GAMO's classifier network M; with ``hidden=(128, 16)``
    it is EGL's tabular MLP.
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        hidden: Sequence[int] = (512, 512),
        dropout: float = 0.0,
        activation: str = "relu",
        negative_slope: float = 0.01,
        init: str = "torch",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            layers.append(nn.ReLU() if activation == "relu" else nn.LeakyReLU(negative_slope))
            if dropout > 0:
                layers.append(Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)
        if init == "keras":
            keras_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvNet(nn.Module):
    """IMSIC's downstream CNN (spec §3.3): two conv5x5+ReLU+maxpool blocks, dropout, FC 1000, FC C.

    There is no activation between the two fully connected layers, as in the reference code.
    """

    def __init__(self, in_channels: int, image_size: int, n_classes: int, width: Sequence[int] = (32, 64),
                 fc: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        c1, c2 = width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        side = image_size // 4
        self.head = nn.Sequential(nn.Flatten(), Dropout(dropout), nn.Linear(c2 * side * side, fc), nn.Linear(fc, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class GamoConvNet(nn.Module):
    """GAMO's conv classifier for Fashion-MNIST (spec §5.2): feature extractor F (two conv5x5(32) +
    LeakyReLU 0.1 + average-pool blocks, Dense 512 tanh) followed by the classifier network M
    (256-128-C, LeakyReLU 0.1)."""

    def __init__(self, in_channels: int, image_size: int, n_classes: int, channels: int = 32,
                 features: int = 512, hidden: Sequence[int] = (256, 128), init: str = "keras") -> None:
        super().__init__()
        side = image_size // 4
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, channels, 5, padding=2), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
            nn.Conv2d(channels, channels, 5, padding=2), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
            nn.Flatten(), nn.Linear(channels * side * side, features), nn.Tanh(),
        )
        self.classifier = MLP(features, n_classes, hidden=hidden, activation="leaky_relu", negative_slope=0.1)
        if init == "keras":
            keras_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_classifier(arch: dict, input_shape: Sequence[int], n_classes: int) -> nn.Module:
    """Build the network named by ``arch['name']`` (``mlp`` or ``cnn``) for the given input shape."""
    arch = dict(arch)
    name = arch.pop("name")
    if name == "mlp":
        n_in = 1
        for d in input_shape:
            n_in *= int(d)
        return MLP(n_in, n_classes, **arch)
    if name == "cnn":
        if len(input_shape) != 3:
            raise ValueError(f"cnn needs image input (C, H, W); got shape {tuple(input_shape)}")
        return ConvNet(int(input_shape[0]), int(input_shape[-1]), n_classes, **arch)
    if name == "gamo_conv":
        if len(input_shape) != 3:
            raise ValueError(f"gamo_conv needs image input (C, H, W); got shape {tuple(input_shape)}")
        return GamoConvNet(int(input_shape[0]), int(input_shape[-1]), n_classes, **arch)
    raise ValueError(f"unknown classifier architecture {name!r}; valid: mlp, cnn, gamo_conv")
