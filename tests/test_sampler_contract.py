"""Every imbench sampler is a real imbalanced-learn sampler.

* imbalanced-learn's sampler checks on the tabular samplers (checks that cannot apply are named in
  ``EXPECTED_FAILED`` with the reason, and run as expected failures);
* scikit-learn's API checks (cloning, parameters, tags) and the parameter-validation check on all of
  them, image samplers included;
* for the image samplers, which take N×H×W / N×C×H×W images that imbalanced-learn's checks cannot
  feed them, the checks that apply written out: every ``sampling_strategy`` form, reproducibility,
  fresh randomness with ``random_state=None``, the caller's global random state left alone, bad
  parameters rejected at fit;
* ``GridSearchCV`` over a sampler's own parameters inside an imbalanced-learn ``Pipeline``.

Tiny settings throughout (1 epoch, 1 mini-batch, small random images); one CPU thread.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import check_param_validation
from imblearn.utils.estimator_checks import parametrize_with_checks as imblearn_checks
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks as sklearn_checks

from imbench.errors import ConfigError
from imbench.methods.augment import AugmentOverSampler
from imbench.methods.base import NoOversampling
from imbench.methods.cwgan import CWGANSampler
from imbench.methods.mlp_cgan import MLPCGANSampler
from imbench.methods.generative.acgan import ACGANSampler
from imbench.methods.generative.bagan import BAGANSampler
from imbench.methods.generative.base import GenerativeOversampler
from imbench.methods.generative.cgan import CGANSampler
from imbench.methods.generative.cvae import CVAESampler
from imbench.methods.generative.infogan import IMSICSampler, InfoGANSampler
from imbench.methods.generative.stepped import fit_resample_many
from imbench.methods.torch_smote import TorchRandomOverSampler, TorchSMOTE
from imbench.methods.tuned_smote import TunedSMOTE
from tests.test_generative_fajardo import _one_thread  # noqa: F401 - fixture: one CPU thread

TABULAR = [
    TorchSMOTE(random_state=0, device="cpu"),
    TorchRandomOverSampler(random_state=0, device="cpu"),
    TunedSMOTE(k_grid=(3,), cv=2, mlp_epochs=1, random_state=0, device="cpu"),
    NoOversampling(),
    CWGANSampler(epochs=1, aux_epochs=1, max_batches_per_epoch=2, device="cpu", random_state=0),
]
TINY = dict(epochs=1, batch_size=4, max_batches_per_epoch=1, device="cpu", random_state=0)
IMAGE = [CGANSampler(**TINY), ACGANSampler(**TINY), CVAESampler(**TINY), BAGANSampler(**TINY),
         AugmentOverSampler(device="cpu", random_state=0),
         MLPCGANSampler(steps=2, batch_size=4, device="cpu", random_state=0),
         InfoGANSampler(**TINY, match_samples=4), IMSICSampler(**TINY, match_samples=4)]

EXPECTED_FAILED = {
    "check_samplers_pandas_sparse": "imbench samplers take dense input only (they compute in torch; their "
                                    "sparse tag is False), and a sparse DataFrame is sparse input",
}
EXPECTED_FAILED_BY_SAMPLER = {
    "NoOversampling": {
        "check_samplers_fit_resample": "NoOversampling returns the training set unchanged by design (the "
                                       "'Imbalanced' baseline row), so the classes are not balanced",
    },
}


def _expected_failed(sampler) -> dict[str, str]:
    return {**EXPECTED_FAILED, **EXPECTED_FAILED_BY_SAMPLER.get(type(sampler).__name__, {})}


def _name(sampler) -> str:
    return type(sampler).__name__


# ----- (a) the library checks ------------------------------------------------------------------------
@imblearn_checks(TABULAR, expected_failed_checks=_expected_failed)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


@sklearn_checks(TABULAR + IMAGE, legacy=False)
def test_sklearn_api_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("sampler", TABULAR + IMAGE, ids=_name)
def test_every_parameter_is_validated_at_fit(sampler):
    """A constraint for every constructor parameter; a bad type or value is an InvalidParameterError."""
    check_param_validation(_name(sampler), sampler)


# ----- (b) image samplers: the checks that apply to images -------------------------------------------
def _images(counts: dict[int, int], side: int = 28, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random images in [0, 1] (N×side×side, float32) with ``counts`` samples per class."""
    y = np.concatenate([np.full(n, c) for c, n in counts.items()])
    X = np.random.default_rng(seed).uniform(size=(len(y), side, side)).astype(np.float32)
    return X, y


def _data_for(sampler, counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Images for an image sampler, N×9 vectors for a tabular one."""
    if isinstance(sampler, (AugmentOverSampler, MLPCGANSampler)):
        return _images(counts, side=8)
    if isinstance(sampler, GenerativeOversampler):
        # BAGAN takes any square size min_latent_res * 2^n; 8×8 keeps it fast. The others are 28×28 networks.
        return _images(counts, side=8 if isinstance(sampler, BAGANSampler) else 28)
    X, y = _images(counts, side=3)
    return X.reshape(len(X), -1), y


MULTICLASS = {0: 8, 1: 5, 2: 3}
TABLE = {0: 20, 1: 10, 2: 8}  # SMOTE's default 5 neighbours need 6 samples a class
STRATEGIES = {  # sampling_strategy -> class counts after resampling MULTICLASS (or BINARY for the float)
    "minority": {0: 8, 1: 5, 2: 8},
    "not minority": {0: 8, 1: 8, 2: 3},
    "not majority": {0: 8, 1: 8, 2: 8},
    "all": {0: 8, 1: 8, 2: 8},
    "dict": {0: 8, 1: 7, 2: 6},
    "callable": {0: 8, 1: 5, 2: 8},
}
BINARY = {0: 8, 1: 4}


def _strategy(form: str):
    if form == "dict":
        return {1: 7, 2: 6}
    if form == "callable":
        return lambda y: {2: int(np.sum(y == 0))}
    return form


@pytest.mark.parametrize("sampler", IMAGE, ids=_name)
def test_clone_and_params_round_trip(sampler):
    params = sampler.get_params()
    twin = clone(sampler)
    assert twin is not sampler and type(twin) is type(sampler) and twin.get_params() == params
    changed = {"max_shift": 3} if isinstance(sampler, AugmentOverSampler) else \
        {"steps": 3} if isinstance(sampler, MLPCGANSampler) else {"epochs": 3}
    assert twin.set_params(**changed, random_state=7) is twin
    assert twin.get_params() == {**params, **changed, "random_state": 7}
    assert sampler.get_params() == params  # the original is untouched
    twin.set_params(**params)
    assert twin.get_params() == params


@pytest.mark.parametrize("sampler", IMAGE, ids=_name)
def test_every_sampling_strategy_form(sampler):
    X, y = _data_for(sampler, MULTICLASS)
    for form, wanted in STRATEGIES.items():
        X_res, y_res = clone(sampler).set_params(sampling_strategy=_strategy(form)).fit_resample(X, y)
        assert dict(Counter(y_res.tolist())) == wanted, form
        assert X_res.shape == (len(y_res),) + X.shape[1:] and X_res.dtype == X.dtype, form
        np.testing.assert_array_equal(X_res[:len(X)], X)  # originals first, unchanged
    Xb, yb = _data_for(sampler, BINARY)
    _, y_res = clone(sampler).set_params(sampling_strategy=0.75).fit_resample(Xb, yb)
    assert dict(Counter(y_res.tolist())) == {0: 8, 1: 6}


def _global_rng_state() -> tuple:
    return torch.get_rng_state(), np.random.get_state()


def _assert_same_rng_state(before: tuple, after: tuple) -> None:
    assert torch.equal(before[0], after[0]), "torch's global generator moved"
    for a, b in zip(before[1], after[1]):
        assert np.array_equal(a, b), "NumPy's global generator moved"


@pytest.mark.parametrize("sampler", TABULAR + IMAGE, ids=_name)
def test_int_random_state_reproduces_and_leaves_global_rng_alone(sampler):
    X, y = _data_for(sampler, MULTICLASS if isinstance(sampler, GenerativeOversampler) else TABLE)
    torch.manual_seed(123)
    np.random.seed(123)
    before = _global_rng_state()
    first = clone(sampler).set_params(random_state=5).fit_resample(X, y)
    second = clone(sampler).set_params(random_state=5).fit_resample(X, y)
    _assert_same_rng_state(before, _global_rng_state())
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sampler", [s for s in TABULAR if not isinstance(s, NoOversampling)] + IMAGE, ids=_name)
def test_random_state_none_is_fresh_randomness(sampler):
    """``None`` does not mean seed 0, nor the caller's global seed: the same global state, new samples."""
    X, y = _data_for(sampler, MULTICLASS if isinstance(sampler, GenerativeOversampler) else TABLE)
    outputs = []
    for _ in range(2):
        torch.manual_seed(0)
        np.random.seed(0)
        before = _global_rng_state()
        X_res, _ = clone(sampler).set_params(random_state=None).fit_resample(X, y)
        _assert_same_rng_state(before, _global_rng_state())
        outputs.append(X_res[len(X):])
    assert not np.array_equal(outputs[0], outputs[1])


def test_batched_generators_leave_global_rng_alone():
    X, y = _images(MULTICLASS)
    samplers = [CVAESampler(**dict(TINY, random_state=s)) for s in (1, 2)]
    torch.manual_seed(9)
    before = _global_rng_state()
    outs = fit_resample_many(samplers, [(X, y), (X[::-1].copy(), y[::-1].copy())])
    _assert_same_rng_state(before, _global_rng_state())
    assert [s.group_size_ for s in samplers] == [2, 2] and all(isinstance(o, tuple) for o in outs)


BAD_PARAMETERS = [  # (sampler class, parameter, bad value): one of each kind of constraint
    (CGANSampler, "epochs", 0), (CGANSampler, "batch_size", 1), (CGANSampler, "device", "gpu"),
    (CGANSampler, "lr_source", "table"), (CGANSampler, "lr_g", -1.0), (CGANSampler, "noise_dim", 0),
    (CGANSampler, "random_oversample_first", "yes"), (CGANSampler, "max_batches_per_epoch", 0),
    (CGANSampler, "sampling_strategy", "most"), (CGANSampler, "random_state", "seed"),
    (ACGANSampler, "lr_q", 0.0), (ACGANSampler, "cuda_graphs", 1),
    (CVAESampler, "sampling", "mode"), (CVAESampler, "lr", 0), (CVAESampler, "image_shape", "28x28"),
    (BAGANSampler, "covariance", "diag"), (BAGANSampler, "beta1", 1.0), (BAGANSampler, "ae_epochs", 0),
    (BAGANSampler, "min_latent_res", 0), (BAGANSampler, "batch_size", 0),
    (TorchSMOTE, "k_neighbors", 0), (TorchSMOTE, "device", "cuda:x"), (TorchSMOTE, "block_size", 0),
    (TorchRandomOverSampler, "sampling_strategy", 1.5), (TunedSMOTE, "k_grid", (3, 0)), (TunedSMOTE, "cv", 1),
    (CWGANSampler, "epochs", -1), (CWGANSampler, "gp_weight", -1.0), (CWGANSampler, "lr", 0.0),
    (CWGANSampler, "clip", "yes"), (CWGANSampler, "max_batches_per_epoch", 0),
]


@pytest.mark.parametrize("cls,param,value", BAD_PARAMETERS, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_bad_parameters_are_stored_then_rejected_at_fit(cls, param, value):
    sampler = cls(**{param: value})  # __init__ only stores
    assert getattr(sampler, param) == value
    X, y = _images(MULTICLASS, side=28)
    X = X.reshape(len(X), -1)
    with pytest.raises(InvalidParameterError, match=rf"The '{param}' parameter of {cls.__name__} must be") as err:
        sampler.fit_resample(X, y)
    assert isinstance(err.value, ConfigError)  # the command line reports it as a configuration error


# ----- (c) grid search over a sampler's own parameters -----------------------------------------------
def _grid_search(sampler, grid: dict, X: np.ndarray, y: np.ndarray) -> GridSearchCV:
    pipe = Pipeline([("over", sampler), ("clf", LogisticRegression(max_iter=200))])
    search = GridSearchCV(pipe, grid, cv=StratifiedKFold(2, shuffle=True, random_state=0), error_score="raise")
    return search.fit(X, y)


def test_grid_search_over_torch_smote_k_neighbors():
    X, y = _images({0: 30, 1: 12}, side=3)
    search = _grid_search(TorchSMOTE(device="cpu", random_state=0), {"over__k_neighbors": [1, 3, 5]},
                          X.reshape(len(X), -1), y)
    assert len(search.cv_results_["params"]) == 3 and np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.named_steps["over"].k_neighbors == search.best_params_["over__k_neighbors"]


def test_grid_search_over_cvae_epochs():
    X, y = _images({0: 16, 1: 8})
    search = _grid_search(CVAESampler(**TINY), {"over__epochs": [1, 2]}, X.reshape(len(X), -1), y)
    assert len(search.cv_results_["params"]) == 2 and np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_.named_steps["over"]
    assert best.epochs == search.best_params_["over__epochs"] and len(best.history_) == best.epochs
