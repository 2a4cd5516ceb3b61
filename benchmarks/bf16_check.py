"""Does bf16 autocast change the downstream results beyond seed noise? (issue 3: "bf16 autocast on GPU
where it does not change results beyond noise")

    python benchmarks/bf16_check.py [--device cuda] [--seeds 16] [--experiment fajardo_5] [--skew fajardo_m3]
                                    [--method smote] [--epochs N] [--out DIR]

One skewed draw of a Fajardo cell (draw 0 of the experiment, oversampled once by ``--method``), then the
Table 14 MLP trained ``--seeds`` times with ``schedule.amp=bf16`` and ``--seeds`` times with
``amp=none`` (float32), each arm as one batched group with the same classifier seeds. Prints, per
metric (minority / overall F1, ACSA, GM), both arms' mean and standard deviation, the difference with
its 95% confidence interval and Welch's t-test, and writes ``<out>/bf16-<host>-<date>-<time>.json``.
bf16 "does not change results beyond noise" when the difference is small against the seed-to-seed spread
(and the test does not reject). The bf16 arm runs under the job setting ``amp=bf16``, the other under
``amp=none`` (:mod:`imbench.precision`). On a CPU without native bf16 (no avx512_bf16 / AMX) ``amp=bf16``
trains in float32, so there ``--allow-emulated`` makes the bf16 arm autocast anyway: slower, but the
same bfloat16 rounding, so the metric comparison holds for CPUs that have it natively.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import socket
import sys
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import run as bench  # noqa: E402
from imbench import provenance  # noqa: E402
from imbench.classifiers.downstream import fit_batched  # noqa: E402
from imbench.metrics import evaluate  # noqa: E402
from imbench.devices import resolve_device  # noqa: E402
from imbench.precision import PrecisionPolicy, precision_policy  # noqa: E402
from imbench.methods.oversampling import OversampleTask, oversample  # noqa: E402
from imbench.methods.protocol import ClassifierFactory  # noqa: E402
from imbench.runner import plan_job, prepare_fold  # noqa: E402

METRICS = {"minority F1": ("minority", "f1"), "overall F1": ("overall", "f1"), "ACSA": ("acsa",), "GM": ("gm",)}


def _get(metrics: dict, path: tuple) -> float:
    for k in path:
        metrics = metrics[k]
    return float(metrics)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seeds", type=int, default=16, help="classifier seeds per arm")
    ap.add_argument("--experiment", default="fajardo_5")
    ap.add_argument("--skew", default="fajardo_m3")
    ap.add_argument("--method", default="smote")
    ap.add_argument("--epochs", type=int, default=None, help="classifier epochs (default: the experiment's)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--allow-emulated", action="store_true",
                    help="autocast the bf16 arm even where the hardware only emulates bfloat16")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    overrides = [f"experiment={a.experiment}", f"skew={a.skew}", f"method={a.method}", "profile=paper",
                 "fid.enabled=false"] + ([f"data.root={a.data_root}"] if a.data_root else [])
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)
    device = resolve_device(a.device)
    plan = plan_job({**cfg, "folds": 1, "device": str(device), "out_dir": a.out}, log=lambda *_: None)
    eff, ds = plan.effective, plan.dataset
    fold = prepare_fold(plan, plan.folds[0])
    minority, X_te, y_te = fold.task.minority, fold.test.X, fold.test.y
    done = oversample(OversampleTask(eff["method"]["sampler"], fold.task.train.X, fold.task.train.y, minority,
                                     fold.task.method_seed), eff["method"]["name"], device=str(device))
    X_res, y_res, synth, t_os = done.samples.X, done.samples.y, done.samples.mask, done.samples.seconds
    clf_cfg = copy.deepcopy(eff["classifier"])
    clf_cfg.pop("weight_grid", None)
    clf_cfg.pop("weight_search_folds", None)
    if a.epochs:
        clf_cfg["schedule"]["epochs"] = a.epochs
    seeds = [1000 + i for i in range(a.seeds)]
    arms: dict = {}
    for amp in ("bf16", "none"):
        c = copy.deepcopy(clf_cfg)
        c["schedule"]["amp"] = amp
        clfs = [ClassifierFactory(c)() for _ in seeds]
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = dt.datetime.now()
        policy = PrecisionPolicy(amp, require_native=not (a.allow_emulated and amp == "bf16"))
        with precision_policy(policy):
            errors = fit_batched(clfs, [(X_res, y_res, synth)], classes=ds.classes, seeds=seeds, device=device)
        seconds = (dt.datetime.now() - t0).total_seconds()
        if any(errors):
            raise SystemExit(f"amp={amp}: training failed: {[e for e in errors if e]}")
        runs = [evaluate(y_te, clf.predict_proba(X_te), ds.classes, minority) for clf in clfs]
        arms[amp] = {"precision": clfs[0].result.precision, "train_s": seconds,
                     "values": {name: [_get(r, path) for r in runs] for name, path in METRICS.items()}}
    rows = []
    print(f"{a.experiment} {a.skew} {a.method}, draw 0, {a.seeds} seeds per arm, {clf_cfg['schedule']['epochs']} epochs, "
          f"device {device}: bf16 arm ran in {arms['bf16']['precision']}, the other in {arms['none']['precision']}")
    print(f"  {'metric':12s} {'bf16 mean±sd':>16s} {'fp32 mean±sd':>16s} {'diff [95% CI]':>26s} {'Welch p':>8s}")
    for name in METRICS:
        b, f = np.array(arms["bf16"]["values"][name]), np.array(arms["none"]["values"][name])
        diff = b.mean() - f.mean()
        se = np.sqrt(b.var(ddof=1) / len(b) + f.var(ddof=1) / len(f)) if len(b) > 1 else float("nan")
        test = stats.ttest_ind(b, f, equal_var=False) if len(b) > 1 else None
        p = float(test.pvalue) if test is not None and np.isfinite(test.pvalue) else None
        row = {"metric": name, "bf16_mean": float(b.mean()), "bf16_sd": float(b.std(ddof=1)) if len(b) > 1 else None,
               "fp32_mean": float(f.mean()), "fp32_sd": float(f.std(ddof=1)) if len(f) > 1 else None,
               "diff": float(diff), "ci95": [float(diff - 1.96 * se), float(diff + 1.96 * se)], "welch_p": p}
        rows.append(row)
        print(f"  {name:12s} {b.mean():8.4f}±{row['bf16_sd'] or 0:.4f} {f.mean():8.4f}±{row['fp32_sd'] or 0:.4f} "
              f"{diff:+8.4f} [{row['ci95'][0]:+.4f}, {row['ci95'][1]:+.4f}] {p if p is None else round(p, 3)!s:>8s}")
    result = {"command": " ".join(sys.argv), "allow_emulated": a.allow_emulated, "experiment": a.experiment, "skew": a.skew, "method": a.method,
              "seeds": seeds, "epochs": clf_cfg["schedule"]["epochs"], "oversample_s": t_os, "arms": arms, "rows": rows,
              "hardware": provenance.hardware(str(device)), "versions": provenance.versions(),
              "git": provenance.git_state(), "host": socket.gethostname()}
    path = bench.write_result(a.out, "bf16-", result)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
