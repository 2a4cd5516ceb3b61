"""A metric of the rarest class against the imbalance ratio, one line per method (IMSIC Fig. 3).

    python -m imbench.figures.ir_sweep EXPERIMENT [--profile P] [--out-dir outputs] [--results-dir results]
                                       [--metrics recall,f1] [--where data=mnist]

Collects the finished runs of EXPERIMENT made with the profile, takes for each run the per-class value of
each metric for the class with the fewest training images of that run's skewed draw (the rarest class,
recorded in ``counts.train_before``), and draws mean ± std (ddof 1) over the runs of each (method, IR) as
error bars, one panel per metric. The x axis is the configured IR; where the draw's realised IR (largest
class count / rarest class count, after the counts are rounded down to whole images) differs from it, the
tick says both (``300`` over ``(308)``). Writes ``<results-dir>/<experiment>_<profile>[_<values>]_ir_sweep.png``
and a ``.md`` caption beside it (rows, run counts, commits, hardware, the command) and the numbers as
``.csv``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from imbench.figures import parse_where
from imbench.methods.registry import config_dir
from imbench.tables.collect import (UnknownExperiment, available_experiments, collect_records, load_table_spec,
                                    records_frame)
from imbench.tables.model import row_label

METRIC_NAMES = {"recall": "Recall", "f1": "F1", "precision": "Precision"}


@dataclass(frozen=True)
class SweepFiles:
    """What :func:`write_ir_sweep` wrote."""

    png: Path
    caption: Path
    csv: Path


def rarest_class_values(df: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per run: method, ir, the rarest class, the realised IR (largest count / rarest count) and
    the rarest class's value of each metric.

    The rarest class of a run is the one with the fewest training images in its draw (ties: the higher
    class label, the last of a geometric profile). Runs without per-class counts are dropped."""
    counts = [c for c in df.columns if c.startswith("train_count.")]
    out = []
    for _, run in df.iterrows():
        have = {int(c.split(".", 1)[1]): run[c] for c in counts if pd.notna(run[c])}
        if not have:
            continue
        rarest = min(have, key=lambda c: (have[c], -c))
        row = {"method": run["method"], "ir": float(run["ir"]), "rarest_class": rarest,
               "rarest_count": int(have[rarest]), "realised_ir": float(max(have.values())) / float(have[rarest]),
               "fold": run["fold"]}
        for m in metrics:
            row[m] = run.get(f"{m}.{rarest}")
        out.append(row)
    return pd.DataFrame(out, columns=["method", "ir", "rarest_class", "rarest_count", "realised_ir", "fold",
                                      *metrics])


def summarise(values: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean, std (ddof 1) and run count of each metric per (method, ir), with the realised IR (mean over
    the runs; the draws of one IR share their counts)."""
    agg = {f"{m}_{s}": (m, s) for m in metrics for s in ("mean", "std")}
    agg["realised_ir"] = ("realised_ir", "mean")
    agg["n_runs"] = ("fold", "count")
    return values.groupby(["method", "ir"], sort=True).agg(**agg).reset_index()


def ir_tick_label(nominal: float, realised: float) -> str:
    """The configured IR, with the realised one below it in parentheses when they differ by more than
    0.5% (rounding a class's count down to whole images raises the IR: 4000/300 keeps 13 images, IR 308)."""
    if abs(realised - nominal) <= 0.005 * nominal:
        return f"{nominal:g}"
    return f"{nominal:g}\n({realised:.0f})"


def write_ir_sweep(path: Path, summary: pd.DataFrame, rows: list[str], labels: dict[str, str],
                   metrics: list[str], title: str, provenance: list[str]) -> SweepFiles:
    """Draw one panel per metric (x: IR on a log scale, y: mean ± std of the rarest class) and write the
    PNG, its caption and the numbers."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for method in rows:
            part = summary[summary["method"] == method].sort_values("ir")
            if part.empty:
                continue
            ax.errorbar(part["ir"], part[f"{metric}_mean"], yerr=part[f"{metric}_std"].fillna(0.0),
                        marker="o", capsize=3, label=labels.get(method, method))
        ax.set_xscale("log")
        realised = summary.groupby("ir")["realised_ir"].mean().sort_index()
        ax.set_xticks(list(realised.index))
        ax.set_xticklabels([ir_tick_label(ir, r) for ir, r in realised.items()])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # no "6×10¹" labels between the IRs
        ax.set_xlabel("imbalance ratio (majority / rarest class)")
        ax.set_ylabel(f"{METRIC_NAMES.get(metric, metric)} of the rarest class")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    csv = path.with_suffix(".csv")
    summary.to_csv(csv, index=False)
    caption = path.with_suffix(".md")
    lines = [f"# {title}", "", f"![{title}]({path.name})", "",
             "Points: mean over the runs of each method and IR; error bars: std (ddof 1). Numbers: "
             f"[{csv.name}]({csv.name}). Realised IR: largest class count / rarest class count of the draws.",
             "", "| method | IR | realised IR | runs |", "|---|---|---|---|"]
    lines += [f"| {labels.get(r.method, r.method)} | {r.ir:g} | {r.realised_ir:.1f} | {r.n_runs} |"
              for r in summary.itertuples()]
    lines += ["", *provenance, ""]
    caption.write_text("\n".join(lines))
    return SweepFiles(png=path, caption=caption, csv=csv)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m imbench.figures.ir_sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("experiment")
    p.add_argument("--profile", default="quick")
    p.add_argument("--out-dir", default="outputs")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--metrics", default="recall,f1", help="comma-separated per-class metrics (recall, f1, precision)")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep runs whose job field KEY equals VALUE (repeatable), e.g. data=mnist")
    p.add_argument("--conf-dir", default=str(config_dir()))
    a = p.parse_args(argv)
    metrics = [m.strip() for m in a.metrics.split(",") if m.strip()]
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown or not metrics:
        p.error(f"--metrics takes per-class metrics from {', '.join(METRIC_NAMES)}; got {a.metrics!r}")
    where = parse_where(p, a.where)
    try:
        spec = load_table_spec(a.conf_dir, a.experiment)
    except UnknownExperiment as e:
        print(f"imbench.figures.ir_sweep: error: {e}. Available experiments: "
              f"{', '.join(available_experiments(a.conf_dir))}", file=sys.stderr)
        return 2
    records = [r for r in collect_records(a.out_dir, list(spec.get("sources") or [a.experiment]), a.profile)
               if all(str(r["job"].get(k)) == v for k, v in where.items())]
    rows = [m for m in spec["rows"]]
    values = rarest_class_values(records_frame(records), metrics) if records else pd.DataFrame()
    values = values[values["method"].isin(rows)] if len(values) else values
    if values.empty:
        print(f"imbench.figures.ir_sweep: no finished run of {a.experiment} (profile {a.profile}"
              f"{''.join(f', {k}={v}' for k, v in where.items())}) under {a.out_dir}; run the experiment first",
              file=sys.stderr)
        return 1
    summary = summarise(values, metrics)
    used = [r for r in records if r["job"]["method"] in rows]
    data = sorted({str(r["job"]["data"]) for r in used})
    commits = sorted({str((r.get("git") or {}).get("commit")) for r in used})
    hardware = sorted({f"{(r.get('hardware') or {}).get('host')} ({(r.get('hardware') or {}).get('gpu') or 'cpu'})"
                       for r in used})
    made_by = (f"python -m imbench.figures.ir_sweep {a.experiment} --profile {a.profile} --metrics {','.join(metrics)}"
               + "".join(f" --where {k}={v}" for k, v in where.items())
               + ("" if a.out_dir == "outputs" else f" --out-dir {a.out_dir}"))
    rarest = sorted(set(values["rarest_class"]))
    title = (f"{spec.get('title') or a.experiment}: {', '.join(data)}, rarest class {', '.join(map(str, rarest))} "
             f"(profile {a.profile})")
    provenance = [f"Made by: {made_by}", f"Runs: {len(used)}", f"Git commit(s) of the runs: {', '.join(commits)}",
                  f"Hardware: {'; '.join(hardware)}"]
    suffix = "".join(f"_{v}" for v in where.values())
    files = write_ir_sweep(Path(a.results_dir) / f"{a.experiment}_{a.profile}{suffix}_ir_sweep.png", summary, rows,
                           {m: row_label(m, spec) for m in rows}, metrics, title, provenance)
    print(f"wrote {files.png}, {files.caption} and {files.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
