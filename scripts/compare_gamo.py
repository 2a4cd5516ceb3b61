"""Our GAMO Table 1 cells (MNIST and Fashion-MNIST, IR 100, CE and LS) beside the published ones.

    python scripts/compare_gamo.py OUT_DIR [--profile paper] [--out results/gamo_comparison_paper.md]

Reads every finished ``gamo_1`` record of the profile under OUT_DIR, averages ACSA and GM over the
repeats (mean ± std, n) per method × data set × loss, and puts them beside
``results/paper_reference/gamo_table1.csv``. A gap larger than 0.03 in ACSA or GM is flagged (⚑).
The header names the commands, commits and hardware of the runs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench.methods.registry import config_dir, method_label  # noqa: E402
from imbench.records import iter_records  # noqa: E402
from imbench.tables.collect import load_table_spec  # noqa: E402

KEYS = ["method", "data", "loss"]


def _cell(values: pd.Series) -> str:
    sd = values.std(ddof=1) if len(values) > 1 else float("nan")
    return f"{values.mean():.3f} ± {sd:.3f}" if len(values) > 1 else f"{values.mean():.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("--profile", default="paper")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    records = [r for r in iter_records(a.out_dir, "gamo_1") if r["config"]["profile"]["name"] == a.profile]
    if not records:
        raise SystemExit(f"no finished gamo_1 records of profile {a.profile} under {a.out_dir}")
    ours = pd.DataFrame([{**{k: r["job"][k] for k in KEYS}, "fold": r["job"]["fold"], "acsa": r["metrics"]["acsa"],
                          "gm": r["metrics"]["gm"], "train_s": r["timing"]["train_s"]} for r in records])
    spec = load_table_spec(config_dir(), "gamo_1")
    labels, order = spec.get("row_labels") or {}, list(spec.get("rows") or [])
    ref = pd.read_csv(REPO / "results" / "paper_reference" / "gamo_table1.csv", comment="#").set_index(KEYS)
    commits = sorted({str(r["git"].get("commit"))[:12] + (" (dirty)" if r["git"].get("dirty") else "") for r in records})
    hosts = sorted({f"{r['hardware'].get('processor')} ×{r['hardware'].get('cpu_count')} cores, "
                    f"{r['hardware'].get('torch_threads')} torch threads, {r['hardware'].get('device')}" for r in records})
    lines = [f"# GAMO Table 1 (MNIST / Fashion-MNIST, IR 100): imbench (profile {a.profile}) beside the paper", "",
             f"Made by: python scripts/compare_gamo.py {a.out_dir} --profile {a.profile}. Ours: mean ± std (ddof 1) "
             "over independent draws of the skewed training set (n); paper: Mullick et al. 2019 Table 1, 10 repeats "
             "(typed into results/paper_reference/gamo_table1.csv). ⚑: |Δ| > 0.03 in ACSA or GM.", "",
             f"- runs: {len(records)}; commits: {', '.join(commits)}; hardware: {'; '.join(hosts)}",
             *(f"- command: `{c}`" for c in sorted({r['command'] for r in records})), "",
             "| method | data | loss | n | ACSA ours | ACSA paper | Δ | GM ours | GM paper | Δ | train s/run |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    rank = {m: i for i, m in enumerate(order)}
    groups = sorted(ours.groupby(KEYS), key=lambda kv: (kv[0][1] != "mnist", kv[0][2], rank.get(kv[0][0], 99)))
    for (method, data, loss), g in groups:
        paper = ref.loc[(method, data, loss)] if (method, data, loss) in ref.index else None
        row = [labels.get(method) or method_label(method), data, str(loss).upper(), str(len(g))]
        for k in ("acsa", "gm"):
            if paper is None:
                row += [_cell(g[k]), "—", "—"]
                continue
            d = g[k].mean() - paper[k]
            row += [_cell(g[k]), f"{paper[k]:.2f} ± {paper[k + '_std']:.2f}", f"{d:+.3f}" + (" ⚑" if abs(d) > 0.03 else "")]
        row.append(f"{g['train_s'].mean():.0f}")
        lines.append("| " + " | ".join(row) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
