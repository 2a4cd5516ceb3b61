"""Making a report: read the runs, check them, compute the tables and tests, draw, write the files."""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from imbench.errors import RecordsError
from imbench.report.cd_diagram import draw_cd
from imbench.report.completeness import Completeness, assess
from imbench.report.frame import Sweep, build_sweep
from imbench.report.html import ReportContent, render_html
from imbench.report.plots import SavedFigure, metric_vs_ir, per_class_recall, recall_scatter, save_figure, slug
from imbench.report.provenance import ReportProvenance, report_provenance
from imbench.report.reading import RunSet, read_runs
from imbench.report.samples import synthetic_grids
from imbench.report.settings import DEFAULT_BY
from imbench.report.significance import paired_comparisons, rank_test
from imbench.report.summary import DEFAULT_METRICS, check_metrics, check_reference, summarize, summary_table
from imbench.report.texts import rank_rows, significance_markdown
from imbench.tables.latex import to_latex
from imbench.tables.render import to_markdown

DEFAULT_REFERENCE = "none"
FIGURES = "figures"
MAX_WARNINGS = 20


@dataclass
class ReportOptions:
    """What to report and where.

    Attributes
    ----------
    out_dir : pathlib.Path
        The sweep's out_dir (or a folder above several).
    dest : pathlib.Path or None
        Where to write (default ``<out_dir>/report``).
    by : list of str
        Keys naming a row (default data, ir, method, classifier).
    reference : str or None
        The method every other is compared with (default ``none`` when the runs have it, else the first
        method by name).
    metrics : list of str
        Metric columns (default acsa, gm, minority.recall, minority.f1, auc_pr).
    alpha : float
        Significance level.
    progress : bool
        Show a progress line while reading.
    made_by : str
        The command line, for the provenance.
    """
    out_dir: Path
    dest: Path | None = None
    by: list[str] = field(default_factory=lambda: list(DEFAULT_BY))
    reference: str | None = None
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    alpha: float = 0.05
    progress: bool = True
    made_by: str = "python -m imbench.report"

    @property
    def destination(self) -> Path:
        return self.dest if self.dest is not None else self.out_dir / "report"


@dataclass
class Report:
    """A written report: its files, the numbers behind it and what is missing."""
    files: list[Path]
    html: Path
    sweep: Sweep
    completeness: Completeness
    provenance: ReportProvenance
    summary: pd.DataFrame
    reference: str


def _warn(message: str) -> None:
    print(f"imbench.report: warning: {message}", file=sys.stderr)


def read_checked(options: ReportOptions, warn: Callable[[str], None] = _warn) -> RunSet:
    """Read the runs, warning about unreadable records; raises RecordsError naming the problem and the fix."""
    out_dir = options.out_dir
    if not out_dir.is_dir():
        raise RecordsError(f"{out_dir} is not a directory; pass the out_dir of a sweep (the folder that holds its "
                           "<run id>/result.json directories)")
    runset = read_runs(out_dir, progress=options.progress)
    for bad in runset.unreadable:
        warn(f"skipped {bad.path}: {bad.reason}")
    for dup in runset.duplicates:
        warn(f"skipped {dup}: a run with the same id was already read from another folder")
    if not runset.records:
        found = (f" (found {len(runset.unfinished)} run directories without a done marker: interrupted or still "
                 "running)" if runset.unfinished else "")
        raise RecordsError(f"no finished run records under {out_dir}{found}; run a sweep into it first, e.g. "
                           f"python -m imbench -m data=mnist ir=50,100 method=none,smote out_dir={out_dir}, "
                           "or pass the folder that holds the runs")
    return runset


def choose_reference(options: ReportOptions, sweep: Sweep, warn: Callable[[str], None] = _warn) -> str:
    if options.reference is not None:
        check_reference(options.reference, sweep)
        return options.reference
    if DEFAULT_REFERENCE in sweep.methods:
        return DEFAULT_REFERENCE
    warn(f"no run of method {DEFAULT_REFERENCE!r}; comparing with {sweep.methods[0]!r} (choose with --reference)")
    return sweep.methods[0]


def _write(path: Path, text: str, written: list[Path]) -> None:
    path.write_text(text, encoding="utf-8")
    written.append(path)


def _write_csv(dest: Path, name: str, frame: pd.DataFrame, provenance_json: str, written: list[Path]) -> None:
    _write(dest / f"{name}.csv", frame.to_csv(index=False), written)
    _write(dest / f"{name}.provenance.json", provenance_json, written)


def make_report(options: ReportOptions, warn: Callable[[str], None] = _warn) -> Report:
    """Read the runs under ``options.out_dir`` and write the report's files to its destination.

    Writes ``runs.csv`` (one row per run; ``runs.parquet`` too when pyarrow is installed),
    ``summary.{md,csv,tex}``, ``significance.md``, ``paired_tests.csv``, ``rank_tests.csv``,
    ``missing_runs.csv`` (each CSV with a ``.provenance.json`` sidecar), ``figures/*.png|svg`` and
    ``report.html``. Missing runs are warned about through ``warn``.

    Returns
    -------
    Report
    """
    runset = read_checked(options, warn)
    sweep = build_sweep(runset, options.by)
    check_metrics(options.metrics, sweep)
    reference = choose_reference(options, sweep, warn)
    completeness = assess(sweep, runset)
    problems = completeness.summary_lines()
    if problems:
        warn(f"INCOMPLETE sweep: {len(problems)} missing run(s) or other problem(s); incomplete settings are "
             "marked † and not averaged as if complete:")
        for line in problems[:MAX_WARNINGS]:
            print(f"  {line}", file=sys.stderr)
        if len(problems) > MAX_WARNINGS:
            print(f"  (+{len(problems) - MAX_WARNINGS} more; see missing_runs.csv)", file=sys.stderr)
    metrics = options.metrics
    summary = summarize(sweep, completeness, metrics, reference)
    table = summary_table(summary, sweep, metrics)
    provenance = report_provenance(runset.records, sweep.runs, options.made_by, str(options.out_dir), problems)
    header = provenance.lines()
    prov_json = provenance.to_json()
    paired = paired_comparisons(sweep, metrics, reference, options.alpha)
    outcomes = [rank_test(sweep, m, options.alpha) for m in metrics]

    dest = options.destination
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    _write_csv(dest, "runs", sweep.runs, prov_json, written)
    if importlib.util.find_spec("pyarrow") is not None:
        sweep.runs.astype({c: str for c in ("m_set", "classes") if c in sweep.runs}).to_parquet(dest / "runs.parquet")
        written.append(dest / "runs.parquet")
    _write(dest / "summary.md", to_markdown(table, header), written)
    _write(dest / "summary.tex", to_latex(table, header, label="tab:sweep_summary"), written)
    _write_csv(dest, "summary", summary, prov_json, written)
    _write(dest / "significance.md", significance_markdown(paired, outcomes, metrics, header, reference), written)
    _write_csv(dest, "paired_tests", paired.table, prov_json, written)
    _write_csv(dest, "rank_tests", rank_rows(outcomes), prov_json, written)
    _write_csv(dest, "missing_runs", missing_frame(completeness), prov_json, written)

    figures_dir = dest / FIGURES
    prov_text = "\n".join(header[1:6])
    figures = metric_vs_ir(sweep, completeness, metrics, reference, figures_dir, prov_text)
    figures += per_class_recall(sweep, completeness, reference, figures_dir, prov_text)
    scatter = recall_scatter(sweep, completeness, reference, figures_dir, prov_text)
    figures += [scatter] if scatter else []
    cd_figures: dict[str, SavedFigure] = {}
    for outcome in outcomes:
        if outcome.test is not None:
            title = f"Critical difference diagram — {outcome.metric}"
            caption = (f"Mean ranks over {outcome.test.friedman.n} blocks (1 = best); bars join methods whose mean "
                       "ranks differ by no more than Nemenyi's CD (scipy.stats.studentized_range).")
            cd_figures[outcome.metric] = save_figure(draw_cd(outcome.test), figures_dir,
                                                     f"cd_{slug(outcome.metric)}", title, caption, prov_text)
    samples = synthetic_grids(sweep, reference, figures_dir, prov_text)
    for fig in [*figures, *cd_figures.values(), *samples]:
        written += [fig.png, fig.svg]

    html_path = dest / "report.html"
    listed = [str(p.relative_to(dest)) for p in written] + ["report.html"]
    content = ReportContent(provenance=provenance, sweep=sweep, completeness=completeness, summary=summary,
                            summary_table=table, paired=paired, rank_outcomes=outcomes, metrics=metrics,
                            reference=reference, figures=figures, cd_figures=cd_figures, sample_figures=samples,
                            files=listed)
    _write(html_path, render_html(content), written)
    return Report(files=written, html=html_path, sweep=sweep, completeness=completeness, provenance=provenance,
                  summary=summary, reference=reference)


def missing_frame(completeness: Completeness) -> pd.DataFrame:
    """One row per missing run (or other problem), for ``missing_runs.csv``."""
    rows = [{"kind": "missing run", "block": m.block_label, "method": m.variant, "seed": m.replicate.seed,
             "fold": m.replicate.fold, "repeat": m.replicate.repeat, "run_id": m.run_id, "state": m.state}
            for m in completeness.missing]
    rows += [{"kind": "method absent from block", "block": a.block_label, "method": a.variant,
              "state": "no finished run (it ran at other IRs of this setting)"} for a in completeness.absent]
    rows += [{"kind": "unfinished directory", "run_id": s.run_dir.name, "state": s.setting_hint}
             for s in completeness.stray]
    rows += [{"kind": "unreadable record", "run_id": u.path.parent.name, "state": u.reason}
             for u in completeness.unreadable]
    frame = pd.DataFrame(rows, columns=["kind", "block", "method", "seed", "fold", "repeat", "run_id", "state"])
    return frame.astype({"seed": "Int64", "fold": "Int64", "repeat": "Int64"})
