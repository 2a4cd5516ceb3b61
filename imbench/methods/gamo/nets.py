"""GAMO's networks (Mullick et al. 2019, §3; released code: dense_net.py, fashion_mnist_net.py).

* :class:`TransientMapping` -- the conditional transient mapping unit cTMU t(z|i);
* :class:`ConvexGenerator` -- cTMU plus one Instance Generation Unit per minority class: IGU_i turns
  t(z|i) into softmax weights over the n_i training points of class i, and G(z|i) is their convex
  combination, so every sample lies in the convex hull of its class;
* :class:`FreeGenerator` -- the unconstrained conditional generator of the cG ablations (cTMU + a dense
  tanh head);
* :class:`ConditionalDiscriminator` -- D(x|i).

The classifier network M (and the feature extractor F of the convolutional form) are the classifier
configs' networks (:mod:`imbench.classifiers.models`), so GAMO and its Baseline CN train the same CN.

Samples of a generator batch are grouped by class (:class:`ClassBatch`): an IGU then combines only its
own class's points (a few small products instead of one batch × all-points product that is mostly
zeros); the mathematics is that of one IGU per class.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch
from torch import nn

from imbench.classifiers.models import keras_init_


LAYOUTS = ("transposed", "plain")


def default_points_layout(device: torch.device | str) -> str:
    """The layout of :class:`ClassPoints` for ``device``: ``plain`` on Intel CPUs at torch's AVX-512 level
    and off the CPU, ``transposed`` on every other CPU (AVX2-level ones, and AMD's AVX-512 ones).

    torch's CPU matrix products are MKL's, and MKL takes its fastest paths for these few-rows-by-thousands
    shapes on Intel's AVX-512 CPUs only. Measured (the convex products of one dense-MNIST mini-batch,
    ``benchmarks/gamo_step.py``): on an AMD EPYC at the AVX2 level 7.6 ms transposed against 18.1 ms
    plain; on an Intel Xeon (AVX-512, AMX) 4.15 against 2.98 ms; on an AMD EPYC with AVX-512 (Zen 4)
    about 2.3 times faster transposed (see the README). The choice follows the hardware, never a timing
    taken at run time, so that a seed gives the same result every time on one machine; the record says
    which ran (``training.points_layout``)."""
    dev = torch.device(device)
    if dev.type != "cpu":
        return "plain"
    capability = torch.backends.cpu.get_cpu_capability()
    if capability == "AVX2" or (capability == "AVX512" and cpu_vendor() not in ("GenuineIntel", "")):
        return "transposed"
    return "plain"


@lru_cache(maxsize=1)
def cpu_vendor() -> str:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``, ...) from ``/proc/cpuinfo``; empty
    where that file does not say (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


class ClassPoints:
    """The training points of each minority slot, ``rows[k]`` (n_k × d), and, in the ``transposed``
    layout, ``cols[k]`` (the contiguous transpose, d × n_k).

    With a few samples per class, ``weights @ points`` is a product of a k × n_k matrix by an n_k × d
    one. On some CPUs the matrix kernels are slow for such shapes in the layouts autograd picks but fast
    as ``cols @ weightsᵀ`` (forward) and ``rows @ gradᵀ`` (backward), on others the plain product is the
    faster (:func:`default_points_layout`). The layouts change nothing but the order of float additions.

    Parameters
    ----------
    rows : each slot's points.
    layout : ``transposed`` or ``plain``; None: :func:`default_points_layout` of the points' device.
    """

    def __init__(self, rows: Sequence[torch.Tensor], layout: str | None = None) -> None:
        self.rows = [r.contiguous() for r in rows]
        self.layout = layout or default_points_layout(self.rows[0].device if self.rows else "cpu")
        if self.layout not in LAYOUTS:
            raise ValueError(f"ClassPoints layout must be one of {LAYOUTS}, got {self.layout!r}")
        self.cols = [r.t().contiguous() for r in self.rows] if self.layout == "transposed" else None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> torch.Tensor:
        return self.rows[k]

    def __iter__(self):
        return iter(self.rows)


class _ConvexCombination(torch.autograd.Function):
    """``weights @ rows`` computed as ``(cols @ weightsᵀ)ᵀ``, its weight gradient as ``(rows @ gradᵀ)ᵀ``
    (the ``transposed`` layout of :class:`ClassPoints`); the points' gradient (when they need one) as
    ``weightsᵀ @ grad``."""

    @staticmethod
    def forward(ctx, weights: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(weights, rows)
        return (cols @ weights.t()).t().contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        weights, rows = ctx.saved_tensors
        # under autocast the forward's product may be bf16 while the backward runs outside it: match dtypes
        grad_w = (rows @ grad.t().to(rows.dtype)).t().to(weights.dtype) if ctx.needs_input_grad[0] else None
        grad_rows = (weights.t().to(grad.dtype) @ grad).to(rows.dtype) if ctx.needs_input_grad[1] else None
        return grad_w, grad_rows, None


def convex_combination(weights: torch.Tensor, points: ClassPoints, k: int) -> torch.Tensor:
    """``weights @ points.rows[k]`` in the layout of :class:`ClassPoints`."""
    if points.cols is None or points.cols[k].requires_grad:
        return weights @ points.rows[k]  # (a points gradient through cols is not implemented: plain product)
    return _ConvexCombination.apply(weights, points.rows[k], points.cols[k])


def one_hot(labels: torch.Tensor, n_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot rows of ``labels`` (``F.one_hot`` as a comparison, so that it also runs under ``torch.vmap``
    on every torch version: the group trainer maps the players over the members)."""
    return (labels.unsqueeze(-1) == class_range(n_classes, labels.device)).to(dtype)


@lru_cache(maxsize=64)
def class_range(n_classes: int, device: torch.device) -> torch.Tensor:
    """``arange(n_classes)`` on ``device``, made once (GAMO asks for it several times per mini-batch)."""
    return torch.arange(n_classes, device=device)


@dataclass(frozen=True)
class ClassBatch:
    """Labels of a generator batch, sorted by class: ``labels`` (class indices, B) and ``counts`` (how
    many samples each minority slot has, in slot order; slot k is class ``minority[k]``)."""

    labels: torch.Tensor
    counts: tuple[int, ...]


def keras_batchnorm(width: int) -> nn.BatchNorm1d:
    """Keras's BatchNormalization(momentum=0.9, epsilon=1e-3) in torch's terms."""
    return nn.BatchNorm1d(width, momentum=0.1, eps=1e-3)


class TransientMapping(nn.Module):
    """cTMU: concat(z, one-hot(class)) -> Dense 256 ReLU -> BN -> Dense 64 ReLU -> BN (spec §5.2)."""

    def __init__(self, latent_dim: int, n_classes: int, hidden: Sequence[int] = (256, 64)) -> None:
        super().__init__()
        self.n_classes = n_classes
        layers: list[nn.Module] = []
        width = latent_dim + n_classes
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), keras_batchnorm(h)]
            width = h
        self.net = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        onehot = one_hot(labels, self.n_classes, z.dtype)
        return self.net(torch.cat([z, onehot], dim=1))


class ConvexGenerator(nn.Module):
    """G(z|i) = Σ_j softmax(IGU_i(t(z|i)))_j · x_j over the training points x_j of class i.

    Parameters
    ----------
    latent_dim, n_classes : size of z and number of classes (the one-hot conditioning).
    class_sizes : n_i of each minority class, in slot order (the IGUs' output widths).
    hidden : widths of the cTMU.
    """

    def __init__(self, latent_dim: int, n_classes: int, class_sizes: Sequence[int],
                 hidden: Sequence[int] = (256, 64)) -> None:
        super().__init__()
        self.tmu = TransientMapping(latent_dim, n_classes, hidden)
        self.igus = nn.ModuleList(nn.Linear(self.tmu.out_features, int(n)) for n in class_sizes)
        keras_init_(self)

    def weights(self, z: torch.Tensor, batch: ClassBatch) -> list[torch.Tensor]:
        """The convex weights of each slot's samples (one ``count × n_i`` matrix per slot, rows sum to 1)."""
        h = self.tmu(z, batch.labels)
        out, start = [], 0
        for igu, k in zip(self.igus, batch.counts):
            if k:
                out.append(torch.softmax(igu(h[start:start + k]), dim=1))
            else:
                out.append(h.new_zeros(0, igu.out_features))
            start += k
        return out

    def forward(self, z: torch.Tensor, batch: ClassBatch, points: ClassPoints | Sequence[torch.Tensor]) -> torch.Tensor:
        """Samples (B × d): each slot's weights times that slot's points (``points[k]``: n_k × d; pass a
        :class:`ClassPoints` built once to avoid re-laying them out on every call)."""
        if not isinstance(points, ClassPoints):
            points = ClassPoints(points)
        parts = [convex_combination(w, points, slot)
                 for slot, (w, k) in enumerate(zip(self.weights(z, batch), batch.counts)) if k]
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def unused_slot_parameters(self, batch: ClassBatch) -> list[nn.Parameter]:
        """The IGU parameters of slots without samples in ``batch`` (no gradient reaches them)."""
        return [p for igu, k in zip(self.igus, batch.counts) if not k for p in igu.parameters()]


class FreeGenerator(nn.Module):
    """The cG ablations' generator: cTMU -> Dense(d, tanh), not tied to any training point."""

    def __init__(self, latent_dim: int, n_classes: int, out_features: int, hidden: Sequence[int] = (256, 64)) -> None:
        super().__init__()
        self.tmu = TransientMapping(latent_dim, n_classes, hidden)
        self.head = nn.Linear(self.tmu.out_features, out_features)
        keras_init_(self)

    def forward(self, z: torch.Tensor, batch: ClassBatch, points: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        return torch.tanh(self.head(self.tmu(z, batch.labels)))

    def unused_slot_parameters(self, batch: ClassBatch) -> list[nn.Parameter]:
        return []


class ConditionalDiscriminator(nn.Module):
    """D(x|i): concat(x, one-hot(i)) -> 256 LReLU 0.1 -> 128 LReLU 0.1 -> 1 (a logit; D = sigmoid)."""

    def __init__(self, in_features: int, n_classes: int, hidden: Sequence[int] = (256, 128),
                 negative_slope: float = 0.1) -> None:
        super().__init__()
        self.n_classes = n_classes
        layers: list[nn.Module] = []
        width = in_features + n_classes
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(negative_slope)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        keras_init_(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        onehot = one_hot(labels, self.n_classes, x.dtype)
        return self.net(torch.cat([x, onehot], dim=1)).squeeze(1)
