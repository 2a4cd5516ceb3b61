"""Fajardo et al.'s conditional networks scaled to 32×32 images with C channels (GAMO Table 2's cDCGAN+CN
row on CIFAR-10 / SVHN), while the 28×28 single-channel defaults stay the paper's layers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imbench.errors import ConfigError
from imbench.methods.generative.acgan import ACGANSampler
from imbench.methods.generative.cgan import CGANSampler
from imbench.methods.generative.cvae import CVAESampler
from imbench.methods.generative.networks import (AuxClassifier, ConditionalEncoder, ConditionalGenerator,
                                                 Discriminator, check_fajardo_images)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _shapes(net):
    return [(name, tuple(p.shape)) for name, p in net.named_parameters()]


def test_28x28_single_channel_networks_have_the_papers_parameter_shapes():
    z, k = 62, 10
    assert _shapes(ConditionalGenerator(z, k)) == [
        ("fc.0.weight", (1024, z + k)), ("fc.0.bias", (1024,)), ("fc.1.weight", (1024,)), ("fc.1.bias", (1024,)),
        ("fc.3.weight", (6272, 1024)), ("fc.3.bias", (6272,)), ("fc.4.weight", (6272,)), ("fc.4.bias", (6272,)),
        ("deconv.0.weight", (128, 64, 4, 4)), ("deconv.0.bias", (64,)), ("deconv.1.weight", (64,)),
        ("deconv.1.bias", (64,)), ("deconv.3.weight", (64, 1, 4, 4)), ("deconv.3.bias", (1,))]

    def trunk(c_in):
        return [("trunk.net.0.weight", (64, c_in, 4, 4)), ("trunk.net.0.bias", (64,)),
                ("trunk.net.2.weight", (128, 64, 4, 4)), ("trunk.net.2.bias", (128,)),
                ("trunk.net.3.weight", (128,)), ("trunk.net.3.bias", (128,)),
                ("trunk.net.6.weight", (1024, 6272)), ("trunk.net.6.bias", (1024,)),
                ("trunk.net.7.weight", (1024,)), ("trunk.net.7.bias", (1024,))]

    assert _shapes(Discriminator()) == trunk(1) + [("head.weight", (1, 1024)), ("head.bias", (1,))]
    assert _shapes(Discriminator(label_channels=k)) == trunk(1 + k) + [("head.weight", (1, 1024)), ("head.bias", (1,))]
    assert _shapes(ConditionalEncoder(z, k)) == trunk(1 + k) + [("head.weight", (2 * z, 1024)), ("head.bias", (2 * z,))]
    # the explicit defaults build the same weights from the same seed (same RNG consumption)
    torch.manual_seed(0)
    a = ConditionalGenerator(z, k).state_dict()
    torch.manual_seed(0)
    b = ConditionalGenerator(z, k, channels=1, size=28).state_dict()
    assert all(torch.equal(a[n], b[n]) for n in a)


def test_32x32_colour_networks_shapes_and_ranges():
    torch.manual_seed(0)
    k, n = 10, 5
    G = ConditionalGenerator(62, k, channels=3, size=32)
    assert G.fc[3].out_features == 128 * 8 * 8 and G.deconv[3].out_channels == 3
    y = torch.eye(k)[torch.arange(n)]
    x = G(torch.rand(n, 62) * 2 - 1, y)
    assert x.shape == (n, 3, 32, 32) and x.min() > 0 and x.max() < 1
    D = Discriminator(label_channels=k, channels=3, size=32)
    assert D.trunk.net[0].in_channels == 3 + k and D.trunk.net[6].in_features == 128 * 8 * 8
    logit, feat = D(x, y)
    assert logit.shape == (n,) and feat.shape == (n, 1024)
    logit, feat = Discriminator(channels=3, size=32)(x)  # ACGAN's (no label channels)
    assert logit.shape == (n,) and AuxClassifier(k)(feat).shape == (n, k)
    mean, std = ConditionalEncoder(62, k, channels=3, size=32)(x, y)
    assert mean.shape == std.shape == (n, 62) and (std > 0).all()


def _colour_data(counts=(20, 12, 6), seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    return rng.random((len(y), 3, 32, 32), dtype=np.float32), y


@pytest.mark.parametrize("sampler", [CGANSampler, ACGANSampler, CVAESampler])
def test_sampler_on_32x32_colour_balances_and_is_deterministic(sampler):
    X, y = _colour_data()
    outs = []
    for _ in range(2):
        s = sampler(epochs=1, batch_size=8, max_batches_per_epoch=2, device="cpu", random_state=5)
        X_res, y_res = s.fit_resample(X, y)
        assert np.bincount(y_res).tolist() == [20, 20, 20] and X_res.shape == (60, 3, 32, 32)
        assert np.array_equal(X_res[:len(X)], X) and X_res.min() >= 0 and X_res.max() <= 1
        outs.append(X_res[len(X):])
    assert np.array_equal(outs[0], outs[1])
    if sampler is CGANSampler:
        assert s.generator_.deconv[3].out_channels == 3


def test_flattened_colour_input_with_image_shape():
    X, y = _colour_data(counts=(10, 6))
    s = CGANSampler(epochs=1, batch_size=8, max_batches_per_epoch=1, device="cpu", random_state=0,
                    image_shape=(3, 32, 32))
    X_res, y_res = s.fit_resample(X.reshape(len(X), -1), y)
    assert X_res.shape == (20, 3072) and np.bincount(y_res).tolist() == [10, 10]


@pytest.mark.parametrize("shape", [(1, 30, 30), (3, 28, 32), (3, 24, 24), (3, 64, 64)])
def test_other_image_shapes_are_config_errors_naming_the_shape(shape):
    with pytest.raises(ConfigError, match=r"CGAN: .*got images of shape " + repr(shape).replace("(", r"\(").replace(")", r"\)")):
        check_fajardo_images(torch.zeros((4,) + shape), "CGAN")
    X = np.zeros((4,) + shape, np.float32)
    with pytest.raises(ConfigError, match="got images of shape"):
        CGANSampler(epochs=1, device="cpu").fit_resample(X, np.array([0, 0, 0, 1]))


def test_batched_group_training_on_32x32_colour():
    from imbench.methods.generative.stepped import fit_resample_many

    X, y = _colour_data(counts=(16, 8))
    samplers = [CGANSampler(epochs=1, batch_size=8, max_batches_per_epoch=2, device="cpu", random_state=s)
                for s in (1, 2)]
    out = fit_resample_many(samplers, [(X, y), (X, y)])
    for s, (X_res, y_res) in zip(samplers, out):
        assert s.group_size_ == 2 and X_res.shape == (32, 3, 32, 32) and np.bincount(y_res).tolist() == [16, 16]
        assert s.generator_.deconv[3].out_channels == 3
