"""Batched (vmap) training of N models matches N sequential ``train_model`` runs."""
from __future__ import annotations

import math

import pytest
import torch

from imbench.divergence import DivergenceSettings, divergence_settings

from imbench.classifiers.batched import train_models_batched
from imbench.classifiers.models import MLP
from imbench.classifiers.train import Schedule, train_model

# Tolerance of batched vs sequential parameters after TOL_STEPS steps (float32, dropout 0).
TOL = 1e-4
SEEDS = [0, 1, 2]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


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
        m = make().to(X.device)
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


def test_a_member_whose_loss_grows_beyond_the_bound_fails_alone() -> None:
    X, y = _data()
    Xbig = X * 1e6  # finite, but the loss explodes
    datasets = [(X, y, None), (Xbig, y, None), (X, y, None)]
    sched = Schedule(epochs=4, batch_size=32, optimizer="sgd", lr=10.0)
    res = train_models_batched(_make(), datasets, sched, SEEDS)
    assert res.ok[1] is False and "the classifier diverged: its loss grew to" in res.errors[1]
    assert "seed 1" in res.errors[1]
    with divergence_settings(DivergenceSettings(check=False)):
        relaxed = train_models_batched(_make(), datasets, sched, SEEDS)
    assert relaxed.errors[1] is None or "training loss became" in relaxed.errors[1]


def test_best_val_rejected() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match="selection"):
        train_models_batched(_make(), [(X, y, None)], Schedule(epochs=1, selection="best_val"), [0])


@pytest.mark.parametrize("batched", [False, True])
def test_amp_is_ignored_on_cpu(batched: bool) -> None:
    X, y = _data()
    out = {}
    for amp in ("bf16", "none"):
        sched = Schedule(steps=6, batch_size=32, optimizer="adam", lr=1e-2, amp=amp)
        if batched:
            res = train_models_batched(_make(), [(X, y, None)], sched, [3])
            model, result = res.models[0], res.results[0]
        else:
            torch.manual_seed(3)
            model = _make()()
            result = train_model(model, X, y, sched, seed=3)
        assert result.precision == "float32"
        out[amp] = model
    assert _max_diff(out["bf16"], out["none"]) == 0.0


def test_amp_value_is_checked() -> None:
    from imbench.errors import ConfigError

    with pytest.raises(ConfigError, match="amp"):
        Schedule(amp="fp16")


def _classifier(weight: float = 1.0):
    from imbench.classifiers.downstream import DownstreamClassifier

    return DownstreamClassifier("mlp", {"_target_": "imbench.classifiers.models.mlp", "hidden": [16], "dropout": 0.0, "init": "keras"},
                                {"epochs": 3, "batch_size": 16, "optimizer": "rmsprop", "lr": 1e-2},
                                synthetic_weight=weight)


def test_fit_batched_matches_fit_with_different_synthetic_weights() -> None:
    import numpy as np

    from imbench.classifiers.downstream import fit_batched

    X, y = _data(n=80)
    Xn, yn = X.numpy(), y.numpy() + 3  # labels need not be 0..C-1
    synth = np.zeros(len(yn), bool)
    synth[60:] = True
    weights = [1.0, 5.0, 20.0]
    group = [_classifier(w) for w in weights]
    assert fit_batched(group, [(Xn, yn, synth)], classes=[3, 4, 5], seeds=[0, 1, 2]) == [None] * 3
    for clf, w, s in zip(group, weights, [0, 1, 2]):
        alone = _classifier(w).fit(Xn, yn, classes=[3, 4, 5], synthetic=synth, seed=s)
        assert clf.group_size == 3 and clf.result.steps_run == alone.result.steps_run == 15
        assert np.abs(clf.predict_proba(Xn) - alone.predict_proba(Xn)).max() < 1e-4


def test_fit_batched_splits_a_group_that_runs_out_of_memory(monkeypatch) -> None:
    import numpy as np

    import imbench.classifiers.downstream as ds

    real = ds.train_models_batched
    oom = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)

    def small_memory(make_model, datasets, schedule, seeds, **kw):
        if len(seeds) > 1:
            raise oom("pretend: too many members")
        return real(make_model, datasets, schedule, seeds, **kw)

    monkeypatch.setattr(ds, "train_models_batched", small_memory)
    X, y = _data(n=40)
    group = [_classifier() for _ in range(3)]
    assert ds.fit_batched(group, [(X.numpy(), y.numpy(), None)], classes=[0, 1, 2], seeds=[0, 1, 2]) == [None] * 3
    assert [c.group_size for c in group] == [1, 1, 1]
    assert all(np.isfinite(c.predict_proba(X.numpy())).all() for c in group)


@cuda
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_cuda_float32_matches_sequential(optimizer: str) -> None:
    dev = torch.device("cuda")
    X, y = _data()
    X, y = X.to(dev), y.to(dev)
    w = (torch.rand(len(y), generator=torch.Generator().manual_seed(5)) + 0.5).to(dev)
    datasets = [(X, y, None), (X, y, w), (X * 0.5, y, None)]
    sched = Schedule(epochs=8, batch_size=20, optimizer=optimizer, lr=1e-2, alpha=0.9, eps=1e-7, amp="none")
    res = train_models_batched(_make(), datasets, sched, SEEDS)  # 40 steps: a CUDA graph after 3 eager ones
    eager = train_models_batched(_make(), datasets, sched, SEEDS, cuda_graph=False)
    seq = _sequential(_make(), datasets, sched, SEEDS)
    assert res.errors == [None] * 3 and all(r.precision == "float32" for r in res.results)
    for mb, me, ms in zip(res.models, eager.models, seq):
        assert _max_diff(mb, ms) < TOL and _max_diff(mb, me) < 1e-6
    for rb, re_ in zip(res.results, eager.results):
        assert rb.history == pytest.approx(re_.history, rel=1e-5) and rb.steps_run == re_.steps_run == 40


@cuda
def test_cuda_graph_with_dropout_reshuffles_and_a_failing_member() -> None:
    dev = torch.device("cuda")
    X, y = _data()
    X, y = X.to(dev), y.to(dev)
    Xbad = X.clone()
    Xbad[5] = float("nan")  # member 1 diverges when sample 5 comes up (eagerly or in the graph)
    sched = Schedule(epochs=6, batch_size=16, optimizer="adam", lr=1e-2, amp="none")
    res = train_models_batched(_make(dropout=0.3), [(X, y, None), (Xbad, y, None), (X[:50], y[:50], None)], sched,
                               [0, 1, 2])
    assert res.ok == [True, False, True]
    assert [r.steps_run for r in res.results][::2] == [36, 24]
    assert all(torch.isfinite(p).all() for m in res.models for p in m.parameters())
    again = train_models_batched(_make(dropout=0.3), [(X, y, None), (Xbad, y, None), (X[:50], y[:50], None)],
                                 sched, [0, 1, 2])
    assert all(_max_diff(a, b) == 0.0 for a, b in zip(res.models, again.models))  # deterministic


@cuda
def test_cuda_bf16_autocast_runs_and_stays_close() -> None:
    dev = torch.device("cuda")
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 12, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    X, y = X.to(dev), y.to(dev)
    out = {}
    for amp in ("bf16", "none"):
        sched = Schedule(epochs=10, batch_size=64, optimizer="adam", lr=1e-2, amp=amp)
        res = train_models_batched(_make(), [(X, y, None)], sched, [0, 1])
        torch.manual_seed(0)
        m = _make()().to(dev)
        r = train_model(m, X, y, sched, seed=0)
        expected = "bf16-autocast" if amp == "bf16" else "float32"
        assert r.precision == expected and all(x.precision == expected for x in res.results)
        with torch.no_grad():
            out[amp] = [float((mm(X).argmax(1) == y).float().mean()) for mm in (m, *res.models)]
    assert all(acc > 0.85 for acc in out["bf16"] + out["none"])
    assert max(abs(a - b) for a, b in zip(out["bf16"], out["none"])) < 0.05


def test_cpu_dropout_keeps_units_with_probability_1_minus_p() -> None:
    from imbench.classifiers.models import ConvNet, Dropout

    d = Dropout(0.2)
    x = torch.ones(200_000)
    torch.manual_seed(0)
    out = d(x)
    kept = out != 0
    assert abs(float(kept.float().mean()) - 0.8) < 0.005
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1.25))
    torch.manual_seed(0)
    assert torch.equal(d(x), out)  # the global seed fixes the mask, as for torch's dropout
    assert torch.equal(Dropout(1.0)(x), torch.zeros_like(x)) and torch.equal(Dropout(0.0)(x), x)
    d.eval()
    assert torch.equal(d(x), x)
    assert sum(isinstance(m, Dropout) for m in MLP(12, 3, hidden=(16, 16), dropout=0.2).modules()) == 2
    assert sum(isinstance(m, Dropout) for m in ConvNet(1, 32, 10).modules()) == 1


def test_batched_members_draw_their_own_dropout_masks() -> None:
    X, y = _data()
    sched = Schedule(steps=5, batch_size=32, optimizer="adam", lr=1e-2)
    same = train_models_batched(_make(dropout=0.0), [(X, y, None)], sched, [3, 3])
    assert _max_diff(same.models[0], same.models[1]) == 0.0  # one seed: one initialisation and data order
    res = train_models_batched(_make(dropout=0.3), [(X, y, None)], sched, [3, 3])
    assert _max_diff(res.models[0], res.models[1]) > 1e-4  # ... but other dropout masks
