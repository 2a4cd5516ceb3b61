"""GAMO (Mullick, Datta & Das 2019) and its ablations as one end-to-end method: the classifier network
trained against a convex (or free) conditional generator, with or without the conditional discriminator.

============  =============  ==============  =================
config        generator      discriminator   Table 1 row
============  =============  ==============  =================
``gamo``      convex         yes             GAMO
``gamo_d``    convex         no              GAMO\\D
``cg_d_cn``   free           yes             cG+D+CN
``cg_cn``     free           no              cG+CN
============  =============  ==============  =================

``form: dense`` trains on flattened inputs (F is the identity; the paper's MNIST), ``form: conv`` learns
a convolutional feature extractor F alongside (Fashion-MNIST, CIFAR-10, SVHN). The networks are the
classifier configs' ``gamo_cn`` / ``gamo_conv_cn`` architectures, so the Baseline CN of Table 1 trains
the same CN; the run's record names it.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from imbench.classifiers.downstream import InputSpec, prepare_inputs
from imbench.classifiers.models import build_classifier
from imbench.errors import ConfigError, ImbenchError, TrainingError
from imbench.methods.gamo.nets import ConditionalDiscriminator, ConvexGenerator, FreeGenerator
from imbench.methods.gamo.objective import Objective
from imbench.methods.gamo.group import GamoGroupTrainer, MemberSampler
from imbench.methods.gamo.trainer import ClassLayout, GamoSchedule, GamoTrainer, Players, TrainingLog
from imbench.methods.protocol import FittedRun, FoldFit, FoldTask, JobContext, Method, ProfileCap, SyntheticSamples
from imbench.precision import autocast_for, generator_precision
from imbench.rng import isolated_rng

FORMS = ("dense", "conv")
GENERATORS = ("convex", "free")
# the released code's choice of each setting where it differs from the paper (spec §5.2, §9.35-36)
CODE_CHOICES = {"include_majority": True, "soft_labels": True, "generator_updates": "per_class",
                "batch_order": "fixed"}
INPUT = InputSpec(range=(-1.0, 1.0))


@dataclass(frozen=True)
class FoldData:
    """A fold's inputs on the device: the task, its class layout, X (the network's form), y (indices)."""

    task: FoldTask
    layout: ClassLayout
    X: torch.Tensor
    y: torch.Tensor


@dataclass(frozen=True)
class GroupMember:
    """One training of a batched group: which fold (index into the tasks), which repeat, its seed."""

    fold: int
    repeat: int
    seed: int


class GamoPredictor:
    """F (or flattening) then M; ``predict_proba`` gives M's softmax on inputs in the job's form."""

    def __init__(self, features: nn.Module | None, classifier: nn.Module, device: torch.device) -> None:
        self.features, self.classifier, self.device = features, classifier, device

    @torch.no_grad()
    def predict_proba(self, X: np.ndarray, batch: int = 2048) -> np.ndarray:
        Xt = prepare_inputs(X, INPUT, self.device)
        out = []
        for i in range(0, len(Xt), batch):
            x = Xt[i:i + batch]
            x = self.features(x) if self.features is not None else x.reshape(len(x), -1)
            out.append(torch.softmax(self.classifier(x).double(), dim=1).cpu())  # float64: see classifiers.train
        proba = torch.cat(out).double().numpy()
        if not np.all(np.isfinite(proba)):
            raise TrainingError("GAMO's classifier predicts NaN/inf probabilities; training diverged")
        return proba


def baseline_cn_description(cfg: Mapping[str, Any]) -> dict:
    """The record's description of the classifier network that a method on GAMO's Baseline CN trains
    (GAMO and its ablations, DOS): ``gamo_cn`` in the dense form, ``gamo_conv_cn`` in the conv form, with
    the method's loss and Adam schedule (:meth:`imbench.methods.protocol.Method.own_classifier`)."""
    form = cfg.get("form", "conv")
    return {"name": "gamo_cn" if form == "dense" else "gamo_conv_cn", "loss": cfg.get("loss", "ls"),
            "schedule": {"steps": cfg.get("steps"), "batch_size": cfg.get("batch_size"), "optimizer": "adam",
                         "lr": cfg.get("lr"), "betas": cfg.get("betas"), "eps": cfg.get("eps")}}


def _choice(name: str, value: Any, valid: Sequence[Any]) -> Any:
    if value not in valid:
        raise ConfigError(f"method.{name} must be one of {', '.join(map(str, valid))}, got {value!r}")
    return value


class Gamo(Method):
    """GAMO's three-player game (or an ablation), the classifier network M its result.

    Parameters
    ----------
    loss : ``ls`` (Eqs. 4-6) or ``ce`` (Eq. 3); Table 1 has both.
    form : ``dense`` (F = identity, flattened inputs) or ``conv`` (a learned convolutional F).
    generator : ``convex`` (cTMU + one IGU per minority class) or ``free`` (cTMU + dense tanh head: cG).
    discriminator : whether the conditional discriminator D plays (False: GAMO\\D, cG+CN).
    networks : the classifier network of each form, as ``classifier.arch`` configs.
    steps, batch_size, latent_dim, lr, betas, eps : training length (mini-batches), batch, size of z,
        Adam's settings (all players).
    tmu_hidden, d_hidden : widths of the cTMU and of D.
    include_majority, soft_labels, generator_updates, batch_order : the paper's choice by default, the
        released code's with ``true``, ``true``, ``per_class``, ``fixed`` (see :mod:`.trainer`).
    f_steps, v_steps : mini-batches of F and of M/D/G per outer iteration (None: one epoch each).
    classifier_ce : M's loss in the CE form, ``eq3`` or ``categorical`` (see :mod:`.objective`).
    """

    kind = "end_to_end"
    label = "GAMO"
    reference = ("Mullick, Datta & Das 2019, 'Generative Adversarial Minority Oversampling', ICCV "
                 "(arXiv:1903.09730)")
    profile_caps: ClassVar[tuple[ProfileCap, ...]] = (ProfileCap("steps", "max_steps"),)

    def __init__(self, loss: str = "ls", form: str = "conv", generator: str = "convex", discriminator: bool = True,
                 networks: Mapping[str, Mapping[str, Any]] | None = None, steps: int = 25000, batch_size: int = 32,
                 latent_dim: int = 100, lr: float = 2e-4, betas: Sequence[float] = (0.5, 0.999), eps: float = 1e-7,
                 tmu_hidden: Sequence[int] = (256, 64), d_hidden: Sequence[int] = (256, 128),
                 include_majority: bool = False, soft_labels: bool = False, generator_updates: str = "batch",
                 batch_order: str = "shuffle", f_steps: int | None = None, v_steps: int | None = None,
                 classifier_ce: str = "eq3") -> None:
        self.objective = Objective(loss, classifier_ce)
        self.form = _choice("form", form, FORMS)
        self.generator = _choice("generator", generator, GENERATORS)
        _choice("generator_updates", generator_updates, ("batch", "per_class"))
        _choice("batch_order", batch_order, ("shuffle", "fixed"))
        for key, value in (("discriminator", discriminator), ("include_majority", include_majority),
                           ("soft_labels", soft_labels)):
            if not isinstance(value, bool):
                raise ConfigError(f"method.{key} must be true or false, got {value!r}")
        for key, value in (("steps", steps), ("batch_size", batch_size), ("latent_dim", latent_dim),
                           ("f_steps", f_steps), ("v_steps", v_steps)):
            if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ConfigError(f"method.{key} must be a positive integer, got {value!r}")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ConfigError(f"method.lr must be a positive number, got {lr!r}")
        networks = dict(networks or {})
        if form not in networks:
            raise ConfigError(f"method.networks has no {form!r} entry (the classifier network of the {form} form)")
        self.network = dict(networks[form])
        self.tmu_hidden, self.d_hidden = tuple(tmu_hidden), tuple(d_hidden)
        self.schedule = GamoSchedule(
            steps=steps, batch_size=batch_size, latent_dim=latent_dim, lr=float(lr), betas=tuple(betas), eps=float(eps),
            discriminator=discriminator, include_majority=include_majority, soft_labels=soft_labels,
            generator_updates=generator_updates, batch_order=batch_order, f_steps=f_steps, v_steps=v_steps)

    @classmethod
    def own_classifier(cls, cfg: Mapping[str, Any]) -> dict:
        return baseline_cn_description(cfg)

    # -- what a fold needs -----------------------------------------------------------------------
    def layout(self, task: FoldTask, classes: Sequence[int]) -> ClassLayout:
        """The fold's class layout; a clear error when GAMO cannot run on it."""
        counts = tuple(int(task.counts.get(c, 0)) for c in classes)
        empty = [c for c, n in zip(classes, counts) if n == 0]
        if empty:
            raise ConfigError(f"GAMO: class(es) {empty} have no training samples in fold {task.fold}; lower ir or "
                              "raise the skew's smallest count so that every class keeps at least 2 samples")
        majority = int(np.argmax(counts))
        minority = tuple(i for i, n in enumerate(counts) if n < counts[majority])
        if not minority:
            raise ConfigError("GAMO: every class has the same number of training samples, so there is no minority "
                              "class to generate for; use an imbalanced skew (skew=exp or step) or method=none")
        if self.generator == "convex":
            single = [classes[i] for i in minority if counts[i] < 2]
            if single:
                raise ConfigError(f"GAMO: minority class(es) {single} have a single training sample in fold "
                                  f"{task.fold}; the convex generator combines at least 2 of a class's samples. "
                                  "Lower ir or raise the skew's smallest count")
        return ClassLayout(minority=minority, majority=majority, counts=counts)

    def _inputs(self, X: np.ndarray, device: torch.device) -> torch.Tensor:
        if self.form == "conv" and X.ndim != 4:
            raise ConfigError(f"GAMO's conv form needs images (N×C×H×W); this data has shape {X.shape[1:]}. "
                              "Use method.form=dense for tabular or flattened data")
        Xt = prepare_inputs(X, INPUT, device)
        return Xt.reshape(len(Xt), -1) if self.form == "dense" else Xt

    def build_players(self, X: torch.Tensor, layout: ClassLayout, device: torch.device) -> Players:
        """Fresh networks for one training (seed torch first)."""
        net = build_classifier(self.network, tuple(X.shape[1:]), layout.n_classes)
        if self.form == "conv":
            if not (hasattr(net, "features") and hasattr(net, "classifier")):
                raise ConfigError(f"GAMO's conv form needs a network with .features and .classifier parts "
                                  f"(imbench.classifiers.models.gamo_conv); got {self.network.get('_target_')}")
            features, classifier = net.features, net.classifier
            with torch.no_grad():
                width = features(X[:2]).shape[1]
        else:
            features, classifier, width = None, net, X.shape[1]
        sizes = [layout.counts[c] for c in layout.minority]
        G = (ConvexGenerator(self.schedule.latent_dim, layout.n_classes, sizes, self.tmu_hidden)
             if self.generator == "convex" else
             FreeGenerator(self.schedule.latent_dim, layout.n_classes, width, self.tmu_hidden))
        D = ConditionalDiscriminator(width, layout.n_classes, self.d_hidden) if self.schedule.discriminator else None
        players = Players(classifier=classifier, generator=G, discriminator=D, features=features)
        for m in (classifier, G, D, features):
            if m is not None:
                m.to(device)
        return players

    def settings_record(self) -> dict:
        """The settings that ran, and which follow the released code instead of the paper."""
        s = asdict(self.schedule)
        return {"form": self.form, "loss": self.objective.form, "classifier_ce": self.objective.classifier_ce,
                "generator": self.generator, "network": self.network, "tmu_hidden": list(self.tmu_hidden),
                "d_hidden": list(self.d_hidden), **s, "betas": list(s["betas"]),
                "code_choices": sorted(k for k, v in CODE_CHOICES.items() if s[k] == v)}

    # -- the protocol ----------------------------------------------------------------------------
    def _fold_data(self, task: FoldTask, ctx: JobContext) -> FoldData:
        classes = list(ctx.classes)
        layout = self.layout(task, classes)
        index = {c: i for i, c in enumerate(classes)}
        X = self._inputs(task.train.X, ctx.device)
        y = torch.as_tensor(np.vectorize(index.__getitem__)(task.train.y), dtype=torch.long, device=ctx.device)
        return FoldData(task, layout, X, y)

    def _info(self, layout: ClassLayout, classes: Sequence[int]) -> dict:
        return {"gamo": {**self.settings_record(), "minority_classes": [classes[i] for i in layout.minority],
                         "majority_class": classes[layout.majority]}}

    @staticmethod
    def _training(log: TrainingLog, precision: str) -> dict:
        return {"steps": log.steps, "outer_iterations": log.outer_iterations, "f_steps": log.f_steps,
                "final_losses": log.final_losses, "precision": precision, "points_layout": log.points_layout}

    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        classes = list(ctx.classes)
        data = self._fold_data(task, ctx)
        layout, X, y = data.layout, data.X, data.y
        runs, synthetic = {}, None
        for repeat, seed in task.repeats.items():
            t0 = time.perf_counter()
            with isolated_rng(ctx.device):
                torch.manual_seed(seed)
                players = self.build_players(X, layout, ctx.device)
                bar = tqdm(total=self.schedule.steps, desc=f"{self.label} fold {task.fold} repeat {repeat}",
                           unit="batch", leave=False, disable=not ctx.progress)
                trainer = GamoTrainer(players, self.objective, self.schedule, layout, X, y, seed,
                                      progress=lambda done, total: bar.update(done - bar.n))
                precision = generator_precision(ctx.device)
                try:
                    with autocast_for(precision, ctx.device):
                        log = trainer.run()
                except TrainingError as e:  # this repeat alone, as in a batched group
                    runs[repeat] = e
                    continue
                finally:
                    bar.close()
                sampling_s = 0.0
                if synthetic is None:  # the first trained generator's; its seconds are oversample_s, not training
                    t_sampling = time.perf_counter()
                    synthetic = self.balancing_samples(trainer, task, layout, classes, ctx)
                    sampling_s = time.perf_counter() - t_sampling
            runs[repeat] = FittedRun(
                predictor=GamoPredictor(players.features, players.classifier, ctx.device),
                training=self._training(log, precision), train_s=time.perf_counter() - t0 - sampling_s)
        return FoldFit(runs=runs, synthetic=synthetic, info=self._info(layout, classes))

    def fit_folds(self, tasks: Sequence[FoldTask], ctx: JobContext) -> list[FoldFit | ImbenchError]:
        """Every repeat of every fold as one batched group (:mod:`.group`) when the job's batching
        allows it, else fold by fold; folds of different class counts or input shapes train in
        separate groups. A member whose training diverges fails alone."""
        n_runs = sum(len(t.repeats) for t in tasks)
        if n_runs < 2 or not ctx.batching.allows(n_runs, ctx.device):
            return super().fit_folds(tasks, ctx)
        if float(self.network.get("dropout") or 0) > 0:
            # vmap would draw other dropout masks than a single training: keep the members' own
            ctx.log(f"{self.label}: a network with dropout trains fold by fold, not in a batched group")
            return super().fit_folds(tasks, ctx)
        classes = list(ctx.classes)
        data = [self._fold_data(task, ctx) for task in tasks]  # a fold GAMO cannot run on stops the job here
        groups: dict[tuple, list[GroupMember]] = {}
        for i, d in enumerate(data):
            for repeat, seed in d.task.repeats.items():
                groups.setdefault((d.layout, tuple(d.X.shape)), []).append(GroupMember(i, repeat, seed))
        fits = [FoldFit(runs={}, synthetic=None, info=self._info(d.layout, classes)) for d in data]
        for members in groups.values():
            self._fit_group(members, data, fits, ctx)
        for fit, d in zip(fits, data):
            fit.runs = {r: fit.runs[r] for r in d.task.repeats}  # the tasks' repeat order
        return fits

    def _fit_group(self, members: list[GroupMember], data: list[FoldData], fits: list[FoldFit],
                   ctx: JobContext) -> None:
        classes = list(ctx.classes)
        layout = data[members[0].fold].layout
        t0 = time.perf_counter()
        with isolated_rng(ctx.device):
            players = []
            for m in members:  # each member's initial weights are its sequential ones
                torch.manual_seed(m.seed)
                players.append(self.build_players(data[m.fold].X, layout, ctx.device))
            X = torch.stack([data[m.fold].X for m in members])
            y = torch.stack([data[m.fold].y for m in members])
            ctx.log(f"training {len(members)} {self.label} runs as one batched group")
            bar = tqdm(total=self.schedule.steps, desc=f"{self.label} group of {len(members)}", unit="batch",
                       leave=False, disable=not ctx.progress)
            trainer = GamoGroupTrainer(players, self.objective, self.schedule, layout, X, y, [m.seed for m in members],
                                       progress=lambda done, total: bar.update(done - bar.n))
            precision = generator_precision(ctx.device)
            try:
                with autocast_for(precision, ctx.device):
                    results = trainer.run()
            finally:
                bar.close()
            del trainer, X, y
        total = time.perf_counter() - t0
        batched = {"group_size": len(members), "group_train_s": total}
        for m, p, r in zip(members, players, results):
            fit, d = fits[m.fold], data[m.fold]
            if r.error is not None:
                fit.runs[m.repeat] = r.error
                continue
            if fit.synthetic is None:  # the fold's first trained generator (in repeat order), as fold by fold
                fit.synthetic = self.balancing_samples(r.sampler, d.task, layout, classes, ctx)
            fit.runs[m.repeat] = FittedRun(GamoPredictor(p.features, p.classifier, ctx.device),
                                           self._training(r.log, precision), total / len(members), batched=batched)

    def balancing_samples(self, trainer: GamoTrainer | MemberSampler, task: FoldTask, layout: ClassLayout, classes: Sequence[int],
                          ctx: JobContext) -> SyntheticSamples | None:
        """The samples of the fold's first trained generator, for previews and FID: in the dense form its
        points, n_max − n_i per minority class, in the data's own form; None in the conv form, whose points
        are feature vectors, not images (GAMO2pix turns them into images)."""
        if self.form != "dense":
            return None
        t0 = time.perf_counter()
        n_max = layout.counts[layout.majority]
        gen = trainer.generate([n_max - layout.counts[c] for c in layout.minority])
        Xg = gen.X.cpu().numpy().astype(task.train.X.dtype)
        if task.train.X.ndim == 4:
            Xg = to_unit_range(Xg).reshape(-1, *task.train.X.shape[1:])
        return with_originals(task, Xg, np.asarray(classes)[gen.labels.cpu().numpy()], time.perf_counter() - t0)


def to_unit_range(X: np.ndarray) -> np.ndarray:
    """Inputs in GAMO's range ([−1, 1]) back to the data's [0, 1]."""
    return (X - INPUT.range[0]) / (INPUT.range[1] - INPUT.range[0])


def with_originals(task: FoldTask, X_new: np.ndarray, y_new: np.ndarray, seconds: float) -> SyntheticSamples:
    """The fold's training part followed by the generated samples, marked."""
    y_new = np.asarray(y_new).astype(task.train.y.dtype)
    mask = np.r_[np.zeros(len(task.train.y), bool), np.ones(len(y_new), bool)]
    return SyntheticSamples(np.concatenate([task.train.X, X_new.astype(task.train.X.dtype)]),
                            np.concatenate([task.train.y, y_new]), mask, seconds)
