"""The training loop of the generators that learn by one step per mini-batch (CGAN, ACGAN, CVAE, and
IMSIC's InfoGAN and IMSIC),
for one generator or for N of them at once.

A :class:`SteppedGenerator` subclass says what its networks are (``_networks``), how they are
optimised (``_optimizers``), what one training step does (``_step``) and what it keeps afterwards
(``_adopt``). The step is written once, against :class:`Lanes`, and runs either on plain modules
(one generator, ``Lanes(None)``) or on :class:`StackedModule` s (N generators whose parameters are
stacked along a leading member dimension and whose forward passes run under ``torch.vmap``).

Batched training (:func:`fit_resample_many`) is for the many generator trainings of a protocol that
share one architecture and one training-set size: the five skewed draws of a Fajardo block, and the
halves of their synthetic-weight searches, or the skewed draws of an IMSIC Table 1 cell. Member i of a group is what sequential training with its
seed gives, up to the training noise:

* initialisation: its networks are built right after ``torch.manual_seed(seed_i)``, as in sequential
  training, so every member starts from exactly the sequential initial weights;
* data order: its own ``torch.Generator`` seeded with ``seed_i`` draws its permutations at the same
  points, so the mini-batches are the sequential ones, and sampling afterwards continues from the
  same generator state;
* optimiser: Adam is elementwise, so Adam on the stacked tensors is N independent Adams;
* batch normalisation: statistics and running averages are per member (stacked buffers);
* the noise z (and the CVAE's reparameterisation noise) is drawn for all members at once from the
  global generator seeded with the first member's seed: members are as random as sequential
  trainings, not the same draws. With the noise fixed, batched and sequential training agree to
  floating-point rounding (``tests/test_generator_batching.py``): epoch losses to 1e-4 relative,
  weight matrices to 1e-3 relative (norm of the difference), synthetic images to 1e-4. The biases
  of layers followed by batch normalisation are the exception: their true gradient is 0, Adam turns
  the rounding noise there into steps of +-lr, and batch normalisation cancels them.

A member whose losses become non-finite is reported for that member alone (the loss that is
differentiated is the sum of the per-member losses, so no gradient crosses members); the others
finish. Members of different sizes, classes, hyper-parameters or devices are trained in separate
groups; a generator that is not stepped (BAGAN) is trained on its own.
"""
from __future__ import annotations

import math
import time
from numbers import Integral
from typing import Any, Callable, Sequence

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn
from torch.nn import functional as F

from imbench.cuda_graphs import GraphedStep
from imbench.devices import resolve_device
from imbench.errors import TrainingError
from imbench.methods.generative.base import GenerativeOversampler, _Prepared
from imbench.methods.generative.networks import check_fajardo_images, finish_epoch, release_grads
from imbench.rng import isolated_rng
from imbench.vmap import StackedModule


class Lanes:
    """Shape conventions of a training step: one model (``n=None``: tensors as usual) or ``n`` stacked
    members (every tensor has the member dimension first; losses are per member, shape ``(n,)``)."""

    def __init__(self, n: int | None, device: torch.device) -> None:
        self.n = n
        self.rows = None if n is None else torch.arange(n, device=device)[:, None]

    def take(self, data: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Mini-batch rows: ``data[idx]``, or for members ``data[i, idx[i]]`` for every i."""
        return data[idx] if self.n is None else data[self.rows, idx]

    def shape(self, *dims: int) -> tuple[int, ...]:
        return dims if self.n is None else (self.n,) + dims

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        return t.mean() if self.n is None else t.flatten(1).mean(1)

    def total(self, t: torch.Tensor) -> torch.Tensor:
        return t.sum() if self.n is None else t.flatten(1).sum(1)

    def per_member(self, loss: Callable[..., torch.Tensor], *tensors: torch.Tensor) -> torch.Tensor:
        """``loss(*tensors)`` (a scalar), or for members ``torch.vmap(loss)`` over the member dimension:
        a loss written for one model, per member."""
        return loss(*tensors) if self.n is None else torch.vmap(loss)(*tensors)

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.n is None:
            return F.cross_entropy(logits, target)
        return F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none").view(self.n, -1).mean(1)


def params_named(net: nn.Module | StackedModule, prefix: str = "") -> list[torch.Tensor]:
    """The parameters of ``net`` whose names start with ``prefix`` (a sub-network), in order."""
    return [p for name, p in net.named_parameters() if name.startswith(prefix)]


class SteppedGenerator(GenerativeOversampler):
    """A generator trained by one step per mini-batch; see the module docstring.

    Subclasses set ``loss_names`` and implement ``_setup(n_classes)`` (per-fit attributes such as the
    learning rates), ``_networks(n_classes)`` (built on ``self.device_``, in a fixed order: the global
    RNG is seeded before), ``_optimizers(nets, capturable)``, ``_step(lanes, nets, opts, X, y, eye, idx,
    sums)`` and ``_adopt(nets)``.
    """

    loss_names: tuple[str, ...] = ()
    cuda_graphs: bool = True
    # torch.vmap's rule for random operations in the networks' forward passes when members train as one
    # group: "error" (none there), "different" (dropout: every member draws its own masks)
    vmap_randomness: str = "error"
    # whether ``_complete`` reads the prepared training set (InfoGAN's code matching): then it is kept
    keeps_training_set: bool = False

    _parameter_constraints: dict = {
        **GenerativeOversampler._parameter_constraints,
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # batch normalisation needs 2
        "noise_dim": [Interval(Integral, 1, None, closed="left")],
        "cuda_graphs": ["boolean"],
    }

    def _setup(self, n_classes: int) -> None:
        self.n_classes_ = n_classes

    def _training_images(self, X: torch.Tensor) -> torch.Tensor:
        """The images the networks train on, from the prepared ``X`` (checked here: Fajardo's 28×28 or
        32×32 networks); sets what ``_networks`` needs to know about them."""
        self.net_image_ = check_fajardo_images(X, self.method_name)
        return X

    def _image_kw(self) -> dict[str, int]:
        """``channels`` and ``size`` of the training images (set by the fit), for the networks."""
        channels, size = getattr(self, "net_image_", (1, 28))
        return {"channels": channels, "size": size}

    def _networks(self, n_classes: int) -> dict[str, nn.Module]:
        raise NotImplementedError

    def _optimizers(self, nets: dict, capturable: bool) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def _step(self, lanes: Lanes, nets: dict, opts: dict, X: torch.Tensor, y: torch.Tensor, eye: torch.Tensor,
              idx: torch.Tensor, sums: torch.Tensor) -> None:
        raise NotImplementedError

    def _adopt(self, nets: dict[str, nn.Module]) -> None:
        raise NotImplementedError

    def _graphs_wanted(self) -> bool:
        device = getattr(self, "device_", None)
        return bool(self.cuda_graphs and device is not None and device.type == "cuda")

    def _note_graphs(self, run: GraphedStep) -> None:
        """What the records say about CUDA graphs: whether the steps really replayed one."""
        self.cuda_graphs_used_ = run.captured
        self.cuda_graphs_failure_ = run.failure

    def _graphs_info(self) -> dict:
        info = {"cuda_graphs": bool(getattr(self, "cuda_graphs_used_", False))}
        if getattr(self, "cuda_graphs_failure_", None):
            info["cuda_graphs_failure"] = self.cuda_graphs_failure_
        return info

    def _fit_generator(self, X: torch.Tensor, y: torch.Tensor, n_classes: int, gen: torch.Generator) -> None:
        X = self._training_images(X)
        dev = self.device_
        self._setup(n_classes)
        nets = self._networks(n_classes)
        graphs = self._graphs_wanted()
        opts = self._optimizers(nets, graphs)
        for m in nets.values():
            m.train()
        eye = torch.eye(n_classes, device=dev)
        sums = torch.zeros(len(self.loss_names), device=dev)
        lanes = Lanes(None, dev)
        run = GraphedStep(lambda idx: self._step(lanes, nets, opts, X, y, eye, idx, sums), dev, enabled=graphs)
        for epoch in range(self.epochs):
            sums.zero_()
            n_batches = 0
            for idx in self._batches(len(X), gen):
                run(idx)
                n_batches += 1
            finish_epoch(self, epoch, sums, n_batches, self.loss_names)
        self._note_graphs(run)
        release_grads(*nets.values())
        self._adopt({k: m.eval() for k, m in nets.items()})


def fit_generators_batched(samplers: Sequence[SteppedGenerator], preps: Sequence[_Prepared]) -> list[str | None]:
    """Train the generators of ``samplers`` on ``preps`` as one vmap group (see the module docstring).

    All samplers must be of one class with the same hyper-parameters (seed aside), device, number of
    classes and training-set shape. Returns one entry per member: ``None`` if it trained to the end,
    else the divergence message (its networks are then not adopted)."""
    s0, n = samplers[0], len(samplers)
    dev = s0.device_
    n_classes = len(s0.classes_)
    images = []
    for s, p in zip(samplers, preps):
        images.append(s._training_images(p.train_x))
        s._setup(n_classes)
    member_nets = []
    for s in samplers:  # each member's initial weights are its sequential ones
        torch.manual_seed(s.seed_)
        member_nets.append(s._networks(n_classes))
    stacked = {k: StackedModule([m[k] for m in member_nets], randomness=s0.vmap_randomness) for k in member_nets[0]}
    graphs = s0._graphs_wanted()
    opts = s0._optimizers(stacked, graphs)
    X = torch.stack(images)
    Y = torch.stack([p.train_y for p in preps])
    del images
    if not s0.keeps_training_set:
        for p in preps:  # the stacked copy is the one trained on
            p.train_x = p.train_y = None
    torch.manual_seed(s0.seed_)
    eye = torch.eye(n_classes, device=dev)
    sums = torch.zeros(n, len(s0.loss_names), device=dev)
    lanes = Lanes(n, dev)
    run = GraphedStep(lambda idx: s0._step(lanes, stacked, opts, X, Y, eye, idx, sums), dev, enabled=graphs)
    errors: list[str | None] = [None] * n
    size = X.shape[1]
    for epoch in range(s0.epochs):
        sums.zero_()
        n_batches = 0
        for idxs in zip(*(s._batches(size, p.gen) for s, p in zip(samplers, preps))):
            run(torch.stack(idxs))
            n_batches += 1
        means = (sums / max(n_batches, 1)).tolist()
        for i, s in enumerate(samplers):
            if errors[i] is not None:
                continue
            losses = dict(zip(s0.loss_names, means[i]))
            if all(math.isfinite(v) for v in losses.values()):
                try:
                    s._log_epoch(epoch, **losses)
                except TrainingError as e:  # grew beyond the divergence bound: this member only
                    errors[i] = str(e)
            else:
                bad = ", ".join(f"{k} loss is {v}" for k, v in losses.items() if not math.isfinite(v))
                errors[i] = s._divergence_message(epoch, bad)
    for s in samplers:
        s._note_graphs(run)
    del run  # the step closure holds the stacked data
    for net in stacked.values():
        net.unstack()
    for s, nets, err in zip(samplers, member_nets, errors):
        release_grads(*nets.values())
        if err is None:
            s._adopt({k: m.eval() for k, m in nets.items()})
    return errors


def _group_key(sampler: GenerativeOversampler, prep: _Prepared) -> tuple | None:
    """Samplers with equal keys can train as one group; ``None``: this one trains alone."""
    if not isinstance(sampler, SteppedGenerator):
        return None
    params = {k: v for k, v in sampler.get_params(deep=False).items()
              if k not in ("random_state", "sampling_strategy", "verbose")}
    return (type(sampler), repr(sorted(params.items())), str(sampler.device_), len(sampler.classes_),
            tuple(prep.train_x.shape))


def fit_resample_many(samplers: Sequence[GenerativeOversampler], datasets: Sequence[tuple[np.ndarray, np.ndarray]],
                      batch: bool = True, max_group: int | None = None,
                      log: Callable[[str], None] | None = None) -> list[tuple[np.ndarray, np.ndarray] | Exception]:
    """``fit_resample`` of every sampler on its dataset; stepped generators that can share a group
    (same class, hyper-parameters, device and training-set size) train together when ``batch``.

    Returns, per sampler, ``(X_res, y_res)`` or the :class:`TrainingError` of that sampler alone (a
    diverged member does not stop the others). Invalid input raises at once, before any training.
    Every sampler gets ``fit_seconds_`` (the wall time of its group's training) and ``group_size_``.
    ``max_group`` caps the members of one group (GPU memory). Like ``fit_resample``, it leaves torch's
    global random state as it found it."""
    if len(samplers) != len(datasets):
        raise ValueError(f"got {len(samplers)} samplers for {len(datasets)} datasets")
    for s in samplers:
        s._validate_params()
    with isolated_rng(*{resolve_device(s.device) for s in samplers}):
        return _fit_resample_many(samplers, datasets, batch, max_group, log)


def _fit_resample_many(samplers: Sequence[GenerativeOversampler], datasets: Sequence[tuple[np.ndarray, np.ndarray]],
                       batch: bool, max_group: int | None,
                       log: Callable[[str], None] | None) -> list[tuple[np.ndarray, np.ndarray] | Exception]:
    preps = [s._prepare(X, y) for s, (X, y) in zip(samplers, datasets)]
    out: list[Any] = [None] * len(samplers)
    groups: dict[Any, list[int]] = {}
    for i, (s, p) in enumerate(zip(samplers, preps)):
        key = _group_key(s, p) if batch else None
        groups.setdefault(key if key is not None else ("alone", i), []).append(i)
    chunks = []
    for members in groups.values():
        step = max_group or len(members)
        chunks += [members[k:k + step] for k in range(0, len(members), step)]
    for members in chunks:
        t0 = time.perf_counter()
        if len(members) == 1:
            i = members[0]
            s, p = samplers[i], preps[i]
            torch.manual_seed(s.seed_)  # as fit_resample: the other preparations reseeded it
            try:
                with s.training_precision():
                    s._fit_generator(p.train_x, p.train_y, len(s.classes_), p.gen)
                errors = [None]
            except TrainingError as e:
                errors = [str(e)]
            if not getattr(s, "keeps_training_set", False):  # (BAGAN is not a stepped generator)
                p.train_x = p.train_y = None
        else:
            if log is not None:
                log(f"training {len(members)} {samplers[members[0]].method_name} generators as one batched group")
            with samplers[members[0]].training_precision():
                errors = fit_generators_batched([samplers[i] for i in members], [preps[i] for i in members])
        wall = time.perf_counter() - t0
        for i, err in zip(members, errors):
            samplers[i].fit_seconds_ = wall
            samplers[i].group_size_ = len(members)
            out[i] = TrainingError(err) if err is not None else None
    for i, (s, p) in enumerate(zip(samplers, preps)):
        if out[i] is None:
            try:
                out[i] = s._complete(p)
            except TrainingError as e:
                out[i] = e
    return out
