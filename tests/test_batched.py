"""Batched (vmap) training of N models matches N sequential ``train_model`` runs."""
from __future__ import annotations

import math

import pytest
import torch

from imbench.classifiers.batched import train_models_batched
from imbench.classifiers.models import MLP
from imbench.classifiers.train import Schedule, train_model

# Tolerance of batched vs sequential parameters after TOL_STEPS steps (float32, dropout 0).
TOL = 1e-4
SEEDS = [0, 1, 2]


def _data(n: int = 96, d: int = 12, c: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    return X, y


def _make(d: int = 12, c: int = 3, dropout: float = 0.0):
    return lambda: MLP(d, c, hidden=(16, 16), dropout=dropout, init="keras")


def _sequential(make, datasets, schedule, seeds):
    out = []
    for (X, y, w), s in zip(datasets, seeds):
        torch.manual_seed(s)
        m = make()
        train_model(m, X, y, schedule, sample_weight=w, seed=s)
        out.append(m)
    return out


def _max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("optimizer,loss", [("adam", "ce"), ("rmsprop", "ce"), ("sgd", "ls")])
def test_batched_matches_sequential(optimizer: str, loss: str) -> None:
    X, y = _data()
    w = torch.rand(len(y), generator=torch.Generator().manual_seed(5)) + 0.5
    datasets = [(X, y, None), (X, y, w), (X * 0.5, y, None)]
    # 96 samples, batch 20 -> 5 batches per epoch with a short last one; 8 epochs = 40 steps
    sched = Schedule(epochs=8, batch_size=20, optimizer=optimizer, lr=1e-2, momentum=0.9 if optimizer == "sgd" else 0.0,
                     loss=loss, alpha=0.9, eps=1e-7)
    res = train_models_batched(_make(), datasets, sched, SEEDS)
    seq = _sequential(_make(), datasets, sched, SEEDS)
    assert res.errors == [None, None, None]
    for mb, ms in zip(res.models, seq):
        assert _max_diff(mb, ms) < TOL
    assert all(r.steps_run == 40 and r.epochs_run == 8 for r in res.results)


def test_unequal_sizes_and_shuffle_once() -> None:
    X, y = _data(n=96)
    X2, y2 = _data(n=61, seed=3)
    datasets = [(X, y, None), (X2, y2, None)]
    sched = Schedule(epochs=5, batch_size=16, optimizer="adam", lr=5e-3, shuffle="once")
    res = train_models_batched(_make(), datasets, sched, [4, 7])
    seq = _sequential(_make(), datasets, sched, [4, 7])
    assert [r.steps_run for r in res.results] == [5 * math.ceil(96 / 16), 5 * math.ceil(61 / 16)]
    for mb, ms in zip(res.models, seq):
        assert _max_diff(mb, ms) < TOL


def test_members_differ_across_seeds() -> None:
    X, y = _data()
    sched = Schedule(steps=10, batch_size=32, optimizer="adam", lr=1e-2)
    res = train_models_batched(_make(dropout=0.2), [(X, y, None)], sched, SEEDS)
    assert len(res.models) == 3
    for i in range(3):
        for j in range(i + 1, 3):
            assert _max_diff(res.models[i], res.models[j]) > 1e-3


def test_nan_member_is_reported_and_isolated() -> None:
    X, y = _data()
    Xbad = X.clone()
    Xbad[:] = float("nan")
    datasets = [(X, y, None), (Xbad, y, None), (X, y, None)]
    sched = Schedule(epochs=4, batch_size=32, optimizer="adam", lr=1e-2)
    res = train_models_batched(_make(), datasets, sched, SEEDS)
    assert res.ok == [True, False, True]
    assert "step 1 " in res.errors[1] and "seed 1" in res.errors[1]
    # the failed member keeps its (finite) initial parameters
    torch.manual_seed(SEEDS[1])
    init = _make()()
    assert _max_diff(res.models[1], init) == 0.0
    # the healthy members are exactly what they are without the NaN member
    clean = train_models_batched(_make(), [datasets[0], datasets[2]], sched, [SEEDS[0], SEEDS[2]])
    assert _max_diff(res.models[0], clean.models[0]) < 1e-6
    assert _max_diff(res.models[2], clean.models[1]) < 1e-6


def test_best_val_rejected() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match="selection"):
        train_models_batched(_make(), [(X, y, None)], Schedule(epochs=1, selection="best_val"), [0])
