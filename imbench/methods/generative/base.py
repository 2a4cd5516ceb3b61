"""What every deep generative oversampler shares: image handling, the balancing amount, seeding,
device placement, the random-oversampling-first ("R-") option and the divergence check.

A subclass implements two methods:

* ``_fit_generator(X, y, n_classes, gen)`` -- train on ``X`` (float tensor N×1×H×W on ``self.device_``,
  already mapped to the subclass's ``value_range``) and class indices ``y`` (long tensor, 0..K-1);
  ``gen`` is a CPU ``torch.Generator`` for data order; call :meth:`_check_finite` on every loss.
* ``_sample(class_index, n, gen)`` -- return ``n`` images (N×1×H×W, in ``value_range``) of that class.

and sets ``method_name`` (for error messages) and ``value_range``. Parameters of its own get their
``_parameter_constraints``, extending :attr:`GenerativeOversampler._parameter_constraints`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Iterator

import numpy as np
import torch
from imblearn.over_sampling import RandomOverSampler
from imblearn.utils import check_sampling_strategy
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets

from imbench.devices import resolve_device
from imbench.divergence import LossWatch
from imbench.precision import FLOAT32, autocast_for, generator_precision
from imbench.methods.protocol import ProfileCap
from imbench.errors import ConfigError, TrainingError
from imbench.methods.base import DEVICE_CONSTRAINTS, ImageOverSampler
from imbench.rng import isolated_rng, resolve_seed


def as_images(X: np.ndarray, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """N×H×W, N×C×H×W or N×D (D = C·H·W, square single-channel when ``image_shape`` is None) -> N×C×H×W."""
    X = np.asarray(X)
    if X.ndim == 4:
        return X
    if X.ndim == 3:
        return X[:, None]
    if X.ndim == 2:
        if image_shape is not None:
            if int(np.prod(image_shape)) != X.shape[1]:
                raise ConfigError(f"image_shape {tuple(image_shape)} does not match {X.shape[1]} features")
            return X.reshape((len(X),) + tuple(image_shape))
        side = int(round(math.sqrt(X.shape[1])))
        if side * side != X.shape[1]:
            raise ConfigError(f"cannot read {X.shape[1]} features as a square image; pass image_shape=(C, H, W)")
        return X.reshape(len(X), 1, side, side)
    raise ConfigError(f"expected images N×H×W, N×C×H×W or flattened N×D, got an array of shape {X.shape}")


@dataclass
class _Prepared:
    """One training set made ready by :meth:`GenerativeOversampler._prepare`."""

    X: np.ndarray  # the caller's input, returned first
    y: np.ndarray
    train_x: torch.Tensor  # N×C×H×W on the device, in the subclass's value_range (balanced first for R-)
    train_y: torch.Tensor  # class indices 0..K-1
    to_make: dict  # class label -> number of synthetic samples
    index: dict  # class label -> class index
    gen: torch.Generator  # CPU generator: data order while training, then sampling


class GenerativeOversampler(ImageOverSampler):
    """Base class of the class-conditional deep oversamplers; see the module docstring.

    Parameters common to all of them
    --------------------------------
    sampling_strategy : float, str, dict or callable, default="auto"
        imbalanced-learn's over-sampling strategy (``"auto"``: every class but the majority is
        topped up to the majority count, Fajardo's "exactly enough to equalise").
    epochs : int
        Training epochs of the generator.
    batch_size : int
        Mini-batch size (the last partial batch is dropped, as in the reference code).
    random_oversample_first : bool, default=False
        Train the generator on a randomly over-sampled, balanced copy of the training set (the "R-"
        variants); the duplicates are not returned, only the new samples. (BAGAN has no such
        parameter: it is always False there.)
    device : str or torch.device, default="auto"
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, data order, noise and sampling (``None``: a fresh seed, kept in
        ``seed_``).
    verbose : bool, default=False
        Print one line per epoch.
    image_shape : tuple or None, default=None
        (C, H, W) of flattened input that is not a square single-channel image.
    max_batches_per_epoch : int or None, default=None
        Stop each epoch after this many mini-batches (``None``: a full pass). Only for smoke runs on
        CPU (the ``quick`` profile sets it); the papers train on full epochs.

    Input images (N×H×W, N×C×H×W or flattened N×D) must lie in [0, 1]; the synthetic images are
    returned in [0, 1], in the input's shape and dtype, after the original samples (imbalanced-learn's
    order). ``fit_resample`` leaves torch's global random state as it found it.
    """

    method_name = "generator"
    # what a profile caps (a quick profile trains 1 epoch of at most a few batches)
    profile_caps = (ProfileCap("epochs", "max_generator_epochs"),
                    ProfileCap("max_batches_per_epoch", "max_generator_batches", none_is_unlimited=True))
    value_range: tuple[float, float] = (0.0, 1.0)

    _parameter_constraints: dict = {
        **ImageOverSampler._parameter_constraints,
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_oversample_first": ["boolean"],
        "device": DEVICE_CONSTRAINTS,
        "verbose": ["boolean"],
        "image_shape": [tuple, list, None],
        "max_batches_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 30, batch_size: int = 64,
                 random_oversample_first: bool = False, device: str = "auto", random_state: int | None = None,
                 verbose: bool = False, image_shape: tuple[int, ...] | None = None,
                 max_batches_per_epoch: int | None = None) -> None:
        self.sampling_strategy = sampling_strategy
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_oversample_first = random_oversample_first
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape
        self.max_batches_per_epoch = max_batches_per_epoch


    # ----- the sampler contract -------------------------------------------------------------
    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with isolated_rng(resolve_device(self.device)):
            prep = self._prepare(X, y)
            t0 = time.perf_counter()
            with self.training_precision():
                self._fit_generator(prep.train_x, prep.train_y, len(self.classes_), prep.gen)
            self.fit_seconds_ = time.perf_counter() - t0
            return self._complete(prep)

    def _validated(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """What ``fit_resample`` checks and sets before ``_fit_resample``: parameters, input and
        ``sampling_strategy_``."""
        self._validate_params()
        check_classification_targets(y)
        X, y, _ = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y, self._sampling_type)
        return X, y

    def _prepare(self, X: Any, y: Any) -> "_Prepared":
        """Validation, class bookkeeping, the R- balancing and the training tensors on the device;
        seeds the global RNG (initialisation, training noise) as the generator's training expects.

        Validates again what ``fit_resample`` validated, because
        :func:`~imbench.methods.generative.stepped.fit_resample_many` calls it directly."""
        X, y = self._validated(X, y)
        if X.min() < -1e-6 or X.max() > 1 + 1e-6:
            raise ConfigError(f"{self.method_name}: input images must be in [0, 1] "
                              f"(got min {X.min()}, max {X.max()}); divide 8-bit images by 255")
        images = as_images(X, self.image_shape).astype(np.float32)
        self.classes_ = np.unique(y)
        to_make = self.sampling_strategy_
        seed = resolve_seed(self.random_state)
        self.seed_ = seed
        self.device_ = resolve_device(self.device)
        self.precision_ = generator_precision(self.device_)
        index = {c: i for i, c in enumerate(self.classes_)}
        y_idx = np.array([index[c] for c in y], dtype=np.int64)
        train_x, train_y = images, y_idx
        if self.random_oversample_first:
            ros = RandomOverSampler(random_state=seed)
            flat, train_y = ros.fit_resample(images.reshape(len(images), -1), y_idx)
            train_x = flat.reshape((len(flat),) + images.shape[1:])
        lo, hi = self.value_range
        xt = torch.as_tensor(train_x, device=self.device_) * (hi - lo) + lo
        yt = torch.as_tensor(np.asarray(train_y), device=self.device_)
        torch.manual_seed(seed)
        self.history_: list[dict[str, float]] = []
        self.train_size_ = int(len(yt))
        return _Prepared(X=X, y=y, train_x=xt, train_y=yt, to_make=dict(to_make), index=index,
                         gen=torch.Generator().manual_seed(seed))

    def _complete(self, prep: "_Prepared") -> tuple[np.ndarray, np.ndarray]:
        """The synthetic images of the trained generator, appended after the originals."""
        X, y = prep.X, prep.y
        lo, hi = self.value_range
        new_x, new_y = [], []
        for c, n in prep.to_make.items():
            if n <= 0:
                continue
            imgs = self._generate(prep.index[c], int(n), prep.gen)
            new_x.append(((imgs - lo) / (hi - lo)).clamp_(0.0, 1.0).cpu().numpy())
            new_y.append(np.full(int(n), c, dtype=y.dtype))
        if not new_x:
            return X, y
        synth = np.concatenate(new_x).reshape((-1,) + X.shape[1:]).astype(X.dtype, copy=False)
        return np.concatenate([X, synth]), np.concatenate([y] + new_y)

    # ----- helpers for subclasses -----------------------------------------------------------
    @torch.no_grad()
    def _generate(self, class_index: int, n: int, gen: torch.Generator, chunk: int = 1024) -> torch.Tensor:
        parts = [self._sample(class_index, min(chunk, n - s), gen) for s in range(0, n, chunk)]
        out = torch.cat(parts)
        if not torch.isfinite(out).all():
            raise TrainingError(f"{self.method_name} generated non-finite images for class "
                                f"{self.classes_[class_index]} (seed {self.seed_}); training diverged")
        return out

    def _batches(self, n: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
        """Index batches of one epoch: a fresh permutation, last partial batch dropped (as the
        reference code does); a set smaller than one batch yields one batch of everything."""
        order = torch.randperm(n, generator=gen).to(self.device_)
        if n < self.batch_size:
            yield order
            return
        limit = self.max_batches_per_epoch
        for k, s in enumerate(range(0, n - self.batch_size + 1, self.batch_size)):
            if limit is not None and k >= limit:
                return
            yield order[s:s + self.batch_size]

    def training_precision(self):
        """The autocast context the generator trains in (the job's ``amp`` policy, fixed by
        ``_prepare``); sampling afterwards always runs in float32."""
        return autocast_for(getattr(self, "precision_", FLOAT32), self.device_)

    def _check_finite(self, epoch: int, **losses: torch.Tensor) -> None:
        for name, v in losses.items():
            if not torch.isfinite(v).all():
                raise TrainingError(self._divergence_message(epoch, f"{name} loss is {v.detach().float().cpu().numpy()}"))

    def _divergence_message(self, epoch: int, what: str) -> str:
        return (f"{self.method_name} training diverged: {what} at epoch {epoch + 1} (seed {self.seed_}); "
                "lower the learning rate or try another seed")

    def _log_epoch(self, epoch: int, **losses: float) -> None:
        watches = self.__dict__.setdefault("_loss_watches", {})
        if epoch == 0:
            watches.clear()
        for name, value in losses.items():
            if name not in watches:
                watches[name] = LossWatch(f"{self.method_name}'s {name} loss", self.seed_,
                                          "lower the learning rate or try another seed")
            watches[name].check(float(value), f"epoch {epoch + 1}")
        self.history_.append({"epoch": epoch + 1, **{k: float(v) for k, v in losses.items()}})
        if self.verbose:
            print(f"{self.method_name} epoch {epoch + 1}/{self.epochs}: "
                  + " ".join(f"{k} {v:.4f}" for k, v in losses.items()), flush=True)

    def fit_info(self) -> dict:
        """What the run record keeps about the generator's training."""
        return {"method": self.method_name, "epochs": int(self.epochs), "batch_size": int(self.batch_size),
                "random_oversample_first": bool(self.random_oversample_first), "train_size": self.train_size_,
                "max_batches_per_epoch": self.max_batches_per_epoch,
                "fit_seconds": self.fit_seconds_, "device": str(self.device_),
                "precision": getattr(self, "precision_", FLOAT32),
                "group_size": int(getattr(self, "group_size_", 1)),
                "final_losses": self.history_[-1] if self.history_ else None, **self._extra_info()}

    def _extra_info(self) -> dict:
        return {}

    # ----- to implement -----------------------------------------------------------------------
    def _fit_generator(self, X: torch.Tensor, y: torch.Tensor, n_classes: int, gen: torch.Generator) -> None:
        raise NotImplementedError

    def _sample(self, class_index: int, n: int, gen: torch.Generator) -> torch.Tensor:
        raise NotImplementedError
