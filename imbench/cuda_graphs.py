"""Replay a whole training step as a CUDA graph, with an eager fallback.

Small networks at small batch sizes are bound by kernel-launch overhead on a GPU; capturing one
training step (forward, backward, optimiser updates) as a CUDA graph and replaying it removes that
overhead. Used by the batched classifier training (:mod:`imbench.classifiers.batched`) and the
generator training (:mod:`imbench.methods.generative.stepped`).
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch


class GraphedStep:
    """Runs ``step(*args)``, one whole training step, once per call.

    On CUDA with ``enabled`` the first ``warmup`` calls run eagerly on a side stream; the next call
    captures the step in a CUDA graph (with static copies of ``args``) and every call from then on
    copies its ``args`` into those copies and replays the graph. The step must only use tensors that
    stay alive (data on the device, modules, optimisers created with ``capturable=True``) and the
    device RNG; every call must pass tensors of the same shapes (a call with other shapes runs
    eagerly). Elsewhere, or with ``enabled=False``, every call runs the step eagerly.

    If the capture fails, a warning is issued, every later step runs eagerly and :attr:`failure`
    says why; :attr:`captured` says whether steps were replayed from a graph.

    Parameters
    ----------
    step : callable
        One training step; its arguments are tensors (mini-batch indices, say), or none.
    device : torch.device
        Where the step runs.
    enabled : bool, default=True
        Capture at all (only on CUDA).
    warmup : int, default=3
        Eager steps before the capture.
    """

    def __init__(self, step: Callable[..., None], device: torch.device, enabled: bool = True,
                 warmup: int = 3) -> None:
        self.step = step
        self.device = device
        self.enabled = enabled and device.type == "cuda"
        self.warmup = warmup
        self.done = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failure: str | None = None
        self.static_args: tuple[torch.Tensor, ...] | None = None
        self.stream = torch.cuda.Stream(device) if self.enabled else None

    def __call__(self, *args: torch.Tensor) -> None:
        if not self.enabled:
            self.step(*args)
            return
        if self.static_args is None:
            self.static_args = tuple(a.clone() for a in args)
        if [a.shape for a in args] != [a.shape for a in self.static_args]:
            self.step(*args)
            return
        if self.done < self.warmup:
            self._eager_on_side_stream(args)
            return
        for static, a in zip(self.static_args, args):
            static.copy_(a)
        if self.graph is None and not self._capture():
            self.step(*args)
            return
        self.graph.replay()
        self.done += 1

    def _eager_on_side_stream(self, args: tuple[torch.Tensor, ...]) -> None:
        """A warm-up step: on a side stream, as the capture will run (allocator and library warm-up)."""
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream):
            self.step(*args)
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        self.done += 1

    def _capture(self) -> bool:
        """Record the step on the static arguments; False (eager from now on) when it cannot be."""
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.step(*self.static_args)
        except RuntimeError as e:  # an op that cannot be captured (one that syncs with the host, say)
            warnings.warn(f"CUDA graph capture of the training step failed ({e}); training goes on without it")
            self.failure = str(e)
            self.enabled = False
            return False
        self.graph = graph
        return True

    @property
    def captured(self) -> bool:
        return self.graph is not None
