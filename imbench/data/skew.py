"""Deterministic class skewing: turn a (roughly balanced) pool into an imbalanced training set.

Schemes
-------
``none``   keep every sample.
``step``   listed minority classes get ``floor(n_max / ir)`` samples, every other class ``n_max``.
``exp``    exponential long tail over the class order: class at position i gets
           ``floor(n_max * ir ** (-i / (C - 1)))`` (Cui et al. 2019 style).
``counts`` explicit per-class counts (GAMO / IMSIC presets).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from imbench.errors import ConfigError

SCHEMES = ("none", "step", "exp", "counts")


@dataclass(frozen=True)
class SkewSpec:
    """What skew to apply; built from the ``skew`` config group plus the top-level ``ir``."""

    scheme: str = "none"
    ir: float | None = None
    minority: Sequence[int] | None = None
    n_max: int | None = None
    counts: Sequence[int] | None = None
    order: Sequence[int] | None = None
    replace: bool = False
    extra: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ConfigError(f"unknown skew scheme {self.scheme!r}; valid schemes: {', '.join(SCHEMES)}")
        if self.scheme in ("step", "exp"):
            if self.ir is None or not self.ir >= 1:
                raise ConfigError(f"skew scheme {self.scheme!r} needs ir >= 1 (got ir={self.ir}); set e.g. ir=100")
        if self.scheme == "step" and not self.minority:
            raise ConfigError("skew scheme 'step' needs a non-empty skew.minority list, e.g. skew.minority=[3,4,5]")
        if self.scheme == "counts" and not self.counts:
            raise ConfigError("skew scheme 'counts' needs skew.counts, one count per class")


def target_counts(spec: SkewSpec, available: Mapping[int, int]) -> dict[int, int]:
    """Per-class sample counts the skewed set must have, checked against what is available.

    Parameters
    ----------
    spec : SkewSpec
    available : mapping class -> number of samples of that class in the pool.
    """
    classes = sorted(available)
    if spec.scheme == "none":
        return dict(available)
    if spec.scheme == "counts":
        if len(spec.counts) != len(classes):
            raise ConfigError(
                f"skew.counts has {len(spec.counts)} entries but the data has {len(classes)} classes {classes}"
            )
        wanted = {c: int(n) for c, n in zip(classes, spec.counts)}
        if spec.ir is not None:
            actual = max(wanted.values()) / min(wanted.values())
            if not math.isclose(actual, spec.ir, rel_tol=0.02):
                raise ConfigError(
                    f"ir={spec.ir} conflicts with skew.counts {list(spec.counts)}, whose imbalance ratio is "
                    f"{actual:.2f}; drop the ir override or use skew=step / skew=exp to set the ratio"
                )
    elif spec.scheme == "step":
        bad = [c for c in spec.minority if c not in available]
        if bad:
            raise ConfigError(f"skew.minority lists classes {bad} that the data does not have (classes: {classes})")
        majority = [c for c in classes if c not in set(spec.minority)]
        n_max = spec.n_max if spec.n_max is not None else min(available[c] for c in majority or classes)
        n_min = int(n_max // spec.ir)
        if n_min < 1:
            raise ConfigError(f"ir={spec.ir} with n_max={n_max} leaves no minority sample (n_max/ir < 1); lower ir")
        wanted = {c: (n_min if c in set(spec.minority) else int(n_max)) for c in classes}
    else:  # exp
        order = list(spec.order) if spec.order is not None else classes
        if sorted(order) != classes:
            raise ConfigError(f"skew.order {order} must be a permutation of the classes {classes}")
        n_max = spec.n_max if spec.n_max is not None else min(available.values())
        steps = max(len(order) - 1, 1)
        wanted = {c: int(math.floor(n_max * spec.ir ** (-i / steps) + 1e-9)) for i, c in enumerate(order)}
        if min(wanted.values()) < 1:
            raise ConfigError(f"ir={spec.ir} with n_max={n_max} gives a class with no sample; lower ir")
    if not spec.replace:
        short = {c: (wanted[c], available.get(c, 0)) for c in classes if wanted[c] > available.get(c, 0)}
        if short:
            detail = "; ".join(f"class {c} needs {w} but only {a} exist" for c, (w, a) in short.items())
            raise ConfigError(
                f"the requested skew needs more samples than the data has: {detail}. "
                "Lower skew.n_max (or the counts), or lower ir"
            )
    return wanted


def minority_classes(spec: SkewSpec, counts: Mapping[int, int]) -> list[int]:
    """The minority group m: the listed classes for ``step``, else every class below the largest count."""
    if spec.scheme == "step":
        return sorted(int(c) for c in spec.minority)
    if spec.extra.get("minority"):
        return sorted(int(c) for c in spec.extra["minority"])
    top = max(counts.values())
    return sorted(c for c, n in counts.items() if n < top)


def skew_indices(y: np.ndarray, wanted: Mapping[int, int], rng: np.random.Generator, replace: bool = False) -> np.ndarray:
    """Indices into ``y`` drawing ``wanted[c]`` samples of each class c (without replacement by default).

    The result is sorted, so the same seed gives the same subset whatever the class order.
    """
    chosen = []
    for c in sorted(wanted):
        pool = np.flatnonzero(y == c)
        if wanted[c] == len(pool) and not replace:
            chosen.append(pool)
        else:
            chosen.append(rng.choice(pool, size=wanted[c], replace=replace))
    return np.sort(np.concatenate(chosen)) if not replace else np.concatenate(chosen)


def class_counts(y: np.ndarray) -> dict[int, int]:
    """Mapping class -> count, with plain ints (JSON friendly)."""
    values, counts = np.unique(y, return_counts=True)
    return {int(v): int(n) for v, n in zip(values, counts)}
