"""Adam for GAMO's many small steps: torch's fused Adam kernel without the optimiser's per-call
bookkeeping.

A GAMO mini-batch takes six optimiser steps on small networks (M and D twice, G twice). With
``torch.optim.Adam(fused=True)`` about half of each step's time on a CPU is Python around the kernel:
building the parameter groups, state look-ups, grouping tensors by device and dtype. :class:`FusedAdam`
keeps its state in flat lists built once and calls the same kernel (``torch._fused_adam_``) on them, so
its updates are bit-identical to torch's fused Adam (``tests/test_gamo.py`` checks this, parameters
without a gradient included). Where torch has no fused kernel for the device (or no ``_fused_adam_`` at
all), :func:`make_adam` returns torch's own Adam instead.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import torch
from torch import nn


class FusedAdam:
    """Adam (no weight decay, no amsgrad) over ``params`` with torch's fused kernel.

    Parameters without a gradient at a step keep their value, moments and step count, as in torch's
    Adam.

    Parameters
    ----------
    params : the tensors to optimise, all on one device and of one floating dtype.
    lr, betas, eps : Adam's settings.
    """

    def __init__(self, params: Sequence[torch.Tensor], lr: float, betas: tuple[float, float], eps: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("FusedAdam needs at least one parameter")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("FusedAdam's parameters must be distinct (a repeated tensor would step twice)")
        if len({(p.device, p.dtype) for p in self.params}) != 1:
            raise ValueError("FusedAdam's parameters must share one device and dtype")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(betas[0]), float(betas[1]), float(eps)
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        # float32 step counts on the parameters' device, as torch's fused Adam keeps them
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if all(g is not None for g in grads):
            params, exp_avg, exp_avg_sq, steps = self.params, self.exp_avg, self.exp_avg_sq, self.steps
        else:
            keep = [i for i, g in enumerate(grads) if g is not None]
            if not keep:
                return
            grads = [grads[i] for i in keep]
            params = [self.params[i] for i in keep]
            exp_avg, exp_avg_sq = [self.exp_avg[i] for i in keep], [self.exp_avg_sq[i] for i in keep]
            steps = [self.steps[i] for i in keep]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, grads, exp_avg, exp_avg_sq, [], steps, amsgrad=False, lr=self.lr,
                           beta1=self.beta1, beta2=self.beta2, weight_decay=0.0, eps=self.eps, maximize=False,
                           grad_scale=None, found_inf=None)


def fused_kernel_available(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether torch has a fused Adam kernel for parameters of ``dtype`` on ``device``."""
    return _fused_kernel_available(str(torch.device(device)), dtype)


@lru_cache(maxsize=None)
def _fused_kernel_available(device: str, dtype: torch.dtype) -> bool:
    if not hasattr(torch, "_fused_adam_"):
        return False
    try:
        p = torch.zeros(1, dtype=dtype, device=device)
        torch._fused_adam_([p], [p.clone()], [p.clone()], [p.clone()], [], [torch.ones((), device=device)],
                           amsgrad=False, lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
                           maximize=False, grad_scale=None, found_inf=None)
    except (RuntimeError, NotImplementedError, TypeError):
        return False
    return True


def make_adam(params: Sequence[nn.Parameter], lr: float, betas: tuple[float, float], eps: float):
    """:class:`FusedAdam` where torch's fused kernel serves the parameters' device and dtype, else
    ``torch.optim.Adam``. Both have ``zero_grad()`` and ``step()``."""
    params = list(params)
    first = params[0]
    if fused_kernel_available(first.device, first.dtype) and len({(p.device, p.dtype) for p in params}) == 1:
        return FusedAdam(params, lr, betas, eps)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps)
