"""EGL Table 4: features, samples and imbalance ratio of the benchmark data sets, measured on the loaded data.

    python -m imbench.tables.dataset_stats [--sets imblearn|keel|NAME,NAME...] [--data-root R]
                                           [--results-dir results] [--name egl_4]

Loads every set (offline: the ones rebuilt from the registries' KEEL copies, plus any imbalanced-learn
cache copy under the data root) and counts its rows, its feature columns after one-hot encoding, its
minority rows and IR = majority / minority. For the 27 imbalanced-learn names it also prints what
imbalanced-learn documents, so that a rebuilt set can be checked against it; a set that cannot be loaded
keeps empty measured cells and says why. Writes ``<results-dir>/<name>.{md,csv}``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from imbench.data.tabular import IMBLEARN_27, keel_imbalanced_names, load_tabular_dataset, offline_status
from imbench.errors import DataError

PROG = "imbench.tables.dataset_stats"
COLUMNS = ["id", "data", "features", "samples", "minority", "ir", "documented_features", "documented_samples",
           "documented_ir", "matches_documented", "source"]


def dataset_statistics(names: list[str], root: str) -> pd.DataFrame:
    """Measure each named data set.

    Parameters
    ----------
    names : list of str
        Names :func:`imbench.data.tabular.load_tabular_dataset` accepts.
    root : str
        The data root.

    Returns
    -------
    pandas.DataFrame
        One row per name with the columns of ``COLUMNS``; ``source`` holds the provenance, or why the set
        did not load (its measured cells stay empty).
    """
    documented = {info.name: info for info in IMBLEARN_27}
    status = offline_status()
    rows = []
    for i, name in enumerate(names, start=1):
        doc = documented.get(name)
        row = {"id": i, "data": name, "documented_features": doc.n_features if doc else None,
               "documented_samples": doc.n_samples if doc else None, "documented_ir": doc.ir if doc else None}
        try:
            data = load_tabular_dataset(name, root)
        except DataError as e:
            why = status.get(name) or (str(e).splitlines() or [type(e).__name__])[0]
            rows.append({**row, "source": f"not loaded: {why}"})
            continue
        counts = np.bincount(data.y)
        counts = counts[counts > 0]
        minority, majority = int(counts.min()), int(counts.max())
        row.update(features=int(data.X.shape[1]), samples=int(len(data.y)), minority=minority,
                   ir=round(majority / minority, 1), source=data.provenance)
        if doc:
            # imbalanced-learn rounds its IRs to 2 significant digits (8.6, 11, 130)
            row["matches_documented"] = bool(doc.n_samples == row["samples"] and doc.n_features == row["features"]
                                             and float(f"{majority / minority:.2g}") == float(f"{doc.ir:.2g}"))
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _markdown(frame: pd.DataFrame, title: str, provenance: list[str]) -> str:
    def cell(v, fmt="{}"):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        return fmt.format(int(v) if isinstance(v, float) and v.is_integer() and fmt != "{:g}:1" else v)

    documented = frame["documented_samples"].notna().any()
    head = "| ID | Dataset | Features | Samples | IR |" + (" imblearn documents (features, samples, IR) | match |"
                                                          if documented else "")
    lines = [f"# {title}", "", *(f"- {line}" for line in provenance), "", head, "|" + "---|" * (7 if documented else 5)]
    for r in frame.to_dict("records"):
        line = (f"| {r['id']} | {r['data']} | {cell(r['features'], '{:,}')} | {cell(r['samples'], '{:,}')} | "
                f"{cell(r['ir'], '{:g}:1')} |")
        if documented:
            doc = (f"{cell(r['documented_features'])}, {cell(r['documented_samples'], '{:,}')}, "
                   f"{cell(r['documented_ir'], '{:g}:1')}" if cell(r["documented_samples"]) else "")
            match = {True: "yes", False: "no"}.get(r["matches_documented"], "")
            line += f" {doc} | {match} |"
        lines.append(line)
    missing = frame[frame["samples"].isna()]
    lines += ["", f"Measured on the loaded data: {len(frame) - len(missing)} of {len(frame)} sets. Features are "
              "columns after one-hot encoding of nominal attributes; IR = majority rows / minority rows."]
    if len(missing):
        lines += ["", "Not loaded (their measured cells stay empty):"]
        lines += [f"- {r['data']}: {r['source']}" for r in missing.to_dict("records")]
    return "\n".join(lines + [""])


def main(argv: list[str] | None = None) -> int:
    from imbench.data.images import default_data_root
    from imbench.provenance import git_state

    p = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default="imblearn",
                   help="'imblearn' (the 27 of EGL Table 4), 'keel' (the 101 imbalanced KEEL sets) or NAME,NAME,...")
    p.add_argument("--data-root", default=None, help="data root (default: $IMBENCH_DATA or ~/.cache/imbench)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--name", default=None, help="file stem (default: egl_4 for imblearn, egl_keel_data for keel)")
    a = p.parse_args(argv)
    root = a.data_root or str(default_data_root())
    try:
        if a.sets == "imblearn":
            names, stem = [info.name for info in IMBLEARN_27], "egl_4"
        elif a.sets == "keel":
            names, stem = keel_imbalanced_names(root), "egl_keel_data"
        else:
            names, stem = [n.strip() for n in a.sets.split(",") if n.strip()], "dataset_stats"
    except DataError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    if not names:
        p.error("--sets names no data set")
    frame = dataset_statistics(names, root)
    out = Path(a.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = a.name or stem
    frame.to_csv(out / f"{stem}.csv", index=False)
    git = git_state()
    made_by = f"python -m {PROG} --sets {a.sets}" + (f" --data-root {a.data_root}" if a.data_root else "")
    provenance = [f"Made by: {made_by}", f"Git commit: {git.get('commit')}{' (dirty)' if git.get('dirty') else ''}"]
    title = ("Table 4: feature dimension, number of samples and imbalance ratio of the data sets"
             if a.sets == "imblearn" else "Feature dimension, number of samples and imbalance ratio of the data sets")
    (out / f"{stem}.md").write_text(_markdown(frame, title, provenance))
    loaded = int(frame["samples"].notna().sum())
    print(f"wrote {out / stem}.md and .csv: {loaded} of {len(frame)} sets loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
