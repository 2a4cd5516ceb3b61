"""The summary table: mean ± std and n of the chosen metrics for every setting.

One row per setting, never per displayed name: rows are named by the ``by`` keys plus the identity keys
that tell apart settings sharing them (:attr:`imbench.report.frame.Sweep.setting_keys`). A setting that
lacks runs its block has (:mod:`imbench.report.completeness`) is marked ``†``: its cells are the mean ±
std of the runs it has, its n reads ``n of expected``, and it is never bold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imbench.errors import ConfigError
from imbench.report.completeness import Completeness
from imbench.report.frame import Sweep, sort_key
from imbench.tables.model import Best, Block, Table
from imbench.tables.stats import Cell, cell, fmt_pm

DEFAULT_METRICS = ("acsa", "gm", "minority.recall", "minority.f1", "auc_pr")
INCOMPLETE_MARK = "†"
DIGITS = 3


def lower_is_better(metric: str) -> bool:
    """FID (``fid.<class>``) is a distance; every other metric is a score."""
    return metric.startswith("fid.")


def check_metrics(metrics: list[str], sweep: Sweep) -> None:
    """Raise ConfigError naming the metrics the runs do not have and the ones they have."""
    unknown = [m for m in metrics if m not in sweep.metrics]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; the runs have: {', '.join(sweep.metrics)}")


def check_reference(reference: str, sweep: Sweep) -> None:
    """Raise ConfigError when no run has method ``reference``."""
    if reference not in sweep.methods:
        raise ConfigError(f"unknown --reference method {reference!r}: no finished run has it; the runs' methods "
                          f"are: {', '.join(sweep.methods)}")


@dataclass(frozen=True)
class RowNames:
    """How a summary row is named: the block's keys, then the method, then the method's differing keys."""
    block: list[str]
    method: list[str]

    @property
    def all(self) -> list[str]:
        return self.block + self.method


def row_names(sweep: Sweep) -> RowNames:
    return RowNames(sweep.block_columns, sweep.method_columns)


def summarize(sweep: Sweep, completeness: Completeness, metrics: list[str], reference: str) -> pd.DataFrame:
    """The numbers of the summary table, one row per setting.

    Parameters
    ----------
    sweep : Sweep
        The finished runs.
    completeness : Completeness
        Expected and present runs of each setting.
    metrics : list of str
        Metric columns of ``sweep.runs``.
    reference : str
        The reference method, listed first within each block.

    Returns
    -------
    pandas.DataFrame
        The naming columns (:func:`row_names`), ``n`` (runs), ``n_expected``, ``complete``, ``missing``
        (the replicates it lacks), ``<metric> mean``, ``<metric> std`` (ddof 1, over runs) and
        ``<metric> n`` (runs with a value) for each metric, then provenance: ``setting``, ``block``, ``variant``, ``block_label``, ``commits``,
        ``hosts``, ``first_started``, ``last_finished``, ``run_ids``.
    """
    names = row_names(sweep)
    rows = []
    for sid, runs in sweep.runs.groupby("setting", sort=False):
        first = runs.iloc[0]
        row = {k: first[k] for k in names.all}
        row.update(n=len(runs), n_expected=len(completeness.expected[sid]),
                   complete=completeness.setting_complete(sid), missing=completeness.missing_text(sid))
        for metric in metrics:
            c = cell(runs, metric)
            row[f"{metric} mean"], row[f"{metric} std"], row[f"{metric} n"] = c.mean, c.std, c.n
        row.update(setting=sid, block=first["block"], variant=first["variant"], block_label=first["block_label"],
                   commits=" ".join(sorted({str(c)[:12] for c in runs["commit"]})),
                   hosts=" ".join(sorted({f"{h}/{d}" for h, d in zip(runs["host"], runs["device"])})),
                   first_started=str(runs["started_at"].dropna().min()),
                   last_finished=str(runs["finished_at"].dropna().max()),
                   run_ids=" ".join(sorted(runs["run_id"].astype(str))))
        rows.append(row)
    frame = pd.DataFrame(rows)

    block_rank = {b: i for i, b in enumerate(sweep.ordered_blocks())}

    def order(row: pd.Series) -> tuple:
        method = (row["method"] != reference, str(row["method"]))
        return (block_rank[row["block"]],) + method + tuple(sort_key(row[k]) for k in names.method[1:])

    keys = frame.apply(order, axis=1)
    return frame.loc[sorted(frame.index, key=lambda i: keys[i])].reset_index(drop=True)


def _display(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def summary_table(summary: pd.DataFrame, sweep: Sweep, metrics: list[str]) -> Table:
    """The summary as a :class:`~imbench.tables.model.Table` for the paper tables' Markdown and LaTeX writers.

    Cells read ``mean±std`` (3 decimals), ``†`` when the setting is incomplete; the best complete mean of
    each metric within a block is bold in LaTeX.
    """
    names = row_names(sweep)
    index = pd.MultiIndex.from_frame(summary[names.all].map(_display))
    cells, best = {}, {}
    for metric in metrics:
        texts = []
        for _, row in summary.iterrows():
            text = fmt_pm(_cell_of(row, metric), DIGITS)
            texts.append(f"{text} {INCOMPLETE_MARK}" if text and not row["complete"] else text)
        cells[metric] = texts
        best[metric] = summary[f"{metric} mean"].where(summary["complete"]).to_numpy(dtype=float)
    n_text = [str(r["n"]) if r["complete"] else f"{r['n']} of {r['n_expected']} {INCOMPLETE_MARK}"
              for _, r in summary.iterrows()]
    frame = pd.DataFrame({"n": n_text, **cells}, index=index)
    values = pd.DataFrame({"n": np.nan, **best}, index=index)
    lower = [m for m in metrics if lower_is_better(m)]
    block = Block(heading="", frame=frame, key="summary",
                  best=Best(values=values, meaning="best complete mean of each metric within a block", lower=lower,
                            within=names.block or None))
    footer = ["Cells: mean ± std (ddof 1) over the runs (folds × repeats × seeds) of one setting; n = runs."]
    if not summary["complete"].all():
        footer.append(f"{INCOMPLETE_MARK} incomplete setting: it lacks runs that other methods of its block have; its "
                      "cells are the mean ± std of the runs it has (n of expected), not comparable with complete ones. "
                      "The missing runs are listed in the header and in report.html.")
    return Table(title="Summary", blocks=[block], data=summary, empty={}, cell_counts=list(summary["n"]),
                 footer=footer)


def _cell_of(row: pd.Series, metric: str) -> Cell:
    return Cell(row[f"{metric} mean"], row[f"{metric} std"], int(row[f"{metric} n"]))
