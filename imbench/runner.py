"""Run one configured job: every fold and classifier repeat, one record per run, resumable.

Four stages, the same for every kind of method:

1. **plan** (:func:`plan_job`): compose the effective config, load the data, make the folds, and find
   which runs are missing (a run whose directory has ``done`` is resumed; one written before the method
   protocol is moved to its new run id);
2. **fit** (:func:`fit_chunk`): build each missing fold's :class:`~imbench.methods.protocol.FoldTask` and
   hand the folds to the method's ``fit_folds``: all of them at once when the job batches (the method
   trains its models as vmap groups), else one fold at a time;
3. **record** (:func:`build_record`): a pure function of the job, the fold, the fit and the metrics;
4. **write** (:func:`write_run`): the record, then its ``done`` marker (and a preview of the synthetic
   images).

What is specific to a paper's method (Fajardo's weight search, EGL's validation score) lives with that
method (:mod:`imbench.methods`), not here.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from imbench import provenance
from imbench.classifiers.models import build_classifier
from imbench.claims import Claims, ClaimSettings
from imbench.config import apply_profile, identity, legacy_identity, skew_spec, validate
from imbench.data.datasets import Dataset, load_dataset
from imbench.data.protocol import Fold, fold_rng, make_folds
from imbench.data.skew import SkewSpec, class_counts, minority_classes
from imbench.devices import resolve_device
from imbench.divergence import DivergenceSettings, divergence_settings
from imbench.precision import PrecisionPolicy, precision_policy
from imbench.errors import ConfigError, DataError, ImbenchError, RecordsError, TrainingError
from imbench.figures.synthetic import save_preview
from imbench.methods.protocol import (BatchPolicy, ClassifierFactory, FittedRun, FoldFit, FoldTask, JobContext,
                                      Method, Split)
from imbench.methods.registry import build_method, method_class
from imbench.metrics import evaluate, pr_curve
from imbench.records import (RESULT, CorruptRecord, adopt_legacy_run, finish_run, is_done, load_record, mark_failed,
                             move_aside, prepare_run_dir, run_hash)
from imbench.synthetic_eval import check_fid_ready, measure_fid

__all__ = ["JobSummary", "run_job", "summary_line", "plan_job", "build_record", "job_description", "resolve_device"]


@dataclass
class JobSummary:
    records: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    new: int = 0
    resumed: int = 0
    elsewhere: int = 0  # runs another process had claimed; left to it
    wall_s: float = 0.0

    def mean(self, *keys: str) -> float:
        vals = []
        for r in self.records:
            v: Any = r["metrics"]
            for k in keys:
                v = v[k]
            vals.append(v)
        return float(np.mean(vals)) if vals else float("nan")


def classifier_description(cfg: dict) -> dict:
    """The classifier a job's runs train: the configured one, or the method's own (``Method.own_classifier``)."""
    own = method_class(cfg["method"]).own_classifier(cfg["method"])
    if own is not None:
        return own
    clf = cfg["classifier"]
    return {"name": clf["name"], "loss": clf.get("schedule", {}).get("loss"), "schedule": clf.get("schedule"),
            "weight_grid": clf.get("weight_grid")}


def job_description(cfg: dict) -> dict:
    """The few fields tables group by, copied into every record."""
    clf = classifier_description(cfg)
    return {
        "data": cfg["data"]["dataset"],
        "ir": cfg.get("ir"),
        "skew": cfg["skew"].get("name", cfg["skew"].get("scheme")),
        "method": cfg["method"]["name"],
        "classifier": clf["name"],
        "loss": clf.get("loss"),
        "protocol": cfg["protocol"]["name"],
        "seed": cfg["seed"],
    }


@dataclass
class FoldPlan:
    """One fold of the job: the run directory of each repeat and which repeats still have to run."""

    fold: Fold
    dirs: dict[int, Path]
    todo: list[int]


@dataclass
class JobPlan:
    """Everything the later stages need, decided before any training."""

    cfg: dict
    effective: dict
    device: Any
    dataset: Dataset
    skew: SkewSpec
    holdout: bool
    folds: list[FoldPlan]
    description: dict

    @property
    def pending(self) -> list[FoldPlan]:
        return [f for f in self.folds if f.todo]


@dataclass
class PreparedFold:
    """A fold ready to fit: the method's task, the test part and the run directories."""

    plan: FoldPlan
    task: FoldTask
    test: Split
    counts_before: dict[int, int]


def plan_job(cfg: dict, log: Callable[..., None] = print) -> JobPlan:
    """Stage 1: validate, apply the profile, load the data, make the folds and find the missing runs."""
    validate(cfg)
    eff = apply_profile(cfg)
    device = resolve_device(str(cfg["device"]))
    check_fid_ready(eff.get("fid"), str(device))
    skew = skew_spec(eff)
    ds = load_dataset(eff["data"])
    check_classifier_builds(eff, ds)
    holdout = eff["protocol"]["name"] == "holdout"
    folds = make_folds(eff["protocol"], skew, ds.y_train, ds.y_test if holdout else None, eff["folds"], eff["seed"])
    ident = identity(eff)
    legacy = legacy_identity(ident)
    out_dir = Path(cfg["out_dir"])
    check_writable(out_dir)
    rerun = bool(cfg.get("rerun"))
    plans = []
    for fold in folds:
        dirs = {}
        for r in range(eff["repeats"]):
            key = {"fold": fold.index, "repeat": r}
            dirs[r] = out_dir / run_hash({**ident, **key})
            if legacy is not None and not rerun and not is_done(dirs[r]):
                adopt_legacy_run(out_dir / run_hash({**legacy, **key}), dirs[r], log=log)
            if not rerun and is_done(dirs[r]):
                _set_aside_if_corrupt(dirs[r], log)
        plans.append(FoldPlan(fold, dirs, [r for r, d in dirs.items() if rerun or not is_done(d)]))
    return JobPlan(cfg, eff, device, ds, skew, holdout, plans, job_description(eff))


def check_classifier_builds(eff: dict, ds: Dataset) -> None:
    """Build the configured classifier network once on the data's shape, so that a bad architecture
    fails before any oversampling or training (a method that trains its own network checks its own)."""
    arch = eff["classifier"].get("arch")
    if not isinstance(arch, dict) or method_class(eff["method"]).own_classifier(eff["method"]) is not None:
        return
    shape = tuple(ds.X_train.shape[1:])
    resize = (eff["classifier"].get("input") or {}).get("resize")
    if resize and len(shape) == 3:
        shape = (shape[0], int(resize), int(resize))
    try:
        build_classifier(arch, shape, len(ds.classes))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"classifier.arch {arch!r} does not build a network: {e}. Check the keys and values "
                          "under classifier.arch (see conf/classifier/*.yaml)") from e


def check_writable(out_dir: Path) -> None:
    """Fail before any training when the records cannot be written under ``out_dir``."""
    probe = out_dir / f".imbench-write-test-{os.getpid()}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
        raise ConfigError(f"out_dir {str(out_dir)!r} cannot hold run records: {e.strerror or e}. Choose a writable "
                          "directory with free space (out_dir=PATH)") from e


def _set_aside_if_corrupt(run_dir: Path, log: Callable[..., None]) -> None:
    """A finished run whose record cannot be read is moved aside (kept) so that it is redone."""
    try:
        load_record(run_dir)
    except CorruptRecord as e:
        try:
            aside = move_aside(run_dir, "corrupt")
        except FileNotFoundError:  # another process moved it first
            return
        except OSError as err:
            raise RecordsError(f"{e}, and it cannot be moved aside ({err.strerror or err}); move or delete "
                               f"{run_dir} yourself, then run again") from err
        log(f"[imbench] {e}; moved to {aside.name}, the run is redone")


def _preprocess(eff: dict, ds: Dataset, X_tr: np.ndarray, others: list[np.ndarray | None]):
    spec = eff["data"].get("preprocess")
    if ds.kind != "tabular":
        return X_tr, others
    steps = list(spec) if isinstance(spec, (list, tuple)) else ([spec] if spec else [])
    if not steps or steps[0] != "impute":  # checked first: the other steps (PCA) fail on NaN with a traceback
        missing = sum(int(np.isnan(x).sum()) for x in [X_tr, *others] if x is not None)
        if missing:
            given = f"data.preprocess {steps} does not start with 'impute'" if steps else "no data.preprocess"
            fix = ",".join(["impute", *[s for s in steps if s != "none"]])
            raise DataError(f"data set {eff['data'].get('dataset')!r} has {missing} missing values and {given}; "
                            f"add it, e.g. data.preprocess=[{fix}]")
    if steps:
        from imbench.data.preprocess import build_preprocessor

        pre = build_preprocessor(spec, continuous=ds.continuous)
        X_tr = pre.fit_transform(X_tr).astype(np.float32)
        others = [None if x is None else pre.transform(x).astype(np.float32) for x in others]
    return X_tr, others


def prepare_fold(plan: JobPlan, fp: FoldPlan) -> PreparedFold:
    """A fold's training, validation and test parts (preprocessed), its minority classes and seeds."""
    ds, fold, eff = plan.dataset, fp.fold, plan.effective
    train = Split(ds.X_train[fold.train], ds.y_train[fold.train])
    if plan.holdout:  # the official test set; no validation part
        test, val = Split(ds.X_test[fold.test], ds.y_test[fold.test]), None
    else:
        test = Split(ds.X_train[fold.test], ds.y_train[fold.test])
        val = None if fold.val is None else Split(ds.X_train[fold.val], ds.y_train[fold.val])
    withheld = None
    if method_class(eff["method"]).needs_withheld and fold.withheld is not None:
        withheld = Split(ds.X_train[fold.withheld], ds.y_train[fold.withheld])
    X_tr, (X_te, X_val, X_wh) = _preprocess(eff, ds, train.X, [test.X, None if val is None else val.X,
                                                                 None if withheld is None else withheld.X])
    train, test = Split(X_tr, train.y), Split(X_te, test.y)
    val = None if val is None else Split(X_val, val.y)
    withheld = None if withheld is None else Split(X_wh, withheld.y)
    counts = class_counts(train.y)
    task = FoldTask(
        fold=fold.index, train=train, val=val, minority=minority_classes(plan.skew, counts), counts=counts,
        method_seed=int(fold_rng(eff["seed"], fold.index, 3).integers(2**31 - 1)),
        repeats={r: int(fold_rng(eff["seed"], fold.index, 4 + r).integers(2**31 - 1)) for r in fp.todo},
        withheld=withheld,
    )
    return PreparedFold(fp, task, test, counts)


def job_context(plan: JobPlan, log: Callable[..., None]) -> JobContext:
    eff = plan.effective
    return JobContext(classes=list(plan.dataset.classes), device=plan.device,
                      classifiers=ClassifierFactory(eff["classifier"]),
                      batching=BatchPolicy.from_setting(plan.cfg.get("batch_runs", "auto")),
                      synthetic_amount=eff.get("synthetic_amount"), progress=bool(plan.cfg.get("progress", True)),
                      log=log)


def chunks(plan: JobPlan, ctx: JobContext) -> list[list[FoldPlan]]:
    """Which folds are fitted together: all of them when the job batches (so the method can group its
    trainings across folds), else one at a time (so a fold's data is freed before the next)."""
    pending = plan.pending
    if len(pending) > 1 and ctx.batching.allows(len(pending), plan.device):
        return [pending]
    return [[f] for f in pending]


def fit_chunk(method: Method, prepared: list[PreparedFold], ctx: JobContext) -> list[FoldFit | ImbenchError]:
    """Stage 2: fit the chunk's folds."""
    return method.fit_folds([p.task for p in prepared], ctx)


# record entries the runner fills; a method's FoldFit.info may add others (and fills oversampler/weight_search)
RESERVED_RECORD_KEYS = frozenset({
    "experiment", "job", "run_id", "method", "metrics", "counts", "seeds", "synthetic_weight", "training", "fid",
    "batched", "timing", "curves", "config", "effective", "data_provenance", "git", "hardware", "versions", "command",
    "started_at", "finished_at"})


def build_record(plan: JobPlan, fold: PreparedFold, repeat: int, fit: FoldFit, run: FittedRun, metrics: dict,
                 fid: dict | None, context: dict, curves: dict | None = None) -> dict:
    """Stage 3, a pure function: the record of one run. ``context`` holds what describes the execution
    (run id, git, hardware, versions, command, start and end times); ``curves`` the test PR curve of a
    binary task (:func:`imbench.metrics.pr_curve`), for the figures."""
    clash = set(fit.info) & RESERVED_RECORD_KEYS
    if clash:
        raise ValueError(f"method {plan.effective['method']['name']!r} returned record entries {sorted(clash)} "
                         "that the runner writes itself; name them otherwise in FoldFit.info")
    eff, task = plan.effective, fold.task
    clf = classifier_description(eff)
    samples = fit.synthetic
    train_after = class_counts(samples.y) if samples is not None else fold.counts_before
    return {
        "experiment": plan.cfg.get("experiment_name"),
        "job": {**plan.description, "minority": task.minority, "fold": task.fold, "repeat": repeat},
        "run_id": context["run_id"],
        "method": {"kind": method_class(eff["method"]).kind,
                   **method_class(eff["method"]).describe(eff["method"])},
        "metrics": metrics,
        "counts": {"train_before": fold.counts_before, "train_after": train_after,
                   "synthetic": samples.count if samples is not None else 0, "test": class_counts(fold.test.y)},
        "seeds": {"base": eff["seed"], "oversampler": task.method_seed, "classifier": task.repeats[repeat]},
        "synthetic_weight": run.synthetic_weight,
        "oversampler": None,
        "weight_search": None,
        **fit.info,
        "training": run.training,
        "fid": fid,
        "batched": run.batched,
        "timing": {"oversample_s": samples.seconds if samples is not None else 0.0, "train_s": run.train_s},
        "curves": curves,
        "config": plan.cfg,
        "effective": {"folds": eff["folds"], "repeats": eff["repeats"],
                      "schedule": clf.get("schedule"), "weight_grid": clf.get("weight_grid")},
        "data_provenance": plan.dataset.provenance,
        **{k: v for k, v in context.items() if k != "run_id"},
    }


def write_run(run_dir: Path, record: dict, fit: FoldFit, minority: list[int], seed: int, rerun: bool) -> Path | None:
    """Stage 4: the record, then ``done``; a preview of the synthetic images beside it. None (nothing
    written) when the run is already finished and not ``rerun``."""
    if not prepare_run_dir(run_dir, rerun=rerun):
        return None
    if fit.synthetic is not None:
        s = fit.synthetic
        save_preview(run_dir, s.X, s.y, s.mask, minority, seed=seed)
    return finish_run(run_dir, record)


def _mark_failed(plan: JobPlan, run_dir: Path, error: str, execution: dict, fold: int, repeat: int) -> None:
    """Leave ``failed.json`` in an unfinished run: the error and what tables need to place it."""
    mark_failed(run_dir, {"experiment": plan.cfg.get("experiment_name"), "run_id": run_dir.name,
                          "job": {**plan.description, "fold": fold, "repeat": repeat}, "error": error,
                          "failed_at": _now(), "config": plan.cfg,
                          **{k: execution[k] for k in ("git", "hardware", "command") if k in execution}})


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_job(cfg: dict, log: Callable[..., None] = print) -> JobSummary:
    """Run every fold × repeat of a composed (plain-dict, resolved) config; skip finished runs.

    Raises :class:`TrainingError` after writing every run that succeeded when some runs failed (a
    diverged training, a failed generator): those are named and not marked done."""
    t_job = time.perf_counter()
    plan = plan_job(cfg, log=log)
    ctx = job_context(plan, log)
    method = build_method(plan.effective["method"])
    summary = JobSummary()
    desc = plan.description
    bar = tqdm(total=sum(len(f.dirs) for f in plan.folds), desc=f"{desc['data']}/{desc['method']}/{desc['classifier']}",
               unit="run", disable=not cfg.get("progress", True))
    for fp in plan.folds:
        for r, d in fp.dirs.items():
            if r not in fp.todo:
                _resume(d, summary, bar)
    failures: list[str] = []
    execution = {"git": provenance.git_state(), "hardware": provenance.hardware(str(plan.device)),
                 "versions": provenance.versions(), "command": provenance.command_line()}
    policy = PrecisionPolicy.from_config(cfg.get("amp"))
    execution["amp"] = policy.amp
    if policy.note(plan.device):
        log(policy.note(plan.device))
    claims = Claims(ClaimSettings.from_config(cfg.get("claims")), log=log)
    marked: set[Path] = set()  # runs given their own failure note by _write_fold
    with divergence_settings(DivergenceSettings.from_config(cfg.get("divergence"))), precision_policy(policy), claims:
        for chunk in chunks(plan, ctx):
            mine = [c for c in (_claim(plan, fp, claims, summary, bar) for fp in chunk) if c.todo]
            try:
                started = _now()
                prepared = [prepare_fold(plan, fp) for fp in mine]
                for fold, fit in zip(prepared, fit_chunk(method, prepared, ctx)):
                    _write_fold(plan, fold, fit, execution, started, summary, failures, bar, marked)
            except ImbenchError as e:  # the job stops: the runs this process held say why (not others')
                for fp in mine:
                    for r in fp.todo:
                        if fp.dirs[r] not in marked:
                            _mark_failed(plan, fp.dirs[r], f"the job stopped: {e}", execution, fp.fold.index, r)
                raise
            finally:
                for fp in mine:
                    for r in fp.todo:
                        claims.release(fp.dirs[r])
    bar.close()
    if summary.elsewhere:
        log(f"[imbench] {summary.elsewhere} run(s) of this job are being trained by another process (claimed); "
            "they were left to it")
    summary.wall_s = time.perf_counter() - t_job
    if failures:
        raise TrainingError(f"{len(failures)} run(s) failed and are not marked done (the other {summary.new} new "
                            f"run(s) are written): " + "; ".join(failures))
    return summary


def _claim(plan: JobPlan, fp: FoldPlan, claims: Claims, summary: JobSummary, bar) -> FoldPlan:
    """The fold with only the runs this process claimed and that are still to do. A run another process
    holds is left to it (``summary.elsewhere``); one another process finished meanwhile is resumed."""
    rerun = bool(plan.cfg.get("rerun"))
    todo = []
    for r in fp.todo:
        d = fp.dirs[r]
        if not claims.try_claim(d):
            summary.elsewhere += 1
            bar.update(1)
        elif not rerun and is_done(d):
            claims.release(d)
            _resume(d, summary, bar)
        else:
            todo.append(r)
    return FoldPlan(fp.fold, fp.dirs, todo)


def _resume(run_dir: Path, summary: JobSummary, bar) -> None:
    summary.records.append(load_record(run_dir))
    summary.paths.append(str(run_dir / RESULT))
    summary.resumed += 1
    bar.update(1)


def _write_fold(plan: JobPlan, fold: PreparedFold, fit: FoldFit | ImbenchError, execution: dict, started: str,
                summary: JobSummary, failures: list[str], bar, marked: set[Path]) -> None:
    """Evaluate and write every repeat of one fitted fold; failed repeats go to ``failures`` and get their
    failure note (their directories are added to ``marked``)."""
    task, dirs = fold.task, fold.plan.dirs
    if isinstance(fit, ImbenchError):
        failures.extend(f"run {dirs[r].name} (fold {task.fold}, repeat {r}): {fit}" for r in task.repeats)
        for r in task.repeats:
            _mark_failed(plan, dirs[r], str(fit), execution, task.fold, r)
            marked.add(dirs[r])
        bar.update(len(task.repeats))
        return
    fid = None
    if fit.synthetic is not None:
        s = fit.synthetic
        fid = measure_fid(plan.effective.get("fid"), plan.description["data"], s.X, s.y, s.mask, fold.test.X,
                          fold.test.y, task.minority, str(plan.device), task.method_seed)
    for r, seed in task.repeats.items():
        run = fit.runs[r]
        try:
            if isinstance(run, ImbenchError):
                raise run
            proba = run.predictor.predict_proba(fold.test.X)
            metrics = evaluate(fold.test.y, proba, plan.dataset.classes, task.minority)
            test_pr = pr_curve(fold.test.y, proba, plan.dataset.classes, task.minority)
        except TrainingError as e:
            failures.append(f"run {dirs[r].name} (fold {task.fold}, repeat {r}, classifier seed {seed}): {e}")
            _mark_failed(plan, dirs[r], str(e), execution, task.fold, r)
            marked.add(dirs[r])
            bar.update(1)
            continue
        context = {"run_id": dirs[r].name, **execution, "started_at": started, "finished_at": _now()}
        record = build_record(plan, fold, r, fit, run, metrics, fid, context,
                              {"test_pr": test_pr} if test_pr is not None else None)
        try:
            path = write_run(dirs[r], record, fit, task.minority, task.method_seed, bool(plan.cfg.get("rerun")))
        except RecordsError as e:  # this run is lost (not marked done); the fold's others may still be written
            failures.append(f"run {dirs[r].name} (fold {task.fold}, repeat {r}): {e}")
            bar.update(1)
            continue
        if path is None:  # another process (without claims, or after ours went stale) finished it first
            _resume(dirs[r], summary, bar)
            continue
        summary.records.append(record)
        summary.paths.append(str(path))
        summary.new += 1
        bar.update(1)


def summary_line(cfg: dict, s: JobSummary) -> str:
    d = job_description(cfg)
    first = s.paths[0] if s.paths else "-"
    more = f" (+{len(s.paths) - 1} more)" if len(s.paths) > 1 else ""
    imbalance = "skew=none" if d["skew"] == "none" else f"ir={d['ir']}"  # the set's own imbalance: no IR applied
    binary = bool(s.records) and len(s.records[0]["metrics"].get("classes", [])) == 2
    ranking = f" AUC-PR {s.mean('auc_pr'):.4f}" if binary else ""
    head = f"{d['data']} {imbalance} method={d['method']} classifier={d['classifier']}: "
    if not s.records:  # every run of the job is another process's (claimed): no numbers yet, not NaN
        return (head + f"no finished runs yet; {s.elsewhere} run(s) are being trained by another process "
                f"(claimed) | in {s.wall_s:.1f}s")
    return (
        f"{d['data']} {imbalance} method={d['method']} classifier={d['classifier']}: "
        f"ACSA {s.mean('acsa'):.4f} GM {s.mean('gm'):.4f} minority recall {s.mean('minority', 'recall'):.4f} "
        f"F1 {s.mean('minority', 'f1'):.4f}{ranking} | {len(s.records)} runs ({s.new} new, {s.resumed} resumed) "
        f"in {s.wall_s:.1f}s | record: {first}{more}"
    )
