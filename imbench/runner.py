"""Run one configured job: every fold and classifier repeat, one record per run, resumable."""
from __future__ import annotations

import copy
import datetime as dt
import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import get_object, instantiate
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import StratifiedKFold
from tqdm.auto import tqdm

from imbench import provenance
from imbench.classifiers.downstream import fit_batched
from imbench.config import apply_profile, identity, skew_spec, validate
from imbench.data.datasets import Dataset, load_dataset
from imbench.data.protocol import Fold, fold_rng, make_folds
from imbench.data.skew import class_counts, minority_classes
from imbench.errors import ConfigError, TrainingError
from imbench.methods.base import FlatteningSampler, resolve_sampling_strategy, synthetic_mask
from imbench.metrics import evaluate
from imbench.figures.synthetic import save_preview
from imbench.records import finish_run, is_done, load_record, prepare_run_dir, run_hash
from imbench.synthetic_eval import check_fid_ready, measure_fid


@dataclass
class JobSummary:
    records: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    new: int = 0
    resumed: int = 0
    wall_s: float = 0.0

    def mean(self, *keys: str) -> float:
        vals = []
        for r in self.records:
            v: Any = r["metrics"]
            for k in keys:
                v = v[k]
            vals.append(v)
        return float(np.mean(vals)) if vals else float("nan")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name} was asked for but CUDA is not available here; use device=cpu or device=auto")
    return torch.device(name)


def build_sampler(method_cfg: dict, y: np.ndarray, minority: list[int], seed: int, ndim: int,
                  device: str | None = None):
    """Instantiate the method's sampler for one training set (strategy resolved, seeded).

    A sampler whose ``__init__`` takes ``device`` gets the runner's device (``device`` here) unless its
    config names one other than ``auto``; a sampler with ``accepts_images = True`` gets images as they
    are (N×C×H×W), any other gets them flattened."""
    params = copy.deepcopy(method_cfg["sampler"])
    params["sampling_strategy"] = resolve_sampling_strategy(params.get("sampling_strategy", "auto"),
                                                            class_counts(y), minority)
    params["random_state"] = int(seed)
    if device is not None and params.get("device", "auto") in (None, "auto") and _takes_device(params["_target_"]):
        params["device"] = str(device)
    sampler = instantiate(params, _convert_="all")
    return FlatteningSampler(sampler) if ndim > 2 and getattr(sampler, "accepts_images", False) is not True else sampler


def _takes_device(target: str) -> bool:
    try:
        return "device" in inspect.signature(get_object(target)).parameters
    except (TypeError, ValueError, ImportError):
        return False


def oversample(method_cfg: dict, X: np.ndarray, y: np.ndarray, minority: list[int], seed: int,
               device: str | None = None, info: dict | None = None):
    """Apply the method's sampler; returns X_res, y_res, synthetic mask and seconds taken.

    ``info``, when given, receives what the sampler reports about its fit (``fit_info()``: a deep
    generator's epochs, learning rates, losses; tuned SMOTE's chosen k)."""
    t0 = time.perf_counter()
    sampler = build_sampler(method_cfg, y, minority, seed, X.ndim, device=device)
    try:
        X_res, y_res = sampler.fit_resample(X, y)
    except ValueError as e:
        raise ConfigError(f"method {method_cfg['name']!r} could not resample this training set: {e}") from e
    inner = getattr(sampler, "sampler", sampler)
    if info is not None and hasattr(inner, "fit_info"):
        info.update(inner.fit_info())
    X_res, y_res = np.asarray(X_res, dtype=X.dtype), np.asarray(y_res)
    return X_res, y_res, synthetic_mask(X, y, X_res, y_res), time.perf_counter() - t0


def oversample_many(tasks: list[tuple[dict, np.ndarray, np.ndarray, list[int], int]], device: str | None = None,
                    log=print) -> list[tuple | Exception]:
    """:func:`oversample` for several ``(method_cfg, X, y, minority, seed)`` tasks of a stepped deep
    generator (CGAN, ACGAN, CVAE and R- variants), the generators of equal-sized training sets trained
    as one batched group (:func:`~imbench.methods.generative.stepped.fit_resample_many`).

    Returns per task ``(X_res, y_res, synthetic mask, seconds, fit_info)`` or the ``TrainingError`` of
    that task alone. Seconds are the wall time of the whole call divided by the number of tasks (the
    trainings overlap); ``fit_info`` has the group size and the group's own training time."""
    from imbench.methods.generative.stepped import fit_resample_many

    t0 = time.perf_counter()
    samplers = [build_sampler(m, y, minority, seed, X.ndim, device=device) for m, X, y, minority, seed in tasks]
    try:
        outs = fit_resample_many(samplers, [(X, y) for _, X, y, _, _ in tasks], log=log)
    except ValueError as e:
        raise ConfigError(f"method {tasks[0][0]['name']!r} could not resample a training set: {e}") from e
    seconds = (time.perf_counter() - t0) / max(len(tasks), 1)
    results: list[tuple | Exception] = []
    for (_, X, y, _, _), sampler, out in zip(tasks, samplers, outs):
        if isinstance(out, Exception):
            results.append(out)
            continue
        X_res, y_res = np.asarray(out[0], dtype=X.dtype), np.asarray(out[1])
        results.append((X_res, y_res, synthetic_mask(X, y, X_res, y_res), seconds, sampler.fit_info()))
    return results


def search_splits(cfg: dict, X: np.ndarray, y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray, dict, int, str | None]]:
    """The CV folds of Fajardo's synthetic-weight search: per fold (train rows, held-out rows, the
    method config to oversample the train rows with, its seed, a note or None)."""
    k = int(cfg["classifier"].get("weight_search_folds", 2))
    out = []
    for f, (tr, ho) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(X.reshape(len(X), -1), y)):
        method_cfg = copy.deepcopy(cfg["method"])
        kn = method_cfg["sampler"].get("k_neighbors")
        smallest = min(class_counts(y[tr]).values())
        note = None
        if isinstance(kn, int) and kn >= smallest:
            method_cfg["sampler"]["k_neighbors"] = smallest - 1
            note = f"fold {f}: k_neighbors lowered to {smallest - 1} (smallest class has {smallest})"
        out.append((tr, ho, method_cfg, seed + 1 + f, note))
    return out


def weighted_minority_f1(y_true: np.ndarray, pred: np.ndarray, minority: list[int]) -> float:
    """Fajardo's grid-search score: support-weighted F1 over the minority classes (spec §1.3)."""
    return float(f1_score(y_true, pred, labels=minority, average="weighted", zero_division=0))


@dataclass
class WeightSearch:
    """The candidates of one Fajardo weight search (see :func:`search_synthetic_weight`): the CV folds'
    oversampled training parts and one untrained classifier per (CV fold, weight), with its seed."""
    grid: list[float]
    folds: list[tuple]  # (held-out rows, X_res, y_res, synthetic mask) per CV fold
    members: list[tuple[int, int]]  # (CV fold, weight index) per candidate
    clfs: list
    seeds: list[int]
    notes: list[str]

    @property
    def data(self) -> list[tuple]:
        return [self.folds[f][1:] for f, _ in self.members]

    def result(self, X: np.ndarray, y: np.ndarray, classes: list[int], minority: list[int], device: torch.device,
               errors: list | None = None, group_size: int | None = None) -> dict:
        """Score the candidates (fitting them one by one first unless ``errors`` from a batched fit is
        given) and pick the weight."""
        grid, notes = self.grid, list(self.notes)
        scores = np.zeros((len(self.folds), len(grid)))
        for i, ((f, j), clf) in enumerate(zip(self.members, self.clfs)):
            ho, X_res, y_res, synth = self.folds[f]
            try:
                if errors is None:
                    clf.fit(X_res, y_res, classes=classes, synthetic=synth, seed=self.seeds[i], device=device)
                elif errors[i] is not None:
                    raise TrainingError(errors[i])
                pred = np.asarray(classes)[clf.predict_proba(X[ho]).argmax(1)]
            except TrainingError as e:  # a weight whose training diverges is a bad weight: excluded
                scores[f, j] = -np.inf
                notes.append(f"fold {f}: weight {grid[j]:g} excluded, its training diverged: {e}")
                continue
            scores[f, j] = weighted_minority_f1(y[ho], pred, minority)
        mean = scores.mean(axis=0)
        if not np.isfinite(mean).any():
            raise TrainingError("the synthetic-weight search failed: training diverged for every weight of "
                                f"classifier.weight_grid; {'; '.join(notes)}")
        return {"grid": grid, "scores": [float(m) if np.isfinite(m) else None for m in mean],
                "chosen": grid[int(np.argmax(mean))], "folds": len(self.folds), "notes": notes,
                "batched": None if errors is None else {"group_size": group_size or len(self.members)}}


def weight_search_candidates(cfg: dict, X: np.ndarray, y: np.ndarray, minority: list[int], seed: int,
                             device: torch.device, oversampled: list | None = None) -> WeightSearch:
    """Oversample the CV folds' training parts (or take ``oversampled``) and build the candidates."""
    grid = [float(w) for w in cfg["classifier"]["weight_grid"]]
    splits = search_splits(cfg, X, y, seed)
    folds = []
    for f, (tr, ho, method_cfg, fold_seed, _) in enumerate(splits):
        if oversampled is None:
            X_res, y_res, synth, _ = oversample(method_cfg, X[tr], y[tr], minority, fold_seed, device=str(device))
        elif isinstance(oversampled[f], Exception):
            raise oversampled[f]
        else:
            X_res, y_res, synth = oversampled[f][:3]
        folds.append((ho, X_res, y_res, synth))
    members = [(f, j) for f in range(len(splits)) for j in range(len(grid))]
    clfs = []
    for f, j in members:
        clf_cfg = copy.deepcopy(cfg["classifier"])
        clf_cfg["synthetic_weight"] = grid[j]
        clfs.append(instantiate(clf_cfg, _convert_="all"))
    return WeightSearch(grid, folds, members, clfs, [seed + 100 * f + j for f, j in members],
                        [note for *_, note in splits if note])


def search_synthetic_weight(cfg: dict, X: np.ndarray, y: np.ndarray, classes: list[int], minority: list[int],
                            seed: int, device: torch.device, batch: bool = False,
                            oversampled: list | None = None) -> dict:
    """Fajardo's Table 14 search: stratified k-fold on the real training set; synthetic samples are made
    from, and added to, the training part only; score = weighted minority F1 on the held-out part.

    ``batch``: train all k x len(grid) candidates together (:func:`fit_batched`). A candidate whose
    training diverges is excluded (noted in ``notes``); if every candidate diverges it is an error.
    ``oversampled``: the folds' oversampling already done (:func:`oversample_many` over the tasks of
    :func:`search_splits`), one result or exception per fold."""
    ws = weight_search_candidates(cfg, X, y, minority, seed, device, oversampled)
    errors = fit_batched(ws.clfs, ws.data, classes=classes, seeds=ws.seeds, device=device) if batch else None
    return ws.result(X, y, classes, minority, device, errors)


def _preprocess(cfg: dict, ds: Dataset, X_tr, X_other: list):
    spec = cfg["data"].get("preprocess")
    if ds.kind != "tabular" or not spec:
        return X_tr, X_other
    from imbench.data.preprocess import build_preprocessor

    pre = build_preprocessor(spec, continuous=ds.continuous)
    X_tr = pre.fit_transform(X_tr).astype(np.float32)
    return X_tr, [None if x is None else pre.transform(x).astype(np.float32) for x in X_other]


def _split(ds: Dataset, fold: Fold, holdout: bool):
    if holdout:
        return (ds.X_train[fold.train], ds.y_train[fold.train], ds.X_test[fold.test], ds.y_test[fold.test], None)
    val = None if fold.val is None else (ds.X_train[fold.val], ds.y_train[fold.val])
    return (ds.X_train[fold.train], ds.y_train[fold.train], ds.X_train[fold.test], ds.y_train[fold.test], val)


def job_description(cfg: dict) -> dict:
    """The few fields tables group by, copied into every record."""
    return {
        "data": cfg["data"]["dataset"],
        "ir": cfg.get("ir"),
        "skew": cfg["skew"].get("name", cfg["skew"].get("scheme")),
        "method": cfg["method"]["name"],
        "classifier": cfg["classifier"]["name"],
        "loss": cfg["classifier"].get("schedule", {}).get("loss"),
        "protocol": cfg["protocol"]["name"],
        "seed": cfg["seed"],
    }


def use_batching(cfg: dict, clf_cfg: dict, n_models: int, device: torch.device | str = "cpu") -> bool:
    """Whether ``n_models`` trainings of ``clf_cfg`` that differ only in seed / sample weights train as one
    batched group: ``batch_runs=false`` never; ``true`` always; ``auto`` (default) where it pays: on a
    CUDA device, when there is more than one (on the CPU the models are compute-bound and a vmap group
    is no faster, see benchmarks/). Never with ``schedule.selection='best_val'`` (model selection per
    epoch is sequential)."""
    mode = _batch_mode(cfg)
    if mode == "false":
        return False
    if clf_cfg.get("schedule", {}).get("selection", "last") == "best_val":
        return False
    if mode == "true":
        return n_models >= 1
    return n_models > 1 and torch.device(device).type == "cuda"


def _batch_mode(cfg: dict) -> str:
    mode = cfg.get("batch_runs", "auto")
    if mode is False or str(mode).lower() == "false":
        return "false"
    return "true" if mode is True or str(mode).lower() == "true" else "auto"


def use_generator_batching(cfg: dict, method_cfg: dict, n_trainings: int, device: torch.device | str = "cpu") -> bool:
    """Whether a job's generator trainings (one per fold / skewed draw, plus two per fold for the
    synthetic-weight search) train as batched groups: only for stepped generators (CGAN, ACGAN, CVAE
    and their R- variants; see :mod:`imbench.methods.generative.stepped`), only when there are at least
    two; ``batch_runs=true`` always, ``auto`` on CUDA (on the CPU they are compute-bound)."""
    from imbench.methods.generative.stepped import SteppedGenerator

    mode = _batch_mode(cfg)
    if mode == "false" or n_trainings < 2:
        return False
    try:
        cls = get_object(method_cfg.get("sampler", {}).get("_target_", ""))
    except (ImportError, AttributeError, ValueError):
        return False
    if not (isinstance(cls, type) and issubclass(cls, SteppedGenerator)):
        return False
    return mode == "true" or torch.device(device).type == "cuda"


def _fold_data(eff: dict, ds: Dataset, fold: Fold, holdout: bool, skew: dict) -> tuple:
    """A fold's (X_tr, y_tr, X_te, y_te, val, train counts, minority classes, oversampler seed)."""
    X_tr, y_tr, X_te, y_te, val = _split(ds, fold, holdout)
    X_tr, (X_te, X_val) = _preprocess(eff, ds, X_tr, [X_te, None if val is None else val[0]])
    val = None if val is None else (X_val, val[1])
    counts_before = class_counts(y_tr)
    minority = minority_classes(skew, counts_before)
    os_seed = int(fold_rng(eff["seed"], fold.index, 3).integers(2**31 - 1))
    return X_tr, y_tr, X_te, y_te, val, counts_before, minority, os_seed


def _oversample_folds_together(eff: dict, fold_data: dict[int, tuple], searching: bool, device, log) -> dict:
    """Every fold's oversampling, and with ``searching`` its weight search's, in one :func:`oversample_many`
    call (same seeds as fold-by-fold): fold index -> (result, [search results] or None)."""
    tasks, owners = [], []
    for i, (X_tr, y_tr, _, _, _, _, minority, os_seed) in fold_data.items():
        tasks.append((eff["method"], X_tr, y_tr, minority, os_seed))
        owners.append((i, None))
        if searching:
            for f, (tr, _, method_cfg, seed_f, _) in enumerate(search_splits(eff, X_tr, y_tr, os_seed)):
                tasks.append((method_cfg, X_tr[tr], y_tr[tr], minority, seed_f))
                owners.append((i, f))
    results = oversample_many(tasks, device=str(device), log=log)
    out: dict[int, tuple] = {}
    for (i, f), res in zip(owners, results):
        main, search = out.get(i, (None, [] if searching else None))
        if f is None:
            main = res
        else:
            search.append(res)
        out[i] = (main, search)
    return out


@dataclass
class _FoldWork:
    """One fold between its oversampling and its records."""
    fold: Fold
    dirs: list[Path]
    todo: list[int]
    data: tuple  # _fold_data
    X_res: np.ndarray
    y_res: np.ndarray
    synth: np.ndarray
    t_os: float
    fit_info: dict
    fid: Any
    search_os: list | None
    search: dict | None = None
    clf_cfg: dict = field(default_factory=dict)
    seeds: dict[int, int] = field(default_factory=dict)
    group: list | None = None  # the repeats' classifiers when trained in a batched group
    t_group: float = 0.0  # seconds of that group's training per member
    group_s: float = 0.0  # ... and in all

    @property
    def X_tr(self) -> np.ndarray:
        return self.data[0]

    @property
    def y_tr(self) -> np.ndarray:
        return self.data[1]

    @property
    def minority(self) -> list[int]:
        return self.data[6]

    @property
    def os_seed(self) -> int:
        return self.data[7]


def run_job(cfg: dict, log=print) -> JobSummary:
    """Run every fold × repeat of a composed (plain-dict, resolved) config; skip finished runs.

    Fold by fold; with classifier batching (``batch_runs``) and several folds to run, the folds are
    prepared first (oversampling, FID), then every fold's weight-search candidates train as one group
    and every fold's repeats as another, and then the runs are written."""
    validate(cfg)
    t_job = time.perf_counter()
    eff = apply_profile(cfg)
    device = resolve_device(str(cfg["device"]))
    check_fid_ready(eff.get("fid"), str(device))
    skew = skew_spec(eff)
    ds = load_dataset(eff["data"])
    holdout = eff["protocol"]["name"] == "holdout"
    folds = make_folds(eff["protocol"], skew, ds.y_train, ds.y_test if holdout else None, eff["folds"], eff["seed"])
    ident = identity(eff)
    out_dir = Path(cfg["out_dir"])
    summary = JobSummary()
    desc = job_description(eff)
    classes = ds.classes
    units = [(f, r) for f in folds for r in range(eff["repeats"])]
    bar = tqdm(total=len(units), desc=f"{desc['data']}/{desc['method']}/{desc['classifier']}", unit="run",
               disable=not cfg.get("progress", True))
    failures: list[str] = []  # runs of a batched group whose training failed (the others are written)
    plan = []
    for fold in folds:
        dirs = [out_dir / run_hash({**ident, "fold": fold.index, "repeat": r}) for r in range(eff["repeats"])]
        plan.append((fold, dirs, [r for r, d in enumerate(dirs) if cfg.get("rerun") or not is_done(d)]))
    fold_data: dict[int, tuple] = {}
    pre: dict[int, tuple] = {}  # fold index -> (its oversampling, its weight search's) from a batched group
    pending = [fold for fold, _, todo in plan if todo]
    searching = bool(eff["classifier"].get("weight_grid"))
    if use_generator_batching(cfg, eff["method"], len(pending) * (1 + searching), device):
        fold_data = {f.index: _fold_data(eff, ds, f, holdout, skew) for f in pending}
        pre = _oversample_folds_together(eff, fold_data, searching, device, log)
    n_todo = sum(len(todo) for _, _, todo in plan)
    folds_together = len(pending) > 1 and use_batching(cfg, eff["classifier"], n_todo, device)

    def prepare(fold: Fold, dirs: list[Path], todo: list[int]) -> _FoldWork | None:
        """The fold's data, oversampling and FID; None (and its runs in ``failures``) if its generator failed."""
        fd = fold_data.pop(fold.index, None) or _fold_data(eff, ds, fold, holdout, skew)
        X_tr, y_tr, X_te, y_te, _, _, minority, os_seed = fd
        fit_info: dict = {}
        if fold.index in pre:  # this fold's generators were trained in a batched group with the other folds'
            main, search_os = pre.pop(fold.index)
            if isinstance(main, Exception) or any(isinstance(o, Exception) for o in search_os or []):
                err = main if isinstance(main, Exception) else next(o for o in search_os if isinstance(o, Exception))
                failures.extend(f"run {dirs[r].name} (fold {fold.index}, repeat {r}): {err}" for r in todo)
                bar.update(len(todo))
                return None
            X_res, y_res, synth, t_os, info = main
            fit_info.update(info)
        else:
            search_os = None
            X_res, y_res, synth, t_os = oversample(eff["method"], X_tr, y_tr, minority, os_seed, device=str(device),
                                                   info=fit_info)
        fid = measure_fid(eff.get("fid"), desc["data"], X_res, y_res, synth, X_te, y_te, minority, str(device), os_seed)
        clf_cfg = copy.deepcopy(eff["classifier"])
        clf_cfg.pop("weight_grid", None)
        clf_cfg.pop("weight_search_folds", None)
        seeds = {r: int(fold_rng(eff["seed"], fold.index, 4 + r).integers(2**31 - 1)) for r in todo}
        return _FoldWork(fold, dirs, todo, fd, X_res, y_res, synth, t_os, fit_info, fid, search_os,
                         clf_cfg=clf_cfg, seeds=seeds)

    def search_weights(works: list[_FoldWork]) -> None:
        """Each fold's synthetic-weight search (when it has a grid and synthetic samples); the chosen
        weight goes into the fold's classifier config. With ``folds_together`` one batched group."""
        works = [w for w in works if searching and w.synth.any()]
        if not works:
            return
        grid_n = len(eff["classifier"]["weight_grid"])
        if folds_together:
            cands = [weight_search_candidates(eff, w.X_tr, w.y_tr, w.minority, w.os_seed, device, w.search_os)
                     for w in works]
            clfs = [c for ws in cands for c in ws.clfs]
            errors = fit_batched(clfs, [d for ws in cands for d in ws.data], classes=classes,
                                 seeds=[s for ws in cands for s in ws.seeds], device=device)
            for w, ws in zip(works, cands):
                errs, errors = errors[:len(ws.clfs)], errors[len(ws.clfs):]
                w.search = ws.result(w.X_tr, w.y_tr, classes, w.minority, device, errs, group_size=len(clfs))
        else:
            for w in works:
                w.search = search_synthetic_weight(eff, w.X_tr, w.y_tr, classes, w.minority, w.os_seed, device,
                                                   batch=use_batching(cfg, w.clf_cfg, grid_n, device),
                                                   oversampled=w.search_os)
        for w in works:
            w.clf_cfg["synthetic_weight"] = w.search["chosen"]

    def train_repeats(works: list[_FoldWork]) -> None:
        """The repeats of the folds as one batched group, when batching; else they train when written."""
        n = sum(len(w.todo) for w in works)
        if not use_batching(cfg, works[0].clf_cfg, n, device):
            return
        t0 = time.perf_counter()
        for w in works:
            w.group = [instantiate(w.clf_cfg, _convert_="all") for _ in w.todo]
        fit_batched([c for w in works for c in w.group], [(w.X_res, w.y_res, w.synth) for w in works for _ in w.todo],
                    classes=classes, seeds=[w.seeds[r] for w in works for r in w.todo], device=device)
        total = time.perf_counter() - t0
        for w in works:
            w.t_group, w.group_s = total / n, total

    def write_runs(w: _FoldWork) -> None:
        fold, dirs, todo, fit_info = w.fold, w.dirs, w.todo, w.fit_info
        X_tr, y_tr, X_te, y_te, val, counts_before, minority, os_seed = w.data
        X_res, y_res, synth, clf_cfg, group = w.X_res, w.y_res, w.synth, w.clf_cfg, w.group
        for r in todo:
            run_dir = dirs[r]
            prepare_run_dir(run_dir, rerun=bool(cfg.get("rerun")))
            started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            seed = w.seeds[r]
            t0 = time.perf_counter()
            clf = instantiate(clf_cfg, _convert_="all") if group is None else group[todo.index(r)]
            if group is not None and clf.error is not None:
                failures.append(f"run {run_dir.name} (fold {fold.index}, repeat {r}, classifier seed {seed}): {clf.error}")
                bar.update(1)
                continue
            val_score = None
            if group is None and clf.schedule.selection == "best_val":
                pos = classes.index(minority[0]) if len(classes) == 2 else None
                val_score = (lambda yt, p: float(average_precision_score(yt == pos, p[:, pos]))) if pos is not None \
                    else (lambda yt, p: float(np.mean(p.argmax(1) == yt)))
            if group is None:
                epoch_bar = tqdm(total=clf.schedule.epochs, desc="epochs", leave=False, unit="ep",
                                 disable=not cfg.get("progress", True) or clf.schedule.steps is not None)
                clf.fit(X_res, y_res, classes=classes, synthetic=synth, seed=seed, device=device, val=val,
                        val_score=val_score, progress=lambda e, l: (epoch_bar.update(1), epoch_bar.set_postfix(loss=f"{l:.4f}")))
                epoch_bar.close()
            t_train = time.perf_counter() - t0 if group is None else w.t_group
            metrics = evaluate(y_te, clf.predict_proba(X_te), classes, minority)
            record = {
                "experiment": cfg.get("experiment_name"),
                "job": {**desc, "minority": minority, "fold": fold.index, "repeat": r},
                "run_id": run_dir.name,
                "metrics": metrics,
                "counts": {"train_before": counts_before, "train_after": class_counts(y_res),
                           "synthetic": int(synth.sum()), "test": class_counts(y_te)},
                "seeds": {"base": eff["seed"], "oversampler": os_seed, "classifier": seed},
                "synthetic_weight": clf.synthetic_weight,
                "weight_search": w.search,
                "training": {"epochs": clf.result.epochs_run, "steps": clf.result.steps_run,
                             "final_loss": clf.result.final_loss, "best_epoch": clf.result.best_epoch,
                             "precision": clf.result.precision},
                "oversampler": fit_info or None,
                "fid": w.fid,
                "batched": None if group is None else {"group_size": clf.group_size, "group_train_s": w.group_s},
                "timing": {"oversample_s": w.t_os, "train_s": t_train},
                "config": cfg,
                "effective": {"folds": eff["folds"], "repeats": eff["repeats"],
                              "schedule": eff["classifier"].get("schedule"), "weight_grid": eff["classifier"].get("weight_grid")},
                "data_provenance": ds.provenance,
                "git": provenance.git_state(),
                "hardware": provenance.hardware(str(device)),
                "versions": provenance.versions(),
                "command": provenance.command_line(),
                "started_at": started,
                "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            }
            save_preview(run_dir, X_res, y_res, synth, minority, seed=os_seed)
            path = finish_run(run_dir, record)
            summary.records.append(record)
            summary.paths.append(str(path))
            summary.new += 1
            bar.update(1)

    waiting: list[_FoldWork] = []  # folds prepared, to train together
    for fold, dirs, todo in plan:
        for r, d in enumerate(dirs):
            if r not in todo:
                summary.records.append(load_record(d))
                summary.paths.append(str(d / "result.json"))
                summary.resumed += 1
                bar.update(1)
        if not todo:
            continue
        w = prepare(fold, dirs, todo)
        if w is None:
            continue
        if folds_together:
            waiting.append(w)
            continue
        search_weights([w])
        train_repeats([w])
        write_runs(w)
    if waiting:
        search_weights(waiting)
        train_repeats(waiting)
        for w in waiting:
            write_runs(w)
    bar.close()
    summary.wall_s = time.perf_counter() - t_job
    if failures:
        raise TrainingError(f"{len(failures)} run(s) failed and are not marked done (the other {summary.new} new "
                            f"run(s) are written): " + "; ".join(failures))
    return summary


def summary_line(cfg: dict, s: JobSummary) -> str:
    d = job_description(cfg)
    first = s.paths[0] if s.paths else "-"
    more = f" (+{len(s.paths) - 1} more)" if len(s.paths) > 1 else ""
    return (
        f"{d['data']} ir={d['ir']} method={d['method']} classifier={d['classifier']}: "
        f"ACSA {s.mean('acsa'):.4f} GM {s.mean('gm'):.4f} minority recall {s.mean('minority', 'recall'):.4f} "
        f"F1 {s.mean('minority', 'f1'):.4f} | {len(s.records)} runs ({s.new} new, {s.resumed} resumed) "
        f"in {s.wall_s:.1f}s | record: {first}{more}"
    )
