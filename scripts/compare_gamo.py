"""Our GAMO Table 1 cells (MNIST and Fashion-MNIST, IR 100, CE and LS) beside the published ones.

    python scripts/compare_gamo.py OUT_DIR [--profile paper] [--out results/gamo_comparison_paper.md]

Reads every finished ``gamo_1`` record of the profile under OUT_DIR, averages ACSA and GM over the
repeats (mean ± std, n) per method × data set × loss, and puts them beside
``results/paper_reference/gamo_table1.csv``. A gap larger than 0.03 in ACSA or GM is flagged (⚑).
The header names the commands, commits and hardware of the runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench.methods.registry import config_dir, method_label  # noqa: E402
from imbench.tables.collect import load_table_spec  # noqa: E402
from paper_comparison import beside_paper, load_comparison, provenance_lines, write_text  # noqa: E402

KEYS = ["method", "data", "loss"]


def main() -> None:
    a = load_comparison(__doc__, "gamo_1")
    records = a.records
    ours = pd.DataFrame([{**{k: r["job"][k] for k in KEYS}, "fold": r["job"]["fold"], "acsa": r["metrics"]["acsa"],
                          "gm": r["metrics"]["gm"], "train_s": r["timing"]["train_s"]} for r in records])
    spec = load_table_spec(config_dir(), "gamo_1")
    labels, order = spec.get("row_labels") or {}, list(spec.get("rows") or [])
    ref = pd.read_csv(REPO / "results" / "paper_reference" / "gamo_table1.csv", comment="#").set_index(KEYS)
    lines = [f"# GAMO Table 1 (MNIST / Fashion-MNIST, IR 100): imbench (profile {a.profile}) beside the paper", "",
             f"Made by: python scripts/compare_gamo.py {a.out_dir} --profile {a.profile}. Ours: mean ± std (ddof 1) "
             "over independent draws of the skewed training set (n); paper: Mullick et al. 2019 Table 1, 10 repeats "
             "(typed into results/paper_reference/gamo_table1.csv). ⚑: |Δ| > 0.03 in ACSA or GM.", "",
             *provenance_lines(records), "",
             "| method | data | loss | n | ACSA ours | ACSA paper | Δ | GM ours | GM paper | Δ | train s/run |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    rank = {m: i for i, m in enumerate(order)}
    groups = sorted(ours.groupby(KEYS), key=lambda kv: (kv[0][1] != "mnist", kv[0][2], rank.get(kv[0][0], 99)))
    for (method, data, loss), g in groups:
        paper = ref.loc[(method, data, loss)] if (method, data, loss) in ref.index else None
        row = [labels.get(method) or method_label(method), data, str(loss).upper(), str(len(g))]
        for k in ("acsa", "gm"):
            row += beside_paper(g[k], paper, k, 2)
        row.append(f"{g['train_s'].mean():.0f}")
        lines.append("| " + " | ".join(row) + " |")
    write_text("\n".join(lines) + "\n", a.out)


if __name__ == "__main__":
    main()
