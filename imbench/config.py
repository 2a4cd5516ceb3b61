"""Checks on a composed config and the profile's caps, applied before any data is touched."""
from __future__ import annotations

import copy
import re
from typing import Any

from imbench.data.skew import SkewSpec
from imbench.errors import ConfigError
from imbench.methods.registry import METHODS

# Keys that change where or how fast a run executes, not what it computes.
# ``fid`` adds a measurement of the synthetic samples without changing the classifier's result.
# ``batch_runs`` changes how models are trained (several at once), not what: a run's result agrees with
# sequential training to rounding when the classifier has no dropout; with dropout the masks are other
# (equally random) draws, so a run is reproducible bit for bit only with the same batch_runs and group.
NON_IDENTITY_KEYS = ("out_dir", "device", "progress", "rerun", "profile", "repeats", "hydra", "table", "fid",
                     "batch_runs")


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def validate(cfg: dict) -> None:
    """Raise :class:`ConfigError` naming the key, the bad value and the valid choices."""
    for key in ("data", "method", "classifier", "protocol", "skew", "profile", "seed", "folds", "repeats", "device"):
        _need(key in cfg, f"config is missing the key {key!r}")
    _need(isinstance(cfg["seed"], int) and cfg["seed"] >= 0, f"seed must be a non-negative integer, got {cfg['seed']!r}")
    _need(isinstance(cfg["folds"], int) and cfg["folds"] >= 1, f"folds must be an integer >= 1, got {cfg['folds']!r}")
    _need(isinstance(cfg["repeats"], int) and cfg["repeats"] >= 1, f"repeats must be an integer >= 1, got {cfg['repeats']!r}")
    ir = cfg.get("ir")
    _need(ir is None or (isinstance(ir, (int, float)) and ir >= 1), f"ir must be a number >= 1, got {ir!r}")
    br = cfg.get("batch_runs", "auto")
    _need(br in (True, False, "auto"), f"batch_runs must be auto, true or false, got {br!r}")
    dev = str(cfg["device"])
    _need(bool(re.fullmatch(r"auto|cpu|cuda(:\d+)?", dev)), f"device must be auto, cpu, cuda or cuda:N, got {dev!r}")
    name = cfg["method"].get("name")
    _need(name in METHODS, f"unknown method {name!r}; valid methods: {', '.join(sorted(METHODS))}")
    _need(cfg["method"].get("kind") == METHODS[name].kind,
          f"method {name!r} must have kind {METHODS[name].kind!r} in conf/method/{name}.yaml")
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


def apply_profile(cfg: dict) -> dict:
    """The config as it will run: the profile's caps on folds, repeats, epochs and steps applied."""
    out = copy.deepcopy(cfg)
    prof = cfg["profile"]
    out["folds"] = _cap(cfg["folds"], prof.get("max_folds"))
    out["repeats"] = _cap(cfg["repeats"], prof.get("max_repeats"))
    sched = out["classifier"].get("schedule", {})
    if "epochs" in sched:
        sched["epochs"] = _cap(sched["epochs"], prof.get("max_epochs"))
    if sched.get("steps") is not None:
        sched["steps"] = _cap(sched["steps"], prof.get("max_steps"))
    if not prof.get("weight_search", True):
        out["classifier"]["weight_grid"] = None
    sampler = out["method"].get("sampler") or {}
    for key, cap in (("epochs", "max_generator_epochs"), ("ae_epochs", "max_generator_epochs"),
                     ("mlp_epochs", "max_epochs"), ("max_batches_per_epoch", "max_generator_batches")):
        if isinstance(sampler.get(key), int) or (key == "max_batches_per_epoch" and key in sampler):
            sampler[key] = _cap(sampler[key], prof.get(cap)) if sampler[key] is not None else prof.get(cap)
    if "fid" in out and prof.get("fid_max_per_class") is not None:
        current = out["fid"].get("max_per_class")
        out["fid"] = {**out["fid"], "max_per_class": prof["fid_max_per_class"] if current is None
                      else min(current, prof["fid_max_per_class"])}
    return out


def identity(cfg: dict) -> dict:
    """What defines a run's result: the effective config minus where/how it executes."""
    ident = {k: copy.deepcopy(v) for k, v in cfg.items() if k not in NON_IDENTITY_KEYS}
    ident["data"] = {k: v for k, v in cfg["data"].items() if k != "root"}
    if cfg["protocol"]["name"] == "holdout":
        ident.pop("folds", None)  # holdout folds are independent draws: fold f is the same for any count
    return ident
