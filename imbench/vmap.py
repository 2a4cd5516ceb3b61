"""N modules of one architecture trained as one: parameters stacked along a leading member dimension
(:func:`torch.func.stack_module_state`), forward passes under ``torch.vmap`` of
:func:`torch.func.functional_call`.

Used by the batched classifier training (:mod:`imbench.classifiers.batched`) and the batched
generator training (:mod:`imbench.methods.generative.stepped`).
"""
from __future__ import annotations

import copy
from typing import Any, Iterator, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state


class StackedModule:
    """N modules of one architecture as one callable.

    Parameters and buffers are stacked along a leading member dimension (leaf tensors an optimiser
    can own); calling the object runs every member's forward pass under ``torch.vmap``, with inputs
    that carry the member dimension first. :meth:`named_parameters` / :meth:`parameters` give the
    stacked tensors under the modules' own names, so code that selects a sub-network's parameters by
    name works on plain and stacked modules alike. :meth:`unstack` copies the trained values back
    into the N original modules.

    Parameters
    ----------
    modules : sequence of torch.nn.Module
        The members, all of one architecture and on one device.
    randomness : {"error", "different", "same"}, default="error"
        ``torch.vmap``'s rule for random operations inside the forward pass (dropout):
        ``"different"`` draws independent values per member.

    Attributes
    ----------
    members : list of torch.nn.Module
        The original modules (updated only by :meth:`unstack`).
    params, buffers : dict of str to torch.Tensor
        The stacked parameters and buffers. ``params`` may be replaced by tensors of the same names
        and shapes (another memory layout, say); the forward pass and :meth:`unstack` use it.
    """

    def __init__(self, modules: Sequence[nn.Module], randomness: str = "error") -> None:
        self.members = list(modules)
        self.params, self.buffers = stack_module_state(self.members)
        self._base = copy.deepcopy(self.members[0]).to("meta")
        self._vmapped = torch.vmap(self.member_forward, randomness=randomness)

    def member_forward(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
                       *args: torch.Tensor) -> Any:
        """One member's forward pass with the given (unstacked) parameters and buffers.

        This is the function ``torch.vmap`` maps over the members; call it inside your own vmapped
        function to add work around the forward pass (a loss, autocast)."""
        return functional_call(self._base, (params, buffers), args)

    def __call__(self, *args: torch.Tensor) -> Any:
        return self._vmapped(self.params, self.buffers, *args)

    def named_parameters(self) -> Iterator[tuple[str, torch.Tensor]]:
        return iter(self.params.items())

    def parameters(self) -> Iterator[torch.Tensor]:
        return iter(self.params.values())

    def train(self, mode: bool = True) -> "StackedModule":
        """Training or evaluation behaviour (dropout, batch-norm statistics) of the forward pass."""
        self._base.train(mode)
        return self

    @torch.no_grad()
    def unstack(self) -> list[nn.Module]:
        """Copy the stacked parameters and buffers back into the members; returns the members."""
        for i, m in enumerate(self.members):
            for k, p in m.named_parameters():
                p.copy_(self.params[k][i])
            for k, b in m.named_buffers():
                b.copy_(self.buffers[k][i])
        return self.members
