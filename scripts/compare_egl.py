"""Our EGL Table 1 cells (Adult, induced imbalance) beside the published ones.

    python scripts/compare_egl.py OUT_DIR [--profile paper] [--out results/egl_comparison_paper.md]

Reads every finished ``egl_1`` record of the profile under OUT_DIR (any method: CE, RS, SMOTE, Focal,
LDAM, LDAM-DRW, ...), averages AUC-PR and EGL's precision at recall 0.75 / 0.5 / 0.25 over the splits
(mean ± std, n), and puts them beside ``results/paper_reference/egl_table1.csv``. A gap larger than
0.03 AUC-PR is flagged. The header names the commands, commits and hardware of the runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench.methods.registry import config_dir, method_label  # noqa: E402
from imbench.tables.collect import load_table_spec  # noqa: E402
from paper_comparison import load_comparison, provenance_lines, write_text  # noqa: E402

METRICS = {"auc_pr": ("auc_pr",), "ap_at_0.75": ("ap_at", "0.75"), "ap_at_0.5": ("ap_at", "0.5"),
           "ap_at_0.25": ("ap_at", "0.25")}


def _get(metrics: dict, path: tuple) -> float:
    for k in path:
        metrics = metrics[k]
    return float(metrics)


def main() -> None:
    a = load_comparison(__doc__, "egl_1")
    records = a.records
    rows = [{"method": r["job"]["method"], "ir": r["job"]["ir"], "split": r["job"]["fold"],
             **{k: _get(r["metrics"], path) for k, path in METRICS.items()}} for r in records]
    ours = pd.DataFrame(rows).groupby(["method", "ir"])
    labels = load_table_spec(config_dir(), "egl_1").get("row_labels") or {}
    ref = pd.read_csv(REPO / "results" / "paper_reference" / "egl_table1.csv", comment="#").set_index(["method", "ir"])
    lines = [f"# EGL Table 1 (Adult, induced imbalance): imbench (profile {a.profile}) beside the paper", "",
             f"Made by: python scripts/compare_egl.py {a.out_dir} --profile {a.profile}. Ours: mean ± std over the "
             "splits (n); paper: Yasinnik et al. Table 1 (typed into results/paper_reference/egl_table1.csv). "
             "Gap flagged (⚑) when |AUC-PR difference| > 0.03.", ""]
    lines += [*provenance_lines(records), ""]
    lines += ["| method | IR | n | AUC-PR ours | AUC-PR paper | Δ | AP@0.75 ours / paper | AP@0.5 ours / paper | "
              "AP@0.25 ours / paper |", "|---|---|---|---|---|---|---|---|---|"]
    for (method, ir), g in sorted(ours, key=lambda kv: (kv[0][1], kv[0][0])):
        paper = ref.loc[(method, ir)] if (method, ir) in ref.index else None
        m, s = g["auc_pr"].mean(), g["auc_pr"].std(ddof=1) if len(g) > 1 else 0.0
        gap = "" if paper is None else f"{m - paper['auc_pr']:+.3f}" + (" ⚑" if abs(m - paper["auc_pr"]) > 0.03 else "")
        cells = [f"{g[k].mean():.3f} / {'—' if paper is None else format(paper[k], '.3f')}"
                 for k in ("ap_at_0.75", "ap_at_0.5", "ap_at_0.25")]
        lines.append(f"| {labels.get(method) or method_label(method)} | {ir} | {len(g)} | {m:.3f} ± {s:.3f} | "
                     f"{'—' if paper is None else format(paper['auc_pr'], '.3f')} | {gap or '—'} | " + " | ".join(cells) + " |")
    write_text("\n".join(lines) + "\n", a.out)


if __name__ == "__main__":
    main()
