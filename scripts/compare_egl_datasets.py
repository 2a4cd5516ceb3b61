"""Our EGL Tables 2 and 3 cells (AUC-PR per imbalanced-learn data set) beside the published ones.

    python scripts/compare_egl_datasets.py OUT_DIR [--profile paper] [--out results/egl_datasets_comparison_paper.md]

Reads the finished ``egl_2`` and ``egl_3`` records of the profile under OUT_DIR, averages AUC-PR over the
splits per data set and method (mean ± std, n) and puts each cell beside
``results/paper_reference/egl_tables23.csv`` (the paper's Tables 2 and 3). A gap larger than 0.03 is flagged
(⚑), and each gap is also given in units of its standard error, SE = sqrt(s_ours²/n + s_paper²/4) (the
split-to-split spread of both sides; a |Δ/SE| below 2 is what two estimates of the same mean from 4 splits
each often differ by). At the end, per method: the mean gap and the numbers of flagged cells.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench.methods.registry import config_dir  # noqa: E402
from imbench.records import iter_records  # noqa: E402
from imbench.tables.collect import load_table_spec  # noqa: E402
from paper_comparison import provenance_lines, write_text  # noqa: E402

TABLES = {"2": "egl_2", "3": "egl_3"}
GAP = 0.03


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("--profile", default="paper")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    ref = pd.read_csv(REPO / "results" / "paper_reference" / "egl_tables23.csv", comment="#", dtype={"table": str})
    lines = [f"# EGL Tables 2 and 3 (imbalanced-learn sets): imbench (profile {a.profile}) beside the paper", "",
             f"Made by: python scripts/compare_egl_datasets.py {a.out_dir} --profile {a.profile}. Ours: AUC-PR mean ± "
             "std (ddof 1) over the splits (n); paper: Yasinnik et al. Tables 2-3, mean+std over 4 splits (typed "
             f"into results/paper_reference/egl_tables23.csv). ⚑: |Δ| > {GAP}.", ""]
    summary = []
    found = False
    for table, experiment in TABLES.items():
        records = [r for r in iter_records(a.out_dir, experiment) if r["config"]["profile"]["name"] == a.profile]
        if not records:
            lines += [f"## Table {table}: no finished {experiment} records of profile {a.profile}", ""]
            continue
        found = True
        labels = load_table_spec(config_dir(), experiment).get("row_labels") or {}
        runs = pd.DataFrame([{"data": r["job"]["data"], "method": r["job"]["method"],
                              "auc_pr": float(r["metrics"]["auc_pr"])} for r in records])
        ours = runs.groupby(["data", "method"])["auc_pr"].agg(["mean", "std", "count"]).reset_index()
        paper = ref[ref["table"] == table].set_index(["data", "method"])
        lines += [f"## Table {table} ({experiment})", "", *provenance_lines(records), "",
                  "| data | method | n | ours | paper | Δ | Δ/SE |", "|---|---|---|---|---|---|---|"]
        for row in ours.itertuples():
            key = (row.data, row.method)
            label = labels.get(row.method, row.method)
            std = f" ± {row.std:.3f}" if row.count > 1 else ""
            if key in paper.index:
                pub = paper.loc[key]
                gap = row.mean - pub["auc_pr"]
                pub_text = f"{pub['auc_pr']:.2f}" + ("" if pd.isna(pub["auc_pr_std"]) else f" ± {pub['auc_pr_std']:.2f}")
                flag = " ⚑" if abs(gap) > GAP else ""
                var = (0.0 if pd.isna(row.std) else row.std ** 2 / row.count) + (
                    0.0 if pd.isna(pub["auc_pr_std"]) else pub["auc_pr_std"] ** 2 / 4)
                z = gap / var ** 0.5 if var > 0 else float("nan")
                summary.append({"table": table, "method": label, "gap": gap, "flag": bool(flag),
                                "beyond_2se": bool(flag) and not abs(z) < 2})
                lines.append(f"| {row.data} | {label} | {row.count} | {row.mean:.3f}{std} | {pub_text} | "
                             f"{gap:+.3f}{flag} | {'—' if z != z else format(z, '+.1f')} |")
            else:
                lines.append(f"| {row.data} | {label} | {row.count} | {row.mean:.3f}{std} | — | — | — |")
        lines.append("")
    if not found:
        raise SystemExit(f"no finished egl_2 or egl_3 records of profile {a.profile} under {a.out_dir}")
    if summary:
        s = pd.DataFrame(summary).groupby(["table", "method"], sort=False).agg(
            cells=("gap", "size"), mean_gap=("gap", "mean"), flagged=("flag", "sum"),
            beyond=("beyond_2se", "sum")).reset_index()
        lines += ["## Per method", "", f"| table | method | cells | mean Δ | cells with abs(Δ) > {GAP} | of those, "
                  "abs(Δ/SE) ≥ 2 (or no spread) |", "|---|---|---|---|---|---|"]
        lines += [f"| {r.table} | {r.method} | {r.cells} | {r.mean_gap:+.3f} | {r.flagged} | {r.beyond} |"
                  for r in s.itertuples()]
        lines.append("")
    write_text("\n".join(lines), a.out)


if __name__ == "__main__":
    main()
