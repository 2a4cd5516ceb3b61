"""Build a configured sampler for one training set and apply it (alone, or a stepped generator's
trainings as one vmap group)."""
from __future__ import annotations

import copy
import inspect
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from hydra.utils import get_object, instantiate

from imbench.data.skew import class_counts
from imbench.errors import ConfigError, ImbenchError
from imbench.methods.base import FlatteningSampler, resolve_sampling_strategy, synthetic_mask
from imbench.methods.protocol import SyntheticSamples


@dataclass(frozen=True)
class OversampleTask:
    """One training set to oversample with the sampler configured by ``sampler_cfg`` (the method's
    ``sampler`` entry), seeded with ``seed``; ``minority`` resolves imbench's own strategy names."""

    sampler_cfg: dict
    X: np.ndarray
    y: np.ndarray
    minority: list[int]
    seed: int


@dataclass
class Oversampled:
    """A finished oversampling: the resampled set and what the sampler reports (``fit_info()``)."""

    samples: SyntheticSamples
    info: dict


def interpolation_neighbors_key(sampler_cfg: dict) -> str:
    """The config key of a sampler's neighbour count: ``k_neighbors`` for SMOTE and its variants (the
    within-class neighbours it interpolates between), ``n_neighbors`` for ADASYN. ADASYN's count serves
    twice: the neighbours over all classes that decide how many samples each minority point gets, and the
    within-class neighbours it interpolates between; lowering it changes both."""
    return "n_neighbors" if str(sampler_cfg.get("_target_", "")).endswith("ADASYN") else "k_neighbors"


def fit_k_neighbors(sampler_cfg: dict, y: Any, where: str) -> tuple[dict, str | None]:
    """The sampler config with an integer within-class neighbour count (``k_neighbors``; ADASYN's
    ``n_neighbors``) lowered to the smallest class's size − 1 when that class is too small for it
    (SMOTE-style samplers need k + 1 samples of a class), and a note saying so (None when nothing
    changed). A class of a single sample cannot be interpolated at all: a :class:`ConfigError` naming
    it and the fix."""
    key = interpolation_neighbors_key(sampler_cfg)
    k = sampler_cfg.get(key)
    if not isinstance(k, int) or isinstance(k, bool):
        return sampler_cfg, None
    counts = class_counts(np.asarray(y))
    cls, smallest = min(counts.items(), key=lambda kv: kv[1])
    if smallest > k:
        return sampler_cfg, None
    if smallest < 2:
        raise ConfigError(f"{where}: class {cls} has a single training sample, and {key} interpolation needs at "
                          "least 2; lower ir or raise the skew's smallest count (skew.n_max), or use method=random")
    out = {**sampler_cfg, key: smallest - 1}
    also = " (ADASYN: also the neighbourhood that weights its points)" if key == "n_neighbors" else ""
    return out, f"{where}: {key} lowered from {k} to {smallest - 1} (class {cls} has {smallest} samples){also}"


def sampler_class(sampler_cfg: dict) -> type | None:
    """The class named by ``sampler_cfg['_target_']``, or None when it cannot be imported."""
    try:
        cls = get_object(sampler_cfg.get("_target_", ""))
    except Exception:  # Hydra wraps import failures in its own error types
        return None
    return cls if isinstance(cls, type) else None


def build_sampler(task: OversampleTask, device: str | None = None):
    """Instantiate the sampler for one training set (strategy resolved, seeded).

    A sampler whose ``__init__`` takes ``device`` gets the runner's device unless its config names one
    other than ``auto``; a sampler with ``accepts_images = True`` gets images as they are (N×C×H×W),
    any other gets them flattened."""
    params = copy.deepcopy(task.sampler_cfg)
    params["sampling_strategy"] = resolve_sampling_strategy(params.get("sampling_strategy", "auto"),
                                                            class_counts(task.y), task.minority)
    params["random_state"] = int(task.seed)
    if device is not None and params.get("device", "auto") in (None, "auto") and _takes_device(params["_target_"]):
        params["device"] = str(device)
    sampler = instantiate(params, _convert_="all")
    if task.X.ndim > 2 and getattr(sampler, "accepts_images", False) is not True:
        return FlatteningSampler(sampler)
    return sampler


def _takes_device(target: str) -> bool:
    try:
        return "device" in inspect.signature(get_object(target)).parameters
    except Exception:
        return False


def _samples(task: OversampleTask, X_res: Any, y_res: Any, seconds: float) -> SyntheticSamples:
    X_res, y_res = np.asarray(X_res, dtype=task.X.dtype), np.asarray(y_res)
    return SyntheticSamples(X_res, y_res, synthetic_mask(task.X, task.y, X_res, y_res), seconds)


def oversample(task: OversampleTask, name: str, device: str | None = None) -> Oversampled:
    """Apply the configured sampler; ``name`` (the method's) goes into the error of a failed resampling."""
    t0 = time.perf_counter()
    sampler = build_sampler(task, device=device)
    try:
        X_res, y_res = sampler.fit_resample(task.X, task.y)
    except (ValueError, RuntimeError) as e:  # imbalanced-learn's samplers refuse some sets with either
        if isinstance(e, RuntimeError) and "out of memory" in str(e):
            raise
        raise ConfigError(f"method {name!r} could not resample this training set: {e}") from e
    inner = getattr(sampler, "sampler", sampler)
    info = inner.fit_info() if hasattr(inner, "fit_info") else {}
    return Oversampled(_samples(task, X_res, y_res, time.perf_counter() - t0), info)


def oversample_many(tasks: Sequence[OversampleTask], name: str, device: str | None = None,
                    log: Callable[..., None] = print) -> list[Oversampled | ImbenchError]:
    """:func:`oversample` for several tasks of a stepped deep generator (CGAN, ACGAN, CVAE and R-, InfoGAN, IMSIC
    variants), the generators of equal-sized training sets trained as one batched group
    (:func:`~imbench.methods.generative.stepped.fit_resample_many`).

    Per task an :class:`Oversampled` or the ``TrainingError`` of that task alone. Seconds are the wall
    time of the whole call divided by the number of tasks (the trainings overlap); the info has the
    group size and the group's own training time."""
    from imbench.methods.generative.stepped import fit_resample_many

    t0 = time.perf_counter()
    samplers = [build_sampler(t, device=device) for t in tasks]
    try:
        outs = fit_resample_many(samplers, [(t.X, t.y) for t in tasks], log=log)
    except ValueError as e:
        raise ConfigError(f"method {name!r} could not resample a training set: {e}") from e
    seconds = (time.perf_counter() - t0) / max(len(tasks), 1)
    results: list[Oversampled | ImbenchError] = []
    for task, sampler, out in zip(tasks, samplers, outs):
        if isinstance(out, Exception):
            results.append(out)
        else:
            results.append(Oversampled(_samples(task, out[0], out[1], seconds), sampler.fit_info()))
    return results
