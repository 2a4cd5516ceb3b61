"""One function per paper table layout: runs DataFrame (see ``collect.records_frame``) + table spec -> Table."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd

from imbench.metrics import lift_percent
from imbench.tables.model import (
    FMNIST_CLASSES, Best, Block, Table, braces, data_label, empty_reason, empty_rows, row_label,
)
from imbench.tables.stats import (
    Cell, cell, fmt, fmt_pm, friedman_iman_davenport, mean_ranks, paired_ttest, per_fold,
)

Layout = Callable[[pd.DataFrame, dict], Table]

FAJ_GROUPS = (("m", "minority"), ("M", "majority"), ("Overall", "overall"))
FAJ_METRICS = (("Prec.", "precision"), ("Recall", "recall"), ("F1", "f1"))
# The imbalanced-learn benchmark sets in the order of EGL Tables 2-3.
EGL_DATASETS = [
    "ecoli", "optical_digits", "satimage", "pen_digits", "abalone", "sick_euthyroid", "spectrometer",
    "car_eval_34", "isolet", "us_crime", "yeast_ml8", "scene", "libras_move", "thyroid_sick", "coil_2000",
    "arrhythmia", "solar_flare_m0", "oil", "car_eval_4", "wine_quality", "letter_img", "yeast_me2", "webpage",
    "ozone_level", "mammography", "protein_homo", "abalone_19",
]
DATA_ORDER = ["mnist", "fmnist", "cifar10", "svhn"]


def _runs(df: pd.DataFrame, **match) -> pd.DataFrame:
    """Rows of ``df`` whose columns equal the given values (``ir`` compared as a number)."""
    mask = pd.Series(True, index=df.index)
    for col, value in match.items():
        if col == "ir":
            mask &= pd.to_numeric(df["ir"], errors="coerce") == float(value)
        else:
            mask &= df[col] == value
    return df[mask]


def _ordered(values, preferred: list[str]) -> list:
    """Distinct values, those in ``preferred`` first in its order, the rest sorted."""
    seen = {v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))}
    return [v for v in preferred if v in seen] + sorted((v for v in seen if v not in preferred), key=str)


def _ir_text(ir) -> str:
    x = float(ir)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def mset_heading(runs: pd.DataFrame, fallback: str, with_majority: bool = True) -> str:
    """'m = {0,1,2} | M = {3,...}' from the runs' minority sets and classes; ``fallback`` without runs."""
    msets = sorted(set(runs["m_set"])) if len(runs) else []
    if not msets:
        return f"{fallback} (no runs)"
    classes = sorted({c for cs in runs["classes"] for c in cs})
    parts = []
    for m in msets:
        text = f"m = {braces(m)}"
        if with_majority:
            text += f" | M = {braces(c for c in classes if c not in m)}"
        parts.append(text)
    return " / ".join(parts)


def _partial_note(method: str, spec: dict, missing: list[str], where: str) -> str:
    where = where if len(missing) == 1 else where + "s"
    return f"{row_label(method, spec)} ({method}) has no runs for {where} {', '.join(missing)}: those cells are blank"


def fajardo(df: pd.DataFrame, spec: dict) -> Table:
    """Fajardo Tables 5-8: per m-set block, P/R/F1 of m, M, Overall, Lift % vs the reference, * on best m F1."""
    rows, ref = list(spec["rows"]), spec.get("reference")
    columns = pd.MultiIndex.from_tuples(
        [(g, name) for g, _ in FAJ_GROUPS for name, _ in FAJ_METRICS] + [("", "Lift %")])
    blocks, data, counts, notes = [], [], [], []
    missing: dict[str, list[str]] = {}
    for block in spec["blocks"]:
        sub = _runs(df, skew=block)
        heading = mset_heading(sub, block)
        cells = {m: {(g, name): cell(_runs(sub, method=m), f"{key}.{metric}")
                     for g, key in FAJ_GROUPS for name, metric in FAJ_METRICS} for m in rows}
        ref_f1 = cell(_runs(sub, method=ref), "overall.f1").mean if ref else math.nan
        if ref and not np.isfinite(ref_f1):
            notes.append(f"Lift % is blank in block {heading}: the reference {row_label(ref, spec)} has no runs there")
        m_f1 = {m: c[("m", "F1")].mean for m, c in cells.items() if not c[("m", "F1")].empty}
        best = max(m_f1.values()) if m_f1 else None
        shown, values, index = [], [], []
        for m in rows:
            c, n = cells[m], cells[m][("m", "F1")].n
            lift = lift_percent(c[("Overall", "F1")].mean, ref_f1) if n and np.isfinite(ref_f1) else math.nan
            is_best = best is not None and m in m_f1 and m_f1[m] == best
            index.append(row_label(m, spec) + ("*" if is_best else ""))
            lift_text = "-" if m == ref and n else fmt(lift, 3)
            shown.append([fmt(c[k].mean, 3) for k in columns[:-1]] + [lift_text])
            # The reference's own lift (shown as '-') is not a contender.
            values.append([c[k].mean for k in columns[:-1]] + [math.nan if m == ref else lift])
            row = {"block": block, "block_heading": heading, "method": m, "label": row_label(m, spec), "n": n}
            for (g, name), (group_key, metric) in zip(columns[:-1], _faj_keys()):
                row[f"{group_key}_{metric}_mean"] = c[(g, name)].mean
                row[f"{group_key}_{metric}_std"] = c[(g, name)].std
            row.update(lift_percent=lift, best_minority_f1=is_best)
            data.append(row)
            if n:
                counts.append(n)
            elif len(_runs(df, method=m)):
                missing.setdefault(m, []).append(block)
        row_index = pd.Index(index, name="Method")
        best_cells = Best(pd.DataFrame(values, index=row_index, columns=columns),
                          "highest mean per column (higher is better for precision, recall, F1 and Lift %)")
        frame = pd.DataFrame(shown, index=row_index, columns=columns)
        blocks.append(Block(heading, frame, key=block, best=best_cells))
    notes += [_partial_note(m, spec, b, "block") for m, b in missing.items()]
    notes.append(f"Each cell: mean over all runs (skewed draws x classifier seeds) to 3 decimals; "
                 f"* = best minority F1 in the block; Lift % = 100 (F1_overall - F1_overall({row_label(ref, spec)})) "
                 f"/ F1_overall({row_label(ref, spec)}); the CSV has the means, std (ddof=1) and n")
    present = set(df.loc[df["skew"].isin(spec["blocks"]), "method"])
    return Table(spec.get("title", ""), blocks, pd.DataFrame(data), empty_rows(rows, present, spec), counts, notes)


def _faj_keys() -> list[tuple[str, str]]:
    return [(key, metric) for _, key in FAJ_GROUPS for _, metric in FAJ_METRICS]


def fajardo_fid(df: pd.DataFrame, spec: dict) -> Table:
    """Fajardo Tables 1-4: mean FID per minority class (columns) and method (rows), one block per m-set."""
    rows = list(spec["rows"])
    blocks, data, counts = [], [], []
    for block in spec["blocks"]:
        sub = _runs(df, skew=block)
        # Repeats of one fold share its synthetic set (and copy its FID): count each training set once.
        sub = sub.drop_duplicates(["experiment", "data", "skew", "ir", "seed", "fold", "method"])
        msets = sorted(set(sub["m_set"]))
        classes = sorted({c for m in msets for c in m})
        shown, values = [], []
        for m in rows:
            line, numbers = [], []
            for c in classes:
                col = f"fid.{c}"
                k = cell(_runs(sub, method=m), col) if col in sub.columns else Cell(math.nan, math.nan, 0)
                line.append(fmt(k.mean, 1))
                numbers.append(k.mean)
                data.append({"block": block, "method": m, "label": row_label(m, spec), "class": c,
                             "fid_mean": k.mean, "fid_std": k.std, "n": k.n})
                if k.n:
                    counts.append(k.n)
            shown.append(line)
            values.append(numbers)
        index = pd.Index([row_label(m, spec) for m in rows], name="Generative method")
        columns = pd.Index([str(c) for c in classes], name="class")
        best_cells = Best(pd.DataFrame(values, index=index, columns=columns),
                          "lowest FID per class (lower is better)", lower=list(columns))
        blocks.append(Block(mset_heading(sub, block, with_majority=False),
                            pd.DataFrame(shown, index=index, columns=columns), key=block, best=best_cells))
    fid_cols = [c for c in df.columns if str(c).startswith("fid.")]
    present = set(df.loc[df[fid_cols].notna().any(axis=1), "method"]) if fid_cols else set()
    notes = ["Cell: Inception FID (pool-3, 2048-d) between a method's synthetic images of one minority class and "
             "the official test images of that class, mean over the skewed training sets (each counted once); "
             "the CSV has the std (ddof=1) and n"]
    return Table(spec.get("title", ""), blocks, pd.DataFrame(data), empty_rows(rows, present, spec), counts, notes)


def fajardo_timing(df: pd.DataFrame, spec: dict) -> Table:
    """Fajardo Table 9: seconds to balance one training set, per data set × m-set × ρ."""
    rows, block_names = list(spec["rows"]), list(spec["blocks"])
    runs = df[df["skew"].isin(block_names) & pd.to_numeric(df["oversample_s"], errors="coerce").notna()]
    # A row may be restricted to one experiment's runs (Table 9's CVAE is a 10-epoch run of its own).
    for method, experiment in (spec.get("rows_from") or {}).items():
        runs = runs[(runs["method"] != method) | (runs["experiment"] == experiment)]
    # Repeats of one fold share its oversampling (and copy its time): count each training set once.
    runs = runs.drop_duplicates(["experiment", "data", "skew", "ir", "seed", "fold", "method"])
    irs = sorted({float(x) for x in pd.to_numeric(runs["ir"], errors="coerce").dropna()}, reverse=True)
    blocks, data, counts = [], [], []
    for d in _ordered(runs["data"], DATA_ORDER) or [None]:
        dsub = runs if d is None else _runs(runs, data=d)
        cols = [(mset_heading(_runs(dsub, skew=b), b, with_majority=False), f"ρ = {_ir_text(ir)}")
                for b in block_names for ir in irs]
        shown, values = [], []
        for m in rows:
            line, numbers = [], []
            for b in block_names:
                for ir in irs:
                    c = cell(_runs(dsub, skew=b, ir=ir, method=m), "oversample_s")
                    line.append(fmt(c.mean, 3))
                    numbers.append(c.mean)
                    data.append({"data": d, "block": b, "ir": ir, "method": m, "label": row_label(m, spec),
                                 "oversample_s_mean": c.mean, "oversample_s_std": c.std, "n": c.n})
                    if c.n:
                        counts.append(c.n)
            shown.append(line)
            values.append(numbers)
        columns = pd.MultiIndex.from_tuples(cols) if cols else pd.Index([])
        index = pd.Index([row_label(m, spec) for m in rows], name="Method")
        best_cells = Best(pd.DataFrame(values, index=index, columns=columns),
                          "fastest per column (fewer seconds is better)", lower=list(columns))
        blocks.append(Block("no runs" if d is None else data_label(d),
                            pd.DataFrame(shown, index=index, columns=columns),
                            key=str(d or ""), best=best_cells))
    hosts = sorted({f"{r.host} ({r.processor}, {r.cpu_count} CPUs)" for r in runs.itertuples()})
    notes = [
        "Cell: mean seconds to balance one training set (timing.oversample_s of the runs of "
        f"{', '.join(spec.get('sources', []))}; each training set counted once)",
        f"Timings measured on: {'; '.join(hosts) or 'no runs'} (the paper used a MacBook Pro, 1.4 GHz quad-core i5)",
    ]
    return Table(spec.get("title", ""), blocks, pd.DataFrame(data),
                 empty_rows(rows, set(runs["method"]), spec), counts, notes)


def gamo(df: pd.DataFrame, spec: dict) -> Table:
    """GAMO Tables 1-2: ACSA and GM per data set × loss, 'mean±std' to 2 decimals."""
    rows, datasets = list(spec["rows"]), list(spec["columns"])
    losses = list(spec.get("losses") or [None])
    metrics = (("ACSA", "acsa"), ("GM", "gm"))
    cols, shown, values, data, counts = [], [], [], [], []
    for d in datasets:
        for loss in losses:
            cols += [(data_label(d),) + ((str(loss).upper(),) if loss else ()) + (name,) for name, _ in metrics]
    present = set()
    for m in rows:
        line, numbers, row = [], [], {"method": m, "label": row_label(m, spec)}
        for d in datasets:
            for loss in losses:
                # a row may name another method per data set (GAMO's cGAN row: cgan_cn on MNIST, cdcgan_cn else)
                method = (spec.get("row_methods") or {}).get(m, {}).get(d, m)
                match = {"method": method, "data": d, **({"loss": loss} if loss else {})}
                sub = _runs(df, **match)
                prefix = f"{d}_{loss}" if loss else d
                for name, key in metrics:
                    c = cell(sub, key)
                    line.append(fmt_pm(c, 2))
                    numbers.append(c.mean)
                    row[f"{prefix}_{key}_mean"], row[f"{prefix}_{key}_std"] = c.mean, c.std
                row[f"{prefix}_n"] = len(sub)
                if len(sub):
                    counts.append(len(sub))
                    present.add(m)
        shown.append(line)
        values.append(numbers)
        data.append(row)
    index, columns = pd.Index([row_label(m, spec) for m in rows], name="Algorithm"), pd.MultiIndex.from_tuples(cols)
    frame = pd.DataFrame(shown, index=index, columns=columns)
    best_cells = Best(pd.DataFrame(values, index=index, columns=columns),
                      "highest mean per column (higher ACSA and GM are better)")
    notes = ["Cell: mean±std (ddof=1) over repeats, 2 decimals; blank = no runs for that data set/loss; "
             "the CSV keeps full precision"]
    return Table(spec.get("title", ""), [Block("", frame, best=best_cells)], pd.DataFrame(data),
                 empty_rows(rows, present, spec), counts, notes)


def gamo_fid(df: pd.DataFrame, spec: dict) -> Table:
    """GAMO Table 5: FID of each method's generated images per data set, "calculated between real and
    artificial images from each class and averaged over classes": per training set the mean over its
    minority classes, then mean ± std over the training sets."""
    rows, datasets = list(spec["rows"]), list(spec["columns"])
    # Repeats of one fold share its synthetic set (and copy its FID): count each training set once.
    runs = df.drop_duplicates(["experiment", "data", "skew", "ir", "seed", "fold", "method"]) if len(df) else df
    fid_cols = [c for c in runs.columns if str(c).startswith("fid.")]
    runs = runs.assign(fid_mean=runs[fid_cols].apply(pd.to_numeric, errors="coerce").mean(axis=1)
                       if fid_cols else math.nan)
    shown, values, data, counts, present, sizes = [], [], [], [], set(), set()
    for m in rows:
        line, numbers = [], []
        for d in datasets:
            sub = _runs(runs, method=m, data=d)
            c = cell(sub, "fid_mean")
            line.append(fmt_pm(c, 2))
            numbers.append(c.mean)
            classes = sorted(int(str(k).split(".")[1]) for k in fid_cols if sub[k].notna().any()) if len(sub) else []
            data.append({"method": m, "label": row_label(m, spec), "data": d, "fid_mean": c.mean, "fid_std": c.std,
                         "n": c.n, "classes": " ".join(map(str, classes))})
            if c.n:
                counts.append(c.n)
                present.add(m)
                for side in ("n_generated", "n_real"):
                    cols = [k for k in sub.columns if str(k).startswith(f"fid_{side}.")]
                    sizes.update(f"{side.split('_')[1]} {int(v)}" for v in sub[cols].stack().unique())
        shown.append(line)
        values.append(numbers)
    index = pd.Index([row_label(m, spec) for m in rows], name="Method")
    columns = pd.Index([data_label(d) for d in datasets], name="Data set")
    best_cells = Best(pd.DataFrame(values, index=index, columns=columns), "lowest FID per data set (lower is better)",
                      lower=list(columns))
    notes = [
        "Cell: Inception FID (pool-3, 2048-d) between a method's generated images of one minority class and the "
        "real test images of that class, averaged over the minority classes, then mean±std (ddof=1) over the "
        "skewed training sets (each counted once), 2 decimals",
        "Images per class and side: " + (", ".join(sorted(sizes)) or "no runs") + "; FID grows as samples shrink, "
        "so only cells with equal sizes compare",
        "Scale: the paper's Table 5 values (0.17-15.1) are far below standard Inception FID for these data (spec "
        "§1.6, §9.41); only the ordering of the methods is comparable with the paper",
    ]
    return Table(spec.get("title", ""), [Block("", pd.DataFrame(shown, index=index, columns=columns), best=best_cells)],
                 pd.DataFrame(data), empty_rows(rows, present, spec), counts, notes)


def class_heading(runs: pd.DataFrame, data: str, c: int) -> str:
    """IMSIC's column heading: class name and its training imbalance ratio, e.g. 'Bag (IR=67:1)'."""
    name = FMNIST_CLASSES[c] if data == "fmnist" and 0 <= c < len(FMNIST_CLASSES) else str(c)
    count_cols = [k for k in runs.columns if k.startswith("train_count.")]
    if not len(runs) or f"train_count.{c}" not in count_cols:
        return name
    counts = runs[count_cols].apply(pd.to_numeric, errors="coerce").median()
    return f"{name} (IR={round(counts.max() / counts[f'train_count.{c}'])}:1)"


def imsic(df: pd.DataFrame, spec: dict) -> Table:
    """IMSIC Table 1: per-class recall and F1 of the reported classes, '•' where the reference is
    significantly better (two-sided paired t-test over folds, p < 0.05)."""
    rows, datasets, classes = list(spec["rows"]), list(spec["columns"]), [int(c) for c in spec["report_classes"]]
    ref = spec.get("reference")
    metrics = (("Recall", "recall"), ("F1", "f1"))
    cols = [(data_label(d), class_heading(_runs(df, data=d), d, c), name)
            for d in datasets for c in classes for name, _ in metrics]
    shown, values, data, counts, present, marks = [], [], [], [], set(), 0
    for m in rows:
        line, numbers, row = [], [], {"method": m, "label": row_label(m, spec)}
        for d in datasets:
            sub, ref_sub = _runs(df, method=m, data=d), _runs(df, method=ref, data=d) if ref else df.iloc[:0]
            for c in classes:
                for _, stat in metrics:
                    col = f"{stat}.{c}"
                    cc = cell(sub, col)
                    text = fmt_pm(cc, 3, " ± ", strip_zero=True)
                    p = math.nan
                    if m != ref and not cc.empty and len(ref_sub):
                        p, diff, _ = paired_ttest(per_fold(ref_sub, col), per_fold(sub, col))
                        if p < 0.05 and diff > 0:
                            text += " •"
                            marks += 1
                    line.append(text)
                    numbers.append(cc.mean)
                    key = f"{d}_class{c}_{stat}"
                    row.update({f"{key}_mean": cc.mean, f"{key}_std": cc.std, f"{key}_p_vs_reference": p})
            row[f"{d}_n"] = len(sub)
            if len(sub):
                counts.append(len(sub))
                present.add(m)
        shown.append(line)
        values.append(numbers)
        data.append(row)
    index, columns = pd.Index([row_label(m, spec) for m in rows], name="Method"), pd.MultiIndex.from_tuples(cols)
    frame = pd.DataFrame(shown, index=index, columns=columns)
    best_cells = Best(pd.DataFrame(values, index=index, columns=columns),
                      "highest mean per column (higher recall and F1 are better)")
    notes = ["Cell: per-class value, mean ± std (ddof=1) over folds/repeats, 3 decimals"]
    if ref and len(_runs(df, method=ref)):
        notes.append(f"• = {row_label(ref, spec)} is better with p < 0.05 (two-sided paired t-test, "
                     f"scipy.stats.ttest_rel, paired by fold); {marks} cell(s) marked")
    else:
        notes.append(f"Significance marks (•) need the reference method's runs ({row_label(ref, spec)} ({ref})): "
                     f"none found, so no cell is marked")
    return Table(spec.get("title", ""), [Block("", frame, best=best_cells)], pd.DataFrame(data),
                 empty_rows(rows, present, spec), counts, notes)


def imsic_ir(df: pd.DataFrame, spec: dict) -> Table:
    """IMSIC Fig. 3's numbers: one :func:`imsic` block per IR (ascending), the reported classes as the
    spec lists them (the rarest class of the geometric profile), t-test marks as in Table 1."""
    irs = sorted({float(ir) for ir in df["ir"].dropna()}) if len(df) else []
    blocks, data, counts, notes, present = [], [], [], [], set()
    for ir in irs:
        part = imsic(df[df["ir"].astype(float) == ir], spec)
        for b in part.blocks:
            blocks.append(Block(f"IR {ir:g}", b.frame, key=f"ir{ir:g}", best=b.best))
        data.append(part.data.assign(ir=ir))
        counts += part.cell_counts
        present |= {m for m in spec["rows"] if f"{row_label(m, spec)} ({m})" not in part.empty}
        notes = part.notes
    if not blocks:  # no runs: one empty Table 1 block, so the header says which rows are missing
        return imsic(df, spec)
    return Table(spec.get("title", ""), blocks, pd.concat(data, ignore_index=True),
                 empty_rows(list(spec["rows"]), present, spec), counts, notes)


def egl_adult(df: pd.DataFrame, spec: dict) -> Table:
    """EGL Table 1: method × IR rows; AUC-PR, Δ vs the reference, precision at recall 0.75/0.5/0.25."""
    rows, irs, ref = list(spec["rows"]), list(spec["irs"]), spec.get("reference")
    aps = [("AP@0.75", "ap_at.0.75"), ("AP@0.5", "ap_at.0.5"), ("AP@0.25", "ap_at.0.25")]
    shown, values, index, data, counts, present = [], [], [], [], [], set()
    for m in rows:
        for ir in irs:
            sub = _runs(df, method=m, ir=ir)
            auc = cell(sub, "auc_pr")
            ref_auc = cell(_runs(df, method=ref, ir=ir), "auc_pr").mean if ref else math.nan
            delta = 100 * (auc.mean - ref_auc) / ref_auc if auc.n and np.isfinite(ref_auc) else math.nan
            delta_text = "baseline" if m == ref and auc.n else (f"{fmt(delta, 1)}%" if np.isfinite(delta) else "")
            ap_cells = [cell(sub, key) for _, key in aps]
            shown.append([fmt_pm(auc, 3), delta_text] + [fmt_pm(c, 3) for c in ap_cells])
            values.append([auc.mean, math.nan if m == ref else delta] + [c.mean for c in ap_cells])
            index.append((row_label(m, spec), f"{_ir_text(ir)}:1"))
            row = {"method": m, "label": row_label(m, spec), "ir": ir, "n": len(sub),
                   "auc_pr_mean": auc.mean, "auc_pr_std": auc.std, "delta_percent": delta}
            for (name, key), c in zip(aps, ap_cells):
                row[f"{key}_mean"], row[f"{key}_std"] = c.mean, c.std
            data.append(row)
            if len(sub):
                counts.append(len(sub))
                present.add(m)
    row_index = pd.MultiIndex.from_tuples(index, names=["Method", "IR"])
    columns = ["AUC-PR", "Δ"] + [name for name, _ in aps]
    frame = pd.DataFrame(shown, index=row_index, columns=columns)
    best_cells = Best(pd.DataFrame(values, index=row_index, columns=columns),
                      "highest mean per column among the methods at the same IR (higher is better)", within="IR")
    notes = [f"Cells: mean±std (ddof=1) over splits; Δ = 100 (AUC-PR - AUC-PR({row_label(ref, spec)})) / "
             f"AUC-PR({row_label(ref, spec)}) at the same IR; AP@k = precision at recall k"]
    if ref and not len(_runs(df, method=ref)):
        notes.append(f"Δ is blank: the reference {row_label(ref, spec)} ({ref}) has no runs "
                     f"({empty_reason(ref)})")
    return Table(spec.get("title", ""), [Block("", frame, best=best_cells)], pd.DataFrame(data),
                 empty_rows(rows, present, spec), counts, notes)


def egl_datasets(df: pd.DataFrame, spec: dict) -> Table:
    """EGL Tables 2-3: AUC-PR 'mean+std' per data set × method, mean and mean-rank rows, Friedman test."""
    rows = list(spec["rows"])
    sub = df[df["method"].isin(rows)]
    datasets = _ordered(sub["data"], EGL_DATASETS)
    cells = {(d, m): cell(_runs(sub, data=d, method=m), "auc_pr") for d in datasets for m in rows}
    filled = [m for m in rows if any(not cells[(d, m)].empty for d in datasets)]
    complete = [d for d in datasets if all(not cells[(d, m)].empty for m in filled)]
    means = pd.DataFrame([[cells[(d, m)].mean for m in filled] for d in complete], index=complete, columns=filled)
    shown = [[fmt_pm(cells[(d, m)], 2, "+") for m in rows] for d in datasets]
    data = [{"data": d, **{f"{m}_{s}": getattr(cells[(d, m)], s) for m in rows for s in ("mean", "std", "n")}}
            for d in datasets]
    avg = {m: Cell(float(means[m].mean()), float(means[m].std(ddof=1)) if len(complete) > 1 else math.nan,
                   len(complete)) if complete else Cell(math.nan, math.nan, 0) for m in filled}
    ranks = dict(zip(filled, mean_ranks(means.to_numpy()))) if complete and filled else {}
    shown.append([fmt_pm(avg[m], 2, "+") if m in avg else "" for m in rows])
    shown.append([fmt(ranks[m], 2) if m in ranks else "" for m in rows])
    data.append({"data": "mean", **{f"{m}_{s}": getattr(avg[m], s) for m in filled for s in ("mean", "std", "n")}})
    data.append({"data": "mean rank", **{f"{m}_mean": ranks[m] for m in ranks}})
    index, columns = pd.Index(datasets + ["mean", "mean rank"], name="Dataset"), [row_label(m, spec) for m in rows]
    frame = pd.DataFrame(shown, index=index, columns=columns)
    values = [[cells[(d, m)].mean for m in rows] for d in datasets]
    values.append([avg[m].mean if m in avg else math.nan for m in rows])
    values.append([ranks.get(m, math.nan) for m in rows])
    best_cells = Best(pd.DataFrame(values, index=index, columns=columns),
                      "highest AUC-PR per data set and in the 'mean' row, lowest mean rank (higher AUC-PR is better)",
                      lower=["mean rank"], methods_in_columns=True)
    notes = ["Cell: AUC-PR mean+std (ddof=1) over splits, as the paper writes it; 'mean' = mean+std over the "
             f"data sets that have all {len(filled)} methods with runs; 'mean rank' ranks those methods per data "
             "set (1 = best, ties averaged) and averages over the same data sets"]
    if len(complete) < len(datasets):
        notes.append(f"Left out of mean and mean rank (some method lacks runs): "
                     f"{', '.join(d for d in datasets if d not in complete)}")
    table = Table(spec.get("title", ""), [Block("", frame, best=best_cells)], pd.DataFrame(data),
                  empty_rows(rows, filled, spec), [c.n for c in cells.values() if c.n], notes)
    table.footer.append(friedman_line(means))
    return table


def friedman_line(scores: pd.DataFrame) -> str:
    """The Friedman/Iman–Davenport sentence printed below EGL tables (or why it is missing).

    Parameters
    ----------
    scores : pandas.DataFrame
        AUC-PR means, data sets (rows) x methods (columns), only data sets that have every method.

    Returns
    -------
    str
        One line: the statistics, or why the test was not computed.
    """
    n, k = scores.shape
    if k < 3 or n < 2:
        return (f"Friedman test not computed: it needs >= 3 methods with runs and >= 2 data sets with all of them "
                f"(have k = {k}, N = {n})")
    if (scores.nunique(axis=1) == 1).all():
        return f"Friedman test not computed: every one of the N = {n} data sets ties all k = {k} methods"
    r = friedman_iman_davenport(scores.to_numpy(dtype=float))
    return (f"Friedman test over k = {r.k} methods and N = {r.n} data sets: chi2_F = {r.chi2:.4f}; "
            f"Iman-Davenport F_F = {r.f:.4f} with ({r.df1}, {r.df2}) d.o.f., p = {r.p:.4g}")


LAYOUTS: dict[str, Layout] = {
    "fajardo": fajardo,
    "fajardo_timing": fajardo_timing,
    "fajardo_fid": fajardo_fid,
    "gamo": gamo,
    "gamo_fid": gamo_fid,
    "imsic": imsic,
    "imsic_ir": imsic_ir,
    "egl_adult": egl_adult,
    "egl_datasets": egl_datasets,
}
