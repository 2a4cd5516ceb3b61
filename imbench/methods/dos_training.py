"""DOS's training (see :mod:`imbench.methods.dos` for the algorithm and the choices made): the in-class
neighbours of every sample in the embedding space, the presentations with their random convex weights,
the micro-cluster loss, and the trainer that alternates refreshing the targets with training f and g.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from imbench.errors import TrainingError
from imbench.methods.gamo.objective import Objective
from imbench.methods.gamo.trainer import make_adam

DISTANCES = ("squared", "euclidean")


@dataclass(frozen=True)
class DosSchedule:
    """How DOS trains: mini-batches in all, batch, Adam's settings, pretraining and refresh interval (see
    :mod:`imbench.methods.dos`)."""

    steps: int = 25000
    batch_size: int = 32
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = 1e-7
    pretrain_steps: int | None = None
    refresh_every: int | None = None


@dataclass
class SplitNetwork:
    """The CN as DOS sees it: the embedding f and the classifier g on f's output."""

    embedding: nn.Module
    classifier: nn.Module

    def modules(self) -> tuple[nn.Module, nn.Module]:
        return self.embedding, self.classifier


@dataclass(frozen=True)
class Overloading:
    """One pass's presentations: ``samples[i]`` is the training sample shown the i-th time, ``weights[i]``
    its weights over the sample's neighbours (a zero row: shown plain, without a target)."""

    samples: torch.Tensor
    weights: torch.Tensor


@dataclass(frozen=True)
class Targets:
    """What a refresh fixes until the next one: f of every training sample (``embeddings``), each one's
    in-class nearest neighbours (``neighbours``, n × max k; columns past its class's k repeat the nearest
    and get weight 0) and the presentations drawn over them."""

    embeddings: torch.Tensor
    neighbours: torch.Tensor
    overloading: Overloading


@dataclass(frozen=True)
class LossTerms:
    """A mini-batch's loss: ``total`` = ``classification`` + weight × ``micro_cluster``."""

    total: torch.Tensor
    classification: torch.Tensor
    micro_cluster: torch.Tensor


@dataclass
class TrainingLog:
    """What the record says about one DOS training: mini-batches (all, and of pretraining), refreshes of
    the targets, presentations per pass, the mean of each loss term over the last 100 mini-batches."""

    steps: int = 0
    pretrain_steps: int = 0
    refreshes: int = 0
    presentations_per_pass: int = 0
    final_losses: dict[str, float] = field(default_factory=dict)


def in_class_neighbours(embeddings: torch.Tensor, labels: torch.Tensor, k_per_class: Sequence[int],
                        chunk: int = 2048) -> torch.Tensor:
    """Indices (n × max k) of each sample's k nearest neighbours of its own class (itself excluded), by
    Euclidean distance in the embedding space, nearest first; columns past its class's k repeat the
    nearest. A class with k = 0 gets the sample's own index."""
    n, k_max = len(labels), max(max(k_per_class), 1)
    out = torch.arange(n, device=labels.device).unsqueeze(1).repeat(1, k_max)
    for c, k in enumerate(k_per_class):
        members = torch.nonzero(labels == c).squeeze(1)
        if k == 0 or len(members) == 0:
            continue
        points = embeddings[members]
        for start in range(0, len(members), chunk):
            dist = torch.cdist(points[start:start + chunk], points)
            rows = torch.arange(dist.shape[0], device=dist.device)
            dist[rows, rows + start] = float("inf")
            nearest = members[dist.topk(k, dim=1, largest=False).indices]
            out[members[start:start + chunk]] = torch.cat([nearest, nearest[:, :1].expand(-1, k_max - k)], dim=1)
    return out


def draw_overloading(labels: torch.Tensor, copies_per_class: Sequence[int], k_per_class: Sequence[int],
                     generator: torch.Generator) -> Overloading:
    """Every sample once without target, then r_j copies of each sample of class j, each with weights
    drawn uniformly and L1-normalised over its class's k_j neighbours."""
    k_max = max(max(k_per_class), 1)
    samples, weights = [torch.arange(len(labels))], [torch.zeros(len(labels), k_max)]
    cpu_labels = labels.cpu()
    for c, (r, k) in enumerate(zip(copies_per_class, k_per_class)):
        members = torch.nonzero(cpu_labels == c).squeeze(1)
        if r == 0 or len(members) == 0:
            continue
        w = torch.rand(len(members) * r, k, generator=generator)
        samples.append(members.repeat(r))
        weights.append(torch.cat([w / w.sum(1, keepdim=True), torch.zeros(len(w), k_max - k)], dim=1))
    device = labels.device
    return Overloading(torch.cat(samples).to(device), torch.cat(weights).to(device))


def embedding_targets(neighbour_embeddings: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The targets Σ_m w_m v_m (B × D) of presentations with neighbour embeddings v (B × k × D)."""
    return torch.einsum("bk,bkd->bd", weights, neighbour_embeddings)


def micro_cluster_loss(embeddings: torch.Tensor, neighbour_embeddings: torch.Tensor, weights: torch.Tensor,
                       distance: str = "squared") -> torch.Tensor:
    """The micro-cluster loss of each presentation (B,): Σ_m w_m ‖f(x) − v_m‖² (``squared``) or
    Σ_m w_m ‖f(x) − v_m‖ (``euclidean``)."""
    sq = ((embeddings.unsqueeze(1) - neighbour_embeddings) ** 2).sum(-1)
    if distance == "euclidean":
        # the gradient of √· is infinite at 0; a plain presentation (w = 0) may sit on its padded neighbour
        sq = torch.sqrt(sq.clamp_min(1e-12))
    return (weights * sq).sum(1)


@dataclass(frozen=True)
class DosLoss:
    """The classification loss of GAMO's CN (``ce`` or ``ls``) plus the weighted micro-cluster loss."""

    classification: Objective
    micro_cluster_weight: float = 1.0
    distance: str = "squared"

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor, embeddings: torch.Tensor,
                 neighbour_embeddings: torch.Tensor | None, weights: torch.Tensor | None) -> LossTerms:
        cls = self.classification.classifier(logits, labels)
        if neighbour_embeddings is None or self.micro_cluster_weight == 0:
            return LossTerms(cls, cls, cls.new_zeros(()))
        mc = micro_cluster_loss(embeddings, neighbour_embeddings, weights, self.distance).mean()
        return LossTerms(cls + self.micro_cluster_weight * mc, cls, mc)


class DosTrainer:
    """Trains ``network`` on (X, y) by DOS: pretraining, then rounds of (refresh targets, train).

    Parameters
    ----------
    network : f and g, on the device, freshly initialised (seed torch first).
    loss : the classification and micro-cluster terms.
    schedule : length, optimiser and refresh interval.
    X, y : training inputs in the network's form and their class indices, on the device.
    k_per_class, copies_per_class : k_j and r_j by class index (k_j = 0 where r_j = 0).
    seed : seeds the presentation order and the weight draws.
    progress : called as ``progress(steps_done, total)`` every 100 mini-batches.
    """

    def __init__(self, network: SplitNetwork, loss: DosLoss, schedule: DosSchedule, X: torch.Tensor, y: torch.Tensor,
                 k_per_class: Sequence[int], copies_per_class: Sequence[int], seed: int,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.net, self.loss, self.s, self.X, self.y = network, loss, schedule, X, y
        self.k_per_class, self.copies_per_class = k_per_class, copies_per_class
        self.seed, self.progress = seed, progress
        self.rng = torch.Generator(device="cpu").manual_seed(seed)
        params = [p for m in network.modules() for p in m.parameters()]
        self.opt = make_adam(params, schedule)
        self.recent: dict[str, list[torch.Tensor]] = {}
        self.unchecked: list[torch.Tensor] = []

    @torch.no_grad()
    def refresh(self, batch: int = 1024) -> Targets:
        """Embed every training sample with the current f, find in-class neighbours, draw presentations."""
        self.net.embedding.eval()
        emb = torch.cat([self.net.embedding(self.X[i:i + batch]) for i in range(0, len(self.X), batch)]).float()
        self.net.embedding.train()
        neighbours = in_class_neighbours(emb, self.y, self.k_per_class)
        return Targets(emb, neighbours, draw_overloading(self.y, self.copies_per_class, self.k_per_class, self.rng))

    def step(self, samples: torch.Tensor, weights: torch.Tensor | None, targets: Targets | None) -> None:
        """One mini-batch of presentations ``samples`` (training indices) with ``weights``."""
        emb = self.net.embedding(self.X[samples])
        logits = self.net.classifier(emb)
        neighbour_emb = None if targets is None else targets.embeddings[targets.neighbours[samples]]
        terms = self.loss(logits, self.y[samples], emb, neighbour_emb, weights)
        self.opt.zero_grad(set_to_none=True)
        terms.total.backward()
        self.opt.step()
        for name in ("total", "classification", "micro_cluster"):
            self.recent.setdefault(name, []).append(getattr(terms, name).detach())
        self.unchecked.append(self.recent["total"][-1])

    def _check(self, step: int) -> None:
        """Raise at the first non-finite loss since the last check (every 50 mini-batches, so that a GPU
        does not wait for every loss); ``step`` is the number of mini-batches done."""
        if self.unchecked:
            losses = torch.stack(self.unchecked).cpu()
            bad = torch.nonzero(~torch.isfinite(losses)).squeeze(1)
            if len(bad):
                at = step - len(losses) + int(bad[0]) + 1
                raise TrainingError(f"DOS's loss became {float(losses[bad[0]])} at mini-batch {at} "
                                    f"(seed {self.seed}); lower method.lr or method.micro_cluster_weight, or "
                                    "check the input data for NaN/inf")
            self.unchecked.clear()
        for values in self.recent.values():
            del values[:-100]

    def _train(self, log: TrainingLog, n_batches: int, overloading: Overloading, targets: Targets | None) -> None:
        """``n_batches`` mini-batches of presentations, reshuffled at every pass (no targets: plain)."""
        order, start = torch.randperm(len(overloading.samples), generator=self.rng), 0
        for _ in range(n_batches):
            if start >= len(order):
                order, start = torch.randperm(len(overloading.samples), generator=self.rng), 0
            pick = order[start:start + self.s.batch_size].to(self.X.device)
            start += self.s.batch_size
            self.step(overloading.samples[pick], None if targets is None else overloading.weights[pick], targets)
            log.steps += 1
            if log.steps % 50 == 0:
                self._check(log.steps)
            if self.progress is not None and log.steps % 100 == 0:
                self.progress(log.steps, self.s.steps)

    def run(self) -> TrainingLog:
        """Pretrain, then alternate refreshing the targets with training until ``steps`` mini-batches."""
        s, log, n = self.s, TrainingLog(), len(self.y)
        for m in self.net.modules():
            m.train()
        epoch = math.ceil(n / s.batch_size)
        log.pretrain_steps = min(epoch if s.pretrain_steps is None else s.pretrain_steps, s.steps // 2)
        plain = Overloading(torch.arange(n, device=self.X.device), torch.zeros(n, 1, device=self.X.device))
        self._train(log, log.pretrain_steps, plain, None)
        while log.steps < s.steps:
            targets = self.refresh()
            log.refreshes += 1
            log.presentations_per_pass = len(targets.overloading.samples)
            per_round = s.refresh_every or math.ceil(log.presentations_per_pass / s.batch_size)
            self._train(log, min(per_round, s.steps - log.steps), targets.overloading, targets)
        self._check(log.steps)
        log.final_losses = {k: float(torch.stack(v[-100:]).mean()) for k, v in self.recent.items() if v}
        for m in self.net.modules():
            m.eval()
        return log
