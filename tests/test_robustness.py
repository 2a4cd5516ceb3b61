"""Sweeps that survive bad input, divergence, corrupt records and several processes sharing an out_dir."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imbench.claims import CLAIM, Claims, ClaimSettings, read_claim
from imbench.divergence import DivergenceSettings, LossWatch, divergence_settings
from imbench.errors import ConfigError, RecordsError, TrainingError
from imbench.records import (FAILED, RESULT, finish_run, iter_failures, iter_records, mark_failed,
                             prepare_run_dir)
from test_runner import REPO, SMALL, cli


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if re.fullmatch(r"[0-9a-f]{16}", p.name)) if out.is_dir() else []


def done_dirs(out: Path) -> list[Path]:
    return [d for d in run_dirs(out) if (d / "done").is_file()]


# -- divergence -----------------------------------------------------------------------------------------
def test_a_loss_growing_beyond_the_bound_stops_the_training():
    watch = LossWatch("the classifier", seed=7, hint="lower classifier.schedule.lr")
    watch.check(2.3, "step 1")
    watch.check(2000.0, "step 2")  # below 1000 × 2.3
    with pytest.raises(TrainingError, match=r"the classifier diverged: its loss grew to 3000 at step 3, seed 7"):
        watch.check(3000.0, "step 3")


def test_a_small_first_loss_is_held_to_factor_times_one():
    watch = LossWatch("G")
    watch.check(1e-4, "epoch 1")
    watch.check(900.0, "epoch 2")
    with pytest.raises(TrainingError, match="diverged"):
        watch.check(1001.0, "epoch 3")


def test_non_finite_losses_stop_even_with_the_check_off():
    with divergence_settings(DivergenceSettings(check=False)):
        watch = LossWatch("the classifier")
        watch.check(1.0, "step 1")
        watch.check(1e30, "step 2")  # growth is allowed with the check off
        with pytest.raises(TrainingError, match="its loss became nan at step 3"):
            watch.check(float("nan"), "step 3")


@pytest.mark.parametrize("cfg, match", [({"factor": 0.5}, "divergence.factor"), ({"check": "yes"}, "divergence.check"),
                                        ({"factr": 10}, "unknown key")])
def test_bad_divergence_settings(cfg, match):
    with pytest.raises(ConfigError, match=match):
        DivergenceSettings.from_config(cfg)


def test_a_diverged_run_on_the_command_line_is_named_and_not_done(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=none", "classifier.schedule.lr=1e6", *SMALL)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "the classifier diverged: its loss grew to" in out.stderr and "seed" in out.stderr
    assert done_dirs(tmp_path) == []
    failures = list(iter_failures(tmp_path))
    assert len(failures) == 2 and all("diverged" in f["error"] for f in failures)  # folds=2, one run each


# -- bad input, before training --------------------------------------------------------------------------
# In a real process; tests/test_bad_input_catalogue.py runs these and many more in-process.
@pytest.mark.parametrize("arg, match", [
    ("rerun=no", "rerun must be true or false, got 'no'"),
    ("+iir=5", "unknown config key(s) 'iir' (did you mean 'ir'?)"),
])
def test_bad_values_fail_before_training_with_one_message(arg, match, mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", *SMALL, arg)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert match in out.stderr
    assert run_dirs(tmp_path) == []


def test_an_empty_out_dir_writes_nothing_in_the_working_directory(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", "out_dir=", *SMALL, cwd=tmp_path)
    assert out.returncode == 2 and "out_dir must name a directory" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_out_dir_that_cannot_be_written_is_named(mnist_root, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = cli(f"data.root={mnist_root}", f"out_dir={blocker}/runs", *SMALL)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "cannot hold run records" in out.stderr and "out_dir=PATH" in out.stderr


def test_smote_lowers_k_for_a_small_class_and_says_so(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=smote", *SMALL, "skew.n_max=30", "folds=1")
    assert out.returncode == 0, out.stderr
    rec = json.loads((done_dirs(tmp_path)[0] / RESULT).read_text())
    assert rec["oversampler"]["note"] == "fold 0: k_neighbors lowered from 5 to 2 (class 8 has 3 samples)"


def test_smote_on_a_class_of_one_sample_is_a_clear_error(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=smote", *SMALL, "skew.n_max=10", "folds=2")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "class 8 has a single training sample" in out.stderr and "method=random" in out.stderr
    assert done_dirs(tmp_path) == []
    (failed,) = list(iter_failures(tmp_path))  # the run that stopped the job says why; fold 1 was not tried
    assert "class 8 has a single training sample" in failed["error"] and failed["job"]["method"] == "smote"
    assert (failed["job"]["fold"], failed["job"]["repeat"]) == (0, 0)


# -- records ---------------------------------------------------------------------------------------------
def test_a_corrupt_record_is_moved_aside_and_redone(mnist_root, tmp_path):
    args = (f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=none", *SMALL, "folds=1")
    assert cli(*args).returncode == 0
    (run,) = done_dirs(tmp_path)
    good = json.loads((run / RESULT).read_text())
    (run / RESULT).write_text('{"metrics": {"ac')  # truncated, with its done
    warnings = []
    assert list(iter_records(tmp_path, warn=warnings.append)) == []
    assert len(warnings) == 1 and str(run / RESULT) in warnings[0]
    table = subprocess.run([sys.executable, "-m", "imbench.tables", "--out-dir", str(tmp_path), "--profile", "quick",
                            "fajardo_5"], capture_output=True, text=True, cwd=tmp_path)
    assert "Traceback" not in table.stderr and str(run / RESULT) in table.stderr
    again = cli(*args)
    assert again.returncode == 0 and "moved to" in again.stdout + again.stderr
    assert json.loads((run / RESULT).read_text())["metrics"] == good["metrics"]
    assert len(list(tmp_path.glob(f"{run.name}.corrupt-*"))) == 1


def test_an_interrupted_write_leaves_no_partial_file_and_no_done(tmp_path, monkeypatch):
    run = tmp_path / "0123456789abcdef"
    assert prepare_run_dir(run, rerun=False)
    old, recent = run / "result.json.tmp-999", run / "result.json.tmp-998"
    old.write_text("left by a killed writer")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    recent.write_text("another process's write in flight")
    assert prepare_run_dir(run, rerun=False) and not old.exists() and recent.exists()
    recent.unlink()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(RecordsError, match="No space left on device.*not marked done"):
        finish_run(run, {"finished_at": "now"})
    assert sorted(p.name for p in run.iterdir()) == []


# -- claims ------------------------------------------------------------------------------------------------
def test_a_failure_marker_is_read_until_the_run_finishes(tmp_path):
    run = tmp_path / "0123456789abcdef"
    mark_failed(run, {"experiment": "e1", "error": "boom", "job": {"method": "adasyn", "data": "d"}})
    assert [f["error"] for f in iter_failures(tmp_path)] == ["boom"]
    assert list(iter_failures(tmp_path, "other")) == [] and list(iter_records(tmp_path)) == []
    finish_run(run, {"experiment": "e1"})
    assert not (run / FAILED).exists() and list(iter_failures(tmp_path)) == []
    mark_failed(run, {"experiment": "e1", "error": "late"})  # a finished run is never marked failed
    assert not (run / FAILED).exists() and len(list(iter_records(tmp_path))) == 1


def test_malformed_failure_markers_are_skipped(tmp_path):
    for i, bad in enumerate([[1], {"job": "x"}, {"job": {}, "config": {"profile": "p"}}, {"job": {}, "experiment": 3}]):
        mark_failed(tmp_path / f"{i:016x}", bad)
    mark_failed(tmp_path / f"{9:016x}", {"job": {"method": "none"}, "config": {"profile": None}})
    assert [f["job"] for f in iter_failures(tmp_path)] == [{"method": "none"}]


def test_a_failure_settled_by_a_later_run_of_the_same_cell_is_not_listed():
    from imbench.tables.collect import unresolved_failures

    record = fake_record(0)
    failure = {"experiment": "gamo_1", "job": dict(record["job"]), "error": "boom"}
    other_fold = {"experiment": "gamo_1", "job": {**record["job"], "fold": 1}, "error": "boom"}
    not_a_row = {"experiment": "gamo_1", "job": {**record["job"], "method": "adasyn", "fold": 1}, "error": "x"}
    assert unresolved_failures([failure, other_fold, not_a_row], [record], rows=["none"]) == [other_fold]
    assert len(unresolved_failures([failure, other_fold, not_a_row], [])) == 3


def test_a_table_names_its_failed_runs():
    from imbench.tables.cli import render
    from imbench.tables.collect import failure_lines

    failure = {"job": {"method": "none", "data": "mnist"}, "error": "no majority neighbours"}
    elsewhere = {"job": {"method": "none", "data": "fmnist"}, "error": "no majority neighbours"}
    other = {"job": {"method": "none", "data": "mnist"}, "error": "diverged"}
    assert failure_lines([failure, failure, elsewhere, other]) == [
        "none (none), 1 run(s) on 1 data set(s) [mnist (1)]: diverged",
        "none (none), 3 run(s) on 2 data set(s) [fmnist (1), mnist (2)]: no majority neighbours"]
    out = render("gamo_1", GAMO_SPEC, [fake_record(0)], "paper", failures=[failure])
    assert "Failed runs (not finished, no numbers; the next sweep tries them again):" in out.markdown
    assert "1 run(s) on 1 data set(s) [mnist (1)]: no majority neighbours" in out.markdown
    assert out.provenance.failed_runs and "Failed runs" not in render("gamo_1", GAMO_SPEC, [fake_record(0)],
                                                                      "paper").markdown


def test_a_claimed_run_is_skipped_until_its_claim_goes_stale(tmp_path):
    run = tmp_path / "0123456789abcdef"
    first, second = Claims(ClaimSettings(0.05, 0.5)), Claims(ClaimSettings(0.05, 0.5), log=lambda m: None)
    with first:
        assert first.try_claim(run) and read_claim(run)["pid"] == os.getpid()
        assert not second.try_claim(run)
        time.sleep(0.7)  # the heartbeat keeps it fresh
        assert not second.try_claim(run)
    assert not (run / CLAIM).exists()  # released on exit
    assert first.try_claim(run)  # held, but nobody touches it any more
    time.sleep(0.6)
    assert second.try_claim(run) and set(second.held) == {run}


def test_two_sweeps_started_together_train_every_run_once(mnist_root, tmp_path):
    args = [sys.executable, "-m", "imbench", "-m", f"data.root={mnist_root}", f"out_dir={tmp_path}",
            "method=none,random", *SMALL, "folds=3", "profile.max_folds=3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert all("Traceback" not in err for _, err in outs)
    new = sum(int(n) for out, _ in outs for n in re.findall(r"\((\d+) new, \d+ resumed\)", out))
    assert new == 6 and len(done_dirs(tmp_path)) == 6
    assert not list(tmp_path.glob("*/claim"))


# -- tables never mix settings silently ---------------------------------------------------------------------
def fake_record(fold=0, ir=100, steps=25000, threads=2, experiment="gamo_1"):
    config = {"experiment_name": experiment, "ir": ir, "seed": 0, "data": {"dataset": "mnist"},
              "method": {"name": "none"}, "classifier": {"name": "gamo_cn", "schedule": {"steps": steps}}}
    return {"experiment": experiment, "run_id": f"{fold:016x}", "config": config,
            "job": {"data": "mnist", "ir": ir, "skew": "gamo_mnist", "method": "none", "classifier": "gamo_cn",
                    "loss": "ce", "protocol": "holdout", "seed": 0, "fold": fold, "repeat": 0, "minority": [9]},
            "metrics": {"acsa": 0.8 + fold / 100, "gm": 0.7, "classes": [0, 9]},
            "hardware": {"device": "cpu", "torch_threads": threads}, "training": {"precision": "float32"}}


GAMO_SPEC = {"layout": "gamo", "rows": ["none"], "columns": ["mnist"], "losses": ["ce"]}


def test_a_cell_of_one_setting_has_no_warning():
    from imbench.tables.cli import build_table

    table = build_table(GAMO_SPEC, [fake_record(0), fake_record(1)])
    assert not [n for n in table.notes if n.startswith("Warning")]


def test_a_cell_that_averages_two_settings_says_which_keys_differ():
    from imbench.tables.cli import build_table

    table = build_table(GAMO_SPEC, [fake_record(0), fake_record(1, steps=2000)])
    (note,) = [n for n in table.notes if "different settings" in n]
    assert note.startswith("Warning: 2 cell(s)") and "classifier.schedule.steps" in note  # ACSA and GM


def test_a_cell_that_mixes_thread_counts_says_so():
    from imbench.tables.cli import build_table

    table = build_table(GAMO_SPEC, [fake_record(0), fake_record(1, threads=1)])
    (note,) = [n for n in table.notes if "execution settings" in n]
    assert "cpu, 1 torch threads, float32" in note and "cpu, 2 torch threads, float32" in note


def test_a_cell_that_mixes_cpu_kernel_levels_says_so():
    from imbench.tables.cli import build_table

    a, b = fake_record(0), fake_record(1)
    a["hardware"]["cpu_bf16"] = {"capability": "AVX2"}
    b["hardware"]["cpu_bf16"] = {"capability": "AVX512"}
    (note,) = [n for n in build_table(GAMO_SPEC, [a, b]).notes if "execution settings" in n]
    assert "cpu AVX2, 2 torch threads" in note and "cpu AVX512, 2 torch threads" in note


def test_runs_at_other_irs_than_the_experiments_are_left_out_and_named():
    from imbench.methods.registry import config_dir
    from imbench.tables.collect import keep_experiment_irs

    records = [fake_record(0, ir=320, experiment="fajardo_5"), fake_record(1, ir=10, experiment="fajardo_5"),
               fake_record(0, ir=100, experiment="egl_1"), fake_record(1, ir=200, experiment="egl_1")]
    kept, notes = keep_experiment_irs(config_dir(), records)
    assert [(r["experiment"], r["job"]["ir"]) for r in kept] == [("fajardo_5", 320), ("egl_1", 100), ("egl_1", 200)]
    assert notes == ["Left out: 1 finished run(s) of fajardo_5 at ir=10 (this table is at ir 320); they stay in the "
                     "out_dir"]


# -- launchers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("launcher, cores, threads", [
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}, 2, 1),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -1}, 8, 1),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}, 16, 8),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "cpus_per_task": 4}, 2, 4),
    ({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, 2, None),
])
def test_threads_per_job_follow_the_launcher(launcher, cores, threads):
    from imbench.launch import threads_for_launcher

    assert threads_for_launcher(launcher, cores) == threads


@pytest.mark.parametrize("launcher", [
    ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    pytest.param(["hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=10"],
                 marks=pytest.mark.slow, id="submitit_local"),
])
def test_launchers_run_a_sweep_and_keep_the_users_command(launcher, mnist_root, tmp_path):
    args = ["-m", *launcher, f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=none,random", *SMALL, "folds=1"]
    out = cli(*args, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    records = [json.loads((d / RESULT).read_text()) for d in done_dirs(tmp_path)]
    assert sorted(r["job"]["method"] for r in records) == ["none", "random"]
    assert {r["command"] for r in records} == {"python -m imbench " + " ".join(args)}
    assert {r["hardware"]["torch_threads"] for r in records} == {1}


def test_the_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    run = tmp_path / "0123456789abcdef"
    run.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    from imbench.claims import _pid_namespace

    (run / CLAIM).write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout),
                                         "pid_namespace": _pid_namespace(), "claimed_at": 0}))
    taker = Claims(ClaimSettings(30, 300), log=lambda m: None)
    assert taker.try_claim(run) and read_claim(run)["pid"] == os.getpid()
    (run / CLAIM).write_text(json.dumps({"host": "another-host", "pid": int(dead.stdout),
                                         "pid_namespace": _pid_namespace(), "claimed_at": 0}))
    taker.held.clear()
    assert not Claims(ClaimSettings(30, 300)).try_claim(run)  # fresh, and another host's process cannot be checked


def test_runs_all_at_another_ir_are_shown_with_a_note():
    from imbench.methods.registry import config_dir
    from imbench.tables.collect import keep_experiment_irs

    kept, notes = keep_experiment_irs(config_dir(), [fake_record(0, ir=3, experiment="gamo_2")])
    assert len(kept) == 1 and notes == ["Note: every run of gamo_2 here is at ir=3, not the experiment's ir 56.25; "
                                        "the table shows them"]


def test_adasyn_neighbour_count_is_lowered_for_a_small_class():
    import numpy as np
    from imblearn.over_sampling import ADASYN
    from imbench.methods.oversampling import fit_k_neighbors
    rng = np.random.default_rng(0)
    X = rng.normal(size=(65, 3))
    y = np.r_[np.zeros(60, int), np.ones(5, int)]
    X[60:] += 0.5  # overlapping, so ADASYN finds majority neighbours
    cfg = {"_target_": "imblearn.over_sampling.ADASYN", "n_neighbors": 5, "sampling_strategy": "auto"}
    with pytest.raises(ValueError):
        ADASYN(n_neighbors=5, random_state=0).fit_resample(X, y)
    fitted, note = fit_k_neighbors(cfg, y, "fold 0")
    assert fitted["n_neighbors"] == 4 and "k_neighbors" not in fitted
    assert note == ("fold 0: n_neighbors lowered from 5 to 4 (class 1 has 5 samples) (ADASYN: also the "
                    "neighbourhood that weights its points)")
    _, y_res = ADASYN(n_neighbors=fitted["n_neighbors"], random_state=0).fit_resample(X, y)
    assert (y_res == 1).sum() > 5


@pytest.mark.parametrize("keep_going", [True, False])
def test_keep_going_finishes_the_sweep_and_names_the_failed_job(keep_going, mnist_root, tmp_path):
    small = [a for a in SMALL if not a.startswith(("skew.n_max", "folds"))]
    out = cli("-m", f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=smote", *small, "folds=1",
              "skew.n_max=10,30", f"keep_going={str(keep_going).lower()}")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "class 8 has a single training sample" in out.stderr  # the n_max=10 job, which runs first
    if keep_going:
        assert "1 job(s) of the sweep stopped" in out.stderr and "skew.n_max=10" in out.stderr
        assert len(done_dirs(tmp_path)) == 1  # the n_max=30 job finished
        assert "ACSA" in out.stdout
    else:
        assert done_dirs(tmp_path) == []


def test_keep_going_refuses_a_launcher_whose_failures_it_cannot_see(mnist_root, tmp_path):
    out = cli("-m", f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=none", *SMALL, "folds=1",
              "skew.n_max=30,40", "keep_going=true", "hydra/launcher=joblib", "hydra.launcher.n_jobs=1")
    assert out.returncode != 0 and "keep_going=true works with Hydra's basic launcher only" in out.stderr
    assert done_dirs(tmp_path) == []


def test_summary_of_a_job_whose_runs_another_process_trains_says_so_not_nan():
    from test_runner import compose_plain
    from imbench.runner import JobSummary, summary_line
    line = summary_line(compose_plain(["device=cpu"]), JobSummary(elsewhere=2, wall_s=0.3))
    assert "nan" not in line.lower()
    assert line.startswith("mnist ir=100 method=smote classifier=mlp: no finished runs yet; 2 run(s) are being trained")
