"""The one protocol the runner calls for every method, whatever its kind.

A method is a class with :meth:`Method.fit_fold`: given one fold's training (and validation) part and
what the job knows (classes, device, a factory for the configured downstream classifier), it returns a
:class:`FoldFit`: a fitted predictor per classifier repeat, what it wants recorded, and, when it makes
samples, the synthetic samples. Four kinds plug in through it without touching the runner:

* ``resample``: resample the training part, then train the configured classifier
  (:class:`imbench.methods.resample.Resample`: SMOTE, the Fajardo generators, ...);
* ``end_to_end``: the method is its own classifier (GAMO, DGC, DOS);
* ``with_classifier``: the method trains together with the configured classifier and may use the
  validation part (EGL);
* ``classifier_loss``: the method changes the configured classifier's loss or mini-batches (Focal,
  LDAM, RS).

:meth:`Method.fit_folds` fits several folds at once; the default fits them one by one, a method that
can train many small models together (vmap groups) overrides it. The runner hands it all the folds of
a job when batching is on, else one fold at a time.

Label, kind, reference and the parameters a profile caps are declared once, by the class (a method
config may name its own ``label`` and ``reference``, as the resample adapter's configs do since one
adapter serves many samplers). :mod:`imbench.methods.registry` reads them from there.
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Protocol, Sequence

import numpy as np
import torch

from imbench.errors import ImbenchError, TrainingError

KINDS = ("resample", "end_to_end", "with_classifier", "classifier_loss")


class Predictor(Protocol):
    """What a fitted method hands back: class probabilities, columns in the job's class order."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Split:
    """Samples and labels of one part of a fold."""

    X: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class ProfileCap:
    """A parameter that a profile (``conf/profile/*.yaml``) caps.

    Parameters
    ----------
    param : dotted path of the parameter inside the component's config (``epochs``, ``schedule.steps``).
    profile_key : the profile's key holding the cap (``max_generator_epochs``).
    none_is_unlimited : a value of None means "no limit", so the cap replaces it; otherwise None
        means "not used" and stays None.
    """

    param: str
    profile_key: str
    none_is_unlimited: bool = False

    def apply(self, cfg: dict, profile: Mapping[str, Any]) -> None:
        """Cap ``cfg`` in place (a missing parameter is left alone)."""
        *parents, leaf = self.param.split(".")
        node = cfg
        for p in parents:
            node = node.get(p)
            if not isinstance(node, dict):
                return
        cap = profile.get(self.profile_key)
        if leaf not in node or cap is None:
            return
        value = node[leaf]
        if value is None:
            if self.none_is_unlimited:
                node[leaf] = cap
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            node[leaf] = min(value, cap)


def apply_caps(cfg: dict, caps: Sequence[ProfileCap], profile: Mapping[str, Any]) -> dict:
    """A copy of ``cfg`` with ``caps`` applied."""
    out = copy.deepcopy(cfg)
    for cap in caps:
        cap.apply(out, profile)
    return out


@dataclass(frozen=True)
class FoldTask:
    """One fold to fit: its parts, its classes' counts and every seed it needs.

    ``repeats`` maps each classifier repeat still to run to its classifier seed; ``method_seed`` seeds
    the method's own randomness (a sampler's, a generator's). ``withheld``: the rows the skew left out of
    this fold's draw (preprocessed like the training part), given only to a method that declares
    ``needs_withheld`` (EGL's Potential), else None."""

    fold: int
    train: Split
    val: Split | None
    minority: list[int]
    counts: dict[int, int]
    method_seed: int
    repeats: dict[int, int]
    withheld: Split | None = None


@dataclass
class SyntheticSamples:
    """A resampled training set: originals first, then ``mask``-marked synthetic rows."""

    X: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return int(self.mask.sum())


@dataclass
class FittedRun:
    """One classifier repeat of a fold, fitted.

    ``training`` holds what the record says about training (epochs, steps, final loss, best epoch,
    precision); ``batched`` the group it trained in, when it trained in one."""

    predictor: Predictor
    training: dict
    train_s: float
    synthetic_weight: float | None = None
    batched: dict | None = None


@dataclass
class FoldFit:
    """What fitting one fold gives: per repeat a :class:`FittedRun` or the error that repeat alone hit,
    the synthetic samples (None when the method makes none), and the method's record entries
    (``info``: e.g. ``oversampler``, ``weight_search``)."""

    runs: dict[int, FittedRun | ImbenchError]
    synthetic: SyntheticSamples | None = None
    info: dict = field(default_factory=dict)


def _is_config_value(v: Any) -> bool:
    if isinstance(v, dict):
        return all(_is_config_value(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return all(_is_config_value(x) for x in v)
    return v is None or isinstance(v, (bool, int, float, str))


class ClassifierFactory:
    """Builds the configured downstream classifier; keyword overrides replace config values.

    Parameters
    ----------
    config : the classifier's config (``conf/classifier/*.yaml``, profile applied).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = copy.deepcopy(dict(config))

    def __call__(self, **overrides: Any):
        """A new classifier. Overrides that are config values (numbers, strings, lists, dicts) are merged
        into the config; objects (a loss, a batch order) are passed to the constructor as they are."""
        from hydra.utils import instantiate

        values = {k: v for k, v in overrides.items() if _is_config_value(v)}
        objects = {k: v for k, v in overrides.items() if k not in values}
        build = instantiate({**copy.deepcopy(self.config), **values}, _partial_=True, _recursive_=False, _convert_="all")
        return build(**objects)


@dataclass(frozen=True)
class BatchPolicy:
    """When a job trains many small models as one vmap group: ``mode`` is ``true``, ``false`` or
    ``auto`` (on CUDA only: on the CPU the models are compute-bound and a group is no faster; see
    ``benchmarks/``)."""

    mode: str = "auto"

    def allows(self, n_models: int, device: torch.device) -> bool:
        if self.mode == "false":
            return False
        if self.mode == "true":
            return n_models >= 1
        return n_models > 1 and device.type == "cuda"

    @classmethod
    def from_setting(cls, value: Any) -> "BatchPolicy":
        if value is False or str(value).lower() == "false":
            return cls("false")
        return cls("true" if value is True or str(value).lower() == "true" else "auto")


@dataclass(frozen=True)
class JobContext:
    """What every fold of a job shares: the classes (sorted), the device, the configured classifier,
    the batching policy and a log function. ``synthetic_amount``, when set, is how many
    synthetic samples resampling methods make (an imbalanced-learn ``sampling_strategy`` or imbench's
    ``double_minority``), replacing the method's own."""

    classes: list[int]
    device: torch.device
    classifiers: ClassifierFactory
    batching: BatchPolicy = BatchPolicy()
    synthetic_amount: Any = None
    progress: bool = False
    log: Callable[..., None] = print


class Method(ABC):
    """Base class of every method. Subclasses declare ``kind``, ``label``, ``reference`` and
    ``profile_caps`` and implement :meth:`fit_fold`; the constructor takes the method's config keys."""

    kind: ClassVar[str]
    label: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    profile_caps: ClassVar[tuple[ProfileCap, ...]] = ()
    needs_withheld: ClassVar[bool] = False  # True: FoldTask.withheld holds the rows the skew left out

    @classmethod
    def capped_config(cls, cfg: dict, profile: Mapping[str, Any]) -> dict:
        """The method's config with the profile's caps on its own parameters."""
        return apply_caps(cfg, cls.profile_caps, profile)

    @classmethod
    def own_classifier(cls, cfg: Mapping[str, Any]) -> dict | None:
        """The classifier this method trains instead of the configured one, as the record describes it
        (``name``, ``loss``, ``schedule``), or None (the default) when it uses the configured classifier.

        A method that is its own classifier (GAMO's M, DOS's CNN) returns its description: the configured
        ``classifier`` then is not part of the run's identity, and the record names this one instead."""
        return None

    @classmethod
    def describe(cls, cfg: Mapping[str, Any]) -> dict:
        """Label and reference of the method configured by ``cfg`` (a config may name its own)."""
        return {"label": cfg.get("label") or cls.label, "reference": cfg.get("reference") or cls.reference}

    @abstractmethod
    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        """Fit one fold: every repeat of ``task.repeats``."""

    def fit_folds(self, tasks: Sequence[FoldTask], ctx: JobContext) -> list[FoldFit | ImbenchError]:
        """Fit several folds; a fold whose fit fails gets its error, the others are unaffected."""
        out: list[FoldFit | ImbenchError] = []
        for task in tasks:
            try:
                out.append(self.fit_fold(task, ctx))
            except TrainingError as e:  # a bad config or missing data stops the job instead
                out.append(e)
        return out
