"""Where does imbench's EGL Table 1 gap on Adult come from? Reference models on imbench's own folds.

    OMP_NUM_THREADS=1 python scripts/egl_adult_gap.py [--ir 100] [--seed 0] [--folds 4] [--mlp]
        [--mlp-potential] [--extra-seeds 1 2 3 4] [--bootstrap 1000] [--fresh 500]
        [--authors-emulation [--skip-main]] [--out FILE.json]

The runs behind the first investigation (2 CPU cores, 1 thread each; ~9, ~7 and ~3 min):

    python scripts/egl_adult_gap.py --mlp --mlp-potential --out gap.json
    python scripts/egl_adult_gap.py --skip-main --authors-emulation --mlp --fresh 200 --out authors.json
    python scripts/egl_adult_gap.py --skip-main --authors-emulation --extra-seeds 1 2 3 4 --fresh 200 \
        --out authors_seeds.json

Rebuilds exactly the folds of ``experiment=egl_1 profile=paper`` (Adult, binary step skew with
n_max 11,208, 4 stratified shuffle-splits 64/16/20) through imbench's own functions (``make_folds``,
``prepare_fold``, the ``egl_1`` config composed by Hydra), then measures test AUC-PR (sklearn
``average_precision_score`` of the positive '>50K' column, and ``imbench.metrics.evaluate``'s
``auc_pr``, checked to agree) for:

* ``lr/pca64``     LogisticRegression(max_iter=2000) on imbench's preprocessed features (PCA 64);
* ``lr/onehot``    the same on standardised continuous + one-hot (104 columns, no PCA);
* ``lr/ordinal``   the same on the 14 columns ordinal-encoded (the EGL authors' repo), standardised;
* ``hgb/*``        HistGradientBoostingClassifier defaults on the ordinal / one-hot / PCA-64 features;
* ``*+potential``  the same, trained with as many withheld real minority rows added as the training part
                   has (imbench's ``Potential.added_rows``, same rows as the Potential records);
* ``ceiling:*``    LR (one-hot) and HGB (ordinal) trained on a random half of the withheld rows (~11k
                   negatives, ~5.5k positives, disjoint from the test part): what AUC-PR the same test
                   split allows with plenty of training data;
* ``mlp/pca64`` (``--mlp``; ``--mlp-potential`` for Potential): imbench's tabular MLP, seeded as the run
  records, with the test AUC-PR tracked at every epoch (val-selected, last and best-on-test epochs) and
  AUC-PR recomputed from the logit margin (float32 softmax ties).

Noise of AUC-PR with ~22 test positives: a stratified bootstrap of each test split, and "fresh
positives": the 22 test positives replaced by random draws from the withheld minority rows (never in
train/val/test; the Potential rows excluded), also at lower test imbalance (IR 50, 10, 1). With
``--extra-seeds`` the LR models are repeated on other skew draws (``seed`` picks the 112 kept minority
rows, shared by all 4 splits of one seed).

``--authors-emulation``: the same folds with the EGL authors' Adult features (repo
broniyasinnik/deep-tabular-imbalance, ``Adult/adult_notebook.ipynb``: StandardScaler + a target encoder of
the 8 categoricals fitted on every row, labels included, before the split; 14 inputs) and their
imbalance (``create_imbalanced_dataset`` on the unbalanced data: all majority rows kept, minority
floor(n_maj / IR); here ``skew.n_max=null``), for LR, HGB and (with ``--mlp``) imbench's MLP; with
``--extra-seeds``, LR/HGB on other skew draws too.

Prints markdown tables and writes every number to ``--out`` (JSON). Nothing under any out_dir is written.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# ----------------------------------------------------------------------------- folds


def compose(ir: int, seed: int, folds: int, method: str = "potential", extra: tuple[str, ...] = ()
            ) -> tuple[dict, dict]:
    """The effective ``egl_1`` config (profile paper) for ``ir`` / ``seed``; ``method=potential`` so that
    ``prepare_fold`` also hands out the withheld rows (the folds do not depend on the method)."""
    from hydra import compose as hydra_compose, initialize_config_dir
    from omegaconf import OmegaConf

    from imbench.config import apply_profile, validate
    from imbench.methods.registry import config_dir

    overrides = ["experiment=egl_1", f"ir={ir}", f"seed={seed}", f"folds={folds}", "profile=paper",
                 f"method={method}", "device=cpu", "progress=false", "out_dir=/nonexistent-egl-adult-gap", *extra]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = OmegaConf.to_container(hydra_compose(config_name="config", overrides=overrides), resolve=True)
    validate(cfg)
    return cfg, apply_profile(cfg)


def build_plan(ir: int, seed: int, folds: int, extra: tuple[str, ...] = ()):
    """imbench's JobPlan for the job, built without touching any out_dir (plan_job would)."""
    import torch

    from imbench.config import skew_spec
    from imbench.data.datasets import load_dataset
    from imbench.data.protocol import make_folds
    from imbench.runner import FoldPlan, JobPlan, job_description

    cfg, eff = compose(ir, seed, folds, extra=extra)
    skew = skew_spec(eff)
    ds = load_dataset(eff["data"])
    fl = make_folds(eff["protocol"], skew, ds.y_train, None, eff["folds"], eff["seed"])
    plans = [FoldPlan(f, {0: Path("/nonexistent")}, [0]) for f in fl]
    return JobPlan(cfg, eff, torch.device("cpu"), ds, skew, False, plans, job_description(eff))


def ordinal_columns(ds_X: np.ndarray, root: str) -> tuple[np.ndarray, list[str]]:
    """The 14 Adult columns, nominal ones ordinal-coded (index in imbench's one-hot vocabulary order)."""
    from imbench.data.tabular import load_tabular_dataset

    t = load_tabular_dataset("adult", root)
    if t.X.shape != ds_X.shape or not np.allclose(t.X.astype(np.float32), ds_X):
        raise SystemExit("the Adult table and imbench's dataset differ; cannot map the one-hot columns")
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(t.feature_names):
        groups.setdefault(name.split("=", 1)[0], []).append(j)
    cols = [ds_X[:, idx[0]] if len(idx) == 1 and "=" not in t.feature_names[idx[0]] else
            np.argmax(ds_X[:, idx], axis=1).astype(np.float64) for idx in groups.values()]
    return np.stack(cols, axis=1), list(groups)


# ----------------------------------------------------------------------------- metrics


def ap(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y == 1, s))


def imbench_metrics(y: np.ndarray, proba: np.ndarray) -> dict:
    from imbench.metrics import evaluate

    return evaluate(y, proba, [0, 1], [1])


def bootstrap_std(y: np.ndarray, s: np.ndarray, n: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """Stratified bootstrap of the test split: std and 2.5/97.5 percentiles of AP."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    vals = []
    for _ in range(n):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        vals.append(ap(y[idx], s[idx]))
    v = np.asarray(vals)
    return float(v.std(ddof=1)), float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))


def fresh_positives(s_neg: np.ndarray, s_pool: np.ndarray, n_pos: int, n: int, rng: np.random.Generator
                    ) -> tuple[float, float]:
    """AP on the split's test negatives plus ``n_pos`` positives drawn from the withheld minority pool."""
    y = np.concatenate([np.zeros(len(s_neg), int), np.ones(n_pos, int)])
    vals = [ap(y, np.concatenate([s_neg, s_pool[rng.choice(len(s_pool), n_pos, replace=False)]])) for _ in range(n)]
    return float(np.mean(vals)), float(np.std(vals, ddof=1))


# ----------------------------------------------------------------------------- models


def lr():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def hgb():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=0)


def train_mlp(plan, task, test, record_seed: int) -> dict:
    """imbench's classifier as the runs train it, with the test AP tracked per epoch."""
    import torch

    from imbench.classifiers.downstream import prepare_inputs, validation_score
    from imbench.classifiers.train import predict_proba
    from imbench.methods.protocol import ClassifierFactory

    clf = ClassifierFactory(plan.effective["classifier"])()
    score = validation_score([0, 1], 1)
    Xte = prepare_inputs(test.X, clf.input, torch.device("cpu"))
    trace = []

    def tracked(y_idx, proba):
        v = score(y_idx, proba)
        trace.append((v, ap(test.y, predict_proba(clf.model, Xte)[:, 1])))
        return v

    t0 = time.perf_counter()
    clf.fit(task.train.X, task.train.y, classes=[0, 1], seed=record_seed, device="cpu",
            val=(task.val.X, task.val.y), val_score=tracked)
    return clf, trace, time.perf_counter() - t0


_NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")


def target_encoder(X_ord: np.ndarray, names: list[str], y: np.ndarray, fit_idx: np.ndarray):
    """The EGL authors' Adult features (repo ``Adult/adult_notebook.ipynb``): StandardScaler on the 6
    numeric columns, a target encoder on the 8 categorical ones (14 inputs), both fitted on ``fit_idx``.
    sklearn's TargetEncoder stands in for category_encoders' (not installed); ``fit`` then ``transform``
    (no cross-fitting), as the notebook's ``fit_transform`` of a ColumnTransformer on all rows."""
    from sklearn.preprocessing import StandardScaler, TargetEncoder

    num = [j for j, n in enumerate(names) if n in _NUMERIC]
    cat = [j for j, n in enumerate(names) if n not in _NUMERIC]
    sc = StandardScaler().fit(X_ord[fit_idx][:, num])
    te = TargetEncoder(target_type="binary", random_state=0).fit(X_ord[fit_idx][:, cat], y[fit_idx])
    return lambda idx: np.hstack([sc.transform(X_ord[idx][:, num]), te.transform(X_ord[idx][:, cat])])


def authors_emulation(a, out: dict, rng: np.random.Generator) -> None:
    """imbench's folds with the authors' Adult features (target encoding fitted on every row, labels
    included: leakage) and/or their imbalance (no balancing step: all majority rows kept, minority
    floor(n_maj / IR); ``skew.n_max=null``), for LR, HGB and imbench's MLP."""
    import torch
    from sklearn.metrics import roc_auc_score

    from imbench.classifiers.downstream import prepare_inputs
    from imbench.classifiers.train import predict_proba
    from imbench.data.datasets import resolve_root
    from imbench.data.preprocess import build_preprocessor
    from imbench.methods.protocol import ClassifierFactory, FoldTask, Split
    from imbench.runner import prepare_fold

    jobs = [(regime, extra, seed) for seed in [a.seed, *a.extra_seeds]
            for regime, extra in (("imbench (n_max 11208)", ()), ("authors (all majority rows)", ("skew.n_max=null",)))]
    for regime, extra, seed in jobs:
        if seed != a.seed:
            regime = f"{regime} seed {seed}"
        plan = build_plan(a.ir, seed, a.folds, extra)
        ds = plan.dataset
        X_ord, names = ordinal_columns(ds.X_train, str(resolve_root(plan.effective["data"].get("root"))))
        every = np.arange(len(ds.y_train))
        te_full = target_encoder(X_ord, names, ds.y_train, every)
        for fp in plan.folds:
            fold = fp.fold
            pf = prepare_fold(plan, fp)
            y = {k: ds.y_train[getattr(fold, k)] for k in ("train", "val", "test")}
            pool = fold.withheld[ds.y_train[fold.withheld] == 1]
            counts = {k: np.bincount(v, minlength=2).tolist() for k, v in y.items()}
            te_train = target_encoder(X_ord, names, ds.y_train, fold.train)
            pre = build_preprocessor(["standardize_continuous"], continuous=ds.continuous).fit(ds.X_train[fold.train])
            feats = {"te_full": te_full, "te_train": te_train, "onehot": lambda i: pre.transform(ds.X_train[i]),
                     "ordinal_raw": lambda i: X_ord[i]}
            runs = [("lr", "onehot", lr), ("lr", "te_train", lr), ("lr", "te_full", lr),
                    ("hgb", "ordinal_raw", hgb), ("hgb", "te_train", hgb), ("hgb", "te_full", hgb)]
            if seed != a.seed:  # other skew draws: the cheap models only
                runs = [("lr", "onehot", lr), ("hgb", "ordinal_raw", hgb)]
            for name, var, make in runs:
                f = feats[var]
                t0 = time.perf_counter()
                m = make().fit(f(fold.train), y["train"])
                pt, pp = m.predict_proba(f(fold.test)), m.predict_proba(f(pool))[:, 1]
                out["authors"].append(_emu_row(regime, fold.index, f"{name}/{var}", y["test"], pt, pp, counts, rng,
                                               a.fresh, time.perf_counter() - t0))
            if a.mlp and seed == a.seed:
                f = te_full
                task = pf.task
                t = FoldTask(task.fold, Split(f(fold.train).astype(np.float32), y["train"]),
                             Split(f(fold.val).astype(np.float32), y["val"]), task.minority, task.counts,
                             task.method_seed, task.repeats)
                test = Split(f(fold.test).astype(np.float32), y["test"])
                clf, trace, secs = train_mlp(plan, t, test, task.repeats[0])
                pt = clf.predict_proba(test.X)
                pp = predict_proba(clf.model, prepare_inputs(f(pool).astype(np.float32), clf.input,
                                                             torch.device("cpu")))[:, 1]
                row = _emu_row(regime, fold.index, "mlp/te_full", y["test"], pt, pp, counts, rng, a.fresh, secs)
                test_ap = np.array([t_ for _, t_ in trace])
                row.update(best_epoch=clf.result.best_epoch, test_ap_last=float(test_ap[-1]),
                           test_ap_oracle=float(test_ap.max()))
                out["authors"].append(row)


def _emu_row(regime, fold, model, y_test, pt, pp, counts, rng, n_fresh, secs) -> dict:
    from sklearn.metrics import roc_auc_score

    s = pt[:, 1]
    neg = s[y_test == 0]
    row = {"regime": regime, "fold": fold, "model": model, "counts": counts, "auc_pr": ap(y_test, s),
           "auc_pr_imbench": imbench_metrics(y_test, pt)["auc_pr"], "auc_roc": float(roc_auc_score(y_test, s)),
           "fresh_ir100": fresh_positives(neg, pp, len(neg) // 100, n_fresh, rng), "fit_s": secs}
    print(f"{regime:28s} fold {fold} {model:18s} AP {row['auc_pr']:.4f} (imbench {row['auc_pr_imbench']:.4f}) "
          f"ROC {row['auc_roc']:.4f} fresh {row['fresh_ir100'][0]:.3f} counts {counts} ({secs:.0f}s)", flush=True)
    return row


# ----------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ir", type=int, default=100)
    p.add_argument("--seed", type=int, default=0, help="base seed of the records (egl_1: 0)")
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--mlp", action="store_true", help="also train imbench's MLP (CE) per split (~1 min each)")
    p.add_argument("--mlp-potential", action="store_true", help="also train it on the Potential training set")
    p.add_argument("--extra-seeds", type=int, nargs="*", default=[1, 2, 3, 4],
                   help="other base seeds (other skew draws) for the LR models")
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--fresh", type=int, default=500)
    p.add_argument("--authors-emulation", action="store_true",
                   help="also run LR/HGB (and with --mlp the MLP) on the EGL authors' Adult features (target "
                        "encoding fitted on all rows) and their imbalance (skew.n_max=null)")
    p.add_argument("--skip-main", action="store_true", help="skip the main comparison (with --authors-emulation)")
    p.add_argument("--out", default=None, help="JSON file for every number")
    a = p.parse_args()

    import torch

    torch.set_num_threads(1)
    from sklearn.metrics import roc_auc_score

    from imbench.data.datasets import resolve_root
    from imbench.data.preprocess import build_preprocessor
    from imbench.methods.potential import Potential
    from imbench.runner import prepare_fold

    rng = np.random.default_rng(12345)
    out: dict = {"args": vars(a), "rows": [], "counts": [], "mlp": [], "extra_seeds": [], "authors": []}

    def run_seed(seed: int, full: bool) -> None:
        plan = build_plan(a.ir, seed, a.folds)
        ds = plan.dataset
        root = str(resolve_root(plan.effective["data"].get("root")))
        X_ord, ord_names = ordinal_columns(ds.X_train, root)
        for fp in plan.folds:
            fold = fp.fold
            pf = prepare_fold(plan, fp)
            task, test = pf.task, pf.test
            added, _ = Potential().added_rows(task)
            wh_pos = np.flatnonzero(task.withheld.y == 1)
            pool = np.setdiff1d(wh_pos, added)  # withheld minority rows not used by Potential
            raw = {"train": fold.train, "val": fold.val, "test": fold.test}
            if full:
                out["counts"].append({"fold": fold.index, **{k: np.bincount(ds.y_train[v], minlength=2).tolist()
                                                             for k, v in raw.items()},
                                      "withheld_pos": int(len(wh_pos)), "potential_added": int(len(added)),
                                      "dims": {"pca64": int(task.train.X.shape[1])}})
            y = {k: ds.y_train[v] for k, v in raw.items()}
            # feature variants: X for train / test / pool (withheld minority, fresh positives) / potential rows
            pre = build_preprocessor(["standardize_continuous"], continuous=ds.continuous).fit(ds.X_train[fold.train])
            from sklearn.preprocessing import StandardScaler
            sc = StandardScaler().fit(X_ord[fold.train])
            wh_idx = fold.withheld
            variants = {
                "pca64": (task.train.X, test.X, task.withheld.X[pool], task.withheld.X[added]),
                "onehot": tuple(pre.transform(ds.X_train[i]) for i in (fold.train, fold.test, wh_idx[pool], wh_idx[added])),
                "ordinal": tuple(sc.transform(X_ord[i]) for i in (fold.train, fold.test, wh_idx[pool], wh_idx[added])),
                "ordinal_raw": tuple(X_ord[i] for i in (fold.train, fold.test, wh_idx[pool], wh_idx[added])),
                "onehot_raw": tuple(ds.X_train[i] for i in (fold.train, fold.test, wh_idx[pool], wh_idx[added])),
            }
            assert np.array_equal(test.y, y["test"]) and np.array_equal(task.train.y, y["train"])
            if full:
                out["counts"][-1]["dims"].update({k: int(v[0].shape[1]) for k, v in variants.items()})
            models = [("lr", "pca64", lr), ("lr", "onehot", lr), ("lr", "ordinal", lr)]
            if full:
                models += [("hgb", "ordinal_raw", hgb), ("hgb", "onehot_raw", hgb), ("hgb", "pca64", hgb)]
            def score(model_name: str, pt: np.ndarray, pp: np.ndarray, fit_s: float) -> None:
                s = pt[:, 1]
                m_ = imbench_metrics(y["test"], pt)
                row = {"seed": seed, "fold": fold.index, "model": model_name, "auc_pr": ap(y["test"], s),
                       "auc_pr_imbench": m_["auc_pr"], "auc_roc": float(roc_auc_score(y["test"], s)), "fit_s": fit_s}
                if full:
                    row["ap_at"] = m_["ap_at"]
                    row["boot_std"], row["boot_lo"], row["boot_hi"] = bootstrap_std(y["test"], s, a.bootstrap, rng)
                    neg = s[y["test"] == 0]
                    n_neg = len(neg)
                    for tag, n_pos in (("ir100", n_neg // 100), ("ir50", n_neg // 50), ("ir10", n_neg // 10),
                                       ("ir1", n_neg)):
                        n_rep = a.fresh if tag in ("ir100", "ir50") else max(a.fresh // 10, 20)
                        row[f"fresh_{tag}"] = fresh_positives(neg, pp, n_pos, n_rep, rng)
                out["rows" if full else "extra_seeds"].append(row)
                print(f"seed {seed} fold {fold.index} {model_name:28s} AP {row['auc_pr']:.4f} "
                      f"(imbench {row['auc_pr_imbench']:.4f}) ROC {row['auc_roc']:.4f}", flush=True)

            for name, var, make in models:
                Xtr, Xte, Xpool, Xadd = variants[var]
                for potential in ((False, True) if full else (False,)):
                    Xfit = np.concatenate([Xtr, Xadd]) if potential else Xtr
                    yfit = np.concatenate([y["train"], np.ones(len(Xadd), int)]) if potential else y["train"]
                    t0 = time.perf_counter()
                    m = make().fit(Xfit, yfit)
                    score(f"{name}/{var}" + ("+potential" if potential else ""), m.predict_proba(Xte),
                          m.predict_proba(Xpool)[:, 1], time.perf_counter() - t0)
            if full:
                # ceiling: the same models trained on a random half of the withheld rows (~11k negatives, ~5.5k
                # positives; disjoint from every split's test part); fresh positives from the other half
                wh = fold.withheld
                half = np.random.default_rng(777 + fold.index).random(len(wh)) < 0.5
                c_tr, c_pool = wh[half], wh[~half][ds.y_train[wh[~half]] == 1]
                pre_c = build_preprocessor(["standardize_continuous"], continuous=ds.continuous).fit(ds.X_train[c_tr])
                for model_name, feats, make in (
                        ("ceiling:lr/onehot", lambda i: pre_c.transform(ds.X_train[i]), lr),
                        ("ceiling:hgb/ordinal_raw", lambda i: X_ord[i], hgb)):
                    t0 = time.perf_counter()
                    m = make().fit(feats(c_tr), ds.y_train[c_tr])
                    score(model_name, m.predict_proba(feats(fold.test)), m.predict_proba(feats(c_pool))[:, 1],
                          time.perf_counter() - t0)
            if full and (a.mlp or a.mlp_potential):
                rec_seed = task.repeats[0]
                runs = []
                if a.mlp:
                    runs.append(("mlp/pca64", task))
                if a.mlp_potential:
                    from imbench.methods.protocol import FoldTask, Split
                    Xp = np.concatenate([task.train.X, task.withheld.X[added]])
                    yp = np.concatenate([task.train.y, task.withheld.y[added]])
                    runs.append(("mlp/pca64+potential", FoldTask(task.fold, Split(Xp, yp), task.val, task.minority,
                                                                task.counts, task.method_seed, task.repeats)))
                for label, t in runs:
                    clf, trace, secs = train_mlp(plan, t, test, rec_seed)
                    proba = clf.predict_proba(test.X)
                    with torch.no_grad():
                        logits = clf.model(torch.as_tensor(test.X)).double().numpy()
                    margin = logits[:, 1] - logits[:, 0]
                    s = proba[:, 1]
                    val_ap = np.array([v for v, _ in trace])
                    test_ap = np.array([t_ for _, t_ in trace])
                    best = int(np.argmax(val_ap))  # first maximum, as train_model keeps (strict >)
                    top = np.sort(s)[::-1][:50]
                    row = {"fold": fold.index, "model": label, "classifier_seed": rec_seed, "train_s": secs,
                           "best_epoch": clf.result.best_epoch, "auc_pr": ap(y["test"], s),
                           "auc_pr_imbench": imbench_metrics(y["test"], proba)["auc_pr"],
                           "auc_pr_margin": ap(y["test"], margin), "auc_roc": float(roc_auc_score(y["test"], s)),
                           "distinct_scores": int(len(np.unique(s))), "ties_in_top50": int(50 - len(np.unique(top))),
                           "n_proba_eq_1": int((s == 1.0).sum()), "val_ap_best": float(val_ap[best]),
                           "test_ap_at_val_best": float(test_ap[best]), "test_ap_last": float(test_ap[-1]),
                           "test_ap_oracle": float(test_ap.max()), "test_ap_oracle_epoch": int(np.argmax(test_ap) + 1),
                           "test_ap_mean_epochs_1_20": float(test_ap[:20].mean()),
                           "test_ap_mean_epochs_100_200": float(test_ap[99:].mean()),
                           "corr_val_test_over_epochs": float(np.corrcoef(val_ap, test_ap)[0, 1]),
                           "val_ap_trace": val_ap.round(4).tolist(), "test_ap_trace": test_ap.round(4).tolist()}
                    row["boot_std"], row["boot_lo"], row["boot_hi"] = bootstrap_std(y["test"], s, a.bootstrap, rng)
                    out["mlp"].append(row)
                    print(f"fold {fold.index} {label}: AP {row['auc_pr']:.4f} margin {row['auc_pr_margin']:.4f} "
                          f"best_epoch {row['best_epoch']} last {row['test_ap_last']:.4f} oracle "
                          f"{row['test_ap_oracle']:.4f}@{row['test_ap_oracle_epoch']} ({secs:.0f}s)", flush=True)

    if not a.skip_main:
        run_seed(a.seed, True)
        for s in a.extra_seeds:
            run_seed(s, False)
    if a.authors_emulation:
        authors_emulation(a, out, rng)
    report(out)
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1))
        print(f"\nwrote {a.out}")


def _ms(v) -> str:
    v = np.asarray(v, dtype=float)
    return f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.3f}"


def report(out: dict) -> None:
    if out["authors"]:
        print("\n## Authors' features / imbalance (imbench folds), mean ± std over the splits\n")
        print("| regime | model | train (0/1) | test (0/1) | AUC-PR | AUC-ROC | fresh positives at test IR 100 |")
        print("|---|---|---|---|---|---|---|")
        for key in dict.fromkeys((r["regime"], r["model"]) for r in out["authors"]):
            rs = [r for r in out["authors"] if (r["regime"], r["model"]) == key]
            print(f"| {key[0]} | {key[1]} | {rs[0]['counts']['train']} | {rs[0]['counts']['test']} | "
                  f"{_ms([r['auc_pr'] for r in rs])} | {_ms([r['auc_roc'] for r in rs])} | "
                  f"{_ms([r['fresh_ir100'][0] for r in rs])} |")
        for r in out["authors"]:
            if r["model"].startswith("mlp"):
                print(f"  {r['regime']} fold {r['fold']} mlp: best_epoch {r['best_epoch']} AP {r['auc_pr']:.3f} "
                      f"last {r['test_ap_last']:.3f} oracle {r['test_ap_oracle']:.3f}")
    if not out["rows"]:
        return
    print("\n## Part counts (class 0 / class 1)\n")
    print("| split | train | val | test | withheld minority | Potential adds | dims |\n|---|---|---|---|---|---|---|")
    for c in out["counts"]:
        print(f"| {c['fold']} | {c['train']} | {c['val']} | {c['test']} | {c['withheld_pos']} | {c['potential_added']} "
              f"| {c['dims']} |")
    print("\n## Test AUC-PR, mean ± std over the splits (seed %d)\n" % out["args"]["seed"])
    print("| model | AUC-PR | imbench auc_pr | AUC-ROC | AP@0.75 | AP@0.5 | AP@0.25 | mean bootstrap std | "
          "fresh 22 pos (IR100) | fresh IR50 | fresh IR10 | fresh IR1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    models = list(dict.fromkeys(r["model"] for r in out["rows"]))
    for m in models:
        rs = [r for r in out["rows"] if r["model"] == m]
        fr = {t: _ms([r[f"fresh_{t}"][0] for r in rs]) for t in ("ir100", "ir50", "ir10", "ir1")}
        print(f"| {m} | {_ms([r['auc_pr'] for r in rs])} | {_ms([r['auc_pr_imbench'] for r in rs])} | "
              f"{_ms([r['auc_roc'] for r in rs])} | " + " | ".join(_ms([r['ap_at'][k] for r in rs]) for k in ("0.75", "0.5", "0.25"))
              + f" | {np.mean([r['boot_std'] for r in rs]):.3f} | {fr['ir100']} | {fr['ir50']} | {fr['ir10']} | {fr['ir1']} |")
    print("\nper split:")
    for m in models:
        print(f"  {m:28s} " + " ".join(f"{r['auc_pr']:.3f}" for r in out["rows"] if r["model"] == m))
    if out["mlp"]:
        print("\n## imbench MLP (seeded as the records)\n")
        print("| model | split | best_epoch | AUC-PR (proba) | imbench | from logit margin | ROC | last epoch | "
              "best test epoch | mean ep 1-20 | mean ep 100-200 | corr(val,test) | boot std | ties top50 |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in out["mlp"]:
            print(f"| {r['model']} | {r['fold']} | {r['best_epoch']} | {r['auc_pr']:.3f} | {r['auc_pr_imbench']:.3f} | "
                  f"{r['auc_pr_margin']:.3f} | {r['auc_roc']:.3f} | {r['test_ap_last']:.3f} | {r['test_ap_oracle']:.3f}"
                  f"@{r['test_ap_oracle_epoch']} | {r['test_ap_mean_epochs_1_20']:.3f} | "
                  f"{r['test_ap_mean_epochs_100_200']:.3f} | {r['corr_val_test_over_epochs']:.2f} | {r['boot_std']:.3f} | "
                  f"{r['ties_in_top50']} |")
        for m in dict.fromkeys(r["model"] for r in out["mlp"]):
            rs = [r for r in out["mlp"] if r["model"] == m]
            print(f"  {m}: val-selected {_ms([r['auc_pr'] for r in rs])}, last epoch {_ms([r['test_ap_last'] for r in rs])}, "
                  f"oracle epoch {_ms([r['test_ap_oracle'] for r in rs])}")
    if out["extra_seeds"]:
        print("\n## Other skew draws (LR), mean ± std over 4 splits per seed\n")
        for m in dict.fromkeys(r["model"] for r in out["extra_seeds"]):
            per = {}
            for r in out["extra_seeds"]:
                if r["model"] == m:
                    per.setdefault(r["seed"], []).append(r["auc_pr"])
            print(f"  {m:14s} " + "  ".join(f"seed {s}: {_ms(v)}" for s, v in per.items())
                  + f"  | all {_ms(sum(per.values(), []))}")


if __name__ == "__main__":
    main()
