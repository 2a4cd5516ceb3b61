"""DOS, Deep Over-Sampling (Ando & Huang, ECML-PKDD 2017, arXiv:1704.07515): GAMO's "DOS" row (Mullick
et al. 2019, Tables 1-4), an end-to-end method that trains GAMO's Baseline CN with embedding targets.

Sources. Of the paper only its abstract could be read here (the stored copies of its full text stop
after the introduction); the method section is taken from spec §5.5, which describes it at paper level,
and is marked [spec] below. The abstract: the training data "presents each raw input sample with a
synthetic embedding target in the deep feature space, which is sampled from the linear subspace of
in-class neighbors"; "an iterative process of training the CNN and updating the targets, which induces
smaller in-class variance among the embeddings". GAMO (§2) adds that DOS "uniformly oversamples the
entire minority class" and that its performance "depends on the choice of the class-wise neighborhood
sizes, which must be determined by costly parameter tuning" (its values are in the unavailable
supplement).

The algorithm. A CNN is an embedding f (the deep feature space) and a classifier g on it; per class j a
neighbourhood size k_j and an over-sampling size r_j [spec]. Repeat:

1. embed every training sample with the current f; for each sample find its k_j nearest neighbours of
   its own class in the embedding space [spec];
2. "overload" each minority sample r_j times, each copy with a random weight vector w ≥ 0 over its k_j
   neighbours, Σ w = 1 (uniform draws L1-normalised, as an unofficial re-implementation does) [spec]:
   its embedding target is t = Σ_m w_m f(x_m), a convex combination of the neighbours' embeddings;
3. train f and g "for some epochs" on the classification loss plus the micro-cluster loss
   ℓ_mc(x) = Σ_m w_m ‖f(x) − f(x_m)‖² [spec], which pulls f(x) towards t (it equals ‖f(x) − t‖² plus a
   term free of f), the neighbours' embeddings held fixed until the next refresh.

Choices made here where that description is silent or GAMO's setting differs:

* networks: GAMO's Baseline CN. ``form: conv`` (images): ``gamo_conv``, f = F (the 512-d tanh features),
  g = M. ``form: dense``: ``mlp``; GAMO's F is the identity there, which would leave f nothing to learn,
  so f = the MLP up to its last hidden layer and g = its last linear layer. Adam 2e-4, β (0.5, 0.999),
  eps 1e-7, batch 32, as the Baseline CN.
* loss: ``loss`` ``ce`` or ``ls`` with GAMO's definitions (:meth:`Objective.classifier`), scored on g(f(x))
  of the real input; in the CE form the Baseline CN's softmax cross-entropy (``classifier_ce:
  categorical``; ``eq3``: GAMO's per-output form). Per mini-batch: the classification loss (mean) plus
  ``micro_cluster_weight`` × ℓ_mc (mean; 0 for a plain presentation). The two terms are added unweighted
  (weight 1: no weight is described). ``micro_cluster_distance: euclidean`` takes Σ_m w_m ‖f(x) − f(x_m)‖
  instead, as the unofficial re-implementation reads the paper.
* overloading: every sample is presented once plain and r_j more times with targets. ``overload:
  balance`` (default): r_j = round(n_max / n_j) − 1, 0 for the majority, so each class counts about n_max
  presentations per pass (GAMO's "uniformly oversamples the entire minority class"; the other contenders
  also balance to the majority); an integer: that r for every class; a mapping: one r per class. ``k``:
  5 (spec §5.5's grid 3, 5, 10), an integer or a mapping class → k_j. The neighbours of a class with
  r_j = 0 are never used (not searched, k_j not checked). Weights are drawn anew at every refresh.
* length: ``steps`` mini-batches in all (25,000, GAMO's budget). f means nothing before training, so the
  first ``pretrain_steps`` (null: one epoch of the original data, at most half of ``steps``) use the
  classification loss alone; then the targets are refreshed after every pass over the presentations
  (``refresh_every: null``: one round of step 3 = one epoch of the overloaded set; an integer: every that
  many mini-batches). GAMO Table 1's Fashion-MNIST counts (9,000 images, 39,620 presentations per pass)
  give 282 pretraining mini-batches and 20 refreshes; Table 2's CIFAR-10/SVHN counts 322 and 18.
* prediction: softmax of g(f(x)), as the Baseline CN.

Left open: the paper's own epochs per refresh, its exact loss (squared or not; any weight; whether the
classification term also scores the neighbours or targets) and its k, r values.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from imbench.classifiers.downstream import InputSpec, label_indices, prepare_inputs
from imbench.classifiers.models import build_classifier
from imbench.errors import ConfigError, TrainingError
from imbench.methods.dos_training import DISTANCES, DosLoss, DosSchedule, DosTrainer, SplitNetwork
from imbench.methods.gamo.method import baseline_cn_description
from imbench.methods.gamo.objective import Objective
from imbench.methods.protocol import FittedRun, FoldFit, FoldTask, JobContext, Method, ProfileCap
from imbench.rng import isolated_rng

FORMS = ("dense", "conv")
LOSSES = ("ce", "ls")
DEFAULT_K = 5  # a class that a mapping method.k leaves out
INPUT = InputSpec(range=(-1.0, 1.0))


class DosPredictor:
    """``predict_proba``: the softmax of g(f(x)) on inputs in the job's form."""

    def __init__(self, network: SplitNetwork, device: torch.device) -> None:
        self.network, self.device = network, device

    @torch.no_grad()
    def predict_proba(self, X: np.ndarray, batch: int = 2048) -> np.ndarray:
        Xt = prepare_inputs(X, INPUT, self.device)
        out = [torch.softmax(self.network.classifier(self.network.embedding(Xt[i:i + batch])).double(), dim=1).cpu()
               for i in range(0, len(Xt), batch)]
        proba = torch.cat(out).double().numpy()
        if not np.all(np.isfinite(proba)):
            raise TrainingError("DOS's classifier predicts NaN/inf probabilities; training diverged")
        return proba


@dataclass(frozen=True)
class ClassSettings:
    """By class index: ``k`` the neighbourhood sizes (0 where a class is not overloaded), ``copies`` the
    r_j."""

    k: list[int]
    copies: list[int]


def _positive_int(name: str, value: Any, allow_none: bool = False, minimum: int = 1) -> None:
    if value is None and allow_none:
        return
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum):
        raise ConfigError(f"method.{name} must be an integer ≥ {minimum}, got {value!r}")


def _per_class(name: str, value: Any, classes: Sequence[int], minimum: int, missing: int) -> list[int]:
    """``value`` for every class, or a mapping class → integer (a class left out gets ``missing``); each
    at least ``minimum``."""
    if isinstance(value, Mapping):
        try:
            given = {int(c): v for c, v in value.items()}
        except (TypeError, ValueError):
            raise ConfigError(f"method.{name} maps class labels to integers; got keys {list(value)}") from None
        unknown = sorted(set(given) - set(classes))
        if unknown:
            raise ConfigError(f"method.{name} names class(es) {unknown} that are not in the data ({list(classes)})")
        out = [given.get(c, missing) for c in classes]
    else:
        out = [value] * len(classes)
    for v in out:
        _positive_int(name, v, minimum=minimum)
    return [int(v) for v in out]


class Dos(Method):
    """Deep Over-Sampling on GAMO's Baseline CN (see the module docstring for the algorithm and choices).

    Parameters
    ----------
    loss : ``ce`` or ``ls``, GAMO's classification losses.
    classifier_ce : in the CE form, ``categorical`` (softmax cross-entropy, the Baseline CN's) or ``eq3``.
    form : ``conv`` (images; f = F, g = M) or ``dense`` (an MLP; f = its hidden layers, g = its last layer).
    networks : the CN of each form, as ``classifier.arch`` configs.
    k : neighbourhood size k_j, an integer or a mapping class → k_j (a class left out: 5).
    overload : r_j, ``balance`` (round(n_max / n_j) − 1), an integer ≥ 0 or a mapping class → r_j (a class
        left out: 0).
    micro_cluster_weight : weight of the micro-cluster loss (the paper: 1; 0 turns DOS into plain
        oversampling by repetition).
    micro_cluster_distance : ``squared`` (Σ w ‖f − v‖²) or ``euclidean`` (Σ w ‖f − v‖).
    steps, batch_size, lr, betas, eps : mini-batches in all, batch, Adam's settings.
    pretrain_steps : mini-batches on the classification loss before the first targets (null: one epoch of
        the original data); at most half of ``steps``.
    refresh_every : mini-batches between refreshes of the targets (null: one pass over the presentations).
    """

    kind = "end_to_end"
    label = "DOS"
    reference = ("Ando & Huang 2017, 'Deep Over-sampling Framework for Classifying Imbalanced Data', ECML-PKDD "
                 "(arXiv:1704.07515)")
    profile_caps: ClassVar[tuple[ProfileCap, ...]] = (ProfileCap("steps", "max_steps"),)

    def __init__(self, loss: str = "ls", classifier_ce: str = "categorical", form: str = "conv",
                 networks: Mapping[str, Mapping[str, Any]] | None = None, k: int | Mapping[Any, int] = DEFAULT_K,
                 overload: str | int | Mapping[Any, int] = "balance", micro_cluster_weight: float = 1.0,
                 micro_cluster_distance: str = "squared", steps: int = 25000, batch_size: int = 32,
                 lr: float = 2e-4, betas: Sequence[float] = (0.5, 0.999), eps: float = 1e-7,
                 pretrain_steps: int | None = None, refresh_every: int | None = None) -> None:
        for name, value, valid in (("loss", loss, LOSSES), ("form", form, FORMS),
                                   ("classifier_ce", classifier_ce, ("categorical", "eq3")),
                                   ("micro_cluster_distance", micro_cluster_distance, DISTANCES)):
            if value not in valid:
                raise ConfigError(f"DOS: method.{name} must be one of {', '.join(valid)}, got {value!r}")
        for name, value in (("steps", steps), ("batch_size", batch_size), ("refresh_every", refresh_every)):
            _positive_int(name, value, allow_none=name == "refresh_every")
        _positive_int("pretrain_steps", pretrain_steps, allow_none=True, minimum=0)
        if not (isinstance(micro_cluster_weight, (int, float)) and math.isfinite(micro_cluster_weight)
                and micro_cluster_weight >= 0):
            raise ConfigError(f"method.micro_cluster_weight must be a finite number ≥ 0, "
                              f"got {micro_cluster_weight!r}")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ConfigError(f"method.lr must be a positive number, got {lr!r}")
        if not (overload == "balance" or isinstance(overload, (int, Mapping))) or isinstance(overload, bool):
            raise ConfigError(f"method.overload must be 'balance', an integer ≥ 0 or a mapping class → integer, "
                              f"got {overload!r}")
        networks = dict(networks or {})
        if form not in networks:
            raise ConfigError(f"method.networks has no {form!r} entry (the classifier network of the {form} form)")
        self.form, self.network, self.k, self.overload = form, dict(networks[form]), k, overload
        self.loss = DosLoss(Objective(loss, classifier_ce), float(micro_cluster_weight), micro_cluster_distance)
        self.schedule = DosSchedule(steps=steps, batch_size=batch_size, lr=float(lr), betas=tuple(betas),
                                    eps=float(eps), pretrain_steps=pretrain_steps, refresh_every=refresh_every)

    @classmethod
    def own_classifier(cls, cfg: Mapping[str, Any]) -> dict:
        return baseline_cn_description(cfg)

    def class_settings(self, task: FoldTask, classes: Sequence[int]) -> ClassSettings:
        """k_j and r_j of every class in this fold; a ConfigError when DOS cannot run on it."""
        counts = [int(task.counts.get(c, 0)) for c in classes]
        empty = [c for c, n in zip(classes, counts) if n == 0]
        if empty:
            raise ConfigError(f"DOS: class(es) {empty} have no training samples in fold {task.fold}; lower ir or "
                              "raise the skew's smallest count")
        if self.overload == "balance":
            copies = [max(0, math.floor(max(counts) / n + 0.5) - 1) for n in counts]
        else:
            copies = _per_class("overload", self.overload, classes, minimum=0, missing=0)
        ks = _per_class("k", self.k, classes, minimum=1, missing=DEFAULT_K)
        ks = [kc if r > 0 else 0 for kc, r in zip(ks, copies)]
        small = [f"class {c}: k={kc} with {n} samples" for c, kc, n in zip(classes, ks, counts) if kc > n - 1]
        if small:
            raise ConfigError(f"DOS needs k ≤ (class size − 1) in-class neighbours for every overloaded class; "
                              f"fold {task.fold} has {'; '.join(small)}. Lower method.k (an integer or a mapping "
                              "class → k) or set that class's method.overload to 0")
        return ClassSettings(k=ks, copies=copies)

    def build_network(self, X: torch.Tensor, n_classes: int) -> SplitNetwork:
        """A fresh CN split into f and g (seed torch first)."""
        net = build_classifier(self.network, tuple(X.shape[1:]), n_classes)
        if self.form == "conv":
            if not (hasattr(net, "features") and hasattr(net, "classifier")):
                raise ConfigError(f"DOS's conv form needs a network with .features (f) and .classifier (g) parts "
                                  f"(imbench.classifiers.models.gamo_conv); got {self.network.get('_target_')}")
            return SplitNetwork(net.features, net.classifier)
        layers = getattr(net, "net", None)
        if not (isinstance(layers, nn.Sequential) and len(layers) > 2):
            raise ConfigError(f"DOS's dense form needs an MLP with hidden layers (imbench.classifiers.models.mlp); "
                              f"got {self.network.get('_target_')}")
        return SplitNetwork(layers[:-1], layers[-1])

    def _inputs(self, X: np.ndarray, device: torch.device) -> torch.Tensor:
        if self.form == "conv" and X.ndim != 4:
            raise ConfigError(f"DOS's conv form needs images (N×C×H×W); this data has shape {X.shape[1:]}. "
                              "Use method.form=dense for tabular or flattened data")
        return prepare_inputs(X, INPUT, device)

    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        classes = list(ctx.classes)
        settings = self.class_settings(task, classes)
        X = self._inputs(task.train.X, ctx.device)
        y = label_indices(task.train.y, classes, ctx.device)
        runs = {}
        for repeat, seed in task.repeats.items():
            t0 = time.perf_counter()
            with isolated_rng(ctx.device):
                torch.manual_seed(seed)
                network = self.build_network(X, len(classes))
                for m in network.modules():
                    m.to(ctx.device)
                bar = tqdm(total=self.schedule.steps, desc=f"DOS fold {task.fold} repeat {repeat}", unit="batch",
                           leave=False, disable=not ctx.progress)
                trainer = DosTrainer(network, self.loss, self.schedule, X, y, settings.k, settings.copies, seed,
                                     progress=lambda done, total: bar.update(done - bar.n))
                try:
                    log = trainer.run()
                finally:
                    bar.close()
            runs[repeat] = FittedRun(predictor=DosPredictor(network, ctx.device),
                                     training={**asdict(log), "precision": "float32"},
                                     train_s=time.perf_counter() - t0)
        schedule = asdict(self.schedule)
        info = {"dos": {"form": self.form, "loss": self.loss.classification.form,
                        "classifier_ce": self.loss.classification.classifier_ce, "network": self.network,
                        "micro_cluster_weight": self.loss.micro_cluster_weight,
                        "micro_cluster_distance": self.loss.distance, **schedule, "betas": list(schedule["betas"]),
                        "k": {c: kc for c, kc in zip(classes, settings.k)},
                        "overload": {c: r for c, r in zip(classes, settings.copies)}}}
        return FoldFit(runs=runs, info=info)
