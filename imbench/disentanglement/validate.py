"""Reference representations whose FactorVAE score is known, and a report of their scores on dSprites.

On dSprites' five factors (factor-level observations: the factor values themselves):

* the ground-truth factors score 1 (fixing factor k zeroes dimension k's variance);
* random codes score chance, 1/5 (the votes do not depend on the factor);
* the factors less one score 4/5 (the dropped factor's votes cannot be classified correctly).

And one image-level check through the renderer: three pixel statistics (area, centroid column,
centroid row) carry scale, posX and posY but neither shape nor orientation, so they score about 3/5.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from imbench.data import dsprites
from imbench.data.factors import FactorValueSampler
from imbench.disentanglement.factor_vae import GroundTruthSampler, Represent, factor_vae_score


def ground_truth(values: np.ndarray) -> np.ndarray:
    """Factor values as the representation (for factor-level observations)."""
    return np.asarray(values, dtype=np.float64)


def drop_factor(k: int) -> Represent:
    """The factor values without factor ``k``."""
    return lambda values: np.delete(np.asarray(values, dtype=np.float64), k, axis=1)


def random_codes(num_dims: int, rng: np.random.Generator) -> Represent:
    """Standard normal codes that ignore their input."""
    return lambda observations: rng.standard_normal((len(observations), num_dims))


def pixel_moments(images: np.ndarray) -> np.ndarray:
    """Area, centroid column and centroid row of each binary image (n, 1, H, W) -> (n, 3)."""
    m = np.asarray(images).reshape(len(images), images.shape[-2], images.shape[-1])
    per_col = m.sum(axis=1).astype(np.float64)  # exact in float32: binary pixels, at most 64 per line
    per_row = m.sum(axis=2).astype(np.float64)
    area = per_col.sum(axis=1)
    safe = np.maximum(area, 1.0)
    cols = (per_col @ (np.arange(m.shape[2]) + 0.5)) / safe
    rows = (per_row @ (np.arange(m.shape[1]) + 0.5)) / safe
    return np.stack([area, cols, rows], axis=1)


@dataclass(frozen=True)
class ValidationRow:
    """One reference representation's score."""

    name: str
    expected: str
    train_accuracy: float
    eval_accuracy: float
    seconds: float


@dataclass(frozen=True)
class _Case:
    name: str
    expected: str
    represent: Represent
    sampler: GroundTruthSampler


def validation_cases(rng: np.random.Generator, images: bool = True) -> list[_Case]:
    """The reference cases on dSprites (the image-level one only if ``images``)."""
    values = FactorValueSampler(dsprites.FACTORS)
    cases = [_Case("ground-truth factors", "1", ground_truth, values),
             _Case("random codes (10 dims)", "~0.2", random_codes(10, rng), values)]
    cases += [_Case(f"factors without {name}", "~0.8", drop_factor(k), values)
              for k, name in enumerate(dsprites.FACTORS.names)]
    if images:
        cases.append(_Case("pixel area + centroid (rendered)", "~0.6", pixel_moments, dsprites.DSpritesSampler()))
    return cases


def validate(seed: int = 0, images: bool = True, progress: Callable[[ValidationRow], None] | None = None,
             **metric_kwargs) -> list[ValidationRow]:
    """Score every reference case; ``metric_kwargs`` override the metric's defaults."""
    rng = np.random.default_rng(seed)
    out = []
    for case in validation_cases(np.random.default_rng(seed + 1), images):
        start = time.perf_counter()
        result = factor_vae_score(case.represent, case.sampler, rng, **metric_kwargs)
        row = ValidationRow(case.name, case.expected, result.train_accuracy, result.eval_accuracy,
                            time.perf_counter() - start)
        if progress is not None:
            progress(row)
        out.append(row)
    return out
