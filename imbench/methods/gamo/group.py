"""Many GAMO trainings of one shape as one group: the repeats (and skewed draws) of a table cell.

A GAMO mini-batch is dozens of tiny operations (M and D on 32 samples, then the generator through
nine small IGUs), so one training keeps a GPU almost idle. :class:`GamoGroupTrainer` runs Algorithm 1
for N members at once: every network's parameters are stacked along a leading member dimension
(:class:`imbench.vmap.StackedModule`), M, D, the cTMU and F run under ``torch.vmap``, and each player's
loss is the sum of the members' own losses, so no gradient crosses members.

Member i is the training that :class:`imbench.methods.gamo.trainer.GamoTrainer` gives with its seed,
up to floating-point rounding (``tests/test_gamo_group.py``):

* initial weights: built right after ``torch.manual_seed(seed_i)``, as sequentially;
* randomness: its own batch-order / label generator (seed_i) and noise generator (seed_i + 1), read in
  the sequential order, so its mini-batches, labels, z and soft targets are the sequential ones;
* the IGUs: members draw different label counts per class, so each IGU runs on as many rows as the
  member with the most samples of its class, padded rows left out of the output; an IGU without samples
  in a member's batch takes no step for that member (:class:`MemberAdam`), as sequentially, where it
  gets no gradient and Adam skips it;
* Adam: elementwise, so torch's Adam on stacked tensors is N independent Adams for every network that
  steps in every member (M, D, F, the cTMU, the free generator's head).

A member whose loss diverges is reported for that member alone; the others finish.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from imbench.divergence import LossWatch
from imbench.errors import TrainingError
from imbench.methods.gamo.nets import ClassPoints, ConvexGenerator
from imbench.methods.gamo.objective import Objective
from imbench.methods.gamo.trainer import (BatchOrder, ClassLayout, GamoSchedule, GeneratedSamples, Players,
                                          TrainingLog, draw_slot_counts, full_precision, generator_updates,
                                          make_adam, run_algorithm_1, sample_generator)
from imbench.vmap import StackedModule


class MemberAdam:
    """Adam on stacked tensors (member dimension first) in which a member may skip a step.

    A skipping member's parameters, moments and step count stay as they are, as when torch's Adam
    meets a parameter without gradient. Same update as ``torch.optim.Adam`` (no weight decay, no
    amsgrad), with a step count per member.
    """

    def __init__(self, params: Sequence[torch.Tensor], lr: float, betas: tuple[float, float], eps: float) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [torch.zeros(p.shape[0], dtype=torch.float64, device=p.device) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: Sequence[torch.Tensor]) -> None:
        """One step; ``active[j]`` (bool, one per member) says which members step ``params[j]``."""
        b1, b2 = self.betas
        for p, m, v, t, a in zip(self.params, self.exp_avg, self.exp_avg_sq, self.steps, active):
            if p.grad is None:
                continue
            g = p.grad
            shape = (-1,) + (1,) * (p.dim() - 1)
            on = a.view(shape)
            t.add_(a.to(t.dtype))
            m.copy_(torch.where(on, m.lerp(g, 1.0 - b1), m))
            v.copy_(torch.where(on, v * b2 + (1.0 - b2) * g * g, v))
            done = t.clamp(min=1.0)
            step_size = (self.lr / (1.0 - b1 ** done)).to(p.dtype).view(shape)
            bias2_sqrt = torch.sqrt(1.0 - b2 ** done).to(p.dtype).view(shape)
            p.copy_(torch.where(on, p - step_size * m / (v.sqrt() / bias2_sqrt + self.eps), p))


@dataclass(frozen=True)
class GroupBatch:
    """The generator labels of every member, sorted by slot per member.

    ``labels`` (members × B class indices); ``counts`` (members × slots); per slot ``rows``: members ×
    K_k indices into the batch, K_k the largest count of slot k over the members, padded with 0 (None
    when no member has the slot); ``gather``: members × B, where each sample's output sits among the
    slots' concatenated (padded) outputs; ``active``: members × slots, which IGUs have samples."""

    labels: torch.Tensor
    counts: np.ndarray
    rows: list[torch.Tensor | None]
    gather: torch.Tensor
    active: torch.Tensor


def group_batch(counts: np.ndarray, minority: Sequence[int], device: torch.device) -> GroupBatch:
    """The :class:`GroupBatch` of per-member slot ``counts`` (members × slots)."""
    counts = np.asarray(counts, dtype=np.int64)
    n_members, n_slots = counts.shape
    widest = counts.max(axis=0)
    offsets = np.concatenate([[0], np.cumsum(widest)[:-1]])
    starts = np.concatenate([np.zeros((n_members, 1), np.int64), np.cumsum(counts, axis=1)[:, :-1]], axis=1)
    rows: list[torch.Tensor | None] = []
    for k in range(n_slots):
        if widest[k] == 0:
            rows.append(None)
            continue
        j = np.arange(widest[k])[None, :]
        rows.append(torch.as_tensor(np.where(j < counts[:, k:k + 1], starts[:, k:k + 1] + j, 0), device=device))
    size = int(counts[0].sum())
    gather = np.empty((n_members, size), np.int64)
    labels = np.empty((n_members, size), np.int64)
    for m in range(n_members):
        for k in range(n_slots):
            c, s = counts[m, k], starts[m, k]
            gather[m, s:s + c] = offsets[k] + np.arange(c)
            labels[m, s:s + c] = minority[k]
    return GroupBatch(torch.as_tensor(labels, device=device), counts, rows, torch.as_tensor(gather, device=device),
                      torch.as_tensor(counts > 0, device=device))


class GroupGenerator:
    """The members' generators as one: the cTMU under ``torch.vmap``; per slot the IGUs' stacked weights
    on the padded rows of that slot (convex); or the free generator's dense tanh head."""

    def __init__(self, generators: Sequence[nn.Module]) -> None:
        self.convex = isinstance(generators[0], ConvexGenerator)
        self.tmu = StackedModule([g.tmu for g in generators])
        if self.convex:
            self.igus = [StackedModule([g.igus[k] for g in generators]) for k in range(len(generators[0].igus))]
            self.head = None
        else:
            self.igus = []
            self.head = StackedModule([g.head for g in generators])

    def dense_parameters(self) -> list[torch.Tensor]:
        """Parameters every member steps at every generator step."""
        return list(self.tmu.parameters()) + ([] if self.head is None else list(self.head.parameters()))

    def slot_parameters(self) -> list[tuple[int, torch.Tensor]]:
        """(slot, stacked parameter) of every IGU."""
        return [(k, p) for k, igu in enumerate(self.igus) for p in igu.parameters()]

    def modules(self) -> list[StackedModule]:
        return [self.tmu, *self.igus] + ([] if self.head is None else [self.head])

    def train(self, mode: bool = True) -> None:
        for m in self.modules():
            m.train(mode)

    def __call__(self, z: torch.Tensor, batch: GroupBatch, points: Sequence[torch.Tensor] | None) -> torch.Tensor:
        """Samples, members × B × d (``points[k]``: members × n_k × d)."""
        h = self.tmu(z, batch.labels)
        if self.head is not None:
            return torch.tanh(self.head(h))
        parts = []
        for k, rows in enumerate(batch.rows):
            if rows is None:
                continue
            hk = h.gather(1, rows.unsqueeze(-1).expand(-1, -1, h.shape[-1]))
            igu = self.igus[k].params
            logits = torch.baddbmm(igu["bias"].unsqueeze(1), hk, igu["weight"].transpose(1, 2))
            parts.append(torch.bmm(torch.softmax(logits, dim=-1), points[k]))
        out = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        return out.gather(1, batch.gather.unsqueeze(-1).expand(-1, -1, out.shape[-1]))

    def unstack(self) -> None:
        for m in self.modules():
            m.unstack()


class GroupGeneratorOptimizer:
    """torch's Adam for the generator parameters every member steps, :class:`MemberAdam` for the IGUs."""

    def __init__(self, gen: GroupGenerator, schedule: GamoSchedule, device: torch.device) -> None:
        self.dense = make_adam(gen.dense_parameters(), schedule)
        slots = gen.slot_parameters()
        self.slots = [k for k, _ in slots]
        self.igus = MemberAdam([p for _, p in slots], schedule.lr, tuple(schedule.betas), schedule.eps)
        self.params = gen.dense_parameters() + [p for _, p in slots]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.dense.zero_grad(set_to_none=set_to_none)
        self.igus.zero_grad()

    def step(self, active: torch.Tensor) -> None:
        self.dense.step()
        self.igus.step([active[:, k] for k in self.slots])


@dataclass
class MemberResult:
    """One member after training: its log, or the error that stopped it, and its sampler."""

    log: TrainingLog
    error: TrainingError | None
    sampler: "MemberSampler"


class MemberSampler:
    """Samples of one member's trained generator, as :meth:`GamoTrainer.generate` gives them (its class
    points are laid out only when it samples: most members never do)."""

    def __init__(self, generator: nn.Module, points: Sequence[torch.Tensor], layout: ClassLayout,
                 noise: Callable[[int], torch.Tensor]) -> None:
        self.generator, self.points, self.layout, self.noise = generator, list(points), layout, noise

    def generate(self, per_slot: Sequence[int], chunk: int = 512) -> GeneratedSamples:
        return sample_generator(self.generator, ClassPoints(self.points), self.layout, per_slot, self.noise, chunk)


class GamoGroupTrainer:
    """Algorithm 1 for N members at once (see the module docstring).

    Parameters
    ----------
    members : each member's networks, built after seeding torch with its seed, on the device.
    objective, schedule, layout : as :class:`GamoTrainer`; one for all members.
    X, y : members × N inputs (the classifier network's form) and their class indices, on the device.
    seeds : each member's seed.
    progress : called as ``progress(steps_done, total)`` every 100 mini-batches.
    """

    def __init__(self, members: Sequence[Players], objective: Objective, schedule: GamoSchedule, layout: ClassLayout,
                 X: torch.Tensor, y: torch.Tensor, seeds: Sequence[int],
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.members, self.obj, self.s, self.layout = list(members), objective, schedule, layout
        self.X, self.y, self.seeds, self.progress = X, y, list(seeds), progress
        self.n = len(self.members)
        self.device = X.device
        self.rows = torch.arange(self.n, device=self.device)[:, None]
        self.rngs = [torch.Generator(device="cpu").manual_seed(s) for s in self.seeds]
        self.noise_rngs = [torch.Generator(device=self.device).manual_seed(s + 1) for s in self.seeds]
        self.M = StackedModule([p.classifier for p in self.members])
        self.G = GroupGenerator([p.generator for p in self.members])
        self.D = None if self.members[0].discriminator is None else StackedModule([p.discriminator for p in self.members])
        self.F = None if self.members[0].features is None else StackedModule([p.features for p in self.members])
        self.opt_m = make_adam(self.M.parameters(), schedule)
        self.opt_g = GroupGeneratorOptimizer(self.G, schedule, self.device)
        self.opt_d = None if self.D is None else make_adam(self.D.parameters(), schedule)
        self.opt_f = None if self.F is None else make_adam(self.F.parameters(), schedule)
        # per slot, members × n_k indices of that class's training points (n_k is every member's count)
        self.slot_index = [torch.stack([torch.nonzero(y[m] == c).squeeze(1) for m in range(self.n)])
                           for c in layout.minority]
        self.md_probs = layout.md_probabilities()
        self.recent: dict[str, list[torch.Tensor]] = {}
        self.watches: dict[str, list[LossWatch]] = {}
        self.errors: list[TrainingError | None] = [None] * self.n
        majority, incl = layout.majority, schedule.include_majority
        m_fwd, obj = self.M.member_forward, objective
        self._m_loss = torch.vmap(lambda p, b, x, y: obj.classifier(m_fwd(p, b, x), y))
        self._g_vs_m = torch.vmap(lambda p, b, x, y: obj.generator_vs_classifier(m_fwd(p, b, x), y, majority, incl))
        if self.D is not None:
            d_fwd = self.D.member_forward
            self._d_loss = torch.vmap(lambda p, b, x, y, t: obj.discriminator(d_fwd(p, b, x, y), t))
        if self.F is not None:
            f_fwd = self.F.member_forward
            self._f_loss = torch.vmap(lambda pf, bf, pm, bm, x, y: obj.classifier(m_fwd(pm, bm, f_fwd(pf, bf, x)), y))

    # -- randomness, member by member in the sequential order ------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        return torch.stack([torch.randn(n, self.s.latent_dim, generator=g, device=self.device)
                            for g in self.noise_rngs])

    def d_targets(self, n: int, real: bool) -> torch.Tensor:
        if not self.s.soft_labels:
            return torch.full((self.n, n), 1.0 if real else 0.0, device=self.device)
        u = torch.stack([torch.rand(n, generator=g, device=self.device) for g in self.noise_rngs]) * 0.1
        return 1.0 - u if real else u

    def class_batch(self, size: int, probs: torch.Tensor | None) -> GroupBatch:
        counts = [draw_slot_counts(len(self.layout.minority), size, probs, rng) for rng in self.rngs]
        return group_batch(np.array(counts), self.layout.minority, self.device)

    def single_class_batch(self, slot: int, size: int) -> GroupBatch:
        counts = np.zeros((self.n, len(self.layout.minority)), np.int64)
        counts[:, slot] = size
        return group_batch(counts, self.layout.minority, self.device)

    @staticmethod
    def next_batch(orders: Sequence[BatchOrder]) -> torch.Tensor:
        return torch.stack([o.next() for o in orders])

    # -- one player's step -----------------------------------------------------------------------
    def _step(self, opt, losses: torch.Tensor, params: list[torch.Tensor], name: str,
              active: torch.Tensor | None = None) -> None:
        opt.zero_grad(set_to_none=True)
        losses.sum().backward(inputs=params)  # a member's parameters see only its own loss
        opt.step() if active is None else opt.step(active)
        self.recent.setdefault(name, []).append(losses.detach())

    def generator_steps(self, batch: GroupBatch, points: Sequence[torch.Tensor]) -> None:
        z = self.noise(batch.labels.shape[1])
        losses = self._g_vs_m(self.M.params, self.M.buffers, self.G(z, batch, points), batch.labels)
        self._step(self.opt_g, losses, self.opt_g.params, "g_vs_m", batch.active)
        if self.D is not None:
            ones = torch.ones(batch.labels.shape, device=self.device)
            losses = self._d_loss(self.D.params, self.D.buffers, self.G(z, batch, points), batch.labels, ones)
            self._step(self.opt_g, losses, self.opt_g.params, "g_vs_d", batch.active)

    def v_step(self, feats: torch.Tensor, points: Sequence[torch.Tensor], orders: Sequence[BatchOrder]) -> None:
        """One mini-batch of M, D and G of every member on fixed inputs ``feats`` (members × N × d)."""
        idx = self.next_batch(orders).to(self.device)
        xr, yr = feats[self.rows, idx], self.y[self.rows, idx]
        m_params = list(self.M.parameters())
        self._step(self.opt_m, self._m_loss(self.M.params, self.M.buffers, xr, yr), m_params, "m_real")
        if self.D is not None:
            d_params = list(self.D.parameters())
            t = self.d_targets(idx.shape[1], True)
            self._step(self.opt_d, self._d_loss(self.D.params, self.D.buffers, xr, yr, t), d_params, "d_real")
        gb = self.class_batch(self.s.batch_size, self.md_probs)
        with torch.no_grad():
            xg = self.G(self.noise(gb.labels.shape[1]), gb, points)
        self._step(self.opt_m, self._m_loss(self.M.params, self.M.buffers, xg, gb.labels), m_params, "m_gen")
        if self.D is not None:
            t = self.d_targets(gb.labels.shape[1], False)
            self._step(self.opt_d, self._d_loss(self.D.params, self.D.buffers, xg, gb.labels, t), d_params, "d_gen")
        generator_updates(self, points)

    def f_step(self, orders: Sequence[BatchOrder]) -> None:
        """One mini-batch of every member's F through its fixed M on real images."""
        idx = self.next_batch(orders).to(self.device)
        losses = self._f_loss(self.F.params, self.F.buffers, self.M.params, self.M.buffers,
                              self.X[self.rows, idx], self.y[self.rows, idx])
        self._step(self.opt_f, losses, list(self.F.parameters()), "f")

    @torch.no_grad()
    def features_of_all(self, batch: int = 1024) -> torch.Tensor:
        """F's features of every member's training images, ``batch`` images at a time in all."""
        N, batch = self.X.shape[1], max(1, batch // self.n)
        return torch.cat([full_precision(self.F(self.X[:, i:i + batch])) for i in range(0, N, batch)], dim=1)

    def class_points(self, feats: torch.Tensor) -> list[torch.Tensor]:
        """Per slot the members' points of that class, members × n_k × d."""
        return [feats[self.rows, self.slot_index[k]].contiguous() for k in range(len(self.layout.minority))]

    def check_losses(self, step: int) -> None:
        for name, values in self.recent.items():
            if values:
                watches = self.watches.setdefault(
                    name, [LossWatch(f"GAMO's {name} loss", s, "lower method.lr") for s in self.seeds])
                for i, v in enumerate(values[-1].tolist()):
                    if self.errors[i] is None:
                        try:
                            watches[i].check(v, f"mini-batch {step}")
                        except TrainingError as e:  # this member only: no gradient crosses members
                            self.errors[i] = e
            del values[:-100]

    def _set_mode(self, training: bool) -> None:
        for net in (self.M, self.D, self.F):
            if net is not None:
                net.train(training)
        self.G.train(training)

    # -- the whole training ----------------------------------------------------------------------
    def run(self) -> list[MemberResult]:
        """Train every member; copy the trained weights back into the members' networks."""
        s, log = self.s, TrainingLog()
        fixed = s.batch_order == "fixed"
        N = self.X.shape[1]
        orders = [BatchOrder(N, s.batch_size, fixed, rng) for rng in self.rngs]
        f_orders = [BatchOrder(N, s.batch_size, fixed, rng) for rng in self.rngs]
        self._set_mode(True)
        run_algorithm_1(self, orders, f_orders, orders[0].batches_per_epoch, self.F is not None, log)
        finals = {k: torch.stack(v[-100:]).mean(0).tolist() for k, v in self.recent.items() if v}
        self._set_mode(False)
        final = self.features_of_all() if self.F is not None else self.X
        points = self.class_points(final)
        for net in (self.M, self.D, self.F, self.G):
            if net is not None:
                net.unstack()
        out = []
        for i, (players, g) in enumerate(zip(self.members, self.noise_rngs)):
            for net in (players.classifier, players.generator, players.discriminator, players.features):
                if net is not None:
                    net.eval()
            member_log = TrainingLog(log.steps, log.outer_iterations, log.f_steps,
                                     {k: float(v[i]) for k, v in finals.items()}, points_layout="batched")
            noise = (lambda n, g=g, dim=s.latent_dim, device=self.device:  # not self: the trainer can go
                     torch.randn(n, dim, generator=g, device=device))
            sampler = MemberSampler(players.generator, [p[i] for p in points], self.layout, noise)
            out.append(MemberResult(member_log, self.errors[i], sampler))
        return out
