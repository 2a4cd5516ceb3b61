"""batch_runs: a fold's classifier repeats and a weight search's candidates train as one vmap group.

Small real-MNIST jobs (quick profile, one epoch, dropout 0 so that batched and sequential training
agree to rounding): one record per run, the same run ids and resume semantics as sequential runs,
metrics that agree, and a diverging group member that fails its own run only.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import imbench.classifiers.downstream as downstream
from imbench.config import validate
from imbench.errors import ConfigError, TrainingError
from imbench.runner import run_job

REPO = Path(__file__).resolve().parents[1]
TINY = ["skew=step", "skew.minority=[8,9]", "skew.n_max=100", "ir=10", "profile=quick", "profile.max_epochs=1",
        "folds=1", "progress=false", "method=smote", "classifier.arch.dropout=0.0"]
REPEATS = ["repeats=3", "profile.max_repeats=3"]


def compose_plain(overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)


def _records(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json") if (p.parent / "done").exists()}


def _ctx(batch_runs, device, clf_cfg):
    from imbench.methods.protocol import BatchPolicy, ClassifierFactory, JobContext

    return JobContext(classes=list(range(10)), device=torch.device(device), classifiers=ClassifierFactory(clf_cfg),
                      batching=BatchPolicy.from_setting(batch_runs))


def _requests(ctx, n):
    import numpy as np

    from imbench.methods.executor import TrainRequest

    X, y = np.zeros((4, 2), np.float32), np.arange(4)
    return [TrainRequest(ctx.classifiers(), X, y, seed=i) for i in range(n)]


def test_batch_runs_setting():
    from imbench.methods.executor import can_batch

    cfg = compose_plain([])
    assert cfg["batch_runs"] == "auto"
    clf = cfg["classifier"]
    auto_cuda = _ctx("auto", "cuda", clf) if torch.cuda.is_available() else None
    # the policy alone (no CUDA tensors are made)
    from imbench.methods.protocol import BatchPolicy

    auto = BatchPolicy.from_setting("auto")
    assert auto.allows(3, torch.device("cuda")) and not auto.allows(1, torch.device("cuda"))
    assert not auto.allows(3, torch.device("cpu"))  # auto: only where it pays
    assert BatchPolicy.from_setting(True).allows(1, torch.device("cpu"))
    assert not BatchPolicy.from_setting(False).allows(3, torch.device("cuda"))
    assert can_batch(_requests(_ctx(True, "cpu", clf), 3), _ctx(True, "cpu", clf))
    best_val = {**clf, "schedule": {**clf["schedule"], "selection": "best_val"}}
    ctx = _ctx(True, "cpu", best_val)
    assert not can_batch(_requests(ctx, 3), ctx)  # per-epoch model selection trains one by one
    assert auto_cuda is None or can_batch(_requests(auto_cuda, 3), auto_cuda)
    with pytest.raises(ConfigError, match="batch_runs"):
        validate({**cfg, "batch_runs": "sometimes"})


def test_batched_repeats_match_sequential_and_resume(mnist_root, tmp_path):
    out_b, out_s = tmp_path / "batched", tmp_path / "sequential"
    sb = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_b}", "batch_runs=true", *TINY, *REPEATS]))
    ss = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_s}", "batch_runs=false", *TINY, *REPEATS]))
    rb, rs = _records(out_b), _records(out_s)
    assert sb.new == ss.new == 3 and len(rb) == len(rs) == 3
    assert set(rb) == set(rs), "batch_runs must not change a run's identity"
    for run_id in rb:
        b, s = rb[run_id], rs[run_id]
        assert b["batched"]["group_size"] == 3 and s["batched"] is None
        assert b["training"]["precision"] == s["training"]["precision"] == "float32"
        assert b["seeds"] == s["seeds"] and b["training"]["steps"] == s["training"]["steps"]
        assert b["training"]["final_loss"] == pytest.approx(s["training"]["final_loss"], rel=1e-3)
        for key in ("acsa", "gm"):
            assert b["metrics"][key] == pytest.approx(s["metrics"][key], abs=2e-3)
    seeds = {r["seeds"]["classifier"] for r in rb.values()}
    assert len(seeds) == 3
    # resume: nothing to do; then one run redone alone after its marker is removed
    again = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_b}", "batch_runs=true", *TINY, *REPEATS]))
    assert (again.new, again.resumed) == (0, 3)
    victim = next(iter(rb))
    (out_b / victim / "done").unlink()
    redo = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_b}", "batch_runs=true", *TINY, *REPEATS]))
    assert (redo.new, redo.resumed) == (1, 2)
    rec = _records(out_b)[victim]
    assert rec["batched"]["group_size"] == 1
    assert rec["metrics"]["acsa"] == pytest.approx(rs[victim]["metrics"]["acsa"], abs=2e-3)


def test_batched_weight_search_matches_sequential_and_excludes_a_diverging_weight(mnist_root, tmp_path):
    grid = "classifier.weight_grid=[1.0,4.0,1.0e38]"
    common = [f"data.root={mnist_root}", *TINY, "profile.weight_search=true", grid]
    sb = run_job(compose_plain([f"out_dir={tmp_path / 'b'}", "batch_runs=true", *common]))
    ss = run_job(compose_plain([f"out_dir={tmp_path / 's'}", "batch_runs=false", *common]))
    wb, ws = sb.records[0]["weight_search"], ss.records[0]["weight_search"]
    assert wb["batched"] == {"group_size": 6} and ws["batched"] is None  # 2 CV folds x 3 weights
    for w in (wb, ws):
        assert w["scores"][2] is None and w["chosen"] in (1.0, 4.0)
        assert sum("weight 1e+38 excluded" in n and "diverged" in n for n in w["notes"]) == 2  # both CV folds
    assert wb["scores"][:2] == pytest.approx(ws["scores"][:2], abs=0.02)
    assert sb.records[0]["synthetic_weight"] == wb["chosen"]


def test_a_diverging_group_member_fails_only_its_run(mnist_root, tmp_path, monkeypatch):
    real = downstream.train_models_batched

    def poison_second(make_model, datasets, schedule, seeds, **kw):  # member 1's sample weights -> NaN
        datasets = list(datasets)
        X, y, w = datasets[1]
        datasets[1] = (X, y, torch.full((len(y),), float("nan"), device=X.device))
        return real(make_model, datasets, schedule, seeds, **kw)

    monkeypatch.setattr(downstream, "train_models_batched", poison_second)
    cfg = compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path}", "batch_runs=true", *TINY, *REPEATS])
    with pytest.raises(TrainingError) as err:
        run_job(cfg)
    msg = str(err.value)
    done = {p.parent.name for p in tmp_path.glob("*/done")}
    dirs = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    failed = re.search(r"run (\w+) \(fold 0, repeat 1", msg).group(1)
    assert len(done) == 2 and dirs == done | {failed}  # the failed run holds only its failure note
    assert sorted(p.name for p in (tmp_path / failed).iterdir()) == ["failed.json"]
    assert "training loss became nan" in json.loads((tmp_path / failed / "failed.json").read_text())["error"]
    assert failed not in done and "training loss became nan" in msg and "1 run(s) failed" in msg
    monkeypatch.setattr(downstream, "train_models_batched", real)
    redo = run_job(cfg)
    assert (redo.new, redo.resumed) == (1, 2) and len(list(tmp_path.glob("*/done"))) == 3


def test_cli_batched_divergence_is_a_clear_error(mnist_root, tmp_path):
    out = subprocess.run([sys.executable, "-m", "imbench", f"data.root={mnist_root}", f"out_dir={tmp_path}",
                          "batch_runs=true", "classifier.schedule.lr=1e30", *TINY, *REPEATS],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 2
    assert "3 run(s) failed" in out.stderr and "training loss became" in out.stderr
    assert not list(tmp_path.glob("*/done"))


# ----- generators of several skewed draws (and of their weight searches) as one group -----------------
GEN = ["skew=step", "skew.minority=[8,9]", "skew.n_max=100", "ir=10", "profile=quick", "profile.max_epochs=1",
       "protocol=holdout", "folds=2", "repeats=1", "progress=false", "method=cgan",
       "profile.max_generator_batches=2", "profile.weight_search=true", "classifier.weight_grid=[1.0,3.0]"]


def test_generator_batching_setting():
    from imbench.methods.protocol import BatchPolicy
    from imbench.methods.registry import build_method

    cfg = compose_plain([])
    cgan = build_method(compose_plain(["method=cgan"])["method"])

    def groups(method, setting, n, device):
        ctx = _ctx(setting, "cpu", cfg["classifier"])
        return method.groups_generators(n, type(ctx)(**{**ctx.__dict__, "device": torch.device(device),
                                                         "batching": BatchPolicy.from_setting(setting)}))

    assert groups(cgan, "auto", 3, "cuda") and not groups(cgan, "auto", 1, "cuda")
    assert not groups(cgan, "auto", 3, "cpu")  # auto: CUDA only
    assert groups(cgan, True, 2, "cpu")
    assert not groups(cgan, False, 3, "cuda")
    for other in ("smote", "bagan", "tuned_smote"):  # not stepped generators
        assert not groups(build_method(compose_plain([f"method={other}"])["method"]), True, 3, "cpu")
    for stepped in ("acgan", "cvae", "r_cgan", "r_acgan", "r_cvae", "infogan", "imsic"):
        assert groups(build_method(compose_plain([f"method={stepped}"])["method"]), True, 3, "cpu")


def _generators_batched_and_sequential(mnist_root, tmp_path, overrides) -> dict:
    """One job's generators trained as a group and one by one: the same runs, seeds and counts, group
    sizes 2 and 1. Returns the batched records by run id."""
    out_b, out_s = tmp_path / "batched", tmp_path / "sequential"
    sb = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_b}", "batch_runs=true", *overrides]))
    ss = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_s}", "batch_runs=false", *overrides]))
    rb, rs = _records(out_b), _records(out_s)
    assert sb.new == ss.new == 2 and set(rb) == set(rs), "batching must not change a run's identity"
    for run_id, b in rb.items():
        s = rs[run_id]
        assert b["oversampler"]["group_size"] == 2 and s["oversampler"]["group_size"] == 1
        assert b["seeds"] == s["seeds"] and b["counts"] == s["counts"]
        assert b["counts"]["synthetic"] == 2 * 90  # both minority classes topped up to 100
    return rb


def test_generators_of_all_draws_train_as_one_group_and_resume(mnist_root, tmp_path):
    for b in _generators_batched_and_sequential(mnist_root, tmp_path, GEN).values():
        assert b["weight_search"]["grid"] == [1.0, 3.0] and len(b["weight_search"]["scores"]) == 2
        assert b["oversampler"]["epochs"] == 1 and b["oversampler"]["method"] == "CGAN"
    again = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path / 'batched'}", "batch_runs=true",
                                   *GEN]))
    assert (again.new, again.resumed) == (0, 2)


def test_imsic_generators_of_all_draws_train_as_one_group(mnist_root, tmp_path):
    gen = [o for o in GEN if not o.startswith(("method=", "profile.weight_search", "classifier.weight_grid"))]
    gen += ["method=imsic", "profile.weight_search=false", "method.sampler.match_samples=10"]
    for b in _generators_batched_and_sequential(mnist_root, tmp_path, gen).values():
        assert set(b["oversampler"]["matching"]["class_to_code"]) == {str(c) for c in range(10)}


@pytest.mark.slow  # ~10-20 s; tests/test_generator_batching.py checks a diverging group member by default
def test_a_diverging_generator_fails_only_its_draws_runs(mnist_root, tmp_path, monkeypatch):
    from imbench.methods.generative.cgan import CGANSampler

    real_prepare = CGANSampler._prepare
    calls = []

    def corrupt_second_draw(self, X, y):  # tasks: draw 0, its 2 search halves, draw 1, ...
        prep = real_prepare(self, X, y)
        calls.append(len(calls))
        if len(calls) == 4:
            prep.train_x.fill_(float("nan"))
        return prep

    monkeypatch.setattr(CGANSampler, "_prepare", corrupt_second_draw)
    cfg = compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path}", "batch_runs=true", *GEN])
    with pytest.raises(TrainingError, match=r"1 run\(s\) failed.*fold 1.*CGAN training diverged"):
        run_job(cfg)
    assert len(_records(tmp_path)) == 1  # draw 0 is written; draw 1 has no record and no done marker
    monkeypatch.setattr(CGANSampler, "_prepare", real_prepare)
    redo = run_job(cfg)
    assert (redo.new, redo.resumed) == (1, 1)


# ----- the classifiers of several folds as one group --------------------------------------------------
FOLDS2 = [*[o for o in TINY if o != "folds=1"], "folds=2", "repeats=2", "profile.max_repeats=2",
          "profile.weight_search=true", "classifier.weight_grid=[1.0,4.0]"]


def test_folds_train_together_and_match_fold_by_fold(mnist_root, tmp_path):
    out_b, out_s = tmp_path / "batched", tmp_path / "sequential"
    sb = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_b}", "batch_runs=true", *FOLDS2]))
    ss = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_s}", "batch_runs=false", *FOLDS2]))
    rb, rs = _records(out_b), _records(out_s)
    assert sb.new == ss.new == 4 and set(rb) == set(rs)
    assert {r["job"]["fold"] for r in rb.values()} == {0, 1}
    for run_id, b in rb.items():
        s = rs[run_id]
        assert b["batched"]["group_size"] == 4  # 2 folds x 2 repeats
        assert b["weight_search"]["batched"] == {"group_size": 8}  # 2 folds x 2 CV folds x 2 weights
        assert s["batched"] is None and s["weight_search"]["batched"] is None
        assert b["seeds"] == s["seeds"] and b["counts"] == s["counts"]
        assert b["weight_search"]["scores"] == pytest.approx(s["weight_search"]["scores"], abs=0.02)
        if b["synthetic_weight"] == s["synthetic_weight"]:
            assert b["metrics"]["acsa"] == pytest.approx(s["metrics"]["acsa"], abs=2e-3)
    # resume: one run of fold 1 redone, alone
    victim = next(k for k, r in rb.items() if r["job"]["fold"] == 1)
    (out_b / victim / "done").unlink()
    redo = run_job(compose_plain([f"data.root={mnist_root}", f"out_dir={out_b}", "batch_runs=true", *FOLDS2]))
    assert (redo.new, redo.resumed) == (1, 3)
    assert _records(out_b)[victim]["batched"]["group_size"] == 1


def test_a_diverging_member_of_a_fold_group_fails_only_its_run(mnist_root, tmp_path, monkeypatch):
    real = downstream.train_models_batched

    def poison_last(make_model, datasets, schedule, seeds, **kw):  # the last member: fold 1, repeat 1
        datasets = list(datasets)
        if len(datasets) == 4:  # the repeats' group, not the weight search's
            X, y, w = datasets[3]
            datasets[3] = (X, y, torch.full((len(y),), float("nan"), device=X.device))
        return real(make_model, datasets, schedule, seeds, **kw)

    monkeypatch.setattr(downstream, "train_models_batched", poison_last)
    cfg = compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path}", "batch_runs=true", *FOLDS2])
    with pytest.raises(TrainingError, match=r"1 run\(s\) failed.*\(fold 1, repeat 1"):
        run_job(cfg)
    assert sorted((r["job"]["fold"], r["job"]["repeat"]) for r in _records(tmp_path).values()) == [(0, 0), (0, 1), (1, 0)]
