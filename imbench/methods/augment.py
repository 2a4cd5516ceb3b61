"""Classic image augmentation as an oversampler: GAMO's "Augment+CN" row (Mullick et al. 2019, Tables 1-4).

The paper says only that "data augmentation is used to create new images for balancing the training sets";
the transforms are in its unavailable supplement (spec §5.3, §9.42). imbench's choice, documented as an
assumption: each new image is a random training image of its class, rotated by an angle drawn uniformly
from ±``max_rotation`` degrees, shifted by a whole number of pixels drawn uniformly from ±``max_shift`` in
each direction, and mirrored left-right with probability 1/2 when ``hflip`` is on (off for digits: MNIST,
SVHN). Rotation uses bilinear interpolation about the image centre, the area that moves in is filled with
the image's background (the value of its corner pixel). The originals come first, as imbalanced-learn's
samplers return them.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval

from imbench.devices import resolve_device
from imbench.errors import ConfigError
from imbench.methods.base import DEVICE_CONSTRAINTS, ImageOverSampler
from imbench.methods.generative.base import as_images
from imbench.rng import resolve_seed


def augment_images(images: torch.Tensor, max_rotation: float, max_shift: int, hflip: bool,
                   generator: torch.Generator) -> torch.Tensor:
    """Randomly rotated, shifted and (optionally) mirrored copies of ``images`` (N×C×H×W), one each."""
    n, _, h, w = images.shape
    dev = images.device
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_rotation)
    shift = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator).float()
    flip = (torch.rand(n, generator=generator) < 0.5) if hflip else torch.zeros(n, dtype=torch.bool)
    cos, sin = torch.cos(angle), torch.sin(angle)
    sx = torch.where(flip, -1.0, 1.0)
    # affine_grid maps output to input coordinates in [-1, 1]: rotate, mirror, then shift by whole pixels
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * sx, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * sx, cos
    theta[:, 0, 2] = -shift[:, 0] * 2 / w
    theta[:, 1, 2] = -shift[:, 1] * 2 / h
    grid = F.affine_grid(theta.to(dev), list(images.shape), align_corners=False)
    background = images[:, :, :1, :1]
    moved = F.grid_sample(images - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (moved + background).clamp_(0.0, 1.0)


class AugmentOverSampler(ImageOverSampler):
    """Over-sample image classes with augmented copies of their own images (GAMO's Augment+CN).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        imbalanced-learn's over-sampling strategy (``"auto"``: every class topped up to the majority).
    max_rotation : float, default=10.0
        Largest rotation, in degrees (uniform in ±max_rotation).
    max_shift : int, default=2
        Largest shift, in pixels, per direction (uniform over the integers in ±max_shift).
    hflip : bool, default=True
        Mirror left-right with probability 1/2 (turn off for digits).
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None

    Input: images N×C×H×W, N×H×W or flattened square single-channel N×D, in [0, 1].
    """

    _parameter_constraints: dict = {
        **ImageOverSampler._parameter_constraints,
        "max_rotation": [Interval(Real, 0, 180, closed="both")],
        "max_shift": [Interval(Integral, 0, None, closed="left")],
        "hflip": ["boolean"],
        "device": DEVICE_CONSTRAINTS,
    }

    def __init__(self, sampling_strategy: Any = "auto", max_rotation: float = 10.0, max_shift: int = 2,
                 hflip: bool = True, device: str = "auto", random_state: int | None = None) -> None:
        self.sampling_strategy = sampling_strategy
        self.max_rotation = max_rotation
        self.max_shift = max_shift
        self.hflip = hflip
        self.device = device
        self.random_state = random_state

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = as_images(X).astype(np.float32)
        if images.min() < -1e-6 or images.max() > 1 + 1e-6:
            raise ConfigError(f"augment: input images must be in [0, 1] (got min {images.min()}, max "
                              f"{images.max()}); divide 8-bit images by 255")
        self.seed_ = resolve_seed(self.random_state)
        gen = torch.Generator().manual_seed(self.seed_)
        device = resolve_device(self.device)
        new_x, new_y = [], []
        for c, n in self.sampling_strategy_.items():
            if n <= 0:
                continue
            pool = np.flatnonzero(y == c)
            picks = pool[torch.randint(len(pool), (int(n),), generator=gen).numpy()]
            src = torch.as_tensor(images[picks], device=device)
            out = augment_images(src, float(self.max_rotation), int(self.max_shift), bool(self.hflip), gen)
            new_x.append(out.cpu().numpy().reshape((len(picks),) + X.shape[1:]).astype(X.dtype, copy=False))
            new_y.append(np.full(len(picks), c, dtype=y.dtype))
        if not new_x:
            return X, y
        return np.concatenate([X, *new_x]), np.concatenate([y, *new_y])
