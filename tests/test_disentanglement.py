import dataclasses
from pathlib import Path

import numpy as np
import pytest

from imbench.data import dsprites as ds
from imbench.data.factors import FactorGrid, FactorValueSampler
from imbench.disentanglement import FactorVAESettings, factor_vae_score
from imbench.disentanglement.__main__ import main
from imbench.disentanglement.validate import drop_factor, ground_truth, pixel_moments, random_codes
from imbench.errors import ConfigError

# small vote counts keep the tests fast; the full defaults are exercised by `python -m imbench.disentanglement validate`
SMALL = dict(num_train=600, num_eval=600, num_variance_estimate=2000)
DSPRITES_VALUES = FactorValueSampler(ds.FACTORS)


def score(represent, sampler=DSPRITES_VALUES, seed=0, **kwargs):
    return factor_vae_score(represent, sampler, np.random.default_rng(seed), **{**SMALL, **kwargs})


def test_defaults_are_disentanglement_libs():
    s = FactorVAESettings()
    assert (s.batch_size, s.num_train, s.num_eval, s.num_variance_estimate, s.prune_threshold) == (
        64, 10_000, 5_000, 10_000, 0.05)


def test_ground_truth_factors_score_one():
    result = score(ground_truth)
    assert result.eval_accuracy >= 0.99 and result.train_accuracy >= 0.99 and result.score == result.eval_accuracy
    np.testing.assert_array_equal(result.classifier, np.arange(5))
    # every vote lands on the fixed factor's own dimension
    assert np.trace(result.train_votes) == result.train_votes.sum() == 600
    assert result.eval_votes.sum() == 600 and len(result.pruned_dims) == 0


def test_random_codes_score_chance():
    result = score(random_codes(10, np.random.default_rng(7)), num_eval=1500)
    assert 0.15 <= result.eval_accuracy <= 0.25  # chance is 1/5
    assert result.train_accuracy >= result.eval_accuracy - 0.05  # the classifier fits its own votes


@pytest.mark.parametrize("dropped", range(5))
def test_dropping_a_factor_scores_four_fifths(dropped):
    result = score(drop_factor(dropped))
    assert 0.74 <= result.eval_accuracy <= 0.86
    kept = [k for k in range(5) if k != dropped]
    np.testing.assert_array_equal(result.classifier, kept)


def test_works_for_any_ground_truth_grid():
    grid = FactorGrid(("a", "b", "c"), (np.arange(4.0), np.linspace(-1, 1, 7), np.arange(10.0) ** 2))
    sampler = FactorValueSampler(grid)
    assert score(ground_truth, sampler).eval_accuracy >= 0.99
    assert 0.25 <= score(random_codes(6, np.random.default_rng(3)), sampler, num_eval=1500).eval_accuracy <= 0.42
    # an invertible mixing of all factors into every dimension is not disentangled
    mix = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 0.5], [0.3, 1.0, -1.0]])
    assert score(lambda v: (v - v.mean(0)) / v.std(0) @ mix, sampler).eval_accuracy < 0.9


def test_accuracies_are_the_majority_vote_classifiers():
    result = score(drop_factor(0))
    votes, clf = result.train_votes, result.classifier
    assert result.train_accuracy == pytest.approx(votes.max(axis=0).sum() / votes.sum())
    assert result.eval_accuracy == pytest.approx(
        result.eval_votes[clf, np.arange(votes.shape[1])].sum() / result.eval_votes.sum())


def test_low_variance_dimensions_are_pruned():
    noise = np.random.default_rng(4)

    def represent(values):
        n = len(values)
        extra = np.stack([np.zeros(n), 0.01 * noise.standard_normal(n), 0.3 * noise.standard_normal(n)], axis=1)
        return np.concatenate([extra, values], axis=1)

    result = score(represent)
    np.testing.assert_array_equal(result.pruned_dims, [0, 1])  # std 0 and 0.01 < 0.05; 0.3 stays
    np.testing.assert_array_equal(result.active_dims, [2, 3, 4, 5, 6, 7])
    assert result.train_votes[:, :2].sum() == 0 and result.eval_votes[:, :2].sum() == 0
    np.testing.assert_array_equal(result.classifier[3:], np.arange(5))
    assert result.eval_accuracy >= 0.99
    # without pruning, the tiny-noise dimension would be no different from the others
    assert score(represent, prune_threshold=0.0).pruned_dims.tolist() == [0]  # constant dims always go


def test_everything_pruned_scores_zero():
    result = score(lambda v: np.full((len(v), 3), 2.0))
    assert result.train_accuracy == result.eval_accuracy == 0.0
    assert result.active_dims.size == 0 and result.pruned_dims.tolist() == [0, 1, 2]
    assert result.train_votes.shape == (5, 3) and result.train_votes.sum() == 0


def test_seeded_and_independent_of_chunking():
    a = score(drop_factor(2), seed=11, votes_per_call=1)
    b = score(drop_factor(2), seed=11, votes_per_call=37)
    np.testing.assert_array_equal(a.train_votes, b.train_votes)
    np.testing.assert_array_equal(a.eval_votes, b.eval_votes)
    c = score(drop_factor(2), seed=12)
    assert not np.array_equal(a.train_votes, c.train_votes)


@pytest.mark.parametrize("represent, match", [
    (lambda v: v[:, 0], "shape"),
    (lambda v: v[:-1], "shape"),
    (lambda v: np.full(v.shape, np.nan), "non-finite"),
])
def test_bad_representations_are_reported(represent, match):
    with pytest.raises(ConfigError, match=match):
        score(represent)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=1), "batch_size"), (dict(num_train=0), "num_train"),
    (dict(prune_threshold=-1.0), "prune_threshold"), (dict(votes_per_call=0), "votes_per_call"),
])
def test_bad_settings_are_reported(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        score(ground_truth, **kwargs)


def test_rendered_dsprites_through_pixel_statistics():
    # area and centroid carry scale, posX and posY but neither shape nor orientation: about 3/5
    result = score(pixel_moments, ds.DSpritesSampler(), num_train=150, num_eval=150, num_variance_estimate=1000)
    assert 0.45 <= result.eval_accuracy <= 0.75
    assert result.classifier[1] == ds.POS_X and result.classifier[2] == ds.POS_Y
    assert result.classifier[0] in (ds.SHAPE, ds.SCALE)  # area varies with both


def test_validate_command_prints_every_case(capsys):
    assert main(["validate", "--no-images", "--num-train", "50", "--num-eval", "50",
                 "--num-variance-estimate", "200"]) == 0
    out = capsys.readouterr().out
    assert "ground-truth factors" in out and "random codes" in out and out.count("factors without") == 5
    assert "total" in out


# ----- IMSIC Fig. 4b: the GAN sweep ------------------------------------------------------------------
TINY_SWEEP = dict(iterations=2, train_size=400, img_size=32, batch_size=16, metric_num_train=40, metric_num_eval=20,
                  metric_num_variance_estimate=200, metric_batch_size=8)


def test_gan_sweep_scores_resumes_and_plots(tmp_path, one_torch_thread, monkeypatch):
    import json

    from imbench.disentanglement import gan_sweep

    settings = gan_sweep.SweepSettings(**TINY_SWEEP)
    records = gan_sweep.run_sweep(["imsic"], [50.0], [0], settings, tmp_path, extra={"command": "test"},
                                  log=lambda *_: None)
    (rec,) = records
    assert rec["method"] == "imsic" and rec["ir"] == 50.0 and rec["command"] == "test"
    assert 0.0 <= rec["eval_accuracy"] <= 1.0 and 0.0 <= rec["train_accuracy"] <= 1.0
    assert rec["num_dims"] == 4 + 3  # IMSIC's 4 continuous codes + one categorical value per shape
    counts = {int(k): v for k, v in rec["train_counts"].items()}
    assert sum(counts.values()) == 400 and counts[0] > 10 * max(counts[1], counts[2])  # shape 0 kept whole
    saved = json.loads(gan_sweep.point_path(tmp_path, "imsic", 50.0, 0).read_text())
    assert saved["eval_accuracy"] == rec["eval_accuracy"]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished point was trained again")

    monkeypatch.setattr(gan_sweep, "run_point", no_training)
    again = gan_sweep.run_sweep(["imsic"], [50.0], [0], settings, tmp_path, log=lambda *_: None)
    assert again[0]["eval_accuracy"] == rec["eval_accuracy"]
    png = gan_sweep.plot_sweep(again, tmp_path / "fig.png", "t", ["Made by: test"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "| IMSIC | 50 |" in png.with_suffix(".md").read_text()
    assert saved["settings"]["imsic_reduction"] == "per_sample"
    # the point is never reused for other settings: not for Eq. 6 on batch means, nor for another budget
    for other in ({"imsic_reduction": "batch_mean"}, {"iterations": 3}):
        with pytest.raises(ConfigError, match="was made with other settings"):
            gan_sweep.run_sweep(["imsic"], [50.0], [0], gan_sweep.SweepSettings(**{**TINY_SWEEP, **other}),
                                tmp_path, log=lambda *_: None)


def test_points_made_before_the_eq6_setting_count_as_batch_means_for_imsic_only():
    from imbench.disentanglement.gan_sweep import SweepSettings, check_resumable

    old = {k: v for k, v in dataclasses.asdict(SweepSettings()).items() if k != "imsic_reduction"}
    check_resumable({"settings": old}, "infogan", SweepSettings(), Path("p.json"))  # InfoGAN has no Eq. 6
    check_resumable({"settings": old}, "imsic", SweepSettings(imsic_reduction="batch_mean"), Path("p.json"))
    with pytest.raises(ConfigError, match="imsic_reduction: 'batch_mean' there, 'per_sample' now"):
        check_resumable({"settings": old}, "imsic", SweepSettings(), Path("p.json"))


@pytest.mark.parametrize("kwargs,match", [({"img_size": 48}, "img_size must be 32 or 64"),
                                          ({"iterations": 0}, "iterations must be an integer >= 1"),
                                          ({"imsic_reduction": "sum"}, "imsic_reduction must be one of")])
def test_gan_sweep_bad_settings(kwargs, match):
    from imbench.disentanglement.gan_sweep import SweepSettings

    with pytest.raises(ConfigError, match=match):
        SweepSettings(**kwargs)


def test_gan_sweep_cli_bad_input_exits_2_without_traceback(tmp_path, capsys):
    assert main(["gans", "--out", str(tmp_path), "--methods", "vae"]) == 2
    assert "unknown method(s) ['vae']" in capsys.readouterr().err
    assert main(["gans", "--out", str(tmp_path), "--irs", "fifty"]) == 2
    assert "--irs takes comma-separated float values" in capsys.readouterr().err
    assert not (tmp_path / "points").exists()
