"""DOS (Ando & Huang 2017): the embedding targets, the micro-cluster loss by hand, the loss without its
micro-cluster term, a tiny end-to-end fit, bad input and seeding."""
import math

import numpy as np
import pytest
import torch

from imbench.errors import ConfigError
from imbench.methods.dos import Dos
from imbench.methods.dos_training import (DosLoss, DosTrainer, draw_overloading, embedding_targets,
                                          micro_cluster_loss)
from imbench.methods.gamo.objective import Objective
from imbench.methods.protocol import ClassifierFactory, FoldTask, JobContext, Split
from imbench.methods.registry import METHODS, PLANNED, build_method, load_method_config

COUNTS = {0: 60, 1: 20, 2: 8}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def images(counts=COUNTS, seed=0, shape=(1, 28, 28)):
    rng = np.random.default_rng(seed)
    y = np.repeat(list(counts), list(counts.values()))
    X = rng.random((len(y), *shape)).astype(np.float32)
    X.reshape(len(y), -1)[:, :20] += 0.3 * y[:, None]  # the classes differ a little
    return Split(np.clip(X, 0, 1), y)


def task(split=None, counts=COUNTS, seed=11):
    split = split or images(counts)
    return FoldTask(0, split, None, [c for c in counts if counts[c] < max(counts.values())], dict(counts), 1,
                    {0: seed})


def context(n_classes=3):
    return JobContext(list(range(n_classes)), torch.device("cpu"), ClassifierFactory({}), progress=False)


def dos(**changes) -> Dos:
    cfg = load_method_config("dos")
    cfg.update(changes)
    return build_method(cfg)


# -- the embedding targets ---------------------------------------------------------------------------
def test_targets_are_convex_combinations_of_the_embeddings_of_the_own_class_nearest_neighbours():
    torch.manual_seed(0)
    method = dos(form="dense", k={1: 3, 2: 4})
    split = images(shape=(12,))
    X, y = torch.as_tensor(split.X), torch.as_tensor(split.y)
    settings = method.class_settings(task(split), [0, 1, 2])
    assert settings.copies == [0, 2, 7] and settings.k == [0, 3, 4]  # balance: round(60/20)-1, round(60/8)-1
    network = method.build_network(X, 3)
    trainer = DosTrainer(network, method.loss, method.schedule, X, y, settings.k, settings.copies, seed=3)
    targets = trainer.refresh()
    with torch.no_grad():
        f = network.embedding(X)
    assert torch.allclose(targets.embeddings, f)
    over = targets.overloading
    assert len(over.samples) == 88 + 20 * 2 + 8 * 7
    assert torch.equal(over.samples[:88], torch.arange(88)) and torch.all(over.weights[:88] == 0)
    d = torch.cdist(f, f)
    for i, w in zip(over.samples[88:].tolist(), over.weights[88:]):
        c, k = int(y[i]), settings.k[int(y[i])]
        assert c in (1, 2)
        own = torch.nonzero((y == c) & (torch.arange(88) != i)).squeeze(1)
        nearest = own[d[i, own].argsort()[:k]]
        assert set(targets.neighbours[i, :k].tolist()) == set(nearest.tolist())
        assert torch.all(w >= 0) and math.isclose(float(w.sum()), 1.0, rel_tol=1e-6) and torch.all(w[k:] == 0)
        target = embedding_targets(f[targets.neighbours[i]].unsqueeze(0), w.unsqueeze(0))[0]
        assert torch.allclose(target, w[:k] @ f[targets.neighbours[i, :k]], atol=1e-6)
    # each overloaded sample of class j appears r_j times, each time with its own weights
    assert torch.equal(torch.bincount(over.samples[88:], minlength=88)[y == 2], torch.full((8,), 7))
    assert not torch.allclose(over.weights[88], over.weights[88 + 20])


def test_no_overloading_means_every_sample_once_without_target():
    y = torch.tensor([0, 0, 1, 1, 1])
    over = draw_overloading(y, [0, 0], [0, 0], torch.Generator().manual_seed(0))
    assert torch.equal(over.samples, torch.arange(5)) and torch.all(over.weights == 0)


# -- the micro-cluster loss --------------------------------------------------------------------------
def test_micro_cluster_loss_by_hand():
    f = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    v = torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[5.0, 5.0], [1.0, 1.0]]])
    w = torch.tensor([[0.25, 0.75], [0.0, 0.0]])  # the second presentation is plain
    assert torch.allclose(micro_cluster_loss(f, v, w), torch.tensor([0.25 * 1 + 0.75 * 4, 0.0]))
    assert torch.allclose(micro_cluster_loss(f, v, w, "euclidean"), torch.tensor([0.25 * 1 + 0.75 * 2, 0.0]))
    # Σ w ‖f − v‖² = ‖f − t‖² + Σ w ‖v − t‖²: the pull is towards the target t = Σ w v = (0.25, 1.5)
    t = embedding_targets(v, w)[0]
    assert torch.allclose(t, torch.tensor([0.25, 1.5]))
    spread = (w[0] * ((v[0] - t) ** 2).sum(1)).sum()
    assert math.isclose(((f[0] - t) ** 2).sum() + spread, 3.25, rel_tol=1e-6)
    logits, labels = torch.tensor([[2.0, 0.0], [0.5, 1.0]]), torch.tensor([0, 1])
    terms = DosLoss(Objective("ce", "categorical"), micro_cluster_weight=0.5)(logits, labels, f, v, w)
    ce = -(np.log(np.exp(2) / (np.exp(2) + 1)) + np.log(np.exp(1) / (np.exp(0.5) + np.exp(1)))) / 2
    assert math.isclose(float(terms.classification), ce, rel_tol=1e-6)
    assert math.isclose(float(terms.micro_cluster), 3.25 / 2, rel_tol=1e-6)
    assert math.isclose(float(terms.total), ce + 0.5 * 3.25 / 2, rel_tol=1e-6)


@pytest.mark.parametrize("form", ["ce", "ls"])
def test_loss_is_the_plain_classification_loss_without_the_micro_cluster_term(form):
    torch.manual_seed(0)
    logits, labels, f = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2]), torch.randn(6, 4)
    v, w = torch.randn(6, 2, 4), torch.rand(6, 2)
    plain = Objective(form, "categorical").classifier(logits, labels)
    assert torch.equal(DosLoss(Objective(form, "categorical"), 0.0)(logits, labels, f, v, w).total, plain)
    assert torch.equal(DosLoss(Objective(form, "categorical"), 1.0)(logits, labels, f, v, torch.zeros(6, 2)).total,
                       plain)  # r = 0: every presentation plain
    assert DosLoss(Objective(form, "categorical"), 1.0)(logits, labels, f, v, w).total > plain


def test_without_overloading_the_micro_cluster_weight_changes_nothing():
    split = images()
    a = dos(overload=0, steps=6, pretrain_steps=2).fit_fold(task(split), context()).runs[0]
    b = dos(overload=0, steps=6, pretrain_steps=2, micro_cluster_weight=0.0).fit_fold(task(split), context()).runs[0]
    assert a.training["final_losses"]["micro_cluster"] == 0.0 and a.training["presentations_per_pass"] == 88
    assert np.array_equal(a.predictor.predict_proba(split.X), b.predictor.predict_proba(split.X))


# -- end to end --------------------------------------------------------------------------------------
def test_tiny_fit_trains_a_few_mini_batches_and_scores_every_class():
    assert "dos" in METHODS and "dos" not in PLANNED and METHODS["dos"].kind == "end_to_end"
    fit = dos(steps=7, pretrain_steps=1, refresh_every=2, k=3).fit_fold(task(), context())
    run = fit.runs[0]
    assert run.training["steps"] == 7 and run.training["pretrain_steps"] == 1 and run.training["refreshes"] == 3
    assert run.training["final_losses"]["micro_cluster"] > 0
    proba = run.predictor.predict_proba(images(seed=1).X)
    assert proba.shape == (88, 3) and np.allclose(proba.sum(1), 1.0) and np.all(proba > 0)
    assert fit.synthetic is None
    assert fit.info["dos"]["k"] == {0: 0, 1: 3, 2: 3} and fit.info["dos"]["overload"] == {0: 0, 1: 2, 2: 7}
    assert Dos.own_classifier(load_method_config("dos"))["name"] == "gamo_conv_cn"


def test_dense_form_fits_tabular_data():
    split = images(shape=(6,))
    run = dos(form="dense", steps=4, k=2).fit_fold(task(split), context()).runs[0]
    assert run.training["pretrain_steps"] == 2 and run.training["refreshes"] == 1
    assert np.allclose(run.predictor.predict_proba(split.X).sum(1), 1.0)


def test_same_seed_same_predictions():
    split = images()
    fits = [dos(steps=5, pretrain_steps=1).fit_fold(task(split, seed=s), context()).runs[0] for s in (4, 4, 5)]
    p = [f.predictor.predict_proba(split.X) for f in fits]
    assert np.array_equal(p[0], p[1]) and not np.allclose(p[0], p[2])


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    ({"loss": "hinge"}, "method.loss must be one of ce, ls"),
    ({"form": "graph"}, "method.form must be one of dense, conv"),
    ({"k": 0}, "method.k must be an integer ≥ 1"),
    ({"overload": -1}, "method.overload must be an integer ≥ 0"),
    ({"overload": "double"}, "method.overload must be 'balance'"),
    ({"k": {7: 3}}, "names class(es) [7]"),
    ({"micro_cluster_weight": -1.0}, "micro_cluster_weight must be a finite number"),
])
def test_bad_parameters_give_a_config_error(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        dos(**changes).fit_fold(task(), context())


def test_k_larger_than_a_class_allows_is_a_config_error_naming_the_class():
    with pytest.raises(ConfigError, match=r"class 2: k=8 with 8 samples"):
        dos(k=8).fit_fold(task(), context())
    dos(k={1: 8, 2: 7}, steps=2).fit_fold(task(), context())  # the majority class is not overloaded: no k needed


def test_conv_form_on_tabular_data_is_a_config_error():
    with pytest.raises(ConfigError, match="needs images"):
        dos().fit_fold(task(images(shape=(6,))), context())


def test_a_non_finite_loss_is_a_training_error_naming_the_mini_batch_and_seed():
    from imbench.errors import TrainingError

    split = images(shape=(6,))
    X = split.X.copy()
    X[5:] = np.nan  # the first mini-batch may be finite, some later one is not
    with pytest.raises(TrainingError, match=r"DOS's loss became nan at mini-batch \d+ \(seed 11\)"):
        dos(form="dense", steps=4, k=2).fit_fold(task(Split(X, split.y)), context())
