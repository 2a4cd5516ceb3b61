"""``python -m imbench.report OUT_DIR`` (or ``imbench report OUT_DIR``): a report of any sweep.

Reads every finished run under OUT_DIR and writes, to DEST (default OUT_DIR/report): the runs as one tidy
table (runs.csv), the summary table (summary.md/.csv/.tex: mean ± std and n per setting), the significance
tests (significance.md, paired_tests.csv, rank_tests.csv), the missing runs (missing_runs.csv), plots
(figures/*.png and .svg) and one self-contained page, report.html. Each CSV has a .provenance.json beside it.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from imbench.errors import ConfigError, ImbenchError, RecordsError
from imbench.report.settings import DEFAULT_BY
from imbench.report.summary import DEFAULT_METRICS

PROG = "python -m imbench.report"


def parse_args(argv: list[str], prog: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="the sweep's out_dir (or a folder above several)")
    p.add_argument("--by", nargs="+", default=list(DEFAULT_BY), metavar="KEY",
                   help="keys naming a row: job fields (data, ir, skew, method, classifier, loss, protocol) or "
                        "dotted config keys; settings that differ in other keys get those keys as extra "
                        f"columns (default: {' '.join(DEFAULT_BY)})")
    p.add_argument("--reference", metavar="METHOD",
                   help="the method the others are compared with (default: none when the runs have it)")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), metavar="METRIC",
                   help=f"metric columns to report (default: {' '.join(DEFAULT_METRICS)})")
    p.add_argument("--dest", type=Path, help="where to write the report (default: OUT_DIR/report)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    p.add_argument("--no-progress", action="store_true", help="no progress line while reading the runs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """Entry point; returns 0 (written; missing runs are warned about), 1 (no runs to report) or 2 (bad input).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).
    prog : str
        How the command was called, for the help and the provenance.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv, prog)
    if not 0 < args.alpha < 1:
        print(f"{prog}: error: --alpha must be between 0 and 1, got {args.alpha}", file=sys.stderr)
        return 2
    from imbench.report.make import ReportOptions, make_report  # after parsing: --help stays fast

    options = ReportOptions(out_dir=args.out_dir, dest=args.dest, by=args.by, reference=args.reference,
                            metrics=args.metrics, alpha=args.alpha, progress=not args.no_progress,
                            made_by=" ".join([prog, *map(shlex.quote, argv)]))
    try:
        report = make_report(options)
    except RecordsError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except (ConfigError, ImbenchError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    n_settings = report.sweep.runs["setting"].nunique()
    state = "complete" if report.completeness.complete else "INCOMPLETE (see the warnings above)"
    print(f"read {len(report.sweep.runs)} finished runs of {n_settings} settings from {args.out_dir}: {state}")
    print(f"wrote {len(report.files)} files to {options.destination}; open {report.html}")
    return 0
