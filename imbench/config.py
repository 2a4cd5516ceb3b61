"""Checks on a composed config and the profile's caps, applied before any data is touched."""
from __future__ import annotations

import copy
import difflib
import math
import re
from typing import Any

from imbench.data.skew import SkewSpec
from imbench.claims import ClaimSettings
from imbench.divergence import DivergenceSettings
from imbench.precision import PrecisionPolicy
from imbench.errors import ConfigError
from imbench.devices import DEVICE_PATTERN
from imbench.methods.registry import DESCRIPTIVE_KEYS, method_class

# Keys that change where or how fast a run executes, not what it computes.
# ``fid`` adds a measurement of the synthetic samples without changing the classifier's result.
# ``batch_runs`` changes how models are trained (several at once), not what: a run's result agrees with
# sequential training to rounding when the classifier has no dropout; with dropout the masks are other
# (equally random) draws, so a run is reproducible bit for bit only with the same batch_runs and group.
NON_IDENTITY_KEYS = ("out_dir", "device", "progress", "rerun", "keep_going", "profile", "repeats", "hydra", "table",
                     "fid", "batch_runs", "divergence", "claims", "amp")
# Every top-level key a composed config may have (config.yaml, its groups, an experiment's table).
KNOWN_KEYS = ("data", "skew", "method", "classifier", "protocol", "profile", "experiment", "ir", "seed", "folds",
              "repeats", "device", "out_dir", "experiment_name", "synthetic_amount", "rerun", "keep_going",
              "progress", "batch_runs", "fid", "divergence", "claims", "amp", "table", "hydra")


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _unknown_keys(cfg: dict) -> None:
    unknown = [k for k in cfg if k not in KNOWN_KEYS]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, KNOWN_KEYS, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"unknown config key(s) {', '.join(hints)}; a key added with '+' must be one imbench "
                          f"reads. Known top-level keys: {', '.join(k for k in KNOWN_KEYS if k != 'hydra')}")


def validate_schedule(clf: dict) -> None:
    """The classifier's training schedule, checked before any data is touched."""
    sched = clf.get("schedule")
    if sched is None:
        return
    _need(isinstance(sched, dict), f"classifier.schedule must be a mapping, got {sched!r}")
    from imbench.classifiers.train import Schedule

    unknown = set(sched) - set(Schedule.__dataclass_fields__)
    _need(not unknown, f"classifier.schedule has unknown key(s) {sorted(unknown)}; known: "
                       f"{', '.join(Schedule.__dataclass_fields__)}")
    Schedule(**sched)  # its own checks (types, ranges, names)


def validate(cfg: dict) -> None:
    """Raise :class:`ConfigError` naming the key, the bad value and the valid choices."""
    for key in ("data", "method", "classifier", "protocol", "skew", "profile", "seed", "folds", "repeats", "device"):
        _need(key in cfg, f"config is missing the key {key!r}")
    _unknown_keys(cfg)
    for key in ("rerun", "keep_going", "progress"):
        value = cfg.get(key, False)
        _need(isinstance(value, bool), f"{key} must be true or false, got {value!r}")
    out_dir = cfg.get("out_dir")
    _need(isinstance(out_dir, str) and out_dir.strip() != "",
          f"out_dir must name a directory for the run records, got {out_dir!r}; e.g. out_dir=outputs")
    name = cfg.get("experiment_name")
    _need(name is None or isinstance(name, str), f"experiment_name must be a name or null, got {name!r}")
    DivergenceSettings.from_config(cfg.get("divergence"))
    PrecisionPolicy.from_config(cfg.get("amp"))
    ClaimSettings.from_config(cfg.get("claims"))
    _need(isinstance(cfg["classifier"], dict), f"classifier must be a config group, got {cfg['classifier']!r}")
    validate_schedule(cfg["classifier"])
    _need(_is_int(cfg["seed"]) and cfg["seed"] >= 0, f"seed must be a non-negative integer, got {cfg['seed']!r}")
    _need(_is_int(cfg["folds"]) and cfg["folds"] >= 1, f"folds must be an integer >= 1, got {cfg['folds']!r}")
    _need(_is_int(cfg["repeats"]) and cfg["repeats"] >= 1, f"repeats must be an integer >= 1, got {cfg['repeats']!r}")
    ir = cfg.get("ir")
    _need(ir is None or (isinstance(ir, (int, float)) and not isinstance(ir, bool) and math.isfinite(ir) and ir >= 1),
          f"ir must be a number >= 1, got {ir!r}")
    br = cfg.get("batch_runs", "auto")
    _need(br in (True, False, "auto"), f"batch_runs must be auto, true or false, got {br!r}")
    dev = str(cfg["device"])
    _need(bool(re.fullmatch(DEVICE_PATTERN, dev)), f"device must be auto, cpu, cuda or cuda:N, got {dev!r}")
    method_class(cfg["method"])  # names a Method subclass
    skew_spec(cfg)  # validates the scheme and its parameters


def skew_spec(cfg: dict) -> SkewSpec:
    s = dict(cfg["skew"])
    scheme = s.pop("scheme", "none")
    return SkewSpec(
        scheme=scheme,
        ir=cfg.get("ir") if scheme in ("step", "exp", "counts") else None,
        minority=s.pop("minority", None),
        n_max=s.pop("n_max", None),
        counts=s.pop("counts", None),
        order=s.pop("order", None),
        replace=bool(s.pop("replace", False)),
        extra={k: v for k, v in s.items() if k != "name"},
    )


def _cap(value: Any, cap: Any) -> Any:
    return value if cap is None or value is None else min(value, cap)


def classifier_class(clf_cfg: dict) -> type:
    from hydra.utils import get_object

    try:
        return get_object(clf_cfg["_target_"])
    except Exception as e:
        raise ConfigError(f"classifier {clf_cfg.get('name')!r}: _target_ {clf_cfg.get('_target_')!r} cannot be "
                          f"imported: {e}") from e


def apply_profile(cfg: dict) -> dict:
    """The config as it will run: the profile's caps on folds and repeats, and on the parameters that the
    method's and the classifier's classes declare (``capped_config``); FID's image count."""
    out = copy.deepcopy(cfg)
    prof = cfg["profile"]
    out["folds"] = _cap(cfg["folds"], prof.get("max_folds"))
    out["repeats"] = _cap(cfg["repeats"], prof.get("max_repeats"))
    out["method"] = method_class(out["method"]).capped_config(out["method"], prof)
    clf_cls = classifier_class(out["classifier"])
    if hasattr(clf_cls, "capped_config"):
        out["classifier"] = clf_cls.capped_config(out["classifier"], prof)
    if "fid" in out and prof.get("fid_max_per_class") is not None:
        current = out["fid"].get("max_per_class")
        out["fid"] = {**out["fid"], "max_per_class": prof["fid_max_per_class"] if current is None
                      else min(current, prof["fid_max_per_class"])}
    return out


def identity(cfg: dict) -> dict:
    """What defines a run's result: the effective config minus where/how it executes and the method's
    label and reference (and minus the configured classifier when the method trains its own)."""
    ident = {k: copy.deepcopy(v) for k, v in cfg.items() if k not in NON_IDENTITY_KEYS}
    ident["data"] = {k: v for k, v in cfg["data"].items() if k != "root"}
    ident["method"] = {k: v for k, v in ident["method"].items() if k not in DESCRIPTIVE_KEYS}
    if method_class(cfg["method"]).own_classifier(cfg["method"]) is not None:
        ident.pop("classifier")  # the method trains its own; the configured one plays no part
    if cfg["protocol"]["name"] == "holdout":
        ident.pop("folds", None)  # holdout folds are independent draws: fold f is the same for any count
    return ident


RESAMPLE_TARGET = "imbench.methods.resample.Resample"


def legacy_identity(ident: dict) -> dict | None:
    """The identity the same run had before the method protocol (imbench before 0.2), or None for a
    method that did not exist then. Then a resampling method's config was ``{name, kind: sampler,
    sampler}``, EGL's amount sat in ``method.sampler.sampling_strategy``, and an architecture was named
    by ``arch.name`` instead of a builder's ``_target_``. The runner uses it to find records written
    before and move them to their new run id (:func:`imbench.records.adopt_legacy_run`)."""
    method = ident.get("method", {})
    arch = ident.get("classifier", {}).get("arch", {})
    if method.get("_target_") != RESAMPLE_TARGET or not str(arch.get("_target_", "")).startswith(
            "imbench.classifiers.models.") or "head" in arch:
        return None
    old = copy.deepcopy(ident)
    sampler = copy.deepcopy(method["sampler"])
    amount = old.pop("synthetic_amount", None)
    if amount is not None:
        sampler["sampling_strategy"] = amount
    old["method"] = {"name": method["name"], "kind": "sampler", "sampler": sampler}
    old_arch = {k: v for k, v in arch.items() if k != "_target_"}
    old_arch["name"] = arch["_target_"].rsplit(".", 1)[1]
    old["classifier"]["arch"] = old_arch
    return old
