"""Critical-difference diagram over data sets (beyond EGL's paper: its Tables 2–3 give only Friedman's test).

    python -m imbench.figures.cd_datasets egl_2 egl_3 --profile paper [--alpha 0.05] [--out-dir D]

Friedman's test with the Iman–Davenport F over the data sets every method has runs on, then the Nemenyi
post-hoc test (critical difference from scipy's studentized range, :func:`imbench.tables.stats.
nemenyi_critical_difference`; Demšar 2006). The diagram is :func:`imbench.report.cd_diagram.draw_cd`.
Writes ``<results-dir>/<experiments>_<profile>_cd.{png,md}``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from imbench.errors import ConfigError
from imbench.figures.dataset_scores import Board, board_parser, load_board
from imbench.report.cd_diagram import draw_cd
from imbench.report.significance import MIN_BLOCKS, MIN_METHODS, rank_test_of_scores

PROG = "imbench.figures.cd_datasets"


def write_cd(board: Board, path: Path, metric: str, alpha: float) -> list[Path]:
    """Run the tests, draw the diagram and write the PNG and a caption with the statistics."""
    scores = board.data.scores.rename(columns=board.labels)
    test = rank_test_of_scores(scores, metric, alpha)
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_cd(test).savefig(path, dpi=130)
    f = test.friedman
    caption = path.with_suffix(".md")
    title = f"Critical-difference diagram of {metric} over {len(scores)} data sets"
    lines = [f"# {title}", "", f"![{title}]({path.name})", "",
             f"Friedman over k = {f.k} methods and N = {f.n} data sets: chi2_F = {f.chi2:.4f}; Iman–Davenport "
             f"F_F = {f.f:.4f} with ({f.df1}, {f.df2}) d.o.f., p = {f.p:.4g}.",
             f"Nemenyi post-hoc (scipy's studentized range): CD = {test.critical_difference:.3f} at alpha = {alpha}. "
             "Bars join methods whose mean ranks differ by at most the CD (not significantly different).", "",
             "| method | mean rank |", "|---|---|"]
    lines += [f"| {m} | {r:.3f} |" for m, r in test.mean_ranks.items()]
    lines += ["", "Significant differences: " + ("; ".join(
        f"{d.better} better than {d.worse} (rank gap {d.gap:.2f})" for d in test.differences) or "none") + ".", ""]
    lines += [f"- Note: {n}." for n in board.data.notes]
    lines += ["", *(f"- {line}" for line in board.provenance), ""]
    caption.write_text("\n".join(lines))
    return [path, caption]


def main(argv: list[str] | None = None) -> int:
    p = board_parser(f"python -m {PROG}", __doc__.split("\n\n")[0])
    p.add_argument("--alpha", type=float, default=0.05)
    a = p.parse_args(argv)
    if not 0 < a.alpha < 1:
        p.error(f"--alpha must be in (0, 1), got {a.alpha}")
    try:
        board = load_board(a, PROG)
    except ConfigError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    n, k = board.data.scores.shape
    if n < MIN_BLOCKS or k < MIN_METHODS:
        print(f"{PROG}: error: the rank test needs >= {MIN_BLOCKS} data sets that all of >= {MIN_METHODS} methods "
              f"have runs on, under {a.out_dir} (profile {a.profile}); have {k} method(s) on {n} data set(s). "
              + " ".join(board.data.notes), file=sys.stderr)
        return 1
    name = f"{'_'.join(a.experiments)}_{a.profile}_cd.png"
    files = write_cd(board, Path(a.results_dir) / name, a.metric, a.alpha)
    print("wrote " + ", ".join(map(str, files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
