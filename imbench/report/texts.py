"""Text of the report's tables and test results, shared by the Markdown files and the HTML page."""
from __future__ import annotations

import math

import pandas as pd

from imbench.report.significance import PairedResults, RankOutcome

POST_HOC = ("Nemenyi post-hoc test: two methods differ when their mean ranks differ by more than the critical "
            "difference CD = q_α √(k(k+1)/(6N)), q_α from scipy.stats.studentized_range (k groups, ∞ df) / √2")
PAIRED_METHOD = ("Paired over the (seed, fold) units both have (repeats of a fold averaged): t = "
                 "scipy.stats.ttest_rel, W = scipy.stats.wilcoxon (two-sided; exact for small samples); Holm's "
                 "correction over all comparisons of one metric and one test")


def fmt_p(p: float) -> str:
    """A p-value in 3 significant digits ('' when missing)."""
    if p is None or not math.isfinite(p):
        return ""
    if p == 0:
        return "0"
    return f"{p:.3g}" if p >= 1e-3 else f"{p:.1e}"


def fmt_number(x: float, digits: int = 4, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "" if x is None or math.isnan(x) else ("∞" if x > 0 else "−∞")
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def significant_by(row: pd.Series, alpha: float) -> str:
    """Which tests reject at ``alpha`` after Holm ('t, W', 't', 'W' or '')."""
    tests = [name for name in ("t", "W") if pd.notna(row[f"p {name} Holm"]) and row[f"p {name} Holm"] < alpha]
    return ", ".join(tests)


def paired_display(paired: PairedResults, metric: str) -> pd.DataFrame:
    """The paired comparisons of one metric as display text (one row per block × method)."""
    table = paired.table[paired.table["metric"] == metric]
    alpha = paired.alpha
    # a block's label once, on its first row (as the summary prints repeated labels)
    blocks = table["block"].where(table["block"] != table["block"].shift())
    shown = pd.DataFrame({
        "block": blocks.fillna(""), "method": table["method"], "vs": table["reference"],
        "pairs": table["pairs"].astype(str), "unpaired": table["unpaired"].astype(str),
        "reference mean": table["reference mean"].map(fmt_number),
        "method mean": table["method mean"].map(fmt_number),
        "Δ (method − ref.)": table["difference"].map(lambda x: fmt_number(x, sign=True)),
        "t": table["t"].map(lambda x: fmt_number(x, 2)), "p t": table["p t"].map(fmt_p),
        "p t Holm": table["p t Holm"].map(fmt_p), "W": table["W"].map(lambda x: fmt_number(x, 1)),
        "p W": table["p W"].map(fmt_p), "p W Holm": table["p W Holm"].map(fmt_p),
        f"Holm < {alpha}": [significant_by(r, alpha) for _, r in table.iterrows()],
    }).reset_index(drop=True)
    if table["reference"].nunique() <= 1:  # the heading names the reference
        shown = shown.drop(columns="vs")
    return shown


def rank_lines(outcome: RankOutcome) -> list[str]:
    """The Friedman / Iman–Davenport and Nemenyi results of one metric, one sentence per line."""
    test = outcome.test
    if test is None:
        return [f"{outcome.metric}: no rank test: " + "; ".join(outcome.notes)]
    f = test.friedman
    ranks = ", ".join(f"{m} {r:.2f}" for m, r in test.mean_ranks.items())
    pairs = "; ".join(f"{d.better} better than {d.worse} (gap {d.gap:.2f})" for d in test.differences) or "none"
    same_order = " (every block ranks the methods alike)" if math.isinf(f.f) else ""
    lines = [
        f"{outcome.metric}: N = {f.n} blocks, k = {f.k} methods. Friedman χ²_F = {f.chi2:.3f} (p = {fmt_p(f.chi2_p)}); "
        f"Iman–Davenport F_F = {fmt_number(f.f, 3)}{same_order} (df {f.df1}, {f.df2}), p = {fmt_p(f.p)}.",
        f"Mean ranks (1 = best): {ranks}.",
        f"Nemenyi CD (α = {test.alpha}, scipy.stats.studentized_range) = {test.critical_difference:.3f}; "
        f"pairs differing by more than CD: {pairs}.",
    ]
    if outcome.notes:
        lines.append("Notes: " + "; ".join(outcome.notes) + ".")
    return lines


def rank_rows(outcomes: list[RankOutcome]) -> pd.DataFrame:
    """Tidy rank-test results: one row per metric × method (a metric without a test has one row saying why)."""
    rows = []
    for o in outcomes:
        if o.test is None:
            rows.append({"metric": o.metric, "note": "; ".join(o.notes)})
            continue
        f = o.test.friedman
        for method, rank in o.test.mean_ranks.items():
            rows.append({"metric": o.metric, "method": method, "mean rank": rank, "blocks": f.n, "methods": f.k,
                         "friedman chi2": f.chi2, "friedman p": f.chi2_p, "iman-davenport F": f.f, "df1": f.df1,
                         "df2": f.df2, "iman-davenport p": f.p, "nemenyi CD": o.test.critical_difference,
                         "alpha": o.test.alpha, "note": "; ".join(o.notes)})
    return pd.DataFrame(rows)


def significance_markdown(paired: PairedResults, outcomes: list[RankOutcome], metrics: list[str],
                          header: list[str], reference: str) -> str:
    """The ``significance.md`` file: provenance header, paired tests per metric, rank tests over blocks."""
    out = ["# Significance", ""] + [f"{line}  " for line in header[1:]] + [""]
    out += [f"## Paired tests against the reference `{reference}`", "", PAIRED_METHOD + ".", ""]
    for metric in metrics:
        shown = paired_display(paired, metric)
        out += [f"### {metric}", ""]
        labels = 3 if "vs" in shown.columns else 2
        align = ["left"] * labels + ["right"] * (shown.shape[1] - labels - 1) + ["left"]
        out += [shown.to_markdown(index=False, disable_numparse=True, colalign=align) if len(shown)
                else "(no comparison)", ""]
    out += [f"- {note}" for note in paired.notes] + ([""] if paired.notes else [])
    out += ["## Over blocks: Friedman / Iman–Davenport, Nemenyi post-hoc", "",
            "Each block (data × IR × classifier × other settings) counts as one data set; a method's score there "
            "is its mean over the (seed, fold) units all methods share. Blocks of one data set at several IRs "
            "are not independent data sets. " + POST_HOC + ".", ""]
    for outcome in outcomes:
        out += [f"{line}  " for line in rank_lines(outcome)] + [""]
    return "\n".join(out).rstrip() + "\n"
