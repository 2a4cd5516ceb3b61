"""SMOTE and random over-sampling in torch, on the GPU when there is one.

Both follow imbalanced-learn's sampler contract (``fit_resample(X, y) -> (X_res, y_res)``, the
original samples first and unchanged, then the synthetic ones class by class in sorted class order)
and its ``sampling_strategy`` semantics (resolved by ``imblearn.utils.check_sampling_strategy``).
Random draws come from a CPU ``torch.Generator`` seeded with ``random_state``, so a given seed gives
the same samples on every device (up to float rounding in the neighbour search).
"""
from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import torch
from imblearn.utils import check_sampling_strategy
from sklearn.utils._param_validation import Interval

from imbench.devices import resolve_device
from imbench.methods.base import DEVICE_CONSTRAINTS, ImbenchOverSampler
from imbench.rng import resolve_seed


def _generator(random_state: Any) -> torch.Generator:
    """The CPU generator of one fit, seeded by :func:`imbench.rng.resolve_seed`."""
    return torch.Generator(device="cpu").manual_seed(resolve_seed(random_state))


def knn_same_set(Xc: torch.Tensor, rows: torch.Tensor, k: int, block_size: int = 4096) -> torch.Tensor:
    """Indices (len(rows), k) of the k nearest neighbours of ``Xc[rows]`` within ``Xc``, self excluded.

    Squared Euclidean distances ``|a|^2 + |b|^2 - 2 a.b`` are computed ``block_size`` query rows
    at a time, so memory stays at ``block_size * len(Xc)`` distances.
    """
    sq = (Xc * Xc).sum(dim=1)
    out = []
    for start in range(0, len(rows), block_size):
        r = rows[start:start + block_size]
        q = Xc[r]
        d = (sq[r, None] + sq[None, :] - 2.0 * (q @ Xc.T)).clamp_min_(0)
        d[torch.arange(len(r), device=d.device), r] = float("inf")
        out.append(torch.topk(d, k, dim=1, largest=False).indices)
    return torch.cat(out) if out else torch.empty(0, k, dtype=torch.long, device=Xc.device)


class TorchSMOTE(ImbenchOverSampler):
    """SMOTE (Chawla et al., 2002) with the neighbour search and interpolation in torch.

    Each synthetic sample of class c is ``x_i + u * (x_nn - x_i)`` with ``x_i`` drawn uniformly
    from class c, ``x_nn`` drawn uniformly from the ``k_neighbors`` nearest samples of class c to
    ``x_i`` (itself excluded) and ``u ~ U(0, 1)``, as in imbalanced-learn's ``SMOTE``.

    Parameters
    ----------
    k_neighbors : int, default=5
        Number of same-class nearest neighbours to interpolate towards.
    sampling_strategy : float, str, dict or callable, default="auto"
        imbalanced-learn's meaning: ``"auto"`` raises every non-majority class to the majority
        count; a dict maps class -> wanted count after resampling.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws (``None``: fresh entropy).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    block_size : int, default=4096
        Query rows per block of the pairwise-distance computation (bounds memory).

    Attributes
    ----------
    sampling_strategy_ : dict
        Class -> number of samples added.

    References
    ----------
    N. V. Chawla, K. W. Bowyer, L. O. Hall and W. P. Kegelmeyer, "SMOTE: Synthetic Minority
    Over-sampling Technique", Journal of Artificial Intelligence Research 16:321-357, 2002.
    """

    _parameter_constraints: dict = {
        **ImbenchOverSampler._parameter_constraints,
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "device": DEVICE_CONSTRAINTS,
        "block_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, k_neighbors: int = 5, sampling_strategy: Any = "auto", random_state: int | None = None,
                 device: str | torch.device = "auto", block_size: int = 4096) -> None:
        self.k_neighbors = k_neighbors
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.device = device
        self.block_size = block_size

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Return ``(X_res, y_res)``: the originals, then the synthetic samples class by class.

        ``X`` may be a torch tensor: it is then resampled on its own device (``device`` is not used)
        and ``(X_res, y_res)`` come back as tensors there, with no copy to the host. Any other ``X``
        goes through imbalanced-learn's validation (arrays, lists, DataFrames; the output has the
        input's type).

        Raises
        ------
        ValueError
            If a class to over-sample has ``k_neighbors`` samples or fewer.
        """
        if isinstance(X, torch.Tensor):
            return self._fit_resample_tensor(X, y)
        return super().fit_resample(X, y, **params)

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        strategy = self._checked_strategy(y)
        dev = resolve_device(self.device)
        dtype = torch.float64 if X.dtype == np.float64 else torch.float32
        gen = _generator(self.random_state)
        # the output is allocated once and the synthetic rows are copied from the device straight into it
        n_out = len(y) + sum(int(v) for v in strategy.values())
        X_out = np.empty((n_out,) + X.shape[1:], dtype=X.dtype)
        y_out = np.empty(n_out, dtype=y.dtype)
        X_out[:len(y)], y_out[:len(y)] = X, y
        pos = len(y)
        for c, n_new in strategy.items():
            n_new = int(n_new)
            if n_new == 0:
                continue
            idx = np.flatnonzero(y == c)
            syn = self._synthesize(torch.as_tensor(X[idx], dtype=dtype).to(dev), n_new, gen)
            try:
                torch.from_numpy(X_out[pos:pos + n_new]).copy_(syn)
            except TypeError:  # an output dtype torch does not know
                X_out[pos:pos + n_new] = syn.cpu().numpy()
            y_out[pos:pos + n_new] = c
            pos += n_new
        return X_out, y_out

    def _checked_strategy(self, y: np.ndarray) -> dict:
        """``sampling_strategy_``, after checking every class to grow has more than ``k_neighbors`` samples."""
        k = self.k_neighbors
        for c, n_new in self.sampling_strategy_.items():
            n_c = int(np.sum(y == c))
            if n_new > 0 and n_c <= k:
                label = c.item() if hasattr(c, "item") else c
                raise ValueError(f"SMOTE cannot over-sample class {label!r}: it has {n_c} samples, but "
                                 f"k_neighbors={k} needs at least {k + 1}; lower k_neighbors or drop the class")
        return self.sampling_strategy_

    def _synthesize(self, Xc: torch.Tensor, n_new: int, gen: torch.Generator) -> torch.Tensor:
        """``n_new`` SMOTE samples from the rows of one class (a float tensor on the working device)."""
        k, dev = int(self.k_neighbors), Xc.device
        flat = torch.randint(0, len(Xc) * k, (n_new,), generator=gen)
        rows, cols = flat // k, flat % k
        u = torch.rand(n_new, 1, generator=gen, dtype=Xc.dtype)
        uniq, inv = torch.unique(rows, return_inverse=True)
        nn_idx = knn_same_set(Xc, uniq.to(dev), k, int(self.block_size))
        nbr = nn_idx[inv.to(dev), cols.to(dev)]
        base = Xc[rows.to(dev)]
        return base + u.to(dev) * (Xc[nbr] - base)

    def _fit_resample_tensor(self, X: torch.Tensor, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        self._validate_params()
        y_np = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}")
        if len(X) != len(y_np):
            raise ValueError(f"X and y have different lengths: {len(X)} vs {len(y_np)}")
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y_np, self._sampling_type)
        strategy = self._checked_strategy(y_np)
        dtype = X.dtype if X.is_floating_point() else torch.float32
        gen = _generator(self.random_state)
        y_t = torch.as_tensor(y_np, device=X.device)
        xs, ys = [X], [y_t]
        for c, n_new in strategy.items():
            n_new = int(n_new)
            if n_new == 0:
                continue
            idx = torch.as_tensor(np.flatnonzero(y_np == c), device=X.device)
            xs.append(self._synthesize(X[idx].to(dtype), n_new, gen).to(X.dtype))
            ys.append(torch.full((n_new,), int(c), dtype=y_t.dtype, device=X.device))
        return torch.cat(xs), torch.cat(ys)


class TorchRandomOverSampler(ImbenchOverSampler):
    """Random over-sampling: duplicates of class samples drawn uniformly with replacement.

    Same contract and ``sampling_strategy`` semantics as imbalanced-learn's ``RandomOverSampler``
    (originals first, then the duplicates class by class). ``device`` is where the gather runs.
    See Chawla et al. (2002) for its comparison with SMOTE.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As for imbalanced-learn's ``RandomOverSampler``.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws (``None``: fresh entropy).
    device : str or torch.device, default="auto"
        Where the gather runs.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class -> number of samples added.
    """

    _parameter_constraints: dict = {**ImbenchOverSampler._parameter_constraints, "device": DEVICE_CONSTRAINTS}

    def __init__(self, sampling_strategy: Any = "auto", random_state: int | None = None,
                 device: str | torch.device = "auto") -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.device = device

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gen = _generator(self.random_state)
        dev = resolve_device(self.device)
        picks = []
        for c, n_new in self.sampling_strategy_.items():
            if int(n_new) == 0:
                continue
            idx = torch.as_tensor(np.flatnonzero(y == c))
            picks.append(idx[torch.randint(0, len(idx), (int(n_new),), generator=gen)])
        if not picks:
            return X.copy(), y.copy()
        sel = torch.cat(picks)
        Xt = torch.as_tensor(X).to(dev)
        dup = Xt[sel.to(dev)].cpu().numpy()
        return np.concatenate([X, dup]), np.concatenate([y, y[sel.numpy()]])
