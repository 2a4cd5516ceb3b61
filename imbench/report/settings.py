"""What a run's setting is, and the names that tell settings apart.

A *setting* is a run's identity (:func:`imbench.config.identity`: the effective config that defines its
result) without the seed; its runs are the folds, repeats and seeds of it. A *block* is a setting without
its method (data × IR × classifier × everything else): the methods of a block are compared with each
other. A *family* is a block without its IR: the IRs of a family make the x axis of the IR plots.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Iterable

from imbench.errors import ImbenchError
from imbench.records import run_hash

# job fields (record["job"]) that may name a row; everything else is a dotted key of the identity
JOB_FIELDS = ("data", "ir", "skew", "method", "classifier", "loss", "protocol")
DEFAULT_BY = ("data", "ir", "method", "classifier")
# the job field each dotted identity key duplicates, so it is not shown twice
JOB_FIELD_OF_KEY = {"data.dataset": "data", "ir": "ir", "skew.name": "skew", "method.name": "method",
                    "classifier.name": "classifier", "classifier.schedule.loss": "loss", "protocol.name": "protocol"}
REPLICATE_KEYS = ("seed", "fold", "repeat")
METHOD_PREFIX = "method."
IR_KEY = "ir"


@dataclass(frozen=True)
class SettingIdentity:
    """The identity of a run's setting.

    Attributes
    ----------
    identity : dict
        The effective config that defines the run's result, minus ``seed``.
    exact : bool
        Whether it is the identity the runner hashed: ``run_hash(identity + seed, fold, repeat)`` equals
        the record's ``run_id``. When the record's config cannot be re-applied (a method or classifier
        that no longer imports, a partial config) or the hash differs (written by another version of
        imbench), the identity is the record's config minus the keys that do not define a result (the
        profile kept, since its caps were not applied) together with its job fields: settings the runner
        would treat as one may then be split, never merged.
    """
    identity: dict
    exact: bool


def setting_identity(record: dict) -> SettingIdentity:
    """The identity of the record's setting (its run identity without the seed); see :class:`SettingIdentity`."""
    from imbench.config import NON_IDENTITY_KEYS, apply_profile, identity

    config = record.get("config") or {}
    job = record.get("job") or {}
    try:
        ident = identity(apply_profile(config))
    except (ImbenchError, KeyError, TypeError, ValueError, AttributeError):
        ident = None
    if ident is not None:
        replicate = {"fold": job.get("fold"), "repeat": job.get("repeat")}
        for candidate in (ident, _integer_keys(ident)):
            if run_hash({**candidate, **replicate}) == record.get("run_id"):
                candidate = copy.deepcopy(candidate)
                candidate.pop("seed", None)
                return SettingIdentity(candidate, True)
    fallback = {k: v for k, v in config.items() if k not in NON_IDENTITY_KEYS or k == "profile"}
    fallback.pop("seed", None)
    fallback["job"] = {k: v for k, v in job.items() if k not in (*REPLICATE_KEYS, "minority")}
    return SettingIdentity(fallback, False)


def _integer_keys(obj: Any) -> Any:
    """``obj`` with the keys of every mapping whose keys are all digit strings turned back into integers.

    A config may key a mapping by integers (DGC's ``lr_decay: {30: 0.5, ...}``); the runner hashes it so,
    but the record's JSON stores the keys as text, which sorts and hashes differently."""
    if isinstance(obj, dict):
        keys_are_digits = bool(obj) and all(isinstance(k, str) and k.isdigit() for k in obj)
        return {(int(k) if keys_are_digits else k): _integer_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_integer_keys(v) for v in obj]
    return obj


def run_id_of(identity: dict, seed: Any, fold: Any, repeat: Any) -> str:
    """The run id (directory name) the runner gives the run ``seed, fold, repeat`` of an exact setting."""
    return run_hash({**identity, "seed": seed, "fold": fold, "repeat": repeat})


def setting_id(identity: dict) -> str:
    """A 16-hex-digit name of a setting (or block, or family) identity."""
    return run_hash(identity)


def block_identity(identity: dict) -> dict:
    """The setting without its method (and, in the fallback identity, without the job's method name)."""
    out = {k: v for k, v in identity.items() if k != "method"}
    if "job" in out:
        out["job"] = {k: v for k, v in out["job"].items() if k != "method"}
    return out


def family_identity(identity: dict) -> dict:
    """The block without its IR."""
    out = {k: v for k, v in block_identity(identity).items() if k != IR_KEY}
    if "job" in out:
        out["job"] = {k: v for k, v in out["job"].items() if k != "ir"}
    return out


def _scalar(value: Any) -> Any:
    """Lists and other containers as compact JSON text, so that they compare and print as one value."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return value


def flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys (``classifier.schedule.loss``); lists become JSON text."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = _scalar(value)
    return out


def differing_keys(flat: Iterable[dict[str, Any]]) -> set[str]:
    """Keys whose value is not the same in every dict (a key some dicts lack differs)."""
    flat = list(flat)
    keys = set().union(*flat) if flat else set()
    return {k for k in keys if len({repr(d[k]) if k in d else "<absent>" for d in flat}) > 1}


def shown_name(key: str) -> str:
    """The job field a dotted identity key duplicates (``data.dataset`` -> ``data``), else the key."""
    fallback = key[len("job."):] if key.startswith("job.") else key
    return JOB_FIELD_OF_KEY.get(key, fallback)
