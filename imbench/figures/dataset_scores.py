"""The data set × method score matrix behind EGL's Fig. 3 and the critical-difference diagram.

EGL's Tables 2 and 3 split the methods over two experiments (``egl_2``, ``egl_3``) that both run EGL. The
matrix joins them: each method's runs come from the first experiment, in the order given, that has runs of
it (so EGL's from ``egl_2`` when both are listed), a cell is the mean of the metric over that method's
runs on the data set (the splits), and only data sets where every kept method has a value stay.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from imbench.tables.collect import collect_records, records_frame
from imbench.tables.layouts import EGL_DATASETS


@dataclass
class DatasetScores:
    """Data sets (rows) × methods (columns) of mean scores, with what it used and left out.

    Attributes
    ----------
    scores : pandas.DataFrame
        Complete matrix (no NaN), rows in EGL's table order (others sorted after), columns in the requested method order.
    source : dict
        Method -> the experiment its runs came from.
    runs : dict
        Method -> number of runs used (over the kept data sets).
    records : list of dict
        The records used (for provenance).
    notes : list of str
        Methods without runs and data sets left out, in words.
    """
    scores: pd.DataFrame
    source: dict[str, str]
    runs: dict[str, int]
    records: list[dict]
    notes: list[str] = field(default_factory=list)


def ordered_datasets(names: Iterable[str]) -> list[str]:
    """Distinct data set names: EGL's table order first, then the others sorted."""
    seen = {str(n) for n in names}
    return [d for d in EGL_DATASETS if d in seen] + sorted(seen - set(EGL_DATASETS))


def dataset_scores(out_dir: str | os.PathLike, experiments: list[str], methods: list[str], profile: str,
                   metric: str = "auc_pr") -> DatasetScores:
    """Build the matrix from the finished runs of ``experiments`` under ``out_dir`` (see the module docstring).

    Parameters
    ----------
    out_dir : path
        Where the runs' records are.
    experiments : list of str
        Experiment names, in order of preference for a method that several of them ran.
    methods : list of str
        Methods (columns), in order; ones without runs are dropped with a note.
    profile : str
        Only runs made with this profile.
    metric : str
        A scalar metric column of :func:`imbench.tables.collect.records_frame` (default AUC-PR).
    """
    notes: list[str] = []
    by_experiment = {e: collect_records(out_dir, [e], profile) for e in experiments}
    source, parts, used = {}, [], []
    for m in methods:
        for e in experiments:
            mine = [r for r in by_experiment[e] if r["job"]["method"] == m]
            if mine:
                source[m] = e
                used += mine
                frame = records_frame(mine)
                parts.append(frame.assign(method=m))
                break
        else:
            notes.append(f"{m}: no finished runs in {', '.join(experiments)} (profile {profile})")
    if not parts:
        return DatasetScores(pd.DataFrame(), {}, {}, [], notes)
    runs = pd.concat(parts, ignore_index=True)
    if metric not in runs.columns:
        from imbench.errors import ConfigError
        from imbench.tables.collect import SCALARS

        raise ConfigError(f"unknown metric {metric!r} for a data set board; use a scalar metric: {', '.join(SCALARS)}")
    runs[metric] = pd.to_numeric(runs[metric], errors="coerce")
    order = ordered_datasets(runs["data"])
    means = runs.pivot_table(index="data", columns="method", values=metric, aggfunc="mean").reindex(order)
    means = means[[m for m in methods if m in source]]
    incomplete = means.index[means.isna().any(axis=1)].tolist()
    if incomplete:
        notes.append("left out (some method has no runs there): " + ", ".join(
            f"{d} (missing {', '.join(means.columns[means.loc[d].isna()])})" for d in incomplete))
    scores = means.dropna()
    kept = runs[runs["data"].isin(scores.index)]
    counts = {m: int((kept["method"] == m).sum()) for m in scores.columns}
    kept_paths = set(kept["path"])
    records = [r for r in used if r.get("_path") in kept_paths]
    scores.columns.name, scores.index.name = None, "data"
    return DatasetScores(scores, source, counts, records, notes)


@dataclass
class Board:
    """What a data set board figure draws.

    Attributes
    ----------
    data : DatasetScores
        The score matrix and what it used.
    labels : dict
        Method -> the label the tables give it.
    provenance : list of str
        Lines naming the command, the runs' commits and hardware, and the runs per method.
    """
    data: DatasetScores
    labels: dict[str, str]
    provenance: list[str]


def board_parser(prog: str, description: str):
    """The command line shared by the data set board figures."""
    import argparse

    from imbench.methods.registry import config_dir

    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("experiments", nargs="+", help="experiments whose runs to join, in order of preference "
                                                  "(e.g. egl_2 egl_3)")
    p.add_argument("--methods", default=None,
                   help="comma-separated methods; default: the table rows of the experiments, in order")
    p.add_argument("--metric", default="auc_pr")
    p.add_argument("--profile", default="quick")
    p.add_argument("--out-dir", default="outputs")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--conf-dir", default=str(config_dir()))
    return p


def load_board(args, prog: str) -> Board:
    """Scores, labels and provenance for parsed :func:`board_parser` arguments.

    Raises
    ------
    imbench.errors.ConfigError
        An unknown experiment (naming the available ones).
    """
    from imbench.errors import ConfigError
    from imbench.tables.collect import UnknownExperiment, available_experiments, load_table_spec
    from imbench.tables.model import row_label

    specs = {}
    for e in args.experiments:
        try:
            specs[e] = load_table_spec(args.conf_dir, e)
        except UnknownExperiment as err:
            raise ConfigError(f"{err}. Available experiments: {', '.join(available_experiments(args.conf_dir))}")
    if args.methods:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    else:
        methods = list(dict.fromkeys(m for spec in specs.values() for m in spec.get("rows", [])))
    labels = {}
    for m in methods:
        spec = next((s for s in specs.values() if m in s.get("rows", [])), {})
        labels[m] = row_label(m, spec) if spec else m
    from imbench.report.summary import lower_is_better

    if lower_is_better(args.metric):
        raise ConfigError(f"--metric {args.metric} is lower-is-better; the board ranks and profiles scores where "
                          "higher is better")
    data = dataset_scores(args.out_dir, list(args.experiments), methods, args.profile, args.metric)
    commits = sorted({str((r.get("git") or {}).get("commit")) for r in data.records})
    hardware = sorted({f"{(r.get('hardware') or {}).get('host')} ({(r.get('hardware') or {}).get('gpu') or 'cpu'})"
                       for r in data.records})
    made_by = (f"python -m {prog} {' '.join(args.experiments)} --profile {args.profile} --metric {args.metric}"
               + (f" --methods {args.methods}" if args.methods else "")
               + ("" if args.out_dir == "outputs" else f" --out-dir {args.out_dir}"))
    provenance = [f"Made by: {made_by}", f"Git commit(s) of the runs: {', '.join(commits) or '-'}",
                  f"Hardware: {'; '.join(hardware) or '-'}",
                  "Runs per method: " + ", ".join(f"{labels[m]} {n} (from {data.source[m]})"
                                                  for m, n in data.runs.items())]
    return Board(data, labels, provenance)
