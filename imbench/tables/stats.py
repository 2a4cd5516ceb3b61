"""Statistics and number formatting used by the table layouts."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


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
    """Mean rank of each column over the rows of ``scores`` (datasets × methods); 1 = highest, ties averaged."""
    ranks = np.vstack([stats.rankdata(-row, method="average") for row in np.atleast_2d(scores)])
    return ranks.mean(axis=0)


@dataclass(frozen=True)
class Friedman:
    n: int  # datasets
    k: int  # methods
    chi2: float
    f: float
    df1: int
    df2: int
    p: float


def friedman_iman_davenport(ranks: np.ndarray, n: int) -> Friedman:
    """Friedman χ²_F from the methods' mean ranks over ``n`` datasets, with the Iman–Davenport F_F (spec §1.5)."""
    r = np.asarray(ranks, dtype=float)
    k = len(r)
    chi2 = 12.0 * n / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4.0)
    denom = n * (k - 1) - chi2
    df1, df2 = k - 1, (k - 1) * (n - 1)
    if denom <= 0:  # every dataset ranks the methods identically
        return Friedman(n, k, float(chi2), math.inf, df1, df2, 0.0)
    f = (n - 1) * chi2 / denom
    return Friedman(n, k, float(chi2), float(f), df1, df2, float(stats.f.sf(f, df1, df2)))
