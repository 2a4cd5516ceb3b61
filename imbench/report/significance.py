"""Significance: each method against the reference within a block, and all methods over the blocks.

Paired tests
    Within a block (data × IR × classifier × every other setting), each method's runs are paired with the
    reference's on the same (seed, fold) — repeats of a fold averaged, since they share the fold's data —
    and compared with a paired t-test and a Wilcoxon signed-rank test
    (:func:`imbench.tables.stats.paired_tests`). Holm's correction runs over all comparisons of one
    metric and one test (every method × block of the report). Units only one side has are not used and
    are counted.

Over blocks
    Each block counts as one data set: a method's score there is its mean over the (seed, fold) units
    every compared method has. Friedman's test with the Iman–Davenport F
    (:func:`imbench.tables.stats.friedman_iman_davenport`) over the methods present in every block, then
    the Nemenyi post-hoc test: two methods differ when their mean ranks differ by more than the critical
    difference (:func:`imbench.tables.stats.nemenyi_critical_difference`). Needs ≥ 3 blocks and ≥ 3
    methods. Blocks of one data set at several IRs are not independent data sets; the test treats them
    as such.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from imbench.report.frame import Sweep
from imbench.report.summary import lower_is_better
from imbench.tables.stats import (
    Friedman, friedman_iman_davenport, holm, mean_ranks, nemenyi_critical_difference, paired_tests, per_unit,
)

UNIT_KEYS = ["seed", "fold"]
MIN_BLOCKS = 3
MIN_METHODS = 3


@dataclass
class PairedResults:
    """The paired comparisons: one row per metric × block × method, and notes on what was not compared.

    ``table`` columns: ``metric``, ``block``, ``method``, ``reference``, ``pairs``, ``unpaired`` (units
    only one side has), ``reference mean`` and ``method mean`` (over the pairs), ``difference`` (method -
    reference), ``t``, ``p t``, ``p t Holm``, ``W``, ``p W``, ``p W Holm``.
    """
    table: pd.DataFrame
    alpha: float
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RankDifference:
    """Two methods whose mean ranks differ by more than the critical difference (``better`` ranks lower)."""
    better: str
    worse: str
    gap: float


@dataclass
class RankTest:
    """Friedman / Iman–Davenport and Nemenyi over the blocks, for one metric.

    Attributes
    ----------
    metric : str
    scores : pandas.DataFrame
        Blocks (rows, by label) × methods: the mean over the units all methods share.
    mean_ranks : pandas.Series
        Mean rank per method (1 = best), ascending.
    friedman : Friedman
    critical_difference : float
        Nemenyi's CD at ``alpha``.
    alpha : float
    differences : list of RankDifference
        The pairs whose mean ranks differ by more than the CD.
    """
    metric: str
    scores: pd.DataFrame
    mean_ranks: pd.Series
    friedman: Friedman
    critical_difference: float
    alpha: float
    differences: list[RankDifference]


@dataclass
class RankOutcome:
    """The rank test of one metric, or None with the reason, and what was left out."""
    metric: str
    test: RankTest | None
    notes: list[str] = field(default_factory=list)


def _reference_variant(block: pd.DataFrame, reference: str, notes: list[str]) -> str | None:
    variants = sorted(block.loc[block["method"] == reference, "variant"].unique())
    if not variants:
        notes.append(f"{block['block_label'].iloc[0]}: no run of the reference {reference}; its methods are "
                     "not compared")
        return None
    if len(variants) > 1:
        notes.append(f"{block['block_label'].iloc[0]}: several settings of the reference ({', '.join(variants)}); "
                     f"compared with {variants[0]}")
    return variants[0]


def paired_comparisons(sweep: Sweep, metrics: list[str], reference: str, alpha: float = 0.05) -> PairedResults:
    """Every method against ``reference`` in every block, for every metric (see the module docstring).

    Parameters
    ----------
    sweep : Sweep
        The finished runs.
    metrics : list of str
        Metric columns.
    reference : str
        The reference method's name.
    alpha : float
        Level used to mark significance after Holm.

    Returns
    -------
    PairedResults
    """
    notes: list[str] = []
    rows = []
    groups = dict(list(sweep.runs.groupby("block", sort=False)))
    blocks = [(bid, groups[bid]) for bid in sweep.ordered_blocks()]
    references = {bid: _reference_variant(block, reference, notes) for bid, block in blocks}
    for metric in metrics:
        for bid, block in blocks:
            ref_variant = references[bid]
            if ref_variant is None:
                continue
            ref_units = per_unit(block[block["variant"] == ref_variant], metric, UNIT_KEYS)
            for variant, runs in block.groupby("variant", sort=True):
                if variant == ref_variant:
                    continue
                units = per_unit(runs, metric, UNIT_KEYS)
                shared = ref_units.index.intersection(units.index)
                tests = paired_tests(ref_units, units)
                rows.append({
                    "metric": metric, "block": block["block_label"].iloc[0], "method": variant,
                    "reference": ref_variant, "pairs": tests.pairs,
                    "unpaired": len(ref_units.index.union(units.index)) - len(shared),
                    "reference mean": float(ref_units.loc[shared].mean()) if len(shared) else math.nan,
                    "method mean": float(units.loc[shared].mean()) if len(shared) else math.nan,
                    "difference": tests.mean_difference, "t": tests.t, "p t": tests.t_p, "W": tests.w,
                    "p W": tests.w_p,
                })
    table = pd.DataFrame(rows, columns=["metric", "block", "method", "reference", "pairs", "unpaired",
                                        "reference mean", "method mean", "difference", "t", "p t", "W", "p W"])
    for test in ("t", "W"):
        adjusted = pd.Series(np.nan, index=table.index)
        for _, idx in table.groupby("metric", sort=False).groups.items():
            adjusted.loc[idx] = holm(table.loc[idx, f"p {test}"].to_numpy(float))
        table.insert(table.columns.get_loc(f"p {test}") + 1, f"p {test} Holm", adjusted)
    small = sorted({int(p) for p in table["pairs"] if 2 <= p and 2.0 / 2 ** p > alpha})
    if small:
        notes.append(f"with {max(small)} or fewer pairs the exact two-sided Wilcoxon p-value is at least 2 / 2^pairs "
                     f"({2.0 / 2 ** max(small):.4g} for {max(small)} pairs), so it cannot reach α = {alpha}")
    if (table["unpaired"] > 0).any():
        notes.append("some comparisons leave units unpaired (a side lacks those folds/seeds); see 'unpaired'")
    return PairedResults(table=table, alpha=alpha, notes=notes)


def _block_scores(sweep: Sweep, metric: str, notes: list[str]) -> pd.DataFrame:
    """Blocks × methods present in every block: the mean over the units all those methods share."""
    runs = sweep.runs
    groups = dict(list(runs.groupby("block", sort=False)))
    ordered = [(groups[b]["block_label"].iloc[0], groups[b]) for b in sweep.ordered_blocks()]
    per_block = {label: set(block["variant"]) for label, block in ordered}
    common = set.intersection(*per_block.values()) if per_block else set()
    left_out = sorted(set().union(*per_block.values()) - common)
    if left_out:
        notes.append(f"left out (not in every block): {', '.join(left_out)}")
    methods = sorted(common)
    scores = {}
    for label, block in ordered:
        units = {m: per_unit(block[block["variant"] == m], metric, UNIT_KEYS) for m in methods}
        shared = None
        for series in units.values():
            shared = series.index if shared is None else shared.intersection(series.index)
        if shared is None or len(shared) == 0:
            notes.append(f"{label}: left out (no fold/seed that every method has)")
            continue
        scores[label] = {m: float(units[m].loc[shared].mean()) for m in methods}
    return pd.DataFrame.from_dict(scores, orient="index", columns=methods)


def rank_test(sweep: Sweep, metric: str, alpha: float = 0.05) -> RankOutcome:
    """Friedman / Iman–Davenport and Nemenyi over the blocks for ``metric`` (see the module docstring).

    Parameters
    ----------
    sweep : Sweep
        The finished runs.
    metric : str
        A metric column.
    alpha : float
        Level of the critical difference.

    Returns
    -------
    RankOutcome
        ``test`` is None (with the reason in ``notes``) with fewer than 3 blocks or methods.
    """
    notes: list[str] = []
    scores = _block_scores(sweep, metric, notes).dropna()
    n, k = scores.shape
    if n < MIN_BLOCKS or k < MIN_METHODS:
        notes.append(f"needs ≥ {MIN_BLOCKS} blocks (data × IR × classifier settings) and ≥ {MIN_METHODS} methods "
                     f"in every block; found {n} block(s) and {k} method(s)")
        return RankOutcome(metric, None, notes)
    return RankOutcome(metric, rank_test_of_scores(scores, metric, alpha), notes)


def rank_test_of_scores(scores: pd.DataFrame, metric: str, alpha: float = 0.05) -> RankTest:
    """Friedman / Iman–Davenport and Nemenyi on a complete score matrix.

    Parameters
    ----------
    scores : pandas.DataFrame
        Data sets or blocks (rows) × methods (columns), no missing values; at least ``MIN_BLOCKS`` rows and
        ``MIN_METHODS`` columns (scipy's Friedman test needs 3 methods).
    metric : str
        The metric the scores are (its direction decides which rank is best).
    alpha : float
        Level of the critical difference.

    Returns
    -------
    RankTest
    """
    n, k = scores.shape
    oriented = -scores.to_numpy() if lower_is_better(metric) else scores.to_numpy()
    ranks = pd.Series(mean_ranks(oriented), index=scores.columns).sort_values(kind="stable")
    friedman = friedman_iman_davenport(oriented)
    cd = nemenyi_critical_difference(k, n, alpha)
    names = list(ranks.index)
    differences = [RankDifference(a, b, float(ranks[b] - ranks[a]))
                   for i, a in enumerate(names) for b in names[i + 1:] if ranks[b] - ranks[a] > cd]
    return RankTest(metric, scores, ranks, friedman, cd, alpha, differences)
