"""Test precision-recall curves, one panel per imbalance ratio (EGL Fig. 2).

    python -m imbench.figures.pr_curves egl_1 --profile paper [--fold 0] [--methods rs,smote,egl,potential]
                                              [--out-dir D] [--results-dir R]

Draws the test-set PR curve that each run of a binary task stores (``curves.test_pr``, written since
records carry it) for one split (``--fold``; the paper does not say which split its Fig. 2 shows, spec §9
item 30) and repeat 0. The paper's colours: up-sampling green, SMOTE blue, EGL red, Potential dashed purple;
other methods take matplotlib's next colours. Writes ``<results-dir>/<experiment>_<profile>_pr_curves.
{png,md}``; runs without a stored curve are listed in the caption with the command that redoes them.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from imbench.figures import parse_where
from imbench.methods.registry import config_dir
from imbench.tables.collect import UnknownExperiment, available_experiments, collect_records, load_table_spec
from imbench.tables.model import row_label

PROG = "imbench.figures.pr_curves"
STYLE = {"rs": {"color": "tab:green"}, "random": {"color": "tab:green"}, "smote": {"color": "tab:blue"},
         "egl": {"color": "tab:red", "lw": 2.0}, "potential": {"color": "tab:purple", "ls": "--"}}
DEFAULT_METHODS = ["rs", "smote", "egl", "potential"]


@dataclass(frozen=True)
class Curve:
    """One run's stored test PR curve."""
    method: str
    data: str
    ir: float
    recall: list[float]
    precision: list[float]
    auc_pr: float
    path: str


@dataclass
class PickedCurves:
    """The stored curves of the selected runs, and the binary-task runs that stored none (made before
    records kept them)."""
    curves: list[Curve]
    missing: list[dict]


def pick_curves(records: list[dict], methods: list[str], fold: int) -> PickedCurves:
    """The curves of ``methods`` on split ``fold`` (repeat 0); multiclass runs (no PR curve) are skipped."""
    curves, missing = [], []
    for r in records:
        job = r["job"]
        if job["method"] not in methods or int(job["fold"]) != fold or int(job.get("repeat") or 0) != 0:
            continue
        if len((r.get("metrics") or {}).get("classes") or []) != 2:
            continue
        pr = (r.get("curves") or {}).get("test_pr")
        if not pr:
            missing.append(r)
            continue
        curves.append(Curve(job["method"], str(job["data"]), float(job["ir"]), pr["recall"], pr["precision"],
                            float(r["metrics"]["auc_pr"]), r["_path"]))
    return PickedCurves(curves, missing)


def write_pr_curves(path: Path, curves: list[Curve], methods: list[str], labels: dict[str, str], title: str,
                    notes: list[str]) -> list[Path]:
    """One panel per IR (ascending), one step curve per method; PNG and caption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    irs = sorted({c.ir for c in curves})
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(irs), figsize=(4.3 * len(irs), 3.8), squeeze=False, sharey=True)
    rows = []
    for ax, ir in zip(axes[0], irs):
        for m in methods:
            for c in (c for c in curves if c.ir == ir and c.method == m):
                ax.step(c.recall, c.precision, where="post", label=f"{labels.get(m, m)} (AP {c.auc_pr:.3f})",
                        **STYLE.get(m, {}))
                rows.append(f"| {ir:g}:1 | {labels.get(m, m)} | {c.auc_pr:.4f} | {len(c.recall)} | `{c.path}` |")
        ax.set_title(f"{ir:g}:1")
        ax.set_xlabel("recall")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[0][0].set_ylabel("precision (test)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    caption = path.with_suffix(".md")
    lines = [f"# {title}", "", f"![{title}]({path.name})", "",
             "| IR | method | AUC-PR | curve points | record |", "|---|---|---|---|---|", *rows, "", *(f"- {n}" for n in notes), ""]
    caption.write_text("\n".join(lines))
    return [path, caption]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.split("\n\n")[0])
    p.add_argument("experiment")
    p.add_argument("--profile", default="quick")
    p.add_argument("--fold", type=int, default=0, help="the split whose curves are drawn (default 0)")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep runs whose job field KEY equals VALUE (repeatable)")
    p.add_argument("--out-dir", default="outputs")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--conf-dir", default=str(config_dir()))
    a = p.parse_args(argv)
    where = parse_where(p, a.where)
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    try:
        spec = load_table_spec(a.conf_dir, a.experiment)
    except UnknownExperiment as e:
        print(f"{PROG}: error: {e}. Available experiments: {', '.join(available_experiments(a.conf_dir))}",
              file=sys.stderr)
        return 2
    records = [r for r in collect_records(a.out_dir, [a.experiment], a.profile)
               if all(str(r["job"].get(k)) == v for k, v in where.items())]
    picked = pick_curves(records, methods, a.fold)
    curves, missing = picked.curves, picked.missing
    datasets = sorted({c.data for c in curves})
    if len(datasets) > 1:
        print(f"{PROG}: error: the runs cover {len(datasets)} data sets ({', '.join(datasets)}); the panels are IRs "
              f"of one data set: add --where data=NAME", file=sys.stderr)
        return 2
    labels = {m: row_label(m, spec) for m in methods}
    notes = []
    if missing:
        notes.append("Runs of split {} made before records stored PR curves (not drawn): {}. Redo them with "
                     "`python -m imbench experiment={} profile={} rerun=true method=M ir=IR` (keeps the old records "
                     "aside).".format(a.fold, ", ".join(sorted(f"{labels[r['job']['method']]} at "
                                                               f"{float(r['job']['ir']):g}:1" for r in missing)),
                                      a.experiment, a.profile))
    absent = [labels[m] for m in methods if not any(c.method == m for c in curves)
              and not any(r["job"]["method"] == m for r in missing)]
    if absent:
        notes.append(f"No finished run of split {a.fold}: {', '.join(absent)}.")
    if not curves:
        print(f"{PROG}: error: no run of {a.experiment} (profile {a.profile}, split {a.fold}) under {a.out_dir} "
              f"stored a PR curve (binary tasks store one). " + " ".join(notes), file=sys.stderr)
        return 1
    commits = sorted({str((r.get("git") or {}).get("commit")) for r in records if r["_path"] in
                      {c.path for c in curves}})
    made_by = (f"python -m {PROG} {a.experiment} --profile {a.profile} --fold {a.fold} --methods {','.join(methods)}"
               + "".join(f" --where {k}={v}" for k, v in where.items())
               + ("" if a.out_dir == "outputs" else f" --out-dir {a.out_dir}"))
    notes += [f"Made by: {made_by}", f"Git commit(s) of the runs: {', '.join(commits)}"]
    title = f"Test precision-recall curves, {datasets[0]}, {a.experiment} (profile {a.profile}), split {a.fold}"
    suffix = "".join(f"_{v}" for v in where.values())
    files = write_pr_curves(Path(a.results_dir) / f"{a.experiment}_{a.profile}{suffix}_pr_curves.png", curves,
                            methods, labels, title, notes)
    print("wrote " + ", ".join(map(str, files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
