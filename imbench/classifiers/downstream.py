"""The downstream classifier as one object built from ``conf/classifier/*.yaml`` by ``instantiate``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from imbench.classifiers.models import build_classifier
from imbench.classifiers.train import Schedule, TrainResult, predict_proba, train_model
from imbench.errors import ConfigError


@dataclass
class InputSpec:
    """How a classifier wants its images: value range, square resize, nothing for tabular data."""

    range: Sequence[float] = (0.0, 1.0)
    resize: int | None = None


def prepare_inputs(X: np.ndarray, spec: InputSpec, device: torch.device) -> torch.Tensor:
    """Move float data in [0, 1] (images N×C×H×W) or raw features (N×F) to the device in the wanted form."""
    t = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32, device=device)
    if t.ndim == 4:
        lo, hi = spec.range
        if spec.resize and spec.resize != t.shape[-1]:
            t = F.interpolate(t, size=(spec.resize, spec.resize), mode="bilinear", align_corners=False, antialias=True)
        t = t * (hi - lo) + lo
    return t


class DownstreamClassifier:
    """A torch classifier with a scikit-learn-like face: ``fit`` then ``predict_proba``.

    Parameters
    ----------
    name : config name (``mlp``, ``cnn``, ``gamo_cn``, ``tabular_mlp``).
    arch : network description for :func:`imbench.classifiers.models.build_classifier`.
    schedule : keyword arguments of :class:`imbench.classifiers.train.Schedule`.
    input : keyword arguments of :class:`InputSpec`.
    synthetic_weight : sample weight of synthetic training samples (real ones weigh 1).
    weight_grid : candidate synthetic weights for Fajardo's 2-fold grid search (``None``: no search).
    weight_search_folds : folds of that search.
    """

    def __init__(self, name: str, arch: dict, schedule: dict, input: dict | None = None,
                 synthetic_weight: float = 1.0, weight_grid: Sequence[float] | None = None,
                 weight_search_folds: int = 2) -> None:
        self.name = name
        self.arch = dict(arch)
        self.schedule = Schedule(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in schedule.items()})
        self.input = InputSpec(**(input or {}))
        if synthetic_weight <= 0:
            raise ConfigError(f"classifier.synthetic_weight must be > 0, got {synthetic_weight}")
        self.synthetic_weight = float(synthetic_weight)
        self.weight_grid = list(weight_grid) if weight_grid is not None else None
        self.weight_search_folds = int(weight_search_folds)
        self.model: torch.nn.Module | None = None
        self.device = torch.device("cpu")
        self.result: TrainResult | None = None

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        classes: Sequence[int],
        synthetic: np.ndarray | None = None,
        seed: int = 0,
        device: torch.device | str = "cpu",
        val: tuple[np.ndarray, np.ndarray] | None = None,
        val_score: Callable[[np.ndarray, np.ndarray], float] | None = None,
        progress: Callable[[int, float], None] | None = None,
    ) -> "DownstreamClassifier":
        self.device = torch.device(device)
        self.classes = [int(c) for c in classes]
        index = {c: i for i, c in enumerate(self.classes)}
        Xt = prepare_inputs(X, self.input, self.device)
        yt = torch.as_tensor(np.vectorize(index.__getitem__)(y), dtype=torch.long, device=self.device)
        w = None
        if synthetic is not None and synthetic.any() and self.synthetic_weight != 1.0:
            w = torch.ones(len(y), device=self.device)
            w[torch.as_tensor(synthetic, device=self.device)] = self.synthetic_weight
        torch.manual_seed(seed)
        self.model = build_classifier(self.arch, tuple(Xt.shape[1:]), len(self.classes)).to(self.device)
        val_t = None
        if val is not None:
            val_t = (prepare_inputs(val[0], self.input, self.device),
                     torch.as_tensor(np.vectorize(index.__getitem__)(val[1]), device=self.device))
        self.result = train_model(self.model, Xt, yt, self.schedule, sample_weight=w, seed=seed,
                                  val=val_t, val_score=val_score, progress=progress)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("fit the classifier first")
        return predict_proba(self.model, prepare_inputs(X, self.input, self.device))
