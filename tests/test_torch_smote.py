"""TorchSMOTE / TorchRandomOverSampler against imbalanced-learn's definitions."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sklearn.datasets import make_classification
from sklearn.neighbors import NearestNeighbors

from imbench.methods.base import synthetic_mask
from imbench.methods.torch_smote import TorchRandomOverSampler, TorchSMOTE

K = 5


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=400, n_features=10, n_informative=6, n_classes=3,
                               weights=[0.7, 0.2, 0.1], random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize("strategy", ["auto", "dict"])
def test_counts_match_imblearn(data, strategy) -> None:
    X, y = data
    cnt = Counter(y.tolist())
    st = "auto" if strategy == "auto" else {1: cnt[1] + 30, 2: cnt[2] + 7}
    _, y_ref = SMOTE(k_neighbors=K, sampling_strategy=st, random_state=0).fit_resample(X, y)
    X_res, y_res = TorchSMOTE(k_neighbors=K, sampling_strategy=st, random_state=0, device="cpu").fit_resample(X, y)
    assert Counter(y_res.tolist()) == Counter(y_ref.tolist())
    assert X_res.dtype == X.dtype and X_res.shape[1] == X.shape[1]


def test_originals_first_and_unchanged(data) -> None:
    X, y = data
    X_res, y_res = TorchSMOTE(random_state=1, device="cpu").fit_resample(X, y)
    mask = synthetic_mask(X, y, X_res, y_res)  # raises if the originals are not first and unchanged
    assert mask.sum() == len(y_res) - len(y) > 0


def test_synthetic_points_on_knn_segments(data) -> None:
    X, y = data
    X64 = X.astype(np.float64)
    X_res, y_res = TorchSMOTE(k_neighbors=K, random_state=2, device="cpu").fit_resample(X64, y)
    n = len(y)
    for c in np.unique(y_res[n:]):
        Xc = X64[y == c]
        nbrs = NearestNeighbors(n_neighbors=K + 1).fit(Xc).kneighbors(Xc, return_distance=False)[:, 1:]
        S = X_res[n:][y_res[n:] == c]
        for s in S:
            # candidate pairs (i, j): j among i's k neighbours; project s on the segment
            A = Xc[:, None, :]                       # (n_c, 1, d)
            D = Xc[nbrs] - A                         # (n_c, k, d)
            u = ((s - A) * D).sum(-1) / (D * D).sum(-1)
            resid = np.linalg.norm(A + u[..., None] * D - s, axis=-1)
            ok = (resid < 1e-5) & (u >= -1e-9) & (u <= 1 + 1e-9)
            assert ok.any(), "synthetic sample not on a segment to one of its k nearest same-class neighbours"


def test_deterministic_given_seed(data) -> None:
    X, y = data
    a = TorchSMOTE(random_state=3, device="cpu").fit_resample(X, y)
    b = TorchSMOTE(random_state=3, device="cpu").fit_resample(X, y)
    c = TorchSMOTE(random_state=4, device="cpu").fit_resample(X, y)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_small_class_error(data) -> None:
    X, y = data
    keep = np.concatenate([np.flatnonzero(y != 2), np.flatnonzero(y == 2)[:K]])
    with pytest.raises(ValueError, match=r"class 2.*k_neighbors=5"):
        TorchSMOTE(k_neighbors=K, device="cpu").fit_resample(X[keep], y[keep])


def test_on_mnist_rows(mnist_root) -> None:
    import gzip
    raw = mnist_root / "MNIST" / "raw"
    f = raw / "train-images-idx3-ubyte.gz"
    opener = gzip.open if f.exists() else open
    path = f if f.exists() else raw / "train-images-idx3-ubyte"
    lpath = raw / ("train-labels-idx1-ubyte.gz" if f.exists() else "train-labels-idx1-ubyte")
    with opener(path, "rb") as fh:
        X = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 784)[:600].astype(np.float32) / 255
    with opener(lpath, "rb") as fh:
        y = np.frombuffer(fh.read(), np.uint8, offset=8)[:600].astype(np.int64)
    keep = (y == 0) | (y == 1) | (y == 2)
    X, y = X[keep], y[keep]
    drop = np.flatnonzero(y == 2)[12:]
    X, y = np.delete(X, drop, 0), np.delete(y, drop)
    _, y_ref = SMOTE(k_neighbors=K, random_state=0).fit_resample(X, y)
    X_res, y_res = TorchSMOTE(k_neighbors=K, random_state=0, device="cpu").fit_resample(X, y)
    assert Counter(y_res.tolist()) == Counter(y_ref.tolist())
    synthetic_mask(X, y, X_res, y_res)
    assert X_res.min() >= 0 and X_res.max() <= 1


def test_random_oversampler(data) -> None:
    X, y = data
    _, y_ref = RandomOverSampler(random_state=0).fit_resample(X, y)
    X_res, y_res = TorchRandomOverSampler(random_state=0, device="cpu").fit_resample(X, y)
    assert Counter(y_res.tolist()) == Counter(y_ref.tolist())
    synthetic_mask(X, y, X_res, y_res)
    rows = {r.tobytes(): lab for r, lab in zip(X, y)}
    assert all(rows[r.tobytes()] == lab for r, lab in zip(X_res[len(y):], y_res[len(y):]))
    again = TorchRandomOverSampler(random_state=0, device="cpu").fit_resample(X, y)
    assert np.array_equal(again[0], X_res)


# --- wiring into the harness: methods smote_torch / random_torch, the runner's device, image samplers ---

class ImageSampler:
    """A sampler that wants images as they are (like the deep generative oversamplers)."""

    accepts_images = True

    def __init__(self, sampling_strategy="auto", random_state=None, device="auto"):
        self.device = device

    def fit_resample(self, X, y):
        assert X.ndim == 4
        return X, y


def test_build_sampler_passes_the_runner_device_and_keeps_images():
    from imbench.methods.base import FlatteningSampler
    from imbench.methods.oversampling import OversampleTask, build_sampler

    y = np.array([0] * 20 + [1] * 8)
    images, vectors = np.zeros((len(y), 1, 4, 4), np.float32), np.zeros((len(y), 16), np.float32)

    def build(sampler_cfg, X):
        return build_sampler(OversampleTask(sampler_cfg, X, y, [1], 0), device="cpu")

    torch_cfg = {"_target_": "imbench.methods.torch_smote.TorchSMOTE", "k_neighbors": 5, "device": "auto"}
    s = build(torch_cfg, images)
    assert isinstance(s, FlatteningSampler) and s.sampler.device == "cpu"
    assert build({**torch_cfg, "device": "cuda:1"}, vectors).device == "cuda:1"  # an explicit choice stays
    plain = {"_target_": "imblearn.over_sampling.SMOTE", "k_neighbors": 5}
    assert isinstance(build(plain, vectors), SMOTE)  # no device parameter
    img = build({"_target_": "test_torch_smote.ImageSampler"}, images)
    assert isinstance(img, ImageSampler) and img.device == "cpu"
    assert img.fit_resample(images, y)[0].shape == images.shape


def test_downstream_metrics_match_imblearn_smote(mnist_root, tmp_path):
    """TorchSMOTE vs imblearn SMOTE through the whole harness on real MNIST: the same 5 skewed draws,
    the same classifier seeds; the paired differences of minority F1 and ACSA are not significant."""
    from scipy.stats import ttest_rel
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from imbench.runner import run_job

    conf = str(Path(__file__).resolve().parents[1] / "conf")
    out = {}
    for method in ("smote", "smote_torch"):
        with initialize_config_dir(config_dir=conf, version_base="1.3"):
            cfg = OmegaConf.to_container(compose(config_name="config", overrides=[
                f"data.root={mnist_root}", f"out_dir={tmp_path / method}", f"method={method}", "skew=step",
                "skew.minority=[7,8,9]", "skew.n_max=200", "ir=20", "profile=quick", "profile.max_epochs=2",
                "profile.max_folds=5", "folds=5", "device=cpu", "progress=false"]), resolve=True)
        s = run_job(cfg)
        recs = sorted(s.records, key=lambda r: r["job"]["fold"])
        assert all(r["counts"]["train_after"] == recs[0]["counts"]["train_after"] for r in recs)
        out[method] = {k: np.array([r["metrics"][k]["f1"] if k == "minority" else r["metrics"][k] for r in recs])
                       for k in ("minority", "acsa")}
    for key in ("minority", "acsa"):
        a, b = out["smote"][key], out["smote_torch"][key]
        assert abs(a.mean() - b.mean()) < 0.05, (key, a, b)
        assert ttest_rel(a, b).pvalue > 0.01, (key, a, b)


def test_tensors_are_resampled_where_they_are(data) -> None:
    import torch

    X, y = data
    X_np, y_np = TorchSMOTE(random_state=5, device="cpu").fit_resample(X, y)
    X_t, y_t = TorchSMOTE(random_state=5).fit_resample(torch.as_tensor(X), torch.as_tensor(y))
    assert isinstance(X_t, torch.Tensor) and isinstance(y_t, torch.Tensor)
    assert np.array_equal(y_t.numpy(), y_np) and np.allclose(X_t.numpy(), X_np, atol=1e-6)
