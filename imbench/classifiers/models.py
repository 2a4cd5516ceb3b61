"""Downstream classifiers of the four papers (spec §7A)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from imbench.errors import ConfigError


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


class CosineLinear(nn.Module):
    """Last layer of LDAM (Cao et al. 2019): the cosine between the normalised features and each class's
    normalised weight vector, in [-1, 1] (the loss scales it by s)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        # LDAM-DRW's initialisation: uniform(-1, 1), each column renormalised
        self.weight.data.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=1) @ nn.functional.normalize(self.weight, dim=0)


def last_layer(head: str, in_features: int, n_classes: int) -> nn.Module:
    """The classifier's last layer: ``linear`` (logits) or ``cosine`` (:class:`CosineLinear`, LDAM)."""
    if head == "linear":
        return nn.Linear(in_features, n_classes)
    if head == "cosine":
        return CosineLinear(in_features, n_classes)
    raise ConfigError(f"a classifier head must be 'linear' or 'cosine', got {head!r}")


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
        head: str = "linear",
    ) -> None:
        super().__init__()
        if not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden):
            raise ConfigError(f"classifier.arch.hidden must list positive layer widths, got {list(hidden)!r}")
        if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
            raise ConfigError(f"classifier.arch.dropout must be a number in [0, 1), got {dropout!r}")
        if activation not in ("relu", "leaky_relu"):
            raise ConfigError(f"classifier.arch.activation must be relu or leaky_relu, got {activation!r}")
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            layers.append(nn.ReLU() if activation == "relu" else nn.LeakyReLU(negative_slope))
            if dropout > 0:
                layers.append(Dropout(dropout))
            width = h
        layers.append(last_layer(head, width, n_classes))
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
                 fc: int = 1000, dropout: float = 0.5, head: str = "linear") -> None:
        super().__init__()
        c1, c2 = width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        side = image_size // 4
        self.head = nn.Sequential(nn.Flatten(), Dropout(dropout), nn.Linear(c2 * side * side, fc), last_layer(head, fc, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class GamoConvNet(nn.Module):
    """GAMO's conv classifier for Fashion-MNIST (spec §5.2): feature extractor F (two conv5x5(32) +
    LeakyReLU 0.1 + average-pool blocks, Dense 512 tanh) followed by the classifier network M
    (256-128-C, LeakyReLU 0.1)."""

    def __init__(self, in_channels: int, image_size: int, n_classes: int, channels: int = 32,
                 features: int = 512, hidden: Sequence[int] = (256, 128), init: str = "keras", head: str = "linear") -> None:
        super().__init__()
        side = image_size // 4
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, channels, 5, padding=2), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
            nn.Conv2d(channels, channels, 5, padding=2), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
            nn.Flatten(), nn.Linear(channels * side * side, features), nn.Tanh(),
        )
        self.classifier = MLP(features, n_classes, hidden=hidden, activation="leaky_relu", negative_slope=0.1, head=head)
        if init == "keras":
            keras_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _flat_size(input_shape: Sequence[int]) -> int:
    n = 1
    for d in input_shape:
        n *= int(d)
    return n


def _image_shape(name: str, input_shape: Sequence[int]) -> tuple[int, int]:
    if len(input_shape) != 3:
        raise ConfigError(f"the {name} classifier needs image input (C, H, W); got shape {tuple(input_shape)}")
    return int(input_shape[0]), int(input_shape[-1])


def mlp(input_shape: Sequence[int], n_classes: int, **kwargs) -> MLP:
    """:class:`MLP` on inputs of ``input_shape`` (flattened)."""
    return MLP(_flat_size(input_shape), n_classes, **kwargs)


def cnn(input_shape: Sequence[int], n_classes: int, **kwargs) -> ConvNet:
    """:class:`ConvNet` (IMSIC's CNN) on square images of ``input_shape`` = (C, H, W)."""
    return ConvNet(*_image_shape("cnn", input_shape), n_classes, **kwargs)


def gamo_conv(input_shape: Sequence[int], n_classes: int, **kwargs) -> GamoConvNet:
    """:class:`GamoConvNet` (GAMO's F + M) on square images of ``input_shape`` = (C, H, W)."""
    return GamoConvNet(*_image_shape("gamo_conv", input_shape), n_classes, **kwargs)


def build_classifier(arch: dict, input_shape: Sequence[int], n_classes: int) -> nn.Module:
    """Build the network of ``arch``: ``_target_`` names a builder ``f(input_shape, n_classes, **params)``
    (:func:`mlp`, :func:`cnn`, :func:`gamo_conv`, or a user's own), the other keys are its parameters."""
    from hydra.utils import get_object

    params = {k: v for k, v in arch.items() if k not in ("_target_", "_partial_")}
    if "_target_" not in arch:
        raise ConfigError(f"classifier.arch needs a _target_ naming a network builder, e.g. "
                          f"imbench.classifiers.models.mlp; got {arch!r}")
    try:
        builder = get_object(arch["_target_"])
    except Exception as e:  # Hydra raises ImportError or its own error type for a bad path
        raise ConfigError(f"classifier.arch._target_ {arch['_target_']!r} cannot be imported: {e}") from e
    return builder(tuple(input_shape), n_classes, **params)
