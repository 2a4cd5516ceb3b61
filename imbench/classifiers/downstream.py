"""The downstream classifier as one object built from ``conf/classifier/*.yaml`` by ``instantiate``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score

from imbench.classifiers.batched import train_models_batched
from imbench.classifiers.models import build_classifier
from imbench.classifiers.train import EpochOrder, SampleLoss, Schedule, TrainResult, predict_proba, train_model
from imbench.errors import ConfigError
from imbench.methods.protocol import ProfileCap, apply_caps


@dataclass
class InputSpec:
    """How a classifier wants its images: value range, square resize, nothing for tabular data."""

    range: Sequence[float] = (0.0, 1.0)
    resize: int | None = None


def prepare_inputs(X: np.ndarray, spec: InputSpec, device: torch.device) -> torch.Tensor:
    """Move float data in [0, 1] (images N×C×H×W) or raw features (N×F) to the device in the wanted form."""
    return transform_inputs(torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32, device=device), spec)


def transform_inputs(t: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """:func:`prepare_inputs` on a tensor already on the device (differentiable: EGL moves samples through it).
    Raw features (N×F) are returned as they are."""
    if t.ndim == 4:
        lo, hi = spec.range
        if spec.resize and spec.resize != t.shape[-1]:
            t = F.interpolate(t, size=(spec.resize, spec.resize), mode="bilinear", align_corners=False, antialias=True)
        t = t * (hi - lo) + lo
    return t



def label_indices(y: np.ndarray, classes: Sequence[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """Class labels ``y`` as positions in ``classes`` (int64 tensor on ``device``): the networks' targets."""
    index = {int(c): i for i, c in enumerate(classes)}
    return torch.as_tensor(np.vectorize(index.__getitem__)(y), dtype=torch.long, device=device)

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
    loss_fn : a per-sample loss replacing ``schedule.loss`` (set by a method: Focal, LDAM); see
        :class:`imbench.classifiers.train.SampleLoss`.
    epoch_order : draws each epoch's sample order (set by a method: RS's class-balanced batches); see
        :class:`imbench.classifiers.train.EpochOrder`.
    """

    # what a profile (conf/profile/*.yaml) caps; ``weight_search: false`` also drops the weight grid
    profile_caps = (ProfileCap("schedule.epochs", "max_epochs"), ProfileCap("schedule.steps", "max_steps"))

    @classmethod
    def capped_config(cls, cfg: dict, profile: Mapping[str, Any]) -> dict:
        """The classifier's config under ``profile``: epochs and steps capped, no weight search unless
        the profile has one."""
        out = apply_caps(cfg, cls.profile_caps, profile)
        if not profile.get("weight_search", True):
            out["weight_grid"] = None
        return out

    def __init__(self, name: str, arch: dict, schedule: dict, input: dict | None = None,
                 synthetic_weight: float = 1.0, weight_grid: Sequence[float] | None = None,
                 weight_search_folds: int = 2, loss_fn: SampleLoss | None = None,
                 epoch_order: EpochOrder | None = None) -> None:
        self.name = name
        self.arch = dict(arch)
        self.schedule = Schedule(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in schedule.items()})
        self.input = InputSpec(**(input or {}))
        if synthetic_weight <= 0:
            raise ConfigError(f"classifier.synthetic_weight must be > 0, got {synthetic_weight}")
        self.synthetic_weight = float(synthetic_weight)
        self.weight_grid = list(weight_grid) if weight_grid is not None else None
        self.weight_search_folds = int(weight_search_folds)
        self.loss_fn = loss_fn
        self.epoch_order = epoch_order
        self.model: torch.nn.Module | None = None
        self.device = torch.device("cpu")
        self.result: TrainResult | None = None
        self.error: str | None = None  # set by fit_batched when this member's training failed
        self.group_size: int | None = None  # set by fit_batched: how many models trained together

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
        Xt = prepare_inputs(X, self.input, self.device)
        yt = label_indices(y, self.classes, self.device)
        w = None
        if synthetic is not None and synthetic.any() and self.synthetic_weight != 1.0:
            w = torch.ones(len(y), device=self.device)
            w[torch.as_tensor(synthetic, device=self.device)] = self.synthetic_weight
        torch.manual_seed(seed)
        self.model = build_classifier(self.arch, tuple(Xt.shape[1:]), len(self.classes)).to(self.device)
        val_t = None
        if val is not None:
            val_t = (prepare_inputs(val[0], self.input, self.device),
                     label_indices(val[1], self.classes, self.device))
        self.result = train_model(self.model, Xt, yt, self.schedule, sample_weight=w, seed=seed,
                                  val=val_t, val_score=val_score, progress=progress, loss_fn=self.loss_fn,
                                  epoch_order=self.epoch_order)
        return self

    def batchable(self) -> bool:
        """Whether this classifier can train in a vmap group (:func:`fit_batched`): not with per-epoch
        model selection, a custom loss or a custom batch order."""
        return self.schedule.selection != "best_val" and self.loss_fn is None and self.epoch_order is None

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("fit the classifier first")
        return predict_proba(self.model, prepare_inputs(X, self.input, self.device))


def validation_score(classes: Sequence[int], positive: int | None) -> Callable[[np.ndarray, np.ndarray], float]:
    """The score of per-epoch model selection (``schedule.selection='best_val'``, EGL spec §7.3): AUC-PR
    of ``positive`` in a binary task, else accuracy. Its inputs are class indices and probabilities."""
    classes = [int(c) for c in classes]
    if len(classes) == 2 and positive is not None:
        pos = classes.index(int(positive))
        return lambda y_idx, proba: float(average_precision_score(y_idx == pos, proba[:, pos]))
    return lambda y_idx, proba: float(np.mean(proba.argmax(1) == y_idx))


def _same_setup(clfs: Sequence[DownstreamClassifier]) -> None:
    first = clfs[0]
    for c in clfs[1:]:
        if (c.arch, c.schedule, c.input) != (first.arch, first.schedule, first.input):
            raise ValueError("fit_batched trains classifiers of one architecture, schedule and input form only")


def fit_batched(
    clfs: Sequence[DownstreamClassifier],
    data: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    *,
    classes: Sequence[int],
    seeds: Sequence[int],
    device: torch.device | str = "cpu",
) -> list[str | None]:
    """Fit ``clfs`` (one architecture and schedule; synthetic weights may differ) together with
    :func:`imbench.classifiers.batched.train_models_batched`.

    ``data`` holds one ``(X, y, synthetic mask or None)`` per classifier, or one shared by all; the
    same array objects are moved to the device once. Each classifier ends up as if ``fit`` had been
    called with its seed, up to the tolerance stated in :mod:`imbench.classifiers.batched`.

    Returns one entry per classifier: ``None`` when it trained, else the reason it failed (its loss
    became non-finite, or it ran out of device memory even alone); a failed classifier keeps
    ``model = None`` and its ``error`` set, the others are unaffected. A group that runs out of
    device memory is split in halves and retried.
    """
    clfs = list(clfs)
    if not clfs:
        return []
    if len(data) == 1 and len(clfs) > 1:
        data = list(data) * len(clfs)
    if len(data) != len(clfs) or len(seeds) != len(clfs):
        raise ValueError(f"fit_batched got {len(clfs)} classifiers, {len(data)} datasets and {len(seeds)} seeds")
    _same_setup(clfs)
    dev = torch.device(device)
    classes = [int(c) for c in classes]
    xs: dict[int, torch.Tensor] = {}
    ys: dict[int, torch.Tensor] = {}
    ws: dict[tuple, torch.Tensor | None] = {}
    tensors = []
    for clf, (X, y, synthetic) in zip(clfs, data):
        if id(X) not in xs:
            xs[id(X)] = prepare_inputs(X, clf.input, dev)
        if id(y) not in ys:
            ys[id(y)] = label_indices(y, classes, dev)
        use_w = synthetic is not None and synthetic.any() and clf.synthetic_weight != 1.0
        key = (id(synthetic), clf.synthetic_weight) if use_w else None
        if key not in ws:
            w = None
            if use_w:
                w = torch.ones(len(y), device=dev)
                w[torch.as_tensor(synthetic, device=dev)] = clf.synthetic_weight
            ws[key] = w
        tensors.append((xs[id(X)], ys[id(y)], ws[key]))
    shape = tuple(tensors[0][0].shape[1:])
    arch, schedule = clfs[0].arch, clfs[0].schedule
    oom = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)

    def run(members: list[int]) -> None:
        try:
            res = train_models_batched(lambda: build_classifier(arch, shape, len(classes)),
                                       [tensors[i] for i in members], schedule, [int(seeds[i]) for i in members],
                                       device=dev)
        except oom as e:
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            if len(members) == 1:
                c = clfs[members[0]]
                c.model, c.result, c.error = None, None, f"out of device memory even when trained alone: {e}"
                return
            half = len(members) // 2
            run(members[:half])
            run(members[half:])
            return
        for i, m, r, err in zip(members, res.models, res.results, res.errors):
            c = clfs[i]
            c.device, c.classes, c.group_size = dev, classes, len(members)
            c.model, c.result, c.error = (None, None, err) if err is not None else (m, r, None)

    run(list(range(len(clfs))))
    return [c.error for c in clfs]
