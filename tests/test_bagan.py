"""BAGANSampler on real MNIST: training, balancing, layouts, latent Gaussians, divergence, determinism.

The networks are the full-size BAGAN ones (~50 ms per image and step on one CPU core), so the subsets
are small: 80/50/10 images for the shared fit, a dozen for the others.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from imbench.data.images import load_image_dataset
from imbench.errors import ConfigError, TrainingError
from imbench.methods.base import synthetic_mask
from imbench.methods.generative.bagan import BAGANSampler, DegenerateClassWarning, _same_pad

REPO = Path(__file__).resolve().parents[1]
FAST = dict(epochs=1, ae_epochs=1, device="cpu")


@pytest.fixture(scope="module")
def mnist(mnist_root) -> tuple[np.ndarray, np.ndarray]:
    return load_image_dataset("mnist", mnist_root, "train", verify=False)


def subset(mnist, counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The first ``counts[c]`` training images of each class c, as float32 N×28×28 in [0, 1]."""
    X, y = mnist
    idx = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in counts.items()])
    return (X[idx, 0] / 255.0).astype(np.float32), y[idx]


@pytest.fixture(scope="module")
def fitted(mnist):
    X, y = subset(mnist, {3: 80, 5: 50, 8: 10})
    X4 = X[:, None]  # N×1×28×28
    sampler = BAGANSampler(batch_size=32, random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X4, y)
    return sampler, X4, y, X_res, y_res


def test_one_epoch_trains_and_balances(fitted) -> None:
    sampler, X, y, X_res, y_res = fitted
    assert X_res.shape == (240, 1, 28, 28) and X_res.dtype == np.float32
    assert np.array_equal(X_res[: len(X)], X) and np.array_equal(y_res[: len(y)], y)
    mask = synthetic_mask(X, y, X_res, y_res)
    assert Counter(y_res[mask].tolist()) == {5: 30, 8: 70}
    assert Counter(y_res.tolist()) == {3: 80, 5: 80, 8: 80}
    new = X_res[mask]
    assert np.all(np.isfinite(new)) and new.min() >= 0.0 and new.max() <= 1.0
    assert new.std() > 0  # not a constant image
    assert [set(h) for h in sampler.history_] == [{"epoch", "ae_mse"}, {"epoch", "d_loss", "g_loss"}]
    info = sampler.fit_info()
    json.dumps(info)
    assert info["method"] == "BAGAN" and info["ae_epochs"] == 1 and info["train_size"] == 140
    assert info["covariance"] == "empirical" and info["single_image_classes"] == []


def test_class_gaussians_are_rank_deficient_and_recorded(fitted) -> None:
    sampler, X, y, *_ = fitted
    info = sampler.fit_info()
    assert info["class_counts"] == {"3": 80, "5": 50, "8": 10}
    for k, c in enumerate(sampler.classes_):
        rank = info["covariance_rank"][str(c)]
        n_c = int(np.sum(y == c))
        assert 1 <= rank <= n_c - 1
        assert rank == np.linalg.matrix_rank(sampler.covariances_[k], hermitian=True)
        # latents drawn for the class stay in the rank-dimensional span of its encodings
        z = sampler._latent(torch.full((200,), k)).double().numpy() - sampler.means_[k]
        assert np.linalg.matrix_rank(z, tol=1e-4 * np.abs(z).max()) <= rank
    assert info["covariance_rank"]["8"] == 9  # 10 images in a 100-d latent


@pytest.mark.parametrize("layout", ["NxHxW", "NxD"])
def test_input_layouts(mnist, layout) -> None:
    X, y = subset(mnist, {3: 8, 8: 3})
    if layout == "NxD":
        X = X.reshape(len(X), -1)
    X_res, y_res = BAGANSampler(batch_size=8, random_state=0, **FAST).fit_resample(X, y)
    assert X_res.shape == (16,) + X.shape[1:]
    assert np.array_equal(X_res[:11], X) and Counter(y_res.tolist()) == {3: 8, 8: 8}
    assert np.all(np.isfinite(X_res)) and X_res.min() >= 0 and X_res.max() <= 1


def test_single_image_class_gives_zero_covariance(mnist) -> None:
    X, y = subset(mnist, {3: 8, 5: 6, 8: 1})
    sampler = BAGANSampler(batch_size=8, random_state=0, **FAST)
    with pytest.warns(DegenerateClassWarning, match="class 8"):
        X_res, y_res = sampler.fit_resample(X, y)
    info = sampler.fit_info()
    assert info["single_image_classes"] == ["8"] and info["covariance_rank"]["8"] == 0
    new8 = X_res[len(X):][y_res[len(X):] == 8]
    assert len(new8) == 7 and np.all(np.isfinite(new8))
    assert np.allclose(new8, new8[0], atol=1e-6)  # every sample decodes the class mean


def test_shrinkage_covariance_is_full_rank(mnist) -> None:
    X, y = subset(mnist, {3: 8, 8: 4})
    sampler = BAGANSampler(batch_size=8, covariance="shrinkage", random_state=0, **FAST)
    sampler.fit_resample(X, y)
    info = sampler.fit_info()
    assert info["covariance_rank"] == {"3": 100, "8": 100}
    assert all(0 < s <= 1 for s in info["ledoit_wolf_shrinkage"].values())


def test_divergence_in_gan_stage_raises(mnist) -> None:
    X, y = subset(mnist, {3: 8, 8: 3})
    with pytest.raises(TrainingError, match=r"BAGAN training diverged: (discriminator|generator) loss is nan "
                                            r"at epoch 1 \(seed 7\)"):
        BAGANSampler(batch_size=8, lr=1e4, random_state=7, **FAST).fit_resample(X, y)


def test_divergence_in_autoencoder_stage_raises(mnist) -> None:
    X, y = subset(mnist, {3: 8, 8: 3})
    with pytest.raises(TrainingError, match=r"BAGAN training diverged: autoencoder_mse loss is nan at epoch 2 "
                                            r"\(seed 3\)"):
        BAGANSampler(batch_size=8, lr=1e10, random_state=3, epochs=1, ae_epochs=2, device="cpu").fit_resample(X, y)


@pytest.mark.slow  # two full BAGAN trainings (~15 s); the shared fixture's run covers training by default
def test_same_seed_same_images_on_cpu(mnist) -> None:
    X, y = subset(mnist, {3: 6, 8: 3})
    runs = [BAGANSampler(batch_size=4, random_state=s, **FAST).fit_resample(X, y)[0] for s in (5, 5, 6)]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0][len(X):], runs[2][len(X):])


def test_keras_same_padding() -> None:
    assert _same_pad(28, 2, 1) == (0, 1)  # final 2×2 conv keeps 28×28, extra row/column after
    assert _same_pad(28, 3, 2) == (0, 1) and _same_pad(14, 3, 2) == (0, 1)
    assert _same_pad(28, 5, 1) == (2, 2) and _same_pad(7, 3, 1) == (1, 1)


def test_config_file_builds_the_table_12_sampler() -> None:
    cfg = OmegaConf.load(REPO / "conf" / "method" / "bagan.yaml")
    assert cfg.name == "bagan" and cfg._target_ == "imbench.methods.resample.Resample"
    s = instantiate(cfg.sampler, _convert_="all")
    assert isinstance(s, BAGANSampler)
    assert (s.epochs, s.ae_epochs, s.batch_size, s.latent_dim, s.lr, s.beta1) == (30, 30, 128, 100, 5e-5, 0.5)


@pytest.mark.parametrize("bad", [dict(covariance="diag"), dict(ae_epochs=0), dict(lr=-1.0), dict(epochs=0)])
def test_bad_parameters(bad) -> None:
    X = np.zeros((4, 784), np.float32)
    with pytest.raises(ConfigError):
        BAGANSampler(device="cpu", **bad).fit_resample(X, np.array([0, 0, 0, 1]))
