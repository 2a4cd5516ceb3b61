"""The tidy frame of a sweep: one row per finished run, with its setting, block and family.

Rows carry the flattened record (:func:`imbench.tables.collect.record_row`: job fields, metrics,
provenance), the ids of the run's setting / block / family (:mod:`imbench.report.settings`), readable
labels of them, and, as extra columns, the identity keys that tell apart settings which would otherwise
share a displayed name (e.g. ``classifier.schedule.loss`` when a sweep ran two losses).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from imbench.errors import ConfigError
from imbench.report.reading import RunSet
from imbench.report.settings import (
    DEFAULT_BY, JOB_FIELDS, METHOD_PREFIX, block_identity, differing_keys, family_identity, flatten, setting_id,
    setting_identity, shown_name,
)
from imbench.tables.collect import SCALARS, record_row

METRIC_PREFIXES = ("minority.", "majority.", "overall.", "ap_at.", "precision.", "recall.", "f1.", "fid.")


@dataclass
class Setting:
    """One setting of the sweep.

    Attributes
    ----------
    id : str
        :func:`~imbench.report.settings.setting_id` of its identity.
    identity : dict
        :func:`~imbench.report.settings.setting_identity` (without the seed).
    exact : bool
        Whether ``identity`` is the one the runner hashed (then missing runs' ids can be named).
    flat : dict
        ``identity`` flattened to dotted keys.
    block, family : str
        Ids of its block (without the method) and family (without the method and the IR).
    """
    id: str
    identity: dict
    exact: bool
    flat: dict[str, Any]
    block: str
    family: str


@dataclass
class Sweep:
    """The finished runs of a sweep and how to name their settings.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per finished run (see the module docstring).
    settings : dict
        ``{setting id: Setting}``.
    by : list of str
        The keys that name a row (job fields or dotted identity keys).
    setting_keys : list of str
        Columns of ``runs`` added because settings sharing the ``by`` names differ in them.
    """
    runs: pd.DataFrame
    settings: dict[str, Setting]
    by: list[str]
    setting_keys: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> list[str]:
        """Metric columns present in ``runs`` with at least one number."""
        return [c for c in self.runs.columns if is_metric(c) and self.runs[c].notna().any()]

    @property
    def methods(self) -> list[str]:
        return sorted(self.runs["method"].dropna().astype(str).unique())

    @property
    def block_columns(self) -> list[str]:
        """Columns that name a block: the ``by`` keys but the method, then the non-method setting keys."""
        return [k for k in self.by if k != "method"] + [k for k in self.setting_keys
                                                         if not k.startswith(METHOD_PREFIX)]

    @property
    def method_columns(self) -> list[str]:
        """Columns that name a method within a block: ``method``, then its differing keys."""
        return ["method"] + [k for k in self.setting_keys if k.startswith(METHOD_PREFIX)]

    def ordered_blocks(self) -> list[str]:
        """Block ids in display order: by the values of :attr:`block_columns`, numbers numerically."""
        first = self.runs.groupby("block", sort=False).head(1)
        keyed = {row["block"]: tuple(sort_key(row[k]) for k in self.block_columns) for _, row in first.iterrows()}
        return sorted(keyed, key=lambda b: (keyed[b], b))


def sort_key(value: Any) -> tuple:
    """Numbers before text, numbers numerically, missing values last."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (2, "")
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value))
    return (1, str(value))


def is_metric(column: str) -> bool:
    return column in SCALARS or column.startswith(METRIC_PREFIXES)


def _format_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    return str(value)


def _label(pairs: list[tuple[str, Any]]) -> str:
    """``key=value`` pairs joined by spaces, as Hydra overrides are written."""
    return " ".join(f"{k}={_format_value(v)}" for k, v in pairs)


def _run_row(record: dict, setting: Setting) -> dict:
    row = record_row(record)
    row.pop("setting_keys", None)  # the flattened identity (a dict) serves the tables' mixing check only
    hw = record.get("hardware") or {}
    effective = record.get("effective") or {}
    row.update(
        run_id=record.get("run_id"), started_at=record.get("started_at"), finished_at=record.get("finished_at"),
        method_label=(record.get("method") or {}).get("label"), platform=hw.get("platform"),
        torch_threads=hw.get("torch_threads"), imbench_version=(record.get("versions") or {}).get("imbench"),
        planned_folds=effective.get("folds"), planned_repeats=effective.get("repeats"),
        setting=setting.id, block=setting.block, family=setting.family, exact_identity=setting.exact,
    )
    return row


def _by_value(key: str, setting_rows: pd.DataFrame, setting: Setting) -> Any:
    if key in JOB_FIELDS:
        return setting_rows[key].iloc[0]
    return setting.flat.get(key)


def check_by(by: list[str], settings: dict[str, Setting]) -> None:
    """Raise ConfigError for a ``--by`` key that is neither a job field nor a key of any setting."""
    known = set().union(*(s.flat for s in settings.values())) if settings else set()
    unknown = [k for k in by if k not in JOB_FIELDS and k not in known]
    if unknown:
        raise ConfigError(
            f"unknown --by key(s) {', '.join(unknown)}; use job fields ({', '.join(JOB_FIELDS)}) or dotted "
            f"config keys of the runs, e.g. {', '.join(sorted(k for k in known if '.' in k)[:4])}")
    if "method" not in by:
        raise ConfigError("--by must include 'method' (the methods are what the report compares)")


def _name_settings(runs: pd.DataFrame, settings: dict[str, Setting], by: list[str]) -> list[str]:
    """The identity keys that tell apart settings, blocks and methods sharing their displayed names."""
    first = runs.groupby("setting", sort=False).head(1).set_index("setting")
    shown = {sid: tuple(repr(_by_value(k, first.loc[[sid]], s)) for k in by) for sid, s in settings.items()}
    keys: set[str] = set()

    def collect(groups: dict[Any, list[dict]]) -> None:
        for members in groups.values():
            if len(members) > 1:
                keys.update(differing_keys(members))

    by_name: dict[Any, list[dict]] = {}
    by_block_name: dict[Any, dict[str, dict]] = {}
    by_block_method: dict[Any, list[dict]] = {}
    block_pos = [i for i, k in enumerate(by) if k != "method"]
    for sid, s in settings.items():
        by_name.setdefault(shown[sid], []).append(s.flat)
        block_name = tuple(shown[sid][i] for i in block_pos)
        by_block_name.setdefault(block_name, {})[s.block] = flatten(block_identity(s.identity))
        by_block_method.setdefault((s.block, str(first.loc[sid, "method"])), []).append(s.flat)
    collect(by_name)
    collect({name: list(blocks.values()) for name, blocks in by_block_name.items()})
    collect(by_block_method)
    return sorted(k for k in keys if shown_name(k) not in by)


def build_sweep(runset: RunSet, by: list[str] | None = None) -> Sweep:
    """The tidy frame of the finished records in ``runset``.

    Parameters
    ----------
    runset : RunSet
        What :func:`imbench.report.reading.read_runs` found.
    by : list of str, optional
        Keys naming a row (default :data:`~imbench.report.settings.DEFAULT_BY`).

    Returns
    -------
    Sweep
        ``runs`` has a row per record, in the records' order.
    """
    by = list(by or DEFAULT_BY)
    settings: dict[str, Setting] = {}
    rows = []
    for record in runset.records:
        found = setting_identity(record)
        identity = found.identity
        sid = setting_id(identity)
        if sid not in settings:
            settings[sid] = Setting(sid, identity, found.exact, flatten(identity),
                                    setting_id(block_identity(identity)), setting_id(family_identity(identity)))
        rows.append(_run_row(record, settings[sid]))
    runs = pd.DataFrame(rows)
    check_by(by, settings)
    if runs.empty:
        return Sweep(runs, settings, by)
    setting_keys = _name_settings(runs, settings, by)
    for key in [*setting_keys, *by]:
        if key not in runs.columns:  # "ir" is a job field and an identity key: the job's column holds it
            runs[key] = runs["setting"].map(lambda sid, k=key: settings[sid].flat.get(k))
    _add_labels(runs, by, setting_keys)
    return Sweep(runs, settings, by, setting_keys)


def _add_labels(runs: pd.DataFrame, by: list[str], setting_keys: list[str]) -> None:
    """``variant`` (method + its differing method keys), ``block_label`` and ``family_label`` columns."""
    method_keys = [k for k in setting_keys if k.startswith(METHOD_PREFIX)]
    block_keys = [k for k in by if k != "method"] + [k for k in setting_keys if not k.startswith(METHOD_PREFIX)]

    def variant(row: pd.Series) -> str:
        extra = _label([(k, row[k]) for k in method_keys])
        return f"{row['method']} ({extra})" if extra else str(row["method"])

    runs["variant"] = runs.apply(variant, axis=1)
    runs["block_label"] = runs.apply(lambda r: _label([(k, r[k]) for k in block_keys]), axis=1)
    runs["family_label"] = runs.apply(lambda r: _label([(k, r[k]) for k in block_keys if k != "ir"]), axis=1)
