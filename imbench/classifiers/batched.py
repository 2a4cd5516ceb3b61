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

Precision: as in ``train_model`` (:func:`~imbench.classifiers.train.precision_for`): bfloat16 autocast for
the forward pass and loss where the job's ``amp`` policy gives it, float32 otherwise.

Tolerance (what ``tests/test_batched.py`` checks): with dropout 0, float32 and the same seeds, every
member's parameters after 40 steps are within 1e-4 (max abs difference) of sequential training's;
the difference is rounding in the batched matrix products. With dropout > 0 the members are as
random as sequential ones but not the same draws, so only statistical agreement holds.

Data: tensors shared between members (the same ``X`` object with different sample weights, say)
are stored on the device once; mini-batches are index gathers.

Speed: all per-step bookkeeping (batch indices, failure flags, losses) stays on the device, so a step
needs no host synchronisation; on CUDA, after a few eager steps one step is captured as a CUDA graph
and replayed (``cuda_graph``), which removes the kernel-launch overhead that otherwise bounds small
models. Parameters and optimiser state are stored in the memory layout of their gradients. On the
CPU, batched training is about as fast as sequential training (both are compute-bound); see
``benchmarks/run.py``.

Not supported: ``schedule.selection='best_val'`` (raises ``ValueError``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from imbench.classifiers.train import Schedule, TrainResult, autocast_context, per_sample_loss, precision_for
from imbench.cuda_graphs import GraphedStep
from imbench.divergence import current_settings
from imbench.vmap import StackedModule

Dataset = tuple[torch.Tensor, torch.Tensor, "torch.Tensor | None"]
_EAGER_STEPS = 3  # steps run eagerly before a CUDA graph is captured (layout adoption, warm-up)


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

    The formulas and the order of the in-place operations are torch.optim's single-tensor ones (Adam:
    bias-corrected, ``eps`` added after the square root; RMSprop: uncentred, no momentum; SGD:
    optional momentum, no dampening, no Nesterov). A member whose ``active`` flag is False (finished
    or failed; that never changes back) keeps its parameters: its gradient is zeroed (NaN included)
    and its step size is zero. Its optimiser state may still decay, which nothing reads any more.
    """

    def __init__(self, params: list[torch.Tensor], s: Schedule, n_members: int) -> None:
        self.s = s
        self.params = params
        dev = params[0].device
        self.t = torch.zeros(n_members, device=dev, dtype=torch.float64)
        self.state1 = [torch.zeros_like(p) for p in params] if s.optimizer != "sgd" or s.momentum else None
        self.state2 = [torch.zeros_like(p) for p in params] if s.optimizer == "adam" else None
        self.per_member = dev.type == "cpu" and n_members > 1

    @staticmethod
    def _view(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return x.to(p.dtype).view((-1,) + (1,) * (p.ndim - 1))

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], active: torch.Tensor) -> None:
        s = self.s
        self.t += active.to(self.t.dtype)
        act = active.to(self.t.dtype)
        if s.optimizer == "adam":
            b1, b2 = s.betas
            t = self.t.clamp(min=1)
            step_size = s.lr / (1 - b1 ** t) * act  # 0 for inactive members
            bc2_sqrt = (1 - b2 ** t).sqrt()
        else:
            lr_act = s.lr * act
        # CPU: the flags can be read for free; when every member is active no gradient needs masking
        masking = not (self.per_member and bool(active.all()))
        for i, (P, G) in enumerate(zip(self.params, grads)):
            if G.stride() != P.stride():  # optimiser arithmetic in one memory layout
                G = torch.empty_like(P).copy_(G)
            mask_all = active.view((-1,) + (1,) * (P.ndim - 1))
            if s.optimizer == "adam":
                ss_all, bc_all = self._view(step_size, P), self._view(bc2_sqrt, P)
            elif s.optimizer == "sgd" and s.momentum:
                lr_all = self._view(lr_act, P)
            # CPU: one member at a time, so that the passes over a member's slice stay in cache
            for j in (range(len(P)) if self.per_member else [slice(None)]):
                p, g, mask = P[j], G[j], mask_all[j]
                if s.weight_decay:
                    g = g.add(p, alpha=s.weight_decay)
                if masking:
                    g = g.masked_fill_(~mask, 0.0)  # inactive members: no gradient (NaN included)
                if s.optimizer == "adam":
                    m, v = self.state1[i][j], self.state2[i][j]
                    m.lerp_(g, 1 - b1)
                    v.mul_(b2).addcmul_(g, g, value=1 - b2)
                    denom = (v.sqrt() / bc_all[j]).add_(s.eps)
                    p.addcdiv_(m * ss_all[j], denom, value=-1.0)
                elif s.optimizer == "rmsprop":
                    v = self.state1[i][j]
                    v.mul_(s.alpha).addcmul_(g, g, value=1 - s.alpha)
                    p.addcdiv_(g, v.sqrt().add_(s.eps), value=-s.lr)  # g is 0 for inactive members
                elif s.momentum:
                    buf = self.state1[i][j]
                    buf.mul_(s.momentum).add_(g)  # first step: buf = g, as torch.optim.SGD
                    p.sub_(buf * lr_all[j])
                else:
                    p.add_(g, alpha=-s.lr)


def _adopt_layout(params: list[torch.Tensor], grads: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Parameters re-stored with their gradients' strides where those differ (vmap's linear-layer
    weight gradients come transposed); elementwise optimiser steps on mixed layouts are several times
    slower on the CPU."""
    out = []
    for p, g in zip(params, grads):
        if g.stride() != p.stride() and torch.empty_like(g).stride() == g.stride():  # g dense: layout kept
            out.append(torch.empty_like(g).copy_(p.detach()).requires_grad_(p.requires_grad))
        else:
            out.append(p)
    return out


def train_models_batched(
    make_model: Callable[[], nn.Module],
    datasets: Sequence[Dataset],
    schedule: Schedule,
    seeds: Sequence[int],
    *,
    device: torch.device | str | None = None,
    cuda_graph: bool | None = None,
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
    cuda_graph : capture one training step as a CUDA graph after a few eager steps and replay it
        (default: on CUDA when there are more than a few steps). Results are those of eager
        execution; if capture fails, training goes on eagerly with a warning.

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
    precision = precision_for(schedule, dev)

    # --- data: unique X, y and weight tensors concatenated once each; members address them by offset ---
    # (members that share X but differ in sample weights, as in a synthetic-weight grid search,
    # store X once)
    def _pool(tensors, convert):
        seen: dict[int, int] = {}
        parts, offs, total = [], [], 0
        for t in tensors:
            if id(t) not in seen:
                seen[id(t)] = total
                parts.append(convert(t))
                total += len(t)
            offs.append(seen[id(t)])
        return (parts[0] if len(parts) == 1 else torch.cat(parts)), offs

    sizes = []
    for X, y, w in datasets:
        if len(y) == 0:
            raise ValueError("empty training set in datasets")
        if len(X) != len(y) or (w is not None and len(w) != len(y)):
            raise ValueError("X, y and sample_weight of a dataset must have the same length")
        sizes.append(len(y))
    ones: dict[int, torch.Tensor] = {}
    w_list = [w if w is not None else ones.setdefault(n, torch.ones(n, device=dev)) for (_, _, w), n in
              zip(datasets, sizes)]
    X_all, x_off = _pool([d[0] for d in datasets], lambda t: t.to(dev))
    y_all, y_off = _pool([d[1] for d in datasets], lambda t: t.to(dev))
    w_all, w_off = _pool(w_list, lambda t: t.to(dev, torch.float32))
    del w_list, ones

    # --- models: sequential-identical inits, then stacked ---
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(make_model().to(dev))
    for m in models:
        m.train()
    stack = StackedModule(models)
    names = list(stack.params)

    def member_loss(p: dict, b: dict, x: torch.Tensor, t: torch.Tensor, w: torch.Tensor, valid: torch.Tensor):
        with autocast_context(precision, dev):
            logits = stack.member_forward(p, b, x)
            losses = per_sample_loss(logits.float(), t, schedule.loss) * w
        return torch.where(valid, losses, torch.zeros_like(losses)).sum() / valid.sum()

    batched_loss = torch.vmap(member_loss, randomness="different")

    # --- schedule bookkeeping: permutations drawn on the CPU as in train_model; the per-step
    # index arithmetic runs on the device so that a step needs no host-device synchronisation ---
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
    per_epoch_t = torch.tensor(per_epoch, device=dev)
    x_off_t = torch.tensor(x_off, device=dev)[:, None]
    y_off_t = torch.tensor(y_off, device=dev)[:, None]
    w_off_t = torch.tensor(w_off, device=dev)[:, None]
    steps_t = torch.tensor(steps, device=dev)
    arangeB = torch.arange(B, device=dev)
    # epoch boundaries (reshuffles) are known in advance on the host
    renew_at: dict[int, list[int]] = {}
    if schedule.shuffle == "epoch":
        for i in range(n_mem):
            for st in range(per_epoch[i], steps[i], per_epoch[i]):
                renew_at.setdefault(st, []).append(i)

    torch.manual_seed(seeds[0])
    # the loop state lives in device tensors updated in place, so that one step can be captured as a
    # CUDA graph and replayed (a step of a small model is otherwise bound by kernel-launch overhead)
    active = torch.ones(n_mem, dtype=torch.bool, device=dev)
    failed_at = torch.full((n_mem,), -1, dtype=torch.long, device=dev)
    step_losses = torch.zeros(T, n_mem, device=dev)
    watch = current_settings()
    first = torch.zeros(n_mem, device=dev)  # each member's first loss (the divergence bound's reference)
    step_t = torch.zeros((), dtype=torch.long, device=dev)
    opt: _StackedOptimizer | None = None

    def one_step() -> None:
        nonlocal opt
        cols = (torch.remainder(step_t, per_epoch_t) * B)[:, None] + arangeB[None, :]
        valid = cols < sizes_t[:, None]
        local = orders_dev.gather(1, torch.where(valid, cols, torch.zeros_like(cols)))
        xb, yb, wb = X_all[local + x_off_t], y_all[local + y_off_t], w_all[local + w_off_t]
        losses = batched_loss(stack.params, stack.buffers, xb, yb, wb, valid)
        plist = [stack.params[k] for k in names]
        grads = torch.autograd.grad(losses.sum(), plist)
        if opt is None:  # first step: parameters (and optimiser state) in the layout their gradients come in
            stack.params = dict(zip(names, _adopt_layout(plist, grads)))
            opt = _StackedOptimizer([stack.params[k] for k in names], schedule, n_mem)
        with torch.no_grad():
            losses = losses.detach()
            finite = torch.isfinite(losses)
            if watch.check:  # growth beyond the divergence bound fails a member like a non-finite loss
                first.copy_(torch.where(step_t == 0, losses.abs(), first))
                finite = finite & (losses.abs() <= watch.factor * first.clamp(min=1.0))
            in_schedule = step_t < steps_t
            failed_at.copy_(torch.where(active & in_schedule & ~finite, step_t, failed_at))
            active.logical_and_(finite)
            opt.step(list(grads), active & in_schedule)
            step_losses.index_copy_(0, step_t.view(1), losses.view(1, -1))
            step_t.add_(1)

    def reshuffle(step: int) -> None:
        if step in renew_at:
            for i in renew_at[step]:
                orders[i, :sizes[i]] = torch.randperm(sizes[i], generator=gens[i])
            if orders_dev is not orders:
                orders_dev.copy_(orders)

    use_graph = dev.type == "cuda" and (cuda_graph if cuda_graph is not None else T > 2 * _EAGER_STEPS)
    run = GraphedStep(one_step, dev, enabled=use_graph, warmup=_EAGER_STEPS)
    for step in range(T):
        reshuffle(step)
        run()

    # --- unstack into the member models, build per-member results ---
    failed = failed_at.cpu().tolist()
    sl = step_losses.cpu()
    results, errors = [], []
    stack.unstack()
    with torch.no_grad():
        for i, m in enumerate(models):
            m.eval()
            done = steps[i] if failed[i] < 0 else failed[i]
            history = []
            for e in range(math.ceil(done / per_epoch[i])):
                chunk = sl[e * per_epoch[i]:min((e + 1) * per_epoch[i], done), i]
                history.append(float(chunk.mean()))
            if failed[i] >= 0:
                f = failed[i]
                value = float(sl[f, i])
                where = f"epoch {f // per_epoch[i] + 1}, step {f + 1} (seed {seeds[i]})"
                if math.isfinite(value):
                    errors.append(f"the classifier diverged: its loss grew to {value:.4g} at {where}, beyond "
                                  f"{watch.factor:g} × its first value; lower the learning rate "
                                  "(classifier.schedule.lr), or set divergence.factor higher")
                else:
                    errors.append(f"training loss became {value} at {where}; lower the learning rate "
                                  "(classifier.schedule.lr) or check the input data for NaN/inf")
            else:
                errors.append(None)
            results.append(TrainResult(epochs_run=len(history), steps_run=done,
                                       final_loss=history[-1] if history else float("nan"), history=history,
                                       precision=precision))
    return BatchedResult(models=models, results=results, errors=errors)
