"""GAMO2pix: the per-class VAE on GAMO's frozen features, the method, and Table 5's layout."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from imbench.errors import ConfigError
from imbench.methods.gamo.gamo2pix import Gamo2Pix
from imbench.methods.gamo.pix import ClassVAE, Decoder, PixSchedule, train_class_vae
from imbench.tables.layouts import gamo_fid
from test_gamo import context, method, small_task


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
def test_the_decoder_makes_images_of_the_data_shape_in_tanh_range(shape):
    out = Decoder(100, shape)(torch.randn(5, 100) * 10)
    assert out.shape == (5, *shape) and out.abs().max() <= 1


def test_a_side_not_divisible_by_four_is_a_config_error():
    with pytest.raises(ConfigError, match="divisible by 4"):
        Decoder(10, (1, 30, 30))


def _vae_with_fixed_code(head: str, mu: float, s: float) -> ClassVAE:
    vae = ClassVAE(4, (1, 8, 8), PixSchedule(latent=3, hidden=2, head=head))
    with torch.no_grad():
        for layer, value in ((vae.head.mu, mu), (vae.head.s, s)):
            layer.weight.zero_()
            layer.bias.fill_(value)
    return vae


@pytest.mark.parametrize("head, std", [("logvar", 2.0), ("code", 4.0)])
def test_the_two_head_pairings_sample_with_their_own_scale(head, std):
    vae = _vae_with_fixed_code(head, mu=0.5, s=math.log(4.0))
    with torch.no_grad():
        z, mu, s = vae.sample_code(torch.zeros(20000, 4), torch.Generator().manual_seed(0))
    assert float(z.mean()) == pytest.approx(0.5, abs=0.05)
    assert float(z.std()) == pytest.approx(std, rel=0.03)


def test_the_kl_term_is_the_log_variance_formula_in_both_pairings():
    for head in ("logvar", "code"):
        vae = _vae_with_fixed_code(head, mu=0.5, s=math.log(4.0))
        images = torch.zeros(6, 1, 8, 8)
        with torch.no_grad():
            _, kl = vae.loss(torch.zeros(6, 4), images, torch.Generator().manual_seed(0))
        # KL(N(0.5, 4) || N(0, 1)) per dimension = 0.5 (4 + 0.25 - 1 - ln 4); three dimensions
        assert float(kl) == pytest.approx(3 * 0.5 * (4 + 0.25 - 1 - math.log(4.0)), rel=1e-5)


def test_the_reconstruction_term_is_pixels_times_the_mean_squared_error():
    vae = _vae_with_fixed_code("logvar", mu=0.0, s=-30.0)  # σ ≈ 0: the decoder sees μ
    images = torch.rand(4, 1, 8, 8) * 2 - 1
    with torch.no_grad():
        recon = vae.decoder(torch.zeros(4, 3))
        rec, _ = vae.loss(torch.zeros(4, 4), images, torch.Generator().manual_seed(0))
    assert float(rec) == pytest.approx(float(((recon - images) ** 2).sum() / 4), rel=1e-5)


def test_a_class_vae_learns_to_reconstruct_its_class():
    torch.manual_seed(0)
    images = torch.zeros(24, 1, 8, 8) - 1
    images[:, :, 2:6, 2:6] = 1  # one bright square per image, shifted by one pixel in half of them
    images[12:] = torch.roll(images[12:], 1, dims=3)
    features = torch.randn(24, 16)
    features[12:] += 2
    vae = ClassVAE(16, (1, 8, 8), PixSchedule(latent=4, hidden=16, channels=8))
    with torch.no_grad():
        before = float(vae.loss(features, images, torch.Generator().manual_seed(1))[0])
    report = train_class_vae(vae, features, images, PixSchedule(steps=300, batch_size=8, lr=2e-3, latent=4, hidden=16,
                                                                  channels=8), seed=0)
    with torch.no_grad():
        after = float(vae.loss(features, images, torch.Generator().manual_seed(1))[0])
    assert report.steps == 300 and after < 0.25 * before
    assert not vae.training


def test_gamo2pix_makes_the_balancing_images_of_every_minority_class():
    task = small_task()
    m = method("gamo2pix", steps=4, v_steps=2, f_steps=1, vae={"steps": 3})
    assert isinstance(m, Gamo2Pix)
    fit = m.fit_fold(task, context())
    s = fit.synthetic
    assert np.bincount(s.y).tolist() == [60] * 5
    assert s.X.shape[1:] == task.train.X.shape[1:] and s.X[s.mask].min() >= 0 and s.X[s.mask].max() <= 1
    assert np.array_equal(s.X[~s.mask], task.train.X)
    info = fit.info["gamo2pix"]
    assert info["steps_per_class"] == 3 and sorted(info["per_class"]) == [1, 2, 3, 4]
    assert info["per_class"][4] == {**info["per_class"][4], "train_images": 8, "generated": 52}
    assert fit.info["gamo"]["vae"]["head"] == "logvar" and fit.info["gamo"]["code_choices"] == []
    assert method("gamo2pix", vae={"head": "code"}).settings_record()["code_choices"] == ["vae.head"]
    # the classifier is GAMO's M
    proba = fit.runs[0].predictor.predict_proba(task.train.X)
    assert proba.shape == (len(task.train.y), 5)


@pytest.mark.parametrize("changes, match", [
    ({"form": "dense"}, "method.form must be conv"),
    ({"vae": {"stpes": 3}}, "unknown key"),
    ({"vae": {"head": "logstd"}}, "method.vae.head"),
    ({"vae": {"steps": 0}}, "method.vae.steps"),
])
def test_bad_gamo2pix_settings_are_config_errors(changes, match):
    with pytest.raises(ConfigError, match=match):
        method("gamo2pix", **changes)


def test_table_5_averages_over_classes_then_over_training_sets_counting_each_once():
    rows = []
    for method_name, fold, fids in [("gamo2pix", 0, (1.0, 3.0)), ("gamo2pix", 1, (3.0, 5.0)),
                                    ("cdcgan_cn", 0, (10.0, 20.0))]:
        for repeat in (0, 1):  # repeats of a fold copy its FID
            rows.append({"experiment": "gamo_5", "data": "fmnist", "skew": "gamo_mnist", "ir": 100, "seed": 0,
                         "fold": fold, "repeat": repeat, "method": method_name, "fid.8": fids[0], "fid.9": fids[1],
                         "fid_n_generated.8": 200, "fid_n_real.8": 200})
    table = gamo_fid(pd.DataFrame(rows), {"rows": ["gamo2pix", "cdcgan_cn"], "columns": ["fmnist", "svhn"]})
    frame = table.blocks[0].frame
    assert frame.iloc[0, 0] == "3.00±1.41" and frame.iloc[1, 0] == "15.00" and frame.iloc[0, 1] == ""
    data = table.data.set_index(["method", "data"])
    assert data.loc[("gamo2pix", "fmnist"), "n"] == 2 and data.loc[("cdcgan_cn", "fmnist"), "fid_mean"] == 15.0
    assert any("generated 200" in n and "real 200" in n for n in table.notes)
