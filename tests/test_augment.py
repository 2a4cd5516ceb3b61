"""Augment+CN's sampler: new images are transforms of their own class's images, the counts balance."""
import numpy as np
import pytest

from imbench.errors import ConfigError
from imbench.methods.augment import AugmentOverSampler


def _images(seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], [12, 4, 3])
    X = np.zeros((len(y), 1, 10, 10), np.float32)
    X[:, :, 2:8, 2:8] = rng.uniform(0.2, 1.0, size=(len(y), 1, 6, 6))  # a patch on a zero background
    return X, y


def _shift(img, dx, dy):
    out = np.zeros_like(img)
    h, w = img.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_shifted_copies_of_their_own_class_and_balanced_counts():
    X, y = _images()
    X_res, y_res = AugmentOverSampler(max_rotation=0, max_shift=2, hflip=False, device="cpu",
                                      random_state=0).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [12, 12, 12]
    np.testing.assert_array_equal(X_res[:len(X)], X)
    shifts_seen = set()
    for img, c in zip(X_res[len(X):], y_res[len(X):]):
        matches = [(dx, dy) for src in X[y == c] for dx in range(-2, 3) for dy in range(-2, 3)
                   if np.allclose(_shift(src, dx, dy), img, atol=1e-5)]
        assert matches, "an augmented image is no shift of any image of its class"
        shifts_seen.update(matches)
    assert len(shifts_seen) > 3  # the shifts vary


def test_mirroring_only_when_asked_and_rotation_keeps_the_range():
    X, y = _images(1)
    X_res, y_res = AugmentOverSampler(max_rotation=0, max_shift=0, hflip=True, device="cpu",
                                      random_state=0).fit_resample(X, y)
    new = X_res[len(X):]
    mirrored = [any(np.allclose(img, src[..., ::-1], atol=1e-5) and not np.allclose(img, src, atol=1e-5)
                    for src in X[y == c]) for img, c in zip(new, y_res[len(X):])]
    assert 0 < sum(mirrored) < len(new)
    X_rot, _ = AugmentOverSampler(max_rotation=30, max_shift=0, hflip=False, device="cpu",
                                  random_state=0).fit_resample(X, y)
    assert X_rot.min() >= 0 and X_rot.max() <= 1 and not np.allclose(X_rot[len(X):], X_res[len(X):])


def test_images_outside_0_1_are_refused():
    X, y = _images()
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        AugmentOverSampler(device="cpu").fit_resample(X * 255, y)
