"""Our IMSIC Table 1 cells (recall and F1 of classes 8 and 9, MNIST and Fashion-MNIST) beside the published ones.

    python scripts/compare_imsic.py OUT_DIR [--profile cpu] [--out results/imsic_comparison_cpu.md]

Reads every finished ``imsic_1`` record of the profile under OUT_DIR, averages each reported class's
recall and F1 over the draws (mean ± std, n) per method × data set, and puts them beside
``results/paper_reference/imsic_table1.csv``. A gap larger than 0.03 is flagged (⚑). A column names what
each cell's runs trained: the generator's epochs as run (the ``cpu`` profile caps them) against its
configured ones, and the classifier's epochs. The header names the commands, commits and hardware.
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

CLASSES = (8, 9)
DATA_ORDER = {"mnist": 0, "fmnist": 1}


def _budget(record: dict) -> str:
    """What the run trained: generator epochs as run / configured (methods that train one), CNN epochs."""
    method = record["config"]["method"]
    configured = (method.get("sampler") or {}).get("epochs") or method.get("epochs")
    ran = (record.get("oversampler") or {}).get("epochs")
    parts = []
    if ran is not None and configured is not None:
        parts.append(f"generator {ran}/{configured} ep")
    elif record["job"]["method"] == "dgc":
        parts.append(f"DGC {method.get('epochs')} ep, widths {method.get('width')}, "
                     f"mc_shared {method.get('mc_shared')}")
    epochs = (record.get("training") or {}).get("epochs")
    if epochs is not None and record["job"]["method"] != "dgc":
        parts.append(f"CNN {epochs} ep")
    return ", ".join(parts)


def rows_of(records: list[dict]) -> pd.DataFrame:
    """One row per record and reported class: method, data, class, recall, F1, budget."""
    out = []
    for r in records:
        per_class, classes = r["metrics"]["per_class"], list(r["metrics"]["classes"])
        for c in CLASSES:
            i = classes.index(c)
            out.append({"method": r["job"]["method"], "data": r["job"]["data"], "class": c,
                        "recall": per_class["recall"][i], "f1": per_class["f1"][i], "budget": _budget(r)})
    return pd.DataFrame(out)


def main() -> None:
    a = load_comparison(__doc__, "imsic_1")
    ours = rows_of(a.records)
    spec = load_table_spec(config_dir(), "imsic_1")
    labels, order = spec.get("row_labels") or {}, list(spec.get("rows") or [])
    rank = {m: i for i, m in enumerate(order)}
    ref = pd.read_csv(REPO / "results" / "paper_reference" / "imsic_table1.csv", comment="#")
    ref = ref.set_index(["method", "data", "class"])
    lines = [f"# IMSIC Table 1 (classes 8 and 9, MNIST / Fashion-MNIST): imbench (profile {a.profile}) beside the paper",
             "", f"Made by: python scripts/compare_imsic.py {a.out_dir} --profile {a.profile}. Ours: mean ± std "
             "(ddof 1) over independent draws of the skewed training set (n); paper: He et al. 2021 Table 1, 10 "
             "repeats (typed into results/paper_reference/imsic_table1.csv). ⚑: |Δ| > 0.03.", "",
             *provenance_lines(a.records), "",
             "| method | data | class | n | recall ours | recall paper | Δ | F1 ours | F1 paper | Δ | trained |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    groups = sorted(ours.groupby(["method", "data", "class"]),
                    key=lambda kv: (DATA_ORDER.get(kv[0][1], 9), kv[0][2], rank.get(kv[0][0], 99)))
    for (method, data, cls), g in groups:
        key = (method, data, cls)
        paper = ref.loc[key] if key in ref.index else None
        row = [labels.get(method) or method_label(method), data, str(cls), str(len(g))]
        for k in ("recall", "f1"):
            row += beside_paper(g[k], paper, k, 3)
        row.append("; ".join(sorted(set(g["budget"]))))
        lines.append("| " + " | ".join(row) + " |")
    write_text("\n".join(lines) + "\n", a.out)


if __name__ == "__main__":
    main()
