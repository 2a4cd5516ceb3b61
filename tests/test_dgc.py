"""DGC (Wang, Lyu & Jing 2020): the networks' shapes, the data perturbation and the losses by hand, the
Monte-Carlo scoring, a tiny end-to-end fit through the method protocol, seeding and bad input."""
import math

import numpy as np
import pytest
import torch

from imbench.errors import ConfigError
from imbench.methods.dgc import (Dgc, DgcPredictor, Likelihoods, Scoring, main_objective, mc_log_bound,
                                 moment_matching_loss, perturbation_indices, repeat_rates)
from imbench.methods.dgc_nets import DgcModel, same_padding
from imbench.methods.protocol import ClassifierFactory, FoldTask, JobContext, Split
from imbench.methods.registry import METHODS, PLANNED, build_method, load_method_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COUNTS = {0: 40, 1: 12, 2: 8}
TINY = {"width": [4, 8, 8, 8], "decoder_width": [8, 8, 4], "z_dim": 8}


def images(counts=COUNTS, seed=0, shape=(1, 28, 28)):
    """Separable images: class c has a bright 8×8 block at its own place on a dim noisy background."""
    rng = np.random.default_rng(seed)
    y = np.repeat(list(counts), list(counts.values()))
    X = (0.2 * rng.random((len(y), *shape))).astype(np.float32)
    for i, c in enumerate(y):
        if len(shape) == 3:
            X[i, :, 2 + 8 * c:10 + 8 * c, 4:12] = 0.9
        else:  # tabular: a bright feature per class
            X[i, c] = 0.9
    return Split(X, y)


def task(split=None, counts=COUNTS, seed=11):
    split = split or images(counts)
    return FoldTask(0, split, None, [c for c in counts if counts[c] < max(counts.values())], dict(counts), 1,
                    {0: seed})


def context(n_classes=3):
    return JobContext(list(range(n_classes)), torch.device("cpu"), ClassifierFactory({}), progress=False)


def dgc(**changes) -> Dgc:
    cfg = load_method_config("dgc")
    cfg.update(changes)
    return build_method(cfg)


# -- the networks ------------------------------------------------------------------------------------
def test_same_padding_is_tensorflows():
    assert same_padding(28, 4, 2) == (1, 1) and same_padding(7, 4, 2) == (1, 2)  # 7 → 4: the odd unit after
    assert same_padding(28, 4, 1) == (1, 2) and same_padding(32, 4, 2) == (1, 1)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32)])
def test_heads_have_the_shapes_of_the_input_and_the_classes(shape):
    torch.manual_seed(0)
    model = DgcModel(shape, 5, TINY["width"], TINY["decoder_width"], 6)
    x = torch.rand(3, *shape)
    q = model.encoder(x)
    assert q.mean.shape == (3, 6) and q.logvar.shape == (3, 6)
    z = q.sample()
    x_hat = model.decoder(z)
    assert x_hat.shape == (3, *shape) and torch.all((x_hat > 0) & (x_hat < 1))
    assert model.classifier(z).shape == (3, 5)
    sizes = [f.shape[-1] for f in _feature_maps(model.encoder.features, x)]
    assert sizes == ([14, 7, 4, 2] if shape[1] == 28 else [16, 8, 4, 2])
    assert model.decoder.start[1:] == ((7, 7) if shape[1] == 28 else (8, 8))
    assert model.encoder(x).sample(torch.zeros(4, 3, 6)).shape == (4, 3, 6)  # S draws per input


def _feature_maps(features, x):
    out = []
    for layer in features:
        x = layer(x)
        if isinstance(layer, torch.nn.ReLU):
            out.append(x)
    return out


def test_default_networks_are_the_released_codes():
    method = dgc()
    torch.manual_seed(0)
    model = DgcModel((1, 28, 28), 10, method.width, method.decoder_width, method.z_dim)
    convs = [m for m in model.encoder.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [128, 256, 512, 1024] and convs[0].kernel_size == (4, 4)
    assert model.encoder.mean.in_features == 2 * 2 * 1024 and model.encoder.mean.out_features == 64
    assert model.decoder.linear.out_features == 7 * 7 * 1024
    deconvs = [m for m in model.decoder.upsample if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [d.out_channels for d in deconvs] == [512, 256] and model.decoder.out.stride == (1, 1)
    assert model.classifier.in_features == 64 and model.classifier.out_features == 10
    assert abs(model.decoder.linear.weight.std().item() - 0.01) < 1e-3
    with torch.no_grad():
        assert model.decoder(torch.zeros(1, 64)).shape == (1, 1, 28, 28)


# -- the data perturbation ---------------------------------------------------------------------------
def test_perturbation_repeats_by_hand():
    rates = repeat_rates([100, 10], 0.5)
    assert rates == [0.0, 4.5]  # class 1: 1 + 0.5 · 90 / 10 = 5.5 presentations per image
    labels = np.array([0, 1, 0, 1, 1])
    # class 0 once; class 1: each repeated ⌈5.5⌉ = 6 times, cut to ⌊3 · 5.5⌋ = 16 rows: 6 + 6 + 4
    assert perturbation_indices(labels, rates).tolist() == [0, 2] + [1] * 6 + [3] * 6 + [4] * 4
    ten = perturbation_indices(np.ones(10, dtype=int), rates)
    assert len(ten) == 55 and np.bincount(ten).tolist() == [6] * 9 + [1]
    # 1 + r integral: exactly 1 + r copies each; a batch without the minority class stays as it is
    assert np.bincount(perturbation_indices(np.array([1, 1, 0]), repeat_rates([30, 10], 1.0))).tolist() == [3, 3, 1]
    assert perturbation_indices(np.array([0, 0]), rates).tolist() == [0, 1]
    assert perturbation_indices(np.array([1, 0, 1]), repeat_rates([100, 10], 0.0)).tolist() == [1, 0, 2]


# -- the losses --------------------------------------------------------------------------------------
def test_moment_matching_loss_by_hand():
    z, noise = torch.tensor([[1.0], [3.0]]), torch.zeros(2, 1)
    assert math.isclose(float(moment_matching_loss(z, noise)), 2.0 ** 2 + 2.0 ** 2)  # means 2 vs 0, variances 2 vs 0
    g = torch.randn(500, 3, generator=torch.Generator().manual_seed(0))
    assert float(moment_matching_loss(g, g)) == 0.0


def test_main_objective_sums_the_cross_entropy_and_averages_the_reconstruction():
    torch.manual_seed(0)
    model = DgcModel((1, 28, 28), 3, **{k: TINY[k] for k in ("width", "decoder_width")}, z_dim=8)
    x, y = torch.rand(5, 1, 28, 28), torch.tensor([0, 1, 2, 0, 1])
    torch.manual_seed(1)
    terms = main_objective(model, x, y, 10.0)
    torch.manual_seed(1)
    z = model.encoder(x).sample()
    recon = 0.5 * ((x - model.decoder(z)) ** 2).sum((1, 2, 3)).mean()
    ce = torch.nn.functional.cross_entropy(model.classifier(z), y)
    assert torch.allclose(terms.reconstruction, recon) and torch.allclose(terms.classification, 5 * ce)
    assert torch.allclose(terms.total, recon + 10 * 5 * ce)


# -- prediction --------------------------------------------------------------------------------------
def test_mc_log_bound_by_hand():
    log_px = torch.tensor([[-2.0], [-4.0]])
    log_py = torch.log(torch.tensor([[0.5], [0.25]]))
    a, b = -1 + 10 * math.log(0.5), -2 + 10 * math.log(0.25)
    expected = math.log((math.exp(a) + math.exp(b)) / 2)
    assert math.isclose(float(mc_log_bound(log_px, log_py, 10.0)[0]), expected, rel_tol=1e-6)


def _fixed_model(bias):
    """q(z|x) with σ ≈ 1e-4 and p(y|z) = softmax(bias) whatever z: the reconstruction term is the same
    for every class, the classifier alone decides."""
    torch.manual_seed(0)
    model = DgcModel((1, 28, 28), len(bias), TINY["width"], TINY["decoder_width"], 8)
    with torch.no_grad():
        model.encoder.logvar.weight.zero_()
        model.encoder.logvar.bias.fill_(-60.0)  # clipped to -50
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    return model.eval()


def test_scoring_picks_the_class_the_likelihoods_favour_and_sums_to_one():
    bias = [0.0, 0.3, 0.1]
    predictor = DgcPredictor(_fixed_model(bias), torch.device("cpu"), Scoring(mc_samples=4, lambda_cls=10.0, batch=3))
    X = images(seed=1).X[:7]
    proba = predictor.predict_proba(X)
    expected = torch.softmax(10 * torch.tensor(bias, dtype=torch.float64), 0).numpy()  # λ_cls · log p(y|z)
    assert proba.shape == (7, 3) and np.allclose(proba.sum(1), 1.0)
    assert np.allclose(proba, expected, atol=1e-3) and np.all(proba.argmax(1) == 1)
    assert np.array_equal(proba, predictor.predict_proba(X))  # the draws are seeded


def test_scores_are_the_log_mean_exp_of_the_likelihoods_and_draws_are_per_class_unless_shared(monkeypatch):
    calls = []

    def likelihoods(self, x, z):  # S = 2 draws; class 2 likeliest under the first draw only
        calls.append(z.shape)
        B = len(x)
        log_px = torch.tensor([[-1.0], [-3.0]]).expand(2, B)
        log_py = torch.log(torch.tensor([[0.2, 0.2, 0.6], [0.5, 0.3, 0.2]])).unsqueeze(1).expand(2, B, 3)
        return Likelihoods(log_px=log_px, log_py=log_py)

    monkeypatch.setattr(DgcPredictor, "likelihoods", likelihoods)
    X = images(seed=1).X[:5]
    for shared, n_calls in ((False, 3 * 2), (True, 1 * 2)):  # 2 batches of at most 3 inputs
        calls.clear()
        p = DgcPredictor(_fixed_model([0.0, 0.0, 0.0]), torch.device("cpu"),
                         Scoring(mc_samples=2, lambda_cls=1.0, shared=shared, batch=3))
        scores = p.log_scores(X)
        assert len(calls) == n_calls and calls[0] == (2, 3, 8)
        for k, (p1, p2) in enumerate([(0.2, 0.5), (0.2, 0.3), (0.6, 0.2)]):
            expected = math.log((math.exp(-0.5 + math.log(p1)) + math.exp(-1.5 + math.log(p2))) / 2)
            assert np.allclose(scores[:, k], expected)
        proba = p.predict_proba(X)
        assert np.all(proba.argmax(1) == 2) and np.allclose(proba.sum(1), 1.0)


# -- end to end --------------------------------------------------------------------------------------
FIT = dict(TINY, epochs=8, warmup_epochs=1, batch_size=20, lr=1e-2, pretrain_steps=3, mc_samples=3,
           lr_decay={4: 0.5, 6: 0.5})


def test_profile_caps_the_schedule():
    capped = Dgc.capped_config(load_method_config("dgc"), {"max_epochs": 3, "max_generator_batches": 50})
    assert (capped["epochs"], capped["warmup_epochs"], capped["pretrain_steps"],
            capped["max_batches_per_epoch"]) == (3, 2, 50, 50)


def test_tiny_fit_predicts_every_class_and_records_what_ran():
    assert "dgc" in METHODS and "dgc" not in PLANNED and METHODS["dgc"].kind == "end_to_end"
    assert METHODS["dgc"].label == "DGC" and Dgc.own_classifier(load_method_config("dgc"))["name"] == "dgc"
    fit = dgc(**FIT).fit_fold(task(), context())
    run = fit.runs[0]
    t = run.training
    assert t["epochs"] == 8 and t["warmup_epochs"] == 1 and t["batches_per_epoch"] == 3
    assert t["steps"] == 24 and t["lvo_steps"] == 24 and t["warmup_steps"] == 3 and 1 <= t["pretrain_steps"] <= 3
    # per epoch: class 0's 40 rows once, class 2's 8 rows 1 + 0.5 · 32/8 = 3 times each; class 1's 12 rows
    # 1 + 0.5 · 28/12 = 2.17 times, its run cut to an integer in each of the 3 mini-batches (26 less 0 to 3)
    assert 40 + 24 + 23 <= t["presentations_per_epoch"] <= 40 + 24 + 26
    assert t["repeat_rates"] == {0: 0.0, 1: pytest.approx(28 / 24), 2: 2.0}
    assert math.isclose(t["lr_final"], 1e-2 / 4)
    assert set(t["final_losses"]) == {"total", "reconstruction", "classification"} and run.train_s > 0
    info = fit.info["dgc"]
    assert info["loss_terms"]["mixture"] == 0.0 and info["loss_terms"]["mmd"] is None and info["aug_rate"] == 0.5
    assert info["mc_samples"] == 3 and fit.synthetic is None
    test = images(seed=1)
    proba = run.predictor.predict_proba(test.X)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(1), 1.0)
    assert set(proba.argmax(1)) == {0, 1, 2} and np.mean(proba.argmax(1) == test.y) > 0.8
    g = run.predictor.class_gaussians
    assert g.means.shape == (3, 8) and g.covariances.shape == (3, 8, 8)


def test_same_seed_same_predictions():
    split, test = images(), images(seed=1).X[:20]
    changes = dict(FIT, epochs=1, pretrain_steps=1, lvo=False)
    fits = [dgc(**changes).fit_fold(task(split, seed=s), context()).runs[0] for s in (4, 4, 5)]
    assert fits[0].training["lvo_steps"] == 0
    p = [f.predictor.predict_proba(test) for f in fits]
    assert np.array_equal(p[0], p[1]) and not np.allclose(p[0], p[2])
    # a new order every epoch: the warm-up reads the same order as `once`, the main epoch another one
    reshuffled = dgc(**changes, shuffle="epoch").fit_fold(task(split, seed=4), context()).runs[0]
    assert not np.allclose(reshuffled.predictor.predict_proba(test), p[0])


def test_smoke_run_limits_cut_the_epochs_and_the_pretraining():
    changes = dict(FIT, epochs=2, warmup_epochs=1, max_batches_per_epoch=2, pretrain_steps=5, pretrain_stop=1e9)
    t = dgc(**changes).fit_fold(task(), context()).runs[0].training
    assert t["batches_per_epoch"] == 2 and t["steps"] == 4 and t["warmup_steps"] == 2
    assert t["pretrain_steps"] == 1 and t["pretrain_stopped_early"]  # any loss is below 1e9: stop after one step


def test_32x32_rgb_images_fit():
    split = images({0: 12, 1: 6}, shape=(3, 32, 32))
    run = dgc(**dict(FIT, epochs=1, pretrain_steps=1)).fit_fold(task(split, {0: 12, 1: 6}), context(2)).runs[0]
    assert run.predictor.predict_proba(split.X).shape == (18, 2)


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    ({"lambda_mixture": 1e-4}, "method.lambda_mixture must be 0"),
    ({"width": []}, "method.width must list positive channel counts"),
    ({"decoder_width": [8, 0]}, "method.decoder_width must list positive channel counts"),
    ({"epochs": 0}, "method.epochs must be an integer ≥ 1"),
    ({"lr": -1.0}, "method.lr must be a finite number > 0"),
    ({"aug_rate": -0.5}, "method.aug_rate must be a finite number ≥ 0"),
    ({"shuffle": "never"}, "method.shuffle must be one of once, epoch"),
    ({"lr_decay": {"a": 0.5}}, "method.lr_decay must map epochs"),
    ({"lr_decay": {30: 0.0}}, "factors > 0"),
    ({"lvo": "yes"}, "method.lvo must be true or false"),
    ({"wdth": [8]}, "could not be built from its config"),
])
def test_bad_parameters_give_a_config_error(changes, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        dgc(**changes)


@pytest.mark.parametrize("split, counts, message", [
    (images(shape=(6,)), COUNTS, r"DGC needs images \(N×C×H×W\); this data has shape \(6,\)"),
    (images(shape=(1, 30, 30)), COUNTS, "divisible by 4"),
    (Split(images().X * 2, images().y), COUNTS, r"pixels in \[0, 1\]"),
    (images({0: 40, 1: 12}), {0: 40, 1: 12}, r"class\(es\) \[2\] have no training samples"),
])
def test_data_dgc_cannot_model_is_a_config_error(split, counts, message):
    with pytest.raises(ConfigError, match=message):
        dgc(**TINY).fit_fold(task(split, counts), context())
