"""Fajardo et al.'s class-conditional deep oversamplers (CGAN, ACGAN, CVAE and their R- variants) on a
small real MNIST subset: the sampler contract, class conditioning, R- training set, divergence,
learning-rate sources and determinism. One or two epochs on ~140 images each, so everything runs on
one CPU core in well under a minute."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from imbench.cuda_graphs import GraphedStep
from imbench.data.images import load_image_dataset
from imbench.errors import ConfigError, TrainingError
from imbench.methods.generative.acgan import ACGANSampler
from imbench.methods.generative.cgan import CGANSampler
from imbench.methods.generative.cvae import CVAESampler
from tests.conftest import REPO

METHODS = {"CGAN": CGANSampler, "ACGAN": ACGANSampler, "CVAE": CVAESampler}
COUNTS = {0: 64, 3: 64, 5: 10}  # two majority classes, one minority class of 10 (as Fajardo's rho=320 sets)
MAJORITY = 64


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def mnist_small(mnist_root):
    """~140 real MNIST test images in [0, 1], float32, shape N×1×28×28, labels {0, 3, 5}."""
    X, y = load_image_dataset("mnist", mnist_root, "test")
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), n, replace=False) for c, n in COUNTS.items()])
    return X[idx].astype(np.float32) / 255.0, y[idx]


def _layouts(X):
    return {"N×1×28×28": X, "N×28×28": X[:, 0], "N×784": X.reshape(len(X), -1)}


@pytest.mark.parametrize("name", list(METHODS))
def test_contract_on_every_layout_and_deterministic(name, mnist_small):
    X, y = mnist_small
    outputs = []
    for layout, Xl in _layouts(X).items():
        s = METHODS[name](epochs=1, device="cpu", random_state=3)
        X_res, y_res = s.fit_resample(Xl, y)
        n_new = MAJORITY - COUNTS[5]
        # originals first and unchanged, then exactly the balancing amount of the minority class
        assert X_res.shape == (len(X) + n_new,) + Xl.shape[1:], layout
        assert X_res.dtype == Xl.dtype and y_res.dtype == y.dtype
        np.testing.assert_array_equal(X_res[:len(X)], Xl)
        np.testing.assert_array_equal(y_res[:len(X)], y)
        np.testing.assert_array_equal(y_res[len(X):], np.full(n_new, 5))
        assert dict(zip(*np.unique(y_res, return_counts=True))) == {0: 64, 3: 64, 5: 64}
        synth = X_res[len(X):].reshape(n_new, -1)
        assert np.isfinite(synth).all() and synth.min() >= 0 and synth.max() <= 1
        assert np.unique(synth, axis=0).shape[0] > 1  # not one image repeated
        info = s.fit_info()
        assert info["method"] == name and info["epochs"] == 1 and info["train_size"] == len(X)
        assert len(s.history_) == 1 and all(np.isfinite(v) for v in s.history_[0].values())
        outputs.append(synth)
    # same random_state, same images in any layout -> identical synthetic images on CPU
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])
    if name == "CVAE":  # the paper's default: x' drawn from the Bernoulli decoder -> binary pixels
        assert set(np.unique(outputs[0])) <= {0.0, 1.0}


@pytest.mark.parametrize("name", list(METHODS))
def test_generator_is_class_conditional(name, mnist_small):
    X, y = mnist_small
    kw = {"sampling": "mean"} if name == "CVAE" else {}
    s = METHODS[name](epochs=2, device="cpu", random_state=0, **kw)
    s.fit_resample(X, y)
    with torch.no_grad():  # same noise, different label -> different images
        a = s._sample(0, 16, torch.Generator().manual_seed(1))
        b = s._sample(2, 16, torch.Generator().manual_seed(1))
        a2 = s._sample(0, 16, torch.Generator().manual_seed(1))
    assert a.shape == (16, 1, 28, 28)
    assert torch.equal(a, a2)
    assert (a - b).abs().mean() > 1e-4
    if name == "CVAE":  # decoder mean: grey levels, not binary
        assert not set(np.unique(a.numpy())) <= {0.0, 1.0}


@pytest.mark.parametrize("name", list(METHODS))
def test_r_variant_trains_on_the_balanced_set(name, mnist_small):
    X, y = mnist_small
    kw = {} if name == "CVAE" else {"lr_source": "code"}
    s = METHODS[name](epochs=1, device="cpu", random_state=0, random_oversample_first=True, **kw)
    X_res, y_res = s.fit_resample(X, y)
    assert s.train_size_ == len(COUNTS) * MAJORITY
    # the random duplicates are not returned: originals, then new samples only
    assert len(X_res) == len(COUNTS) * MAJORITY
    np.testing.assert_array_equal(X_res[:len(X)], X)
    info = s.fit_info()
    assert info["method"] == "R-" + name and info["random_oversample_first"] is True
    if name == "CGAN":
        assert info["lr_source"] == "code" and info["lrs"] == {"g": 1e-3, "d": 2e-4}


@pytest.mark.parametrize("name,kw", [("CGAN", {"lr_d": 1e30}), ("ACGAN", {"lr_g": 1e30}), ("CVAE", {"lr": 1e30})])
def test_divergence_raises_training_error_naming_method_epoch_seed(name, kw, mnist_small):
    X, y = mnist_small
    s = METHODS[name](epochs=2, device="cpu", random_state=7, **kw)
    with pytest.raises(TrainingError, match=rf"^{name} training diverged.*epoch 1 \(seed 7\)"):
        s.fit_resample(X, y)


def test_lr_source_paper_vs_code_and_overrides():
    assert CGANSampler()._extra_info()["lrs"] == {"g": 2e-4, "d": 1e-3}
    assert CGANSampler(lr_source="code")._extra_info()["lrs"] == {"g": 1e-3, "d": 2e-4}
    assert ACGANSampler()._extra_info()["lrs"] == {"g": 2e-4, "d": 1e-3, "q": 1e-3}
    assert ACGANSampler(lr_source="code")._extra_info()["lrs"] == {"g": 1e-3, "d": 2e-4, "q": 1e-3}
    info = ACGANSampler(lr_source="code", lr_q=5e-4)._extra_info()
    assert info["lr_source"] == "code" and info["lrs"] == {"g": 1e-3, "d": 2e-4, "q": 5e-4}
    assert CVAESampler()._extra_info() == {"lr": 1e-3, "sampling": "bernoulli", "noise_dim": 62, "prior": "N(0, I)",
                                           "cuda_graphs": False}
    with pytest.raises(ConfigError, match="lr_source"):
        CGANSampler(lr_source="table").fit_resample(np.zeros((4, 784)), np.array([0, 0, 1, 1]))
    with pytest.raises(ConfigError, match="lr_d"):
        CGANSampler(lr_d=-1.0).fit_resample(np.zeros((4, 784)), np.array([0, 0, 1, 1]))


def test_bad_settings_and_shapes_raise_config_error():
    y = np.array([0, 0, 0, 1])
    # 28×28 (the paper) and 32×32 (scaled, CIFAR-10 / SVHN) with any channels; nothing else
    with pytest.raises(ConfigError, match=r"28×28 images .* 32×32 .*got images of shape \(1, 30, 30\)"):
        CVAESampler(epochs=1, device="cpu").fit_resample(np.zeros((4, 30, 30), np.float32), y)
    with pytest.raises(ConfigError, match=r"got images of shape \(3, 28, 32\)"):
        CGANSampler(epochs=1, device="cpu").fit_resample(np.zeros((4, 3, 28, 32), np.float32), y)
    with pytest.raises(ConfigError, match="sampling"):
        CVAESampler(sampling="mode").fit_resample(np.zeros((4, 784), np.float32), y)
    with pytest.raises(ConfigError, match="batch_size"):
        ACGANSampler(batch_size=1).fit_resample(np.zeros((4, 784), np.float32), y)


@pytest.mark.parametrize("method,cls,epochs,r_first", [
    ("cgan", CGANSampler, 30, False), ("r_cgan", CGANSampler, 60, True),
    ("acgan", ACGANSampler, 60, False), ("r_acgan", ACGANSampler, 60, True),
    ("cvae", CVAESampler, 300, False), ("r_cvae", CVAESampler, 125, True),
])
def test_method_configs_build_the_paper_settings(method, cls, epochs, r_first):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"method={method}"])
    params = OmegaConf.to_container(cfg.method.sampler, resolve=True)
    s = instantiate({**params, "random_state": 0}, _convert_="all")
    assert type(s) is cls and s.epochs == epochs and s.random_oversample_first is r_first
    assert s.batch_size == 64 and s.device == "auto" and s.noise_dim == 62
    if cls is CVAESampler:
        assert s.sampling == "bernoulli" and s.lr == 1e-3
    else:
        assert s.lr_source == "paper"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
@pytest.mark.parametrize("name", list(METHODS))
def test_cuda_graph_step_trains_like_the_eager_step(name, mnist_small):
    X, y = mnist_small
    X, y = np.concatenate([X] * 4), np.concatenate([y] * 4)  # 8 batches: 3 warm-up, capture, replays
    hist = {}
    for graphs in (False, True):
        s = METHODS[name](epochs=2, device="cuda", random_state=0, cuda_graphs=graphs)
        X_res, y_res = s.fit_resample(X, y)
        assert np.isfinite(X_res).all() and len(X_res) == 3 * 4 * MAJORITY
        assert s._extra_info()["cuda_graphs"] is graphs  # what the records say is what ran
        hist[graphs] = np.array([list(h.values())[1:] for h in s.history_])
    # same computation and noise stream; only floating-point non-determinism differs (~1% seen on an H100)
    np.testing.assert_allclose(hist[True], hist[False], rtol=0.05, atol=0.05)


def test_graphed_step_falls_back_to_eager_steps_and_records_it(monkeypatch):
    """A step that cannot be captured runs eagerly from then on, every batch once, and says so."""
    class Stream:
        def __init__(self, *args):
            pass

        def wait_stream(self, other):
            pass

    def capture_fails(graph):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda *a: Stream())
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", object)
    monkeypatch.setattr(torch.cuda, "graph", capture_fails)
    steps = []
    run = GraphedStep(lambda idx: steps.append(idx.tolist()), torch.device("cuda"), warmup=2)
    with pytest.warns(UserWarning, match="capture of the training step failed"):
        for i in range(5):
            run(torch.tensor([i, i + 1]))
    assert steps == [[i, i + 1] for i in range(5)]
    assert not run.captured and not run.enabled and "not permitted" in run.failure


def test_records_say_when_graph_capture_fell_back(monkeypatch, mnist_small):
    import imbench.methods.generative.stepped as stepped

    class FellBack(GraphedStep):
        def __call__(self, idx):
            self.failure = "capture refused"
            self.step(idx)

    monkeypatch.setattr(stepped, "GraphedStep", FellBack)
    s = CGANSampler(epochs=1, device="cpu", random_state=0)
    s.fit_resample(*mnist_small)
    info = s._extra_info()
    assert info["cuda_graphs"] is False and info["cuda_graphs_failure"] == "capture refused"
