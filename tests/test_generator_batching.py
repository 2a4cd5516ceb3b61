"""Batched generator training (imbench.methods.generative.stepped): N CGAN / ACGAN / CVAE trainings of
one architecture as one vmap group must give what N sequential trainings give, member by member.

The training noise is the one thing batched training draws differently (all members at once from one
generator), so the equivalence test fixes it: with the noise replaced by one fixed pattern in both
runs, everything else -- initial weights, mini-batch order, batch-norm statistics, Adam, sampling
afterwards -- must agree. It runs in float64, where the agreement is to ~1e-9: in float32 the
rounding differences of the batched convolutions are amplified by Adam (its first steps are
+-lr whatever the gradient's size, so a gradient that is rounding noise, as for a bias followed by
batch normalisation, moves by lr in either direction) to ~1e-3 in the losses after a few steps.
Real MNIST images, a few steps, one CPU thread."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imbench.errors import TrainingError
from imbench.methods.generative import acgan, cgan, cvae
from imbench.methods.generative.acgan import ACGANSampler
from imbench.methods.generative.bagan import BAGANSampler
from imbench.methods.generative.base import GenerativeOversampler
from imbench.methods.generative.cgan import CGANSampler
from imbench.methods.generative.cvae import CVAESampler
from imbench.methods.generative.stepped import fit_generators_batched, fit_resample_many
from tests.test_generative_fajardo import COUNTS, _one_thread, mnist_small  # noqa: F401 - fixtures (one CPU thread, data)

METHODS = {"CGAN": CGANSampler, "ACGAN": ACGANSampler, "CVAE": CVAESampler}
SEEDS = (11, 12, 13)
KW = dict(epochs=2, batch_size=32, device="cpu", max_batches_per_epoch=3)


def _pattern(shape) -> torch.Tensor:
    """A fixed noise pattern that depends on the last two dimensions only (the same for every member)."""
    rows, cols = shape[-2], shape[-1]
    base = torch.sin(torch.arange(rows * cols, dtype=torch.float32) * 0.37).view(rows, cols)
    return base.expand(tuple(shape)).clone()


@pytest.fixture
def float64_fixed_noise(monkeypatch):
    """Networks, data and noise in float64; training noise = one fixed pattern."""
    def uniform(shape, device, gen=None):
        if gen is not None:  # sampling after training: the member's own generator, as usual
            return torch.rand(shape, generator=gen).mul_(2).sub_(1).to(device)
        return _pattern(shape).to(device, torch.float64)

    real_prepare = GenerativeOversampler._prepare

    def prepare64(self, X, y):
        prep = real_prepare(self, X, y)
        prep.train_x = prep.train_x.double()
        return prep

    monkeypatch.setattr(cgan, "uniform_noise", uniform)
    monkeypatch.setattr(acgan, "uniform_noise", uniform)
    monkeypatch.setattr(cvae.torch, "randn_like", lambda t: _pattern(t.shape).to(t.device, t.dtype))
    monkeypatch.setattr(GenerativeOversampler, "_prepare", prepare64)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _draws(X, y, n):
    """n different training sets of one size (as a block's skewed draws): a different subset each time."""
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n):
        idx = np.concatenate([rng.choice(np.flatnonzero(y == c), k - 2, replace=False) for c, k in COUNTS.items()])
        out.append((X[idx], y[idx]))
    return out


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("name,r_first,device", [
    # CGAN, ACGAN and R-CGAN on the CPU take ~15-40 s each: run with `-m slow` (R-CVAE covers the CPU path
    # by default; the CUDA cases below cover CGAN and ACGAN where a GPU is)
    pytest.param("CGAN", False, "cpu", marks=pytest.mark.slow), pytest.param("CGAN", True, "cpu", marks=pytest.mark.slow),
    pytest.param("ACGAN", False, "cpu", marks=pytest.mark.slow),
    ("CVAE", True, "cpu"),
    # on a GPU: vmap, batch norm and Adam under CUDA-graph capture (2 x 2 steps: 3 eager, then a replay)
    pytest.param("CGAN", False, "cuda", marks=CUDA), pytest.param("ACGAN", True, "cuda", marks=CUDA),
    pytest.param("CVAE", False, "cuda", marks=CUDA),
])
def test_batched_members_match_sequential_training(name, r_first, device, mnist_small, float64_fixed_noise):
    seeds = SEEDS[:2]
    data = _draws(*mnist_small, len(seeds))
    kw = dict(KW, random_oversample_first=r_first, max_batches_per_epoch=2, device=device)
    # cuDNN's float64 algorithms may sum in another order than the batched ones
    rel, tol = (1e-9, dict(atol=1e-7, rtol=1e-7)) if device == "cpu" else (1e-6, dict(atol=1e-5, rtol=1e-5))
    seq = []
    for s, (X, y) in zip(seeds, data):
        sampler = METHODS[name](random_state=s, **kw)
        seq.append((sampler, sampler.fit_resample(X, y)))
    batched = [METHODS[name](random_state=s, **kw) for s in seeds]
    outs = fit_resample_many(batched, data)
    for (ref_sampler, (X_ref, y_ref)), sampler, out in zip(seq, batched, outs):
        assert isinstance(out, tuple), out
        X_res, y_res = out
        np.testing.assert_array_equal(y_res, y_ref)
        n = len(ref_sampler.classes_)
        assert sampler.group_size_ == len(seeds) and sampler.fit_info()["group_size"] == len(seeds)
        assert len(sampler.history_) == KW["epochs"]
        assert sampler._extra_info()["cuda_graphs"] is ref_sampler._extra_info()["cuda_graphs"] is (device == "cuda")
        for h_ref, h in zip(ref_sampler.history_, sampler.history_):
            for k in h_ref:
                assert h[k] == pytest.approx(h_ref[k], rel=rel), (k, h, h_ref)
        gen_ref = ref_sampler.decoder_ if name == "CVAE" else ref_sampler.generator_
        gen = sampler.decoder_ if name == "CVAE" else sampler.generator_
        for (k, p_ref), p in zip(gen_ref.state_dict().items(), gen.state_dict().values()):
            assert p.dtype == p_ref.dtype and (p.dtype != torch.float32), k
            torch.testing.assert_close(p, p_ref, msg=f"{name} {k}", **tol)
        if name == "CVAE":  # Bernoulli pixels: compare the decoder's means for fixed codes as well
            z = torch.randn(8, sampler.noise_dim, generator=torch.Generator().manual_seed(0))
            onehot = cgan.class_onehot(n - 1, 8, n, torch.device(device)).double()
            with torch.no_grad():
                torch.testing.assert_close(gen(z.to(device), onehot), gen_ref(z.to(device), onehot), **tol)
        np.testing.assert_allclose(X_res, X_ref, atol=1e-6)
    # and the members really are different generators (their own data and seeds)
    a, b = (s.decoder_ if name == "CVAE" else s.generator_ for s in batched[:2])
    assert not torch.allclose(next(a.parameters()), next(b.parameters()))


def test_groups_split_by_training_size_hyperparameters_and_kind(mnist_small):
    (X1, y1), (X2, y2) = _draws(*mnist_small, 2)
    kw = dict(KW, epochs=1, max_batches_per_epoch=1)
    samplers = [CGANSampler(random_state=1, **kw), CGANSampler(random_state=2, **kw),
                CGANSampler(random_state=3, **kw),                       # smaller set: alone
                CGANSampler(random_state=4, **dict(kw, lr_source="code")),  # other learning rates: alone
                CVAESampler(random_state=5, **kw),                        # other architecture: alone
                BAGANSampler(random_state=6, epochs=1, ae_epochs=1, batch_size=32, device="cpu",
                             max_batches_per_epoch=1)]                    # not a stepped generator
    data = [(X1, y1), (X2, y2), (X1[:-3], y1[:-3]), (X1, y1), (X1, y1), (X1, y1)]
    outs = fit_resample_many(samplers, data)
    assert all(isinstance(o, tuple) for o in outs), outs
    assert [s.group_size_ for s in samplers] == [2, 2, 1, 1, 1, 1]
    assert [s.fit_info()["group_size"] for s in samplers] == [2, 2, 1, 1, 1, 1]
    # batch=False: every one alone
    samplers = [CGANSampler(random_state=s, **kw) for s in (1, 2)]
    fit_resample_many(samplers, [(X1, y1), (X2, y2)], batch=False)
    assert [s.group_size_ for s in samplers] == [1, 1]


def test_a_diverging_member_is_reported_alone(mnist_small):
    data = _draws(*mnist_small, 3)
    samplers = [CGANSampler(random_state=s, **KW) for s in SEEDS]
    preps = [s._prepare(X, y) for s, (X, y) in zip(samplers, data)]
    preps[1].train_x.fill_(float("nan"))  # one member's data is corrupt (past input validation)
    errors = fit_generators_batched(samplers, preps)
    assert errors[0] is None and errors[2] is None
    assert "CGAN training diverged" in errors[1] and "epoch 1" in errors[1] and f"seed {SEEDS[1]}" in errors[1]
    for i in (0, 2):  # the others trained, with finite weights, and can sample
        assert all(torch.isfinite(p).all() for p in samplers[i].generator_.parameters())
        X_res, _ = samplers[i]._complete(preps[i])
        assert np.isfinite(X_res).all()
    assert not hasattr(samplers[1], "generator_")


def test_fit_resample_many_returns_the_error_of_the_failed_member_only(mnist_small, monkeypatch):
    data = _draws(*mnist_small, 2)
    samplers = [CGANSampler(random_state=s, **KW) for s in SEEDS[:2]]
    real_prepare = CGANSampler._prepare

    def corrupt_second(self, X, y):
        prep = real_prepare(self, X, y)
        if self.random_state == SEEDS[1]:
            prep.train_x.fill_(float("inf"))
        return prep

    monkeypatch.setattr(CGANSampler, "_prepare", corrupt_second)
    outs = fit_resample_many(samplers, data)
    assert isinstance(outs[0], tuple)
    assert isinstance(outs[1], TrainingError) and f"seed {SEEDS[1]}" in str(outs[1])


@pytest.fixture
def infogan_float64_fixed_noise(monkeypatch):
    """InfoGAN / IMSIC in float64 with fixed training draws and no dropout (the two things a group
    draws differently from sequential training: latents and categories for all members at once, and
    dropout masks per member under vmap's "different" randomness)."""
    from imbench.methods.generative import infogan

    real_prepare = GenerativeOversampler._prepare
    real_networks = infogan.InfoGANSampler._networks

    def prepare64(self, X, y):
        prep = real_prepare(self, X, y)
        prep.train_x = prep.train_x.double()
        return prep

    def latents(self, rows):
        return (_pattern((*rows, int(self.latent_dim))).double().to(self.device_),
                _pattern((*rows, int(self.code_dim))).double().to(self.device_) * 0.5)

    def categories(self, rows):
        return (torch.arange(rows[-1], device=self.device_) % self.n_categories_).expand(rows).clone()

    def networks_without_dropout(self, n_classes):
        nets = real_networks(self, n_classes)
        for net in nets.values():
            for name, module in list(net.named_modules()):
                if isinstance(module, torch.nn.Dropout2d):
                    parent = net.get_submodule(name.rpartition(".")[0]) if "." in name else net
                    setattr(parent, name.rpartition(".")[2], torch.nn.Identity())
        return nets

    monkeypatch.setattr(GenerativeOversampler, "_prepare", prepare64)
    monkeypatch.setattr(infogan.InfoGANSampler, "_train_latents", latents)
    monkeypatch.setattr(infogan.IMSICSampler, "_train_latents", latents)  # its own priors: replaced as well
    monkeypatch.setattr(infogan.InfoGANSampler, "_train_categories", categories)
    monkeypatch.setattr(infogan.InfoGANSampler, "_networks", networks_without_dropout)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("name", [pytest.param("infogan", marks=pytest.mark.slow), "imsic"])  # IMSIC runs InfoGAN's step
def test_infogan_and_imsic_members_match_sequential_training(name, mnist_small, infogan_float64_fixed_noise):
    from imbench.methods.generative.infogan import IMSICSampler, InfoGANSampler

    cls = IMSICSampler if name == "imsic" else InfoGANSampler
    seeds = SEEDS[:2]
    data = _draws(*mnist_small, len(seeds))
    kw = dict(epochs=2, batch_size=16, device="cpu", max_batches_per_epoch=2, match_samples=10)
    seq = []
    for s, (X, y) in zip(seeds, data):
        sampler = cls(random_state=s, **kw)
        seq.append((sampler, sampler.fit_resample(X, y)))
    batched = [cls(random_state=s, **kw) for s in seeds]
    outs = fit_resample_many(batched, data)
    for (ref, (X_ref, y_ref)), sampler, out in zip(seq, batched, outs):
        assert isinstance(out, tuple), out
        assert sampler.group_size_ == len(seeds) and sampler.fit_info()["group_size"] == len(seeds)
        for h_ref, h in zip(ref.history_, sampler.history_):
            for k in ("g", "d", "info"):
                assert h[k] == pytest.approx(h_ref[k], rel=1e-5), (k, h, h_ref)
        for (k, p_ref), p in zip(ref.generator_.state_dict().items(), sampler.generator_.state_dict().values()):
            assert p.dtype == (torch.int64 if k.endswith("num_batches_tracked") else torch.float64), k
            torch.testing.assert_close(p, p_ref, atol=1e-5, rtol=1e-5, msg=f"{name} {k}")
        # the code matching ran on each member's own training set and found the same mapping
        assert sampler.matching_["class_to_code"] == ref.matching_["class_to_code"]
        np.testing.assert_array_equal(out[1], y_ref)
        np.testing.assert_allclose(out[0], X_ref, atol=1e-4)
    a, b = (s.generator_ for s in batched)
    assert not torch.allclose(next(a.parameters()), next(b.parameters()))


def test_infogan_group_draws_its_own_dropout_masks_and_trains(mnist_small):
    from imbench.methods.generative.infogan import IMSICSampler

    data = _draws(*mnist_small, 2)
    samplers = [IMSICSampler(random_state=s, epochs=1, batch_size=16, device="cpu", max_batches_per_epoch=2,
                             match_samples=10) for s in SEEDS[:2]]
    outs = fit_resample_many(samplers, data)
    assert all(isinstance(o, tuple) for o in outs), outs
    assert [s.group_size_ for s in samplers] == [2, 2]
    for s, (X_res, y_res) in zip(samplers, outs):
        assert np.isfinite(X_res).all() and X_res.shape[1:] == (1, 28, 28)
        assert set(s.matching_["class_to_code"]) == {"0", "3", "5"}
