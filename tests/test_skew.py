import numpy as np
import pytest

from imbench.data.protocol import make_folds
from imbench.data.skew import SkewSpec, class_counts, minority_classes, skew_indices, target_counts
from imbench.errors import ConfigError, DataError

AVAILABLE = {c: 6000 for c in range(10)}


def test_fajardo_step_counts():
    spec = SkewSpec(scheme="step", ir=80, minority=[3, 4, 5], n_max=3200)
    wanted = target_counts(spec, AVAILABLE)
    assert wanted == {0: 3200, 1: 3200, 2: 3200, 3: 40, 4: 40, 5: 40, 6: 3200, 7: 3200, 8: 3200, 9: 3200}
    assert sum(wanted.values()) == 22520  # spec §2.2 table
    spec320 = SkewSpec(scheme="step", ir=320, minority=[0, 1, 2, 3, 4, 5, 9], n_max=3200)
    assert sum(target_counts(spec320, AVAILABLE).values()) == 9670


def test_gamo_counts_and_ir_conflict():
    counts = [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40]
    assert list(target_counts(SkewSpec(scheme="counts", counts=counts, ir=100), AVAILABLE).values()) == counts
    with pytest.raises(ConfigError, match="conflicts"):
        target_counts(SkewSpec(scheme="counts", counts=counts, ir=50), AVAILABLE)


def test_exp_counts_are_geometric():
    wanted = target_counts(SkewSpec(scheme="exp", ir=100, n_max=4000), AVAILABLE)
    assert wanted[0] == 4000 and wanted[9] == 40
    assert wanted[1] == int(4000 * 100 ** (-1 / 9))
    assert all(wanted[c] > wanted[c + 1] for c in range(9))


def test_impossible_request_names_the_numbers():
    with pytest.raises(ConfigError, match="class 0 needs 7000 but only 6000 exist"):
        target_counts(SkewSpec(scheme="step", ir=10, minority=[9], n_max=7000), AVAILABLE)
    with pytest.raises(ConfigError, match="no minority sample"):
        target_counts(SkewSpec(scheme="step", ir=5000, minority=[9], n_max=3200), AVAILABLE)


def test_bad_scheme_and_missing_minority():
    with pytest.raises(ConfigError, match="valid schemes"):
        SkewSpec(scheme="zipf")
    with pytest.raises(ConfigError, match="minority"):
        SkewSpec(scheme="step", ir=10)


def test_skew_is_deterministic_and_exact():
    y = np.repeat(np.arange(10), 500)
    wanted = target_counts(SkewSpec(scheme="step", ir=20, minority=[1, 2], n_max=400), class_counts(y))
    a = skew_indices(y, wanted, np.random.default_rng(3))
    b = skew_indices(y, wanted, np.random.default_rng(3))
    c = skew_indices(y, wanted, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert class_counts(y[a]) == wanted
    assert len(np.unique(a)) == len(a)  # without replacement


def test_minority_group():
    assert minority_classes(SkewSpec(scheme="step", ir=80, minority=[5, 3]), {}) == [3, 5]
    assert minority_classes(SkewSpec(scheme="counts", counts=[3, 2, 1]), {0: 3, 1: 2, 2: 1}) == [1, 2]


def test_holdout_folds_redraw_and_keep_official_test():
    y_pool = np.repeat(np.arange(3), 100)
    y_test = np.repeat(np.arange(3), 30)
    spec = SkewSpec(scheme="step", ir=10, minority=[2], n_max=50)
    folds = make_folds({"name": "holdout", "test_per_class": None}, spec, y_pool, y_test, 3, seed=0)
    assert len(folds) == 3
    assert all(class_counts(y_pool[f.train]) == {0: 50, 1: 50, 2: 5} for f in folds)
    assert not np.array_equal(folds[0].train, folds[1].train)
    assert all(len(f.test) == 90 for f in folds)
    per = make_folds({"name": "holdout", "test_per_class": 10}, spec, y_pool, y_test, 1, seed=0)[0]
    assert class_counts(y_test[per.test]) == {0: 10, 1: 10, 2: 10}


def test_kfold_and_shuffle_split_are_disjoint_and_stratified():
    y = np.repeat([0, 1], [200, 40])
    spec = SkewSpec(scheme="none")
    for f in make_folds({"name": "kfold"}, spec, y, None, 4, seed=1):
        assert not set(f.train) & set(f.test)
        assert class_counts(y[f.test]) == {0: 50, 1: 10}
    for f in make_folds({"name": "shuffle_split", "test_size": 0.2, "val_size": 0.2}, spec, y, None, 4, seed=1):
        assert not (set(f.train) & set(f.test)) and not (set(f.train) & set(f.val)) and not (set(f.val) & set(f.test))
        assert len(f.test) == 48 and class_counts(y[f.test])[1] == 8


def test_fold_with_missing_class_is_a_clear_error():
    y = np.repeat([0, 1], [200, 3])
    with pytest.raises(DataError, match="at least 4 samples of every class"):
        make_folds({"name": "kfold"}, SkewSpec(scheme="none"), y, None, 4, seed=0)
    y_pool = np.repeat(np.arange(3), 100)
    y_test = np.repeat([0, 1], 30)  # the official test set lacks class 2
    with pytest.raises(DataError, match=r"class\(es\) \[2\]"):
        make_folds({"name": "holdout"}, SkewSpec(scheme="none"), y_pool, y_test, 1, seed=0)
