"""EGL's sine-wave demo (Fig. 1): the meta gradient of the synthetic points against finite differences, η2 = 0
leaves them in place, and a short run moves them towards the curve."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from imbench.figures import egl_sine as es

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_meta_gradient_matches_central_differences():
    settings = es.SineSettings()
    data = es.draw(settings, seed=1)
    model = es.fit(es.regressor(1), data.x_train, data.y_train, steps=50, lr=1e-2)
    params = {k: p.detach().clone().requires_grad_(True) for k, p in model.named_parameters()}
    xs, ys = data.x_synth.clone().requires_grad_(True), data.y_synth.clone().requires_grad_(True)
    step = es.meta_gradient(model, params, data, xs, ys, eta1=0.1)

    def val_loss(x_s, y_s):
        p = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        return es.meta_gradient(model, p, data, x_s.clone().requires_grad_(True), y_s.clone().requires_grad_(True),
                                eta1=0.1)["valid_loss"]

    h = 1e-6
    for i in (0, 7):
        for coord, grad in (("x", step["grad_x"]), ("y", step["grad_y"])):
            plus_x, minus_x = data.x_synth.clone(), data.x_synth.clone()
            plus_y, minus_y = data.y_synth.clone(), data.y_synth.clone()
            if coord == "x":
                plus_x[i] += h
                minus_x[i] -= h
            else:
                plus_y[i] += h
                minus_y[i] -= h
            numeric = (val_loss(plus_x, plus_y) - val_loss(minus_x, minus_y)) / (2 * h)
            assert grad[i, 0].item() == pytest.approx(numeric, rel=1e-4, abs=1e-9)


def test_eta2_zero_keeps_the_points_and_a_short_run_moves_them_towards_the_curve():
    settings = es.SineSettings(iterations=100, pretrain=200)
    frozen = es.run_seed(dataclasses.replace(settings, eta2=0.0), seed=0)
    assert torch.equal(frozen["_moved"]["x_synth"], frozen["_data"].x_synth)
    assert torch.equal(frozen["_moved"]["y_synth"], frozen["_data"].y_synth)
    moved = es.run_seed(settings, seed=0)
    d = moved["synthetic_distance"]
    assert d["after"] < d["before"]
    only_y = es.run_seed(dataclasses.replace(settings, move="y"), seed=0)
    assert torch.equal(only_y["_moved"]["x_synth"], only_y["_data"].x_synth)
    assert not torch.equal(only_y["_moved"]["y_synth"], only_y["_data"].y_synth)


def test_cli_writes_figure_caption_and_every_seed(tmp_path):
    assert es.main(["--seeds", "2", "--iterations", "5", "--pretrain", "20", "--results-dir", str(tmp_path)]) == 0
    png = tmp_path / "egl_fig1_sine_xy_5it_20pre.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "EGL's curve MSE below the baseline's in" in png.with_suffix(".md").read_text()
    assert es.main(["--seeds", "0", "--results-dir", str(tmp_path)]) == 2
