"""Train N independent models of one architecture at once with ``torch.vmap``.

The N models' parameters are stacked (:func:`torch.func.stack_module_state`), one forward pass over
all of them is ``vmap(functional_call)``, and the optimiser (Adam, RMSprop or SGD, written out on the
stacked tensors with torch.optim's formulas) updates every member from its own gradient and state.

Each member reproduces what :func:`imbench.classifiers.train.train_model` does for its seed:

* initialisation: the model is built by ``make_model()`` right after ``torch.manual_seed(seed_i)``,
  as :meth:`imbench.classifiers.downstream.DownstreamClassifier.fit` does;
* data order: its own ``torch.Generator().manual_seed(seed_i)`` permutations, drawn at the same
  points (every epoch with ``shuffle='epoch'``, once with ``'once'``);
* the loss is its own (weighted) mean over its own mini-batch.

Dropout masks come from ``vmap(..., randomness='different')``: independent across members, but not
the same numbers as sequential training (which draws them from the global generator seeded with
``seed_i``). With dropout 0 batched and sequential training agree to floating-point rounding.

Members may have different dataset sizes: mini-batches are padded to ``batch_size`` and masked, a
member whose schedule is finished (fewer steps) is frozen. A member whose loss becomes non-finite is
frozen at its last finite parameters and reported in :attr:`BatchedResult.errors`; the others go on
unaffected (the loss of the batch is the sum of the per-member losses, so each member's gradient and
optimiser state depend only on its own data).

Not supported: ``schedule.selection='best_val'`` (raises ``ValueError``).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state

from imbench.classifiers.train import Schedule, TrainResult, per_sample_loss

Dataset = tuple[torch.Tensor, torch.Tensor, "torch.Tensor | None"]


@dataclass
class BatchedResult:
    """What :func:`train_models_batched` returns, one entry per member, in input order.

    ``errors[i]`` is ``None`` when member i trained to the end, else a message saying at which
    epoch and step its loss became non-finite; ``models[i]`` then holds its last finite parameters.
    """

    models: list[nn.Module]
    results: list[TrainResult]
    errors: list[str | None]

    @property
    def ok(self) -> list[bool]:
        return [e is None for e in self.errors]


class _StackedOptimizer:
    """Adam / RMSprop / SGD on stacked parameters (leading dim = member), with a per-member mask.

    The formulas are torch.optim's (Adam: bias-corrected, ``eps`` added after the square root;
    RMSprop: uncentred, no momentum; SGD: optional momentum, no dampening, no Nesterov). Members
    whose ``active`` flag is False keep their parameters and optimiser state unchanged.
    """

    def __init__(self, params: list[torch.Tensor], s: Schedule, n_members: int) -> None:
        self.s = s
        self.params = params
        dev = params[0].device
        self.t = torch.zeros(n_members, device=dev, dtype=torch.float64)
        self.state1 = [torch.zeros_like(p) for p in params]
        self.state2 = [torch.zeros_like(p) for p in params] if s.optimizer == "adam" else None

    @staticmethod
    def _bc(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return x.to(p.dtype).view((-1,) + (1,) * (p.ndim - 1))

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], active: torch.Tensor) -> None:
        s = self.s
        self.t += active.to(self.t.dtype)
        for i, (p, g) in enumerate(zip(self.params, grads)):
            mask = active.view((-1,) + (1,) * (p.ndim - 1))
            if s.weight_decay:
                g = g + s.weight_decay * p
            if s.optimizer == "adam":
                b1, b2 = s.betas
                m, v = self.state1[i], self.state2[i]
                m_new = torch.lerp(m, g, 1 - b1)
                v_new = v * b2 + (1 - b2) * g * g
                bc1 = self._bc(1 - b1 ** self.t, p)
                bc2 = self._bc(1 - b2 ** self.t, p)
                denom = v_new.sqrt() / bc2.sqrt() + s.eps
                p_new = p - (s.lr / bc1) * m_new / denom
                self.state1[i] = torch.where(mask, m_new, m)
                self.state2[i] = torch.where(mask, v_new, v)
            elif s.optimizer == "rmsprop":
                v = self.state1[i]
                v_new = v * s.alpha + (1 - s.alpha) * g * g
                p_new = p - s.lr * g / (v_new.sqrt() + s.eps)
                self.state1[i] = torch.where(mask, v_new, v)
            else:
                if s.momentum:
                    buf = self.state1[i]
                    first = self._bc(self.t == 1, p).bool()
                    buf_new = torch.where(first, g, buf * s.momentum + g)
                    self.state1[i] = torch.where(mask, buf_new, buf)
                    g = buf_new
                p_new = p - s.lr * g
            p.copy_(torch.where(mask, p_new, p))


def train_models_batched(
    make_model: Callable[[], nn.Module],
    datasets: Sequence[Dataset],
    schedule: Schedule,
    seeds: Sequence[int],
    *,
    device: torch.device | str | None = None,
) -> BatchedResult:
    """Train ``len(seeds)`` independent models built by ``make_model`` on ``datasets``, all at once.

    Parameters
    ----------
    make_model : builds one (untrained) model; called once per member under ``torch.manual_seed(seed)``.
    datasets : one ``(X, y, sample_weight or None)`` per member, or a single one shared by all members.
        Identical tensor objects are stored once. Sizes may differ.
    schedule : the :class:`Schedule` every member follows (``selection='best_val'`` is not supported).
    seeds : one seed per member (initialisation and data order, as in ``train_model``).
    device : where to train; default: the device of the first ``X``.

    Returns
    -------
    BatchedResult with the trained models (in eval mode), their :class:`TrainResult` and error status.
    The global torch generator is reseeded with ``seeds[0]`` (dropout masks), as ``train_model`` does.
    """
    seeds = [int(s) for s in seeds]
    n_mem = len(seeds)
    if n_mem == 0:
        raise ValueError("train_models_batched needs at least one seed")
    if len(datasets) == 1 and n_mem > 1:
        datasets = list(datasets) * n_mem
    if len(datasets) != n_mem:
        raise ValueError(f"got {len(datasets)} datasets for {n_mem} seeds; give one per seed or one shared")
    if schedule.selection != "last":
        raise ValueError("train_models_batched supports schedule.selection='last' only; "
                         "use train_model for best-validation model selection")
    dev = torch.device(device) if device is not None else datasets[0][0].device

    # --- data: unique tensors concatenated once, members address them by offset ---
    uniq: dict[tuple[int, int, int], int] = {}
    xs, ys, ws, offsets, sizes = [], [], [], [], []
    total = 0
    for X, y, w in datasets:
        if len(y) == 0:
            raise ValueError("empty training set in datasets")
        if len(X) != len(y) or (w is not None and len(w) != len(y)):
            raise ValueError("X, y and sample_weight of a dataset must have the same length")
        key = (id(X), id(y), id(w))
        if key not in uniq:
            uniq[key] = total
            xs.append(X.to(dev))
            ys.append(y.to(dev))
            ws.append(w.to(dev, torch.float32) if w is not None else torch.ones(len(y), device=dev))
            total += len(y)
        offsets.append(uniq[key])
        sizes.append(len(y))
    X_all, y_all, w_all = torch.cat(xs), torch.cat(ys), torch.cat(ws)
    del xs, ys, ws

    # --- models: sequential-identical inits, then stacked ---
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(make_model().to(dev))
    for m in models:
        m.train()
    params, buffers = stack_module_state(models)
    names = list(params)
    plist = [params[k] for k in names]
    base = copy.deepcopy(models[0]).to("meta")

    def member_loss(p: dict, b: dict, x: torch.Tensor, t: torch.Tensor, w: torch.Tensor, valid: torch.Tensor):
        logits = functional_call(base, (p, b), (x,))
        losses = per_sample_loss(logits, t, schedule.loss) * w
        return torch.where(valid, losses, torch.zeros_like(losses)).sum() / valid.sum()

    batched_loss = torch.vmap(member_loss, randomness="different")
    opt = _StackedOptimizer(plist, schedule, n_mem)

    # --- schedule bookkeeping (CPU side, same as train_model) ---
    B = schedule.batch_size
    per_epoch = [math.ceil(n / B) for n in sizes]
    steps = [schedule.steps if schedule.steps is not None else schedule.epochs * pe for pe in per_epoch]
    T = max(steps)
    gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    n_max = max(sizes)
    orders = torch.zeros(n_mem, n_max, dtype=torch.long)
    for i in range(n_mem):
        orders[i, :sizes[i]] = torch.randperm(sizes[i], generator=gens[i])
    orders_dev = orders.to(dev)
    sizes_t = torch.tensor(sizes, device=dev)
    offsets_t = torch.tensor(offsets, device=dev)
    steps_t = torch.tensor(steps, device=dev)
    arangeB = torch.arange(B, device=dev)

    torch.manual_seed(seeds[0])
    active = torch.ones(n_mem, dtype=torch.bool, device=dev)
    failed_at = torch.full((n_mem,), -1, dtype=torch.long, device=dev)
    step_losses = torch.zeros(T, n_mem, device=dev)
    for step in range(T):
        pos = [step % pe for pe in per_epoch]
        if step > 0 and schedule.shuffle == "epoch":
            renew = [i for i in range(n_mem) if pos[i] == 0 and step < steps[i]]
            for i in renew:
                orders[i, :sizes[i]] = torch.randperm(sizes[i], generator=gens[i])
            if renew:
                orders_dev = orders.to(dev)
        starts = torch.tensor([p * B for p in pos], device=dev)
        cols = starts[:, None] + arangeB[None, :]
        valid = cols < sizes_t[:, None]
        local = orders_dev.gather(1, torch.where(valid, cols, torch.zeros_like(cols)))
        gidx = local + offsets_t[:, None]
        xb, yb, wb = X_all[gidx], y_all[gidx], w_all[gidx]
        losses = batched_loss(params, buffers, xb, yb, wb, valid)
        grads = torch.autograd.grad(losses.sum(), plist)
        finite = torch.isfinite(losses)
        running = active & (step < steps_t)
        failed_at = torch.where(running & ~finite, step, failed_at)
        active = active & finite
        opt.step(list(grads), active & (step < steps_t))
        step_losses[step] = losses.detach()

    # --- unstack into the member models, build per-member results ---
    failed = failed_at.cpu().tolist()
    sl = step_losses.cpu()
    results, errors = [], []
    with torch.no_grad():
        for i, m in enumerate(models):
            for k, p in m.named_parameters():
                p.copy_(params[k][i])
            for k, b in m.named_buffers():
                b.copy_(buffers[k][i])
            m.eval()
            done = steps[i] if failed[i] < 0 else failed[i]
            history = []
            for e in range(math.ceil(done / per_epoch[i])):
                chunk = sl[e * per_epoch[i]:min((e + 1) * per_epoch[i], done), i]
                history.append(float(chunk.mean()))
            if failed[i] >= 0:
                f = failed[i]
                errors.append(f"training loss became {float(sl[f, i])} at epoch {f // per_epoch[i] + 1}, "
                              f"step {f + 1} (seed {seeds[i]}); lower the learning rate "
                              "(classifier.schedule.lr) or check the input data for NaN/inf")
            else:
                errors.append(None)
            results.append(TrainResult(epochs_run=len(history), steps_run=done,
                                       final_loss=history[-1] if history else float("nan"), history=history))
    return BatchedResult(models=models, results=results, errors=errors)
