"""Algorithm 1 of GAMO: the alternation of the feature extractor F, classifier M, discriminator D and
generator G, one mini-batch at a time.

Per mini-batch (the "v steps" of Algorithm 1):

1. M and D on a real batch (D's target 1);
2. a generated batch, labels drawn over the minority classes with probability ∝ (n_max − n_i): M on it
   with those labels, D with target 0 (G fixed);
3. G: on a batch with labels drawn uniformly over the minority classes (the paper), one step through M
   (towards the complement of the labels) and one through D (towards 1), M and D fixed. The released
   code instead takes, for each minority class in turn, ⌈b / C⌉ samples of that class through the same
   two steps (``generator_updates: per_class``).

In the convolutional form each outer iteration first trains F through the fixed M on real batches (the
"u steps", one epoch by default as in the released code), then recomputes the features of every
training image: M, D and the IGUs work on these fixed features during the v steps (one epoch by
default). In the dense form F is the identity and there is one long run of v steps.

Training length counts the v-step mini-batches (``steps``), as the released code's 25,000 do.
"""
from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from imbench.divergence import LossWatch
from imbench.methods.gamo import adam
from imbench.methods.gamo.nets import ClassBatch, ClassPoints
from imbench.methods.gamo.objective import Objective


@dataclass(frozen=True)
class GamoSchedule:
    """How long and how GAMO trains (spec §5.1-5.2). The paper's choices are the defaults; the released
    code's are one setting away: ``soft_labels=True``, ``include_majority=True``,
    ``generator_updates='per_class'``, ``batch_order='fixed'``."""

    steps: int = 25000
    batch_size: int = 32
    latent_dim: int = 100
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = 1e-7
    discriminator: bool = True
    include_majority: bool = False
    soft_labels: bool = False
    generator_updates: str = "batch"
    batch_order: str = "shuffle"
    f_steps: int | None = None
    v_steps: int | None = None


@dataclass
class Players:
    """The networks of one GAMO training. ``features`` is None in the dense form (F = identity)."""

    classifier: nn.Module
    generator: nn.Module
    discriminator: nn.Module | None
    features: nn.Module | None = None


@dataclass(frozen=True)
class ClassLayout:
    """Which classes GAMO generates for: ``minority`` (class indices, one IGU slot each, in slot order),
    the ``majority`` class index, every class's training count and ``n_classes``."""

    minority: tuple[int, ...]
    majority: int
    counts: tuple[int, ...]

    @property
    def n_classes(self) -> int:
        return len(self.counts)

    def md_probabilities(self) -> torch.Tensor:
        """Slot probabilities of the generated batch for M and D: ∝ (n_max − n_i)."""
        deficit = torch.tensor([self.counts[self.majority] - self.counts[c] for c in self.minority], dtype=torch.float64)
        return deficit / deficit.sum()


@dataclass(frozen=True)
class GeneratedSamples:
    """Samples of a trained generator (pixels or features) and their class indices."""

    X: torch.Tensor
    labels: torch.Tensor


@dataclass
class TrainingLog:
    """What the record says about a GAMO training: mini-batches, outer iterations, the mean of each
    loss over the last 100 mini-batches, the class points' layout."""

    steps: int = 0
    outer_iterations: int = 0
    f_steps: int = 0
    final_losses: dict[str, float] = field(default_factory=dict)
    points_layout: str = ""  # how the convex combinations read the class points (ClassPoints; "batched": bmm)


class BatchOrder:
    """Indices of real mini-batches: a permutation read in batches, redrawn every epoch (``shuffle``)
    or drawn once and reread (``fixed``)."""

    def __init__(self, n: int, batch_size: int, fixed: bool, generator: torch.Generator) -> None:
        self.n, self.batch_size, self.fixed, self.generator = n, batch_size, fixed, generator
        self.order = torch.randperm(n, generator=generator)
        self.start = 0

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def next(self) -> torch.Tensor:
        if self.start >= self.n:
            self.start = 0
            if not self.fixed:
                self.order = torch.randperm(self.n, generator=self.generator)
        idx = self.order[self.start:self.start + self.batch_size]
        self.start += self.batch_size
        return idx


def full_precision(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 when autocast made it bf16 or fp16 (the IGUs combine the features in full
    precision); float32 and float64 as they are."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def draw_slot_counts(n_slots: int, size: int, probs: torch.Tensor | None, rng: torch.Generator) -> tuple[int, ...]:
    """How many of ``size`` generator labels fall in each minority slot: i.i.d. draws with ``probs``
    (None: uniform) from ``rng``."""
    p = _uniform(n_slots) if probs is None else probs
    draws = torch.multinomial(p, size, replacement=True, generator=rng)
    return tuple(torch.bincount(draws, minlength=n_slots).tolist())


@lru_cache(maxsize=16)
def _uniform(n_slots: int) -> torch.Tensor:
    return torch.full((n_slots,), 1.0 / n_slots, dtype=torch.float64)


def make_adam(params: Sequence[nn.Parameter], s: GamoSchedule):
    """Adam(lr, betas, eps) with torch's fused kernel where it has one for the device
    (:class:`imbench.methods.gamo.adam.FusedAdam`), else torch's Adam."""
    return adam.make_adam(params, s.lr, tuple(s.betas), s.eps)


class GamoTrainer:
    """Trains ``players`` on (X, y) by Algorithm 1.

    Parameters
    ----------
    players : the networks, already on the device.
    objective : the CE or LS losses.
    schedule : length, optimiser and the paper-or-code settings.
    layout : minority slots, majority class and class counts.
    X, y : the training inputs in the classifier network's form and their class indices, on the device.
    seed : seeds the batch order, the labels and the noise.
    progress : called as ``progress(steps_done, total)`` every 100 mini-batches.
    """

    def __init__(self, players: Players, objective: Objective, schedule: GamoSchedule, layout: ClassLayout,
                 X: torch.Tensor, y: torch.Tensor, seed: int,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.p, self.obj, self.s, self.layout = players, objective, schedule, layout
        self.X, self.y, self.seed, self.progress = X, y, seed, progress
        self.device = X.device
        self.rng = torch.Generator(device="cpu").manual_seed(seed)
        self.noise_rng = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.slot_index = [torch.nonzero(y == c).squeeze(1) for c in layout.minority]
        self.opt_m = make_adam(players.classifier.parameters(), schedule)
        self.opt_g = make_adam(players.generator.parameters(), schedule)
        self.opt_d = None if players.discriminator is None else make_adam(players.discriminator.parameters(), schedule)
        self.opt_f = None if players.features is None else make_adam(players.features.parameters(), schedule)
        self.g_params = list(players.generator.parameters())
        self.md_probs = layout.md_probabilities()
        self.recent: dict[str, list[torch.Tensor]] = {}
        self.watches: dict[str, LossWatch] = {}

    # -- batches ---------------------------------------------------------------------------------
    def class_batch(self, size: int, probs: torch.Tensor | None) -> ClassBatch:
        """``size`` generator labels, i.i.d. over the minority slots with ``probs`` (None: uniform),
        sorted by slot."""
        counts = draw_slot_counts(len(self.layout.minority), size, probs, self.rng)
        labels = [c for c, k in zip(self.layout.minority, counts) for _ in range(k)]
        return ClassBatch(torch.tensor(labels, dtype=torch.long, device=self.device), counts)

    def single_class_batch(self, slot: int, size: int) -> ClassBatch:
        return single_class_batch(self.layout, slot, size, self.device)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.s.latent_dim, generator=self.noise_rng, device=self.device)

    def d_targets(self, n: int, real: bool) -> torch.Tensor | float:
        """1 / 0, or the released code's soft targets 1 − U(0, 0.1) / U(0, 0.1)."""
        if not self.s.soft_labels:
            return 1.0 if real else 0.0
        u = torch.rand(n, generator=self.noise_rng, device=self.device) * 0.1
        return 1.0 - u if real else u

    # -- one player's step -----------------------------------------------------------------------
    def _step(self, opt, loss: torch.Tensor, params: list[nn.Parameter] | None,
              name: str, unused: Sequence[nn.Parameter] = ()) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=params)
        for q in unused:  # an IGU without samples in this batch takes no step, as if it were its own module
            q.grad = None
        opt.step()
        self.recent.setdefault(name, []).append(loss.detach())

    def generator_steps(self, batch: ClassBatch, points: ClassPoints) -> None:
        G, M, D = self.p.generator, self.p.classifier, self.p.discriminator
        unused = G.unused_slot_parameters(batch)
        z = self.noise(len(batch.labels))
        loss = self.obj.generator_vs_classifier(M(G(z, batch, points)), batch.labels, self.layout.majority,
                                                self.s.include_majority)
        self._step(self.opt_g, loss, self.g_params, "g_vs_m", unused)
        if D is not None:
            loss = self.obj.generator_vs_discriminator(D(G(z, batch, points), batch.labels))
            self._step(self.opt_g, loss, self.g_params, "g_vs_d", unused)

    def v_step(self, feats: torch.Tensor, points: ClassPoints, order: BatchOrder) -> None:
        """One mini-batch of M, D and G on fixed inputs ``feats`` (pixels or F's features)."""
        G, M, D = self.p.generator, self.p.classifier, self.p.discriminator
        idx = order.next().to(self.device)
        xr, yr = feats[idx], self.y[idx]
        self._step(self.opt_m, self.obj.classifier(M(xr), yr), None, "m_real")
        if D is not None:
            self._step(self.opt_d, self.obj.discriminator(D(xr, yr), self.d_targets(len(idx), True)), None, "d_real")
        gb = self.class_batch(self.s.batch_size, self.md_probs)
        with torch.no_grad():
            xg = G(self.noise(len(gb.labels)), gb, points)
        self._step(self.opt_m, self.obj.classifier(M(xg), gb.labels), None, "m_gen")
        if D is not None:
            self._step(self.opt_d, self.obj.discriminator(D(xg, gb.labels), self.d_targets(len(gb.labels), False)),
                       None, "d_gen")
        generator_updates(self, points)

    def f_step(self, order: BatchOrder) -> None:
        """One mini-batch of F through the fixed M on real images."""
        idx = order.next().to(self.device)
        loss = self.obj.classifier(self.p.classifier(self.p.features(self.X[idx])), self.y[idx])
        self._step(self.opt_f, loss, list(self.p.features.parameters()), "f")

    def class_points(self, feats: torch.Tensor) -> ClassPoints:
        """Each minority slot's points among ``feats``."""
        return ClassPoints([feats[i] for i in self.slot_index])

    @torch.no_grad()
    def features_of_all(self, batch: int = 1024) -> torch.Tensor:
        F = self.p.features
        return torch.cat([full_precision(F(self.X[i:i + batch])) for i in range(0, len(self.X), batch)])

    def check_losses(self, step: int) -> None:
        for name, values in self.recent.items():
            if values:
                if name not in self.watches:
                    self.watches[name] = LossWatch(f"GAMO's {name} loss", self.seed, "lower method.lr")
                self.watches[name].check(float(values[-1]), f"mini-batch {step}")
            del values[:-100]

    # -- the whole training ----------------------------------------------------------------------
    def run(self) -> TrainingLog:
        s, log = self.s, TrainingLog()
        order = BatchOrder(len(self.y), s.batch_size, s.batch_order == "fixed", self.rng)
        f_order = BatchOrder(len(self.y), s.batch_size, s.batch_order == "fixed", self.rng)
        for net in (self.p.classifier, self.p.generator, self.p.discriminator, self.p.features):
            if net is not None:
                net.train()
        run_algorithm_1(self, order, f_order, order.batches_per_epoch, self.p.features is not None, log)
        log.final_losses = {k: float(torch.stack(v[-100:]).mean()) for k, v in self.recent.items() if v}
        for net in (self.p.classifier, self.p.generator, self.p.discriminator, self.p.features):
            if net is not None:
                net.eval()
        final = self.features_of_all() if self.p.features is not None else self.X
        self.points = self.class_points(final)
        log.points_layout = self.points.layout
        return log

    def generate(self, per_slot: Sequence[int], chunk: int = 512) -> GeneratedSamples:
        """``per_slot[k]`` samples of each minority slot from the trained generator (eval mode) over the
        final inputs (pixels, or F's final features)."""
        return sample_generator(self.p.generator, self.points, self.layout, per_slot, self.noise, chunk)


def generator_updates(trainer, points) -> None:
    """The G steps of one mini-batch (``trainer.generator_steps`` on each batch of labels): one batch with
    labels uniform over the minority classes (Algorithm 1), or ⌈b / C⌉ samples of each minority class in
    turn (the released code, ``generator_updates: per_class``)."""
    s, layout = trainer.s, trainer.layout
    if s.generator_updates == "per_class":
        k = math.ceil(s.batch_size / layout.n_classes)
        for slot in range(len(layout.minority)):
            trainer.generator_steps(trainer.single_class_batch(slot, k), points)
    else:
        trainer.generator_steps(trainer.class_batch(s.batch_size, None), points)


def run_algorithm_1(trainer, order, f_order, per_epoch: int, has_features: bool, log: TrainingLog) -> None:
    """Algorithm 1's loop, for :class:`GamoTrainer` and the group trainer alike: per outer iteration
    (conv form) the F steps and every image's features, then the v steps of M, D and G on them; the
    divergence check every 50 and ``trainer.progress`` every 100 mini-batches. ``order`` / ``f_order``
    are what the trainer's ``v_step`` / ``f_step`` read their mini-batches from."""
    s = trainer.s
    while log.steps < s.steps:
        if has_features:
            for _ in range(s.f_steps or per_epoch):
                trainer.f_step(f_order)
                log.f_steps += 1
            feats = trainer.features_of_all()
            inner = min(s.v_steps or per_epoch, s.steps - log.steps)
        else:
            feats = trainer.X
            inner = s.steps - log.steps
        points = trainer.class_points(feats)
        for _ in range(inner):
            trainer.v_step(feats, points, order)
            log.steps += 1
            if log.steps % 50 == 0:
                trainer.check_losses(log.steps)
            if trainer.progress is not None and log.steps % 100 == 0:
                trainer.progress(log.steps, s.steps)
        log.outer_iterations += 1
    trainer.check_losses(log.steps)


def single_class_batch(layout: ClassLayout, slot: int, size: int, device: torch.device) -> ClassBatch:
    """``size`` generator labels, all of minority slot ``slot``."""
    counts = [0] * len(layout.minority)
    counts[slot] = size
    labels = torch.full((size,), layout.minority[slot], dtype=torch.long)
    return ClassBatch(labels.to(device), tuple(counts))


@torch.no_grad()
def sample_generator(generator: nn.Module, points: ClassPoints, layout: ClassLayout, per_slot: Sequence[int],
                     noise: Callable[[int], torch.Tensor], chunk: int = 512) -> GeneratedSamples:
    """``per_slot[k]`` samples of each minority slot from a trained ``generator`` over ``points``, with
    ``noise(n)`` drawing its z."""
    xs, ys = [], []
    device = points[0].device
    for slot, n in enumerate(per_slot):
        for start in range(0, n, chunk):
            batch = single_class_batch(layout, slot, min(chunk, n - start), device)
            xs.append(generator(noise(len(batch.labels)), batch, points))
            ys.append(batch.labels)
    if not xs:
        return GeneratedSamples(points[0].new_zeros((0, points[0].shape[1])),
                                torch.zeros(0, dtype=torch.long, device=device))
    return GeneratedSamples(torch.cat(xs), torch.cat(ys))
