"""Our Fajardo m = {3,4,5} cells beside the published ones, with the gaps the issue asks about.

    python scripts/compare_fajardo.py PROFILE [--rho 320|80] [--results-dir results]

rho = 320 (default): reads ``results/fajardo_{5,7}_<PROFILE>.csv`` (classifier) and
``results/fajardo_{1,3}_<PROFILE>.csv`` (FID), made by ``python -m imbench.tables``, and the published
values in ``results/paper_reference/fajardo_2021_m345_rho320.csv``; writes
``results/fajardo_comparison_<PROFILE>.md``. rho = 80: Tables 6/8 and 2/4, the reference
``fajardo_2021_m345_rho80.csv`` (MNIST only so far), and ``fajardo_comparison_<PROFILE>_rho80.md``.
A gap is flagged when |F1 difference| > 0.03 or the FID differs by more than 15% of the paper's value.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import pandas as pd


def _read(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    return pd.read_csv(io.StringIO("".join(l for l in path.open() if not l.startswith("#"))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("profile")
    p.add_argument("--rho", type=int, default=320, choices=[320, 80])
    p.add_argument("--results-dir", default="results")
    a = p.parse_args()
    res = Path(a.results_dir)
    ref = _read(res / "paper_reference" / f"fajardo_2021_m345_rho{a.rho}.csv")
    tables = {320: (("mnist", "fajardo_5", "fajardo_1"), ("fmnist", "fajardo_7", "fajardo_3")),
              80: (("mnist", "fajardo_6", "fajardo_2"), ("fmnist", "fajardo_8", "fajardo_4"))}[a.rho]
    numbers = ",".join(e[-1] for t in tables for e in t[1:])
    lines = [f"# Fajardo m = {{3,4,5}}, rho = {a.rho}: imbench (profile {a.profile}) beside the paper", "",
             f"Made by: python scripts/compare_fajardo.py {a.profile} --rho {a.rho}. "
             f"Ours: results/fajardo_{{{numbers}}}_{a.profile}.csv "
             "(their headers give commands, commit, hardware); paper: results/paper_reference/. "
             "Flag: |ΔF1| > 0.03 or |ΔFID| > 15% of the paper's value. n = runs (F1: draws × MLP seeds; FID: draws).", ""]
    for data, clf_exp, fid_exp in tables:
        ours = _read(res / f"{clf_exp}_{a.profile}.csv")
        fid = _read(res / f"{fid_exp}_{a.profile}.csv")
        paper = ref[ref["data"] == data].set_index("method")
        if paper.empty:
            lines += [f"## {'MNIST' if data == 'mnist' else 'Fashion-MNIST'}: no published values typed in yet", ""]
            continue
        lines += [f"## {'MNIST' if data == 'mnist' else 'Fashion-MNIST'} (Tables {clf_exp[-1]} and {fid_exp[-1]})", "",
                  "| method | n | m F1 ours | paper | Δ | overall F1 ours | paper | Δ | FID 3/4/5 ours | paper | flags |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
        for method, pr in paper.iterrows():
            row = None if ours is None else ours[(ours["block"] == "fajardo_m3") & (ours["method"] == method)]
            if row is None or row.empty or not row.iloc[0]["n"]:
                lines.append(f"| {method} | 0 | | {pr.m_f1:.3f} | | | {pr.overall_f1:.3f} | | | | not run |")
                continue
            r = row.iloc[0]
            flags = []
            dm, do = r.minority_f1_mean - pr.m_f1, r.overall_f1_mean - pr.overall_f1
            if abs(dm) > 0.03:
                flags.append(f"m F1 {dm:+.3f}")
            if abs(do) > 0.03:
                flags.append(f"overall F1 {do:+.3f}")
            ours_fid, paper_fid = [], []
            for c in (3, 4, 5):
                f = None if fid is None else fid[(fid["block"] == "fajardo_m3") & (fid["method"] == method) & (fid["class"] == c)]
                val = None if f is None or f.empty or pd.isna(f.iloc[0]["fid_mean"]) else float(f.iloc[0]["fid_mean"])
                pv = pr.get(f"fid_{c}")
                ours_fid.append("–" if val is None else f"{val:.1f}")
                paper_fid.append("–" if pd.isna(pv) else f"{pv:g}")
                if val is not None and not pd.isna(pv) and abs(val - pv) > 0.15 * pv:
                    flags.append(f"FID {c} {100 * (val - pv) / pv:+.0f}%")
            lines.append(f"| {method} | {int(r.n)} | {r.minority_f1_mean:.3f} | {pr.m_f1:.3f} | {dm:+.3f} | "
                         f"{r.overall_f1_mean:.3f} | {pr.overall_f1:.3f} | {do:+.3f} | {'/'.join(ours_fid)} | "
                         f"{'/'.join(paper_fid)} | {'; '.join(flags) or 'within tolerance'} |")
        lines.append("")
    out = res / f"fajardo_comparison_{a.profile}{'' if a.rho == 320 else f'_rho{a.rho}'}.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
