"""IMSIC (He et al. 2021) and its InfoGAN baseline: the 32×32 networks, the structure loss of Eq. 6 and
the released variant, the Hungarian code→class matching, the sampler contract in both modes, bad
settings and divergence. Tiny data, one epoch of at most two batches: the file runs in well under a
minute on one CPU core."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imbench.errors import ConfigError, TrainingError
from imbench.methods.generative import infogan as infogan_module
from imbench.methods.generative.infogan import (IMSICSampler, InfoGANSampler, default_structure,
                                                independence_cap, match_codes, normalise_structure,
                                                pairwise_mse, parent_mask, structure_loss)
from imbench.methods.generative.infogan_nets import InfoGANDiscriminator, InfoGANGenerator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COUNTS = {0: 40, 1: 16, 2: 12}
FAST = dict(epochs=1, batch_size=16, max_batches_per_epoch=2, device="cpu", match_samples=10)


def _data(seed: int = 0, shape=(1, 28, 28)):
    """Three classes of noisy images in [0, 1] that differ in brightness of a band."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, c) for c, n in COUNTS.items()])
    X = rng.uniform(0, 0.4, size=(len(y), *shape)).astype(np.float32)
    for c in COUNTS:
        X[y == c, :, 4 * c:4 * c + 6] += 0.5
    return np.clip(X, 0, 1), y


# ----- networks ------------------------------------------------------------------------------------
def test_networks_shapes_heads_and_pytorch_gan_quirks():
    G = InfoGANGenerator(latent_dim=62, n_categories=10, code_dim=4)
    D = InfoGANDiscriminator(n_categories=10, code_dim=4)
    z, cat, code = torch.randn(5, 62), torch.eye(10)[torch.arange(5)], torch.rand(5, 4) * 2 - 1
    img = G(z, cat, code)
    assert img.shape == (5, 1, 32, 32) and img.min() >= -1 and img.max() <= 1
    adv, aux, lat = D(img)
    assert adv.shape == (5, 1) and aux.shape == (5, 10) and lat.shape == (5, 4)
    assert torch.allclose(aux.sum(1), torch.ones(5))  # the categorical head ends in a softmax
    bns = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert [m.eps for m in bns] == [1e-5, 0.8, 0.8]  # BatchNorm2d(n, 0.8): 0.8 is eps
    dbns = [m for m in D.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(dbns) == 3 and all(m.eps == 0.8 for m in dbns)
    assert D.adv_layer.in_features == 512  # 128 × 2 × 2
    convs = torch.cat([m.weight.detach().flatten() for m in D.modules() if isinstance(m, torch.nn.Conv2d)])
    assert abs(float(convs.std()) - 0.02) < 0.003
    assert abs(float(torch.cat([m.weight.detach() for m in dbns]).mean()) - 1.0) < 0.02


# ----- structure loss ------------------------------------------------------------------------------
PRED = torch.tensor([[1.0, 0.0], [3.0, 6.0]])  # c' (B=2, d=2)
CODE = torch.tensor([[0.0, 1.0], [2.0, 3.0]])  # c
STRUCT = {0: [0], 1: [0, 1]}  # c'_0 <- c_0; c'_1 <- c_0, c_1 (so c_1 is c'_0's only non-parent)


def test_structure_loss_hand_computed_both_reductions():
    mask = parent_mask(STRUCT, 2)
    assert mask.tolist() == [[1, 0], [1, 1]]
    # batch means: E c' = (2, 3), E c = (1, 2); l[i, j] = (E c'_i - E c_j)^2 = [[1, 0], [4, 1]]
    assert pairwise_mse(PRED, CODE, "batch_mean").tolist() == [[1, 0], [4, 1]]
    assert structure_loss(PRED, CODE, mask, "batch_mean").item() == pytest.approx(1 + 4 + 1 - 0)
    # per sample: l00 = (1+1)/2 = 1, l01 = 0, l10 = (0+16)/2 = 8, l11 = (1+9)/2 = 5
    assert pairwise_mse(PRED, CODE, "per_sample").tolist() == [[1, 0], [8, 5]]
    assert structure_loss(PRED, CODE, mask, "per_sample").item() == pytest.approx(1 + 8 + 5 - 0)
    one_to_one = parent_mask({0: [0], 1: [1]}, 2)  # non-parents now subtract: 1 + 5 - (0 + 8)
    assert structure_loss(PRED, CODE, one_to_one, "per_sample").item() == pytest.approx(-2.0)
    # released hinge: pos 14 - neg 0 - gains2 (l00 + l01 + l11 = 6) = 8 > 0
    assert structure_loss(PRED, CODE, mask, "per_sample", mode="code").item() == pytest.approx(8.0)


def test_code_mode_structure_loss_is_zero_for_random_predictions_paper_mode_is_not():
    gen = torch.Generator().manual_seed(0)
    mask = parent_mask(default_structure(4), 4)
    for _ in range(20):
        code = torch.rand(64, 4, generator=gen) * 2 - 1
        for pred in (torch.randn(64, 4, generator=gen), code.clone(), 3 * code):
            pred.requires_grad_(True)
            s = structure_loss(pred, code, mask, "per_sample", mode="code")
            assert s.item() == 0.0  # spec §3.2 Finding: the released regulariser is inactive
            s.backward()
            assert pred.grad is None or not pred.grad.any()
            for reduction in ("per_sample", "batch_mean"):
                assert structure_loss(pred.detach(), code, mask, reduction, mode="paper").item() != 0.0


def test_eq6_as_written_is_unbounded_below_and_the_independence_cap_bounds_it():
    gen = torch.Generator().manual_seed(1)
    mask = parent_mask(default_structure(4), 4)
    n_nonparents = int((1 - mask).sum())
    code = torch.randn(64, 4, generator=gen)
    for reduction in ("per_sample", "batch_mean"):
        cap = independence_cap(1.0, reduction, 64)
        assert cap == (2.0 if reduction == "per_sample" else 2.0 / 64)
        losses, capped = [], []
        for scale in (1.0, 10.0, 1000.0):  # D's code head pushing c' away from everything
            pred = scale * (torch.randn(64, 4, generator=gen) + 1.0)
            losses.append(structure_loss(pred, code, mask, reduction).item())
            capped.append(structure_loss(pred, code, mask, reduction, nonparent_cap=cap).item())
        assert losses[-1] < -1e4 * n_nonparents * cap  # as written: no lower limit
        assert min(capped) >= -n_nonparents * cap - 1e-6
    # below the cap the capped loss is Eq. 6 exactly; beyond it a non-parent pair gives no gradient
    pred = code[:, [1, 0, 3, 2]].clone().requires_grad_(True)  # near independence of the non-parents
    assert (structure_loss(pred, code, mask, "per_sample", nonparent_cap=1e9).item()
            == pytest.approx(structure_loss(pred, code, mask, "per_sample").item()))
    far = (pred.detach() + 100.0).requires_grad_(True)
    structure_loss(far, code, parent_mask({0: [], 1: [], 2: [], 3: []}, 4), "per_sample", nonparent_cap=2.0).backward()
    assert not far.grad.any()


@pytest.mark.parametrize("reduction,cap", [("per_sample", 2.0), ("batch_mean", 2.0 / 16)])  # batch of 16
def test_imsic_paper_training_info_loss_stays_above_the_cap_bound_and_is_recorded(reduction, cap):
    X, y = _data(seed=2)
    s = IMSICSampler(random_state=5, reduction=reduction, **{**FAST, "epochs": 3})
    s.fit_resample(X, y)
    info = s.fit_info()
    assert info["nonparent_cap"] == {"setting": "independence", "value": pytest.approx(cap)}
    assert "capped at nonparent_cap" in info["continuous_loss"]
    bound = -0.15 * 9 * cap  # lambda_con x 9 non-parent pairs x cap; the CE term is >= 0
    assert all(h["info"] >= bound - 1e-6 for h in s.history_)
    code_mode = IMSICSampler(mode="code", **FAST)
    code_mode.fit_resample(X, y)
    assert code_mode.fit_info()["nonparent_cap"] is None


def test_default_structure_is_the_released_one():
    assert default_structure(4) == {0: [0], 1: [1], 2: [2], 3: [0, 1, 2, 3]}
    assert default_structure(3) == {0: [0], 1: [1], 2: [0, 1, 2]}
    assert normalise_structure({"0": ["0"], 1: [1]}, 2, "IMSIC") == {0: [0], 1: [1]}  # YAML/CLI strings


def test_eq6_is_read_per_sample_by_default_and_null_keeps_the_earlier_batch_mean():
    from omegaconf import OmegaConf

    conf = OmegaConf.load(infogan_module.__file__.replace("methods/generative/infogan.py", "conf/method/imsic.yaml"))
    assert conf.sampler.reduction == "per_sample"  # the harness's config says it, so it is in every run's identity
    for reduction, mode, expected in [("per_sample", "paper", "per_sample"), (None, "paper", "batch_mean"),
                                      (None, "code", "per_sample"), ("batch_mean", "paper", "batch_mean")]:
        s = IMSICSampler(reduction=reduction, mode=mode)
        s._check_settings()
        assert s.reduction_ == expected
    assert IMSICSampler().reduction == "per_sample"


# ----- Hungarian matching ----------------------------------------------------------------------------
def test_matching_recovers_a_known_permutation_and_records_accuracy():
    perm = [3, 0, 4, 1, 2]  # code k makes images of class perm[k]

    def generate(k, n):  # "images" that carry their class in every pixel
        return np.full((n, 1, 2, 2), perm[k], dtype=np.float32)

    def classify(imgs):  # an exact classifier
        return imgs.reshape(len(imgs), -1)[:, 0].astype(int)

    out = match_codes(generate, classify, n_codes=5, n_classes=5, n_per_code=7)
    assert out["class_to_code"] == {c: perm.index(c) for c in range(5)}
    assert out["accuracy"] == 1.0 and out["purity"] == 1.0 and out["unmatched_codes"] == []
    assert np.array_equal(np.array(out["counts"]), 7 * np.eye(5)[perm])

    # one code confused half the time; an extra code stays unmatched
    def noisy(imgs):
        pred = classify(imgs)
        if pred[0] == 4:
            pred[: len(pred) // 2] = 0
        return pred

    out = match_codes(lambda k, n: generate(k % 5, n), noisy, n_codes=6, n_classes=5, n_per_code=8)
    assert len(out["unmatched_codes"]) == 1 and out["accuracy"] == pytest.approx((4 * 8 + 4) / 40)
    with pytest.raises(ConfigError, match="n_categories must be at least the number of classes"):
        match_codes(generate, classify, n_codes=3, n_classes=5, n_per_code=2)


# ----- the samplers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", [(InfoGANSampler, {}), (IMSICSampler, {}),
                                        (IMSICSampler, {"reduction": "batch_mean", "structure": {0: [0], 1: [1], 2: [2], 3: [3]}})])
def test_samplers_balance_minority_classes_in_the_input_shape(cls, kwargs):
    X, y = _data()
    s = cls(random_state=3, **FAST, **kwargs)
    X_res, y_res = s.fit_resample(X, y)
    n_new = (40 - 16) + (40 - 12)
    assert X_res.shape == (len(X) + n_new, 1, 28, 28) and X_res.dtype == X.dtype
    np.testing.assert_array_equal(X_res[:len(X)], X)
    assert dict(zip(*np.unique(y_res, return_counts=True))) == {0: 40, 1: 40, 2: 40}
    synth = X_res[len(X):]
    assert np.isfinite(synth).all() and synth.min() >= 0 and synth.max() <= 1
    assert np.unique(synth.reshape(n_new, -1), axis=0).shape[0] > 1
    info = s.fit_info()
    m = info["matching"]
    assert sorted(m["class_to_code"]) == ["0", "1", "2"] and sorted(m["class_to_code"].values()) == [0, 1, 2]
    assert 0 <= m["accuracy"] <= 1 and np.array(m["counts"]).shape == (3, 3)
    assert np.array(m["counts"]).sum() == 3 * FAST["match_samples"]
    assert "LogisticRegression" in m["classifier"]["kind"]
    assert info["synthesised"] == {"1": 24, "2": 28} and info["input_hw"] == [28, 28] and info["img_size"] == 32
    assert info["epochs"] == 1 and len(s.history_) == 1 and set(s.history_[0]) == {"epoch", "g", "d", "info"}
    if cls is IMSICSampler:
        assert info["mode"] == "paper" and info["lambda_con"] == 0.15 and info["code_dim"] == 4
        assert info["structure_reduction"] == kwargs.get("reduction", "per_sample")  # Eq. 6 read per sample
        assert info["train_priors"] == {"z": "N(0,1)", "code": "N(0,1)"}
    else:
        assert info["lambda_con"] == 0.1 and info["code_dim"] == 2 and "mode" not in info


def test_code_mode_makes_100_per_class_including_the_majority_and_flat_input_works():
    X, y = _data(seed=1)
    s = IMSICSampler(mode="code", random_state=0, **FAST)
    X_res, y_res = s.fit_resample(X.reshape(len(X), -1), y)
    assert X_res.shape == (len(X) + 300, 784)
    assert dict(zip(*np.unique(y_res[len(X):], return_counts=True))) == {0: 100, 1: 100, 2: 100}
    assert 0 <= X_res.min() and X_res.max() <= 1
    info = s.fit_info()
    assert info["mode"] == "code" and info["structure_reduction"] == "per_sample"
    assert info["synthesised"] == {"0": 100, "1": 100, "2": 100}
    assert info["sample_priors"] == {"z": "N(0,0.5^2)", "code_std": [0.0] * 4}
    assert info["structure"] == {"0": [0], "1": [1], "2": [2], "3": [0, 1, 2, 3]}
    # the released hinge is zero, so the info loss is the categorical CE alone (about ln 3 at start)
    assert s.history_[0]["info"] == pytest.approx(np.log(3), abs=0.05)


def test_32x32_input_is_not_resized_and_same_seed_same_images():
    X, y = _data(shape=(1, 32, 32))
    runs = [InfoGANSampler(random_state=s, **FAST).fit_resample(X, y)[0] for s in (5, 5, 6)]
    assert runs[0].shape[1:] == (1, 32, 32)
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0][len(X):], runs[2][len(X):])


@pytest.mark.parametrize("kwargs,match", [
    ({"mode": "hybrid"}, "mode"),
    ({"structure": {0: [0], 1: [1], 2: [2], 3: [4]}}, "names parent of latent code 3: 4, but code_dim is 4"),
    ({"structure": {0: [0], 1: [1], 2: [2], 4: [0]}}, "names latent code 4, but code_dim is 4"),
    ({"structure": {0: [0], 1: [1]}}, r"every latent code 0..3; missing \[2, 3\]"),
    ({"structure": [[0], [1]]}, "structure must map each latent code"),
    ({"lambda_con": -0.1}, "lambda_con"),
    ({"lambda_cat": -1.0}, "lambda_cat"),
    ({"reduction": "sum"}, "reduction"),
    ({"nonparent_cap": "half"}, "nonparent_cap"),
    ({"nonparent_cap": -1.0}, "nonparent_cap"),
    ({"sample_code_std": [1.0, 2.0]}, "sample_code_std must be one number or a list of 4"),
    ({"n_categories": 2}, "n_categories=2 is smaller than the number of classes"),
    ({"img_size": 40}, "img_size must be a multiple of 16"),
])
def test_bad_settings_raise_config_error(kwargs, match):
    X, y = _data()
    with pytest.raises(ConfigError, match=match):
        IMSICSampler(**{**FAST, **kwargs}).fit_resample(X, y)


def test_images_outside_unit_range_are_refused():
    X, y = _data()
    with pytest.raises(ConfigError, match=r"must be in \[0, 1\]"):
        InfoGANSampler(**FAST).fit_resample(X * 255, y)


def test_non_finite_loss_raises_training_error_naming_method_epoch_and_seed(monkeypatch):
    X, y = _data()
    monkeypatch.setattr(infogan_module, "structure_loss", lambda *a, **k: torch.tensor(float("nan")))
    with pytest.raises(TrainingError, match=r"IMSIC training diverged: info loss is nan at epoch 1 \(seed 7\)"):
        IMSICSampler(random_state=7, **FAST).fit_resample(X, y)


def test_traversal_varies_only_the_chosen_code_per_class_row(tmp_path):
    from imbench.figures.traversal import traverse, write_traversals

    X, y = _data(seed=4)
    s = IMSICSampler(random_state=2, **FAST)
    s.fit_resample(X, y)
    t = traverse(s, code=3, values=[-2.0, 0.0, 2.0], seed=1)
    assert t.images.shape == (3, 3, 32, 32) and t.classes == [0, 1, 2]
    assert 0.0 <= t.images.min() and t.images.max() <= 1.0
    assert np.abs(t.images[:, 0] - t.images[:, 2]).max() > 1e-4  # the code changes the image
    again = traverse(s, code=3, values=[0.0], seed=1)
    np.testing.assert_allclose(again.images[:, 0], t.images[:, 1], atol=1e-6)  # same z per row, same seed
    with pytest.raises(ConfigError, match="code 4 does not exist"):
        traverse(s, code=4, values=[0.0])
    png = write_traversals(tmp_path / "t.png", [t, traverse(s, 0, [-1.0, 1.0])], "title", ["Made by: test"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "Made by: test" in png.with_suffix(".md").read_text()


def test_traversal_structure_option_parses_the_papers_fig4c_and_rejects_bad_text(capsys):
    from imbench.figures.traversal import main, parse_structure

    assert parse_structure("0:0;1:1;2:2;3:1,2") == {0: [0], 1: [1], 2: [2], 3: [1, 2]}
    for bad in ("3-1,2", "a:1", ";"):
        with pytest.raises(ValueError, match="--structure"):
            parse_structure(bad)
    assert main(["--method", "infogan", "--structure", "0:0", "--iterations", "1"]) == 2
    assert "--structure is IMSIC's" in capsys.readouterr().err
    from imbench.provenance import module_command
    assert (module_command("imbench.figures.traversal", ["--structure", "0:0;3:1,2"])
            == "python -m imbench.figures.traversal --structure '0:0;3:1,2'")
