"""Statistics and number formatting used by the table layouts and the sweep report (:mod:`imbench.report`)."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from imbench.tables.mixing import check_cell


@dataclass(frozen=True)
class Cell:
    """Mean, sample standard deviation (ddof=1; NaN for one run) and number of runs of one table cell."""
    mean: float
    std: float
    n: int

    @property
    def empty(self) -> bool:
        return self.n == 0


def cell(frame: pd.DataFrame, column: str) -> Cell:
    """Aggregate one metric column of the runs in ``frame``; missing values are ignored."""
    if column not in frame.columns:
        return Cell(math.nan, math.nan, 0)
    check_cell(frame, column)
    values = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return Cell(math.nan, math.nan, 0)
    std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    return Cell(float(np.mean(values)), std, len(values))


def fmt(x: float | None, digits: int, strip_zero: bool = False) -> str:
    """Fixed-point number; '' for missing; ``strip_zero`` writes .829 like IMSIC."""
    if x is None or not np.isfinite(x):
        return ""
    s = f"{x:.{digits}f}"
    if strip_zero:
        if s.startswith("0."):
            s = s[1:]
        elif s.startswith("-0."):
            s = "-" + s[2:]
    return s


def fmt_pm(c: Cell, digits: int, sep: str = "±", strip_zero: bool = False) -> str:
    """'mean<sep>std'; only the mean when there is one run; '' when there is none."""
    if c.empty:
        return ""
    if not np.isfinite(c.std):
        return fmt(c.mean, digits, strip_zero)
    return f"{fmt(c.mean, digits, strip_zero)}{sep}{fmt(c.std, digits, strip_zero)}"


def per_fold(frame: pd.DataFrame, column: str) -> pd.Series:
    """Mean of ``column`` per ``fold`` (repeats of one fold averaged), indexed by fold."""
    if column not in frame.columns or frame.empty:
        return pd.Series(dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce")
    return values.groupby(frame["fold"].to_numpy()).mean().dropna()


def paired_ttest(reference: pd.Series, other: pd.Series) -> tuple[float, float, int]:
    """Two-sided paired t-test over the folds both have: (p, mean difference reference - other, pairs)."""
    folds = reference.index.intersection(other.index)
    if len(folds) < 2:
        return math.nan, math.nan, len(folds)
    a, b = reference.loc[folds].to_numpy(float), other.loc[folds].to_numpy(float)
    diff = float(np.mean(a - b))
    if np.allclose(a - b, (a - b)[0]):
        # Constant differences: the t statistic is infinite (or undefined if they are all zero).
        return (0.0 if diff != 0 else 1.0), diff, len(folds)
    return float(stats.ttest_rel(a, b).pvalue), diff, len(folds)


def mean_ranks(scores: np.ndarray) -> np.ndarray:
    """Mean rank of each method over the data sets.

    Parameters
    ----------
    scores : numpy.ndarray
        Data sets x methods; higher is better.

    Returns
    -------
    numpy.ndarray
        One mean rank per method (column): 1 = highest score, ties get the average of their ranks
        (``scipy.stats.rankdata(method="average")`` on each data set).
    """
    ranks = stats.rankdata(-tie_safe(scores), method="average", axis=1)
    return ranks.mean(axis=0)


# Scores equal but for float rounding (the same runs averaged in another order) must tie in a rank test.
TIE_TOLERANCE = 1e-12


def tie_safe(scores: np.ndarray) -> np.ndarray:
    """``scores`` as a 2-d float array in which, per row (data set), values within ``TIE_TOLERANCE`` of
    their sorted neighbour are set equal, so that values that differ only by summation order (1e-16)
    tie instead of being ranked by that noise."""
    table = np.atleast_2d(np.asarray(scores, dtype=float)).copy()
    for row in table:
        order = np.argsort(row, kind="stable")
        values = row[order]
        for i in range(1, len(values)):
            if abs(values[i] - values[i - 1]) <= TIE_TOLERANCE:
                values[i] = values[i - 1]
        row[order] = values
    return table


@dataclass(frozen=True)
class Friedman:
    """Friedman test over ``n`` data sets and ``k`` methods, with the Iman–Davenport correction.

    ``chi2`` and ``chi2_p`` are ``scipy.stats.friedmanchisquare``'s (tie-corrected); ``f`` is
    Iman–Davenport's F_F = (n - 1) chi2 / (n (k - 1) - chi2) with ``df1`` and ``df2`` degrees of
    freedom and upper-tail p-value ``p``.
    """

    n: int
    k: int
    chi2: float
    chi2_p: float
    f: float
    df1: int
    df2: int
    p: float


def friedman_iman_davenport(scores: np.ndarray) -> Friedman:
    """Friedman chi2_F (scipy) and the Iman–Davenport F_F computed from it (spec §1.5).

    Parameters
    ----------
    scores : numpy.ndarray
        Data sets x methods (N x k, k >= 3); only the order within each data set matters.

    Returns
    -------
    Friedman
        The statistics. Without ties, ``chi2`` equals Demšar's 12N/(k(k+1)) (sum R_j^2 - k(k+1)^2/4)
        of the mean ranks R_j; with ties scipy divides it by its tie correction.
        When every data set orders the methods the same way, F_F is infinite and p = 0.
    """
    table = tie_safe(scores)
    n, k = table.shape
    result = stats.friedmanchisquare(*table.T)
    chi2 = float(result.statistic)
    df1, df2 = k - 1, (k - 1) * (n - 1)
    denom = n * (k - 1) - chi2
    if denom <= 0:
        return Friedman(n, k, chi2, float(result.pvalue), math.inf, df1, df2, 0.0)
    f = (n - 1) * chi2 / denom
    return Friedman(n, k, chi2, float(result.pvalue), float(f), df1, df2, float(stats.f.sf(f, df1, df2)))


def per_unit(frame: pd.DataFrame, column: str, keys: list[str]) -> pd.Series:
    """Mean of ``column`` per combination of ``keys`` (e.g. seed and fold: repeats averaged), indexed by them.

    :func:`per_fold` is the case ``keys=["fold"]``; rows whose value is missing are dropped.
    """
    if column not in frame.columns or frame.empty:
        return pd.Series(dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce")
    return values.groupby([frame[k].to_numpy() for k in keys]).mean().dropna()


@dataclass(frozen=True)
class PairedTests:
    """Two-sided paired tests of ``other`` against ``reference`` over the units (folds) both have.

    Attributes
    ----------
    pairs : int
        Units both have.
    mean_difference : float
        Mean of other - reference over the pairs (positive: ``other`` scores higher).
    t, t_p : float
        ``scipy.stats.ttest_rel(other, reference)``: statistic and p-value.
    w, w_p : float
        ``scipy.stats.wilcoxon(other, reference)`` (exact for small samples without ties): statistic and
        p-value.

    Fewer than two pairs leave the statistics NaN. When every difference is zero both tests have nothing
    to reject: the statistics are NaN and both p-values 1.
    """

    pairs: int
    mean_difference: float
    t: float
    t_p: float
    w: float
    w_p: float


def paired_tests(reference: pd.Series, other: pd.Series) -> PairedTests:
    """Paired t-test and Wilcoxon signed-rank test over the index values both series have.

    Parameters
    ----------
    reference, other : pandas.Series
        One score per unit (e.g. :func:`per_unit`), indexed by the unit.

    Returns
    -------
    PairedTests
    """
    units = reference.index.intersection(other.index)
    if len(units) < 2:
        diff = float(np.mean(other.loc[units].to_numpy(float) - reference.loc[units].to_numpy(float))) \
            if len(units) else math.nan
        return PairedTests(len(units), diff, math.nan, math.nan, math.nan, math.nan)
    a, b = other.loc[units].to_numpy(float), reference.loc[units].to_numpy(float)
    diff = float(np.mean(a - b))
    if np.all(a == b):
        return PairedTests(len(units), 0.0, math.nan, 1.0, math.nan, 1.0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant differences: scipy warns, returns inf and p=0
        t = stats.ttest_rel(a, b)
        w = stats.wilcoxon(a, b)
    return PairedTests(len(units), diff, float(t.statistic), float(t.pvalue), float(w.statistic), float(w.pvalue))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the order given; NaN stays NaN.

    The i-th smallest of m p-values becomes max over j <= i of min(1, (m - j + 1) p_(j)).
    """
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        adjusted[idx] = running
    return adjusted


def nemenyi_critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of mean ranks, CD = q_alpha sqrt(k (k + 1) / (6 n)) (Demšar 2006).

    ``q_alpha`` is the studentized range's upper ``alpha`` quantile for ``k`` groups and infinite degrees
    of freedom divided by sqrt(2) (``scipy.stats.studentized_range``; 2.569 for k = 4, alpha = 0.05).
    Two methods whose mean ranks over ``n`` data sets differ by more than CD differ significantly.
    """
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n))
