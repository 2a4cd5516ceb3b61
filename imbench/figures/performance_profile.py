"""Dolan–Moré performance profile over data sets (EGL Fig. 3).

    python -m imbench.figures.performance_profile egl_2 egl_3 --profile paper [--out-dir D] [--results-dir R]

For method m and data set d with score s_{m,d} (higher is better) and best score b_d = max_m s_{m,d}, the
profile is rho_m(theta) = |{d : s_{m,d} >= theta * b_d}| / N for theta in [0, 1] (spec §1.5). The paper
does not say which methods it plots (spec §9 item 30); the default is every method of the listed
experiments' tables that has runs, on the data sets where all of them have runs. Writes
``<results-dir>/<experiments>_<profile>_performance_profile.{png,csv,md}``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from imbench.errors import ConfigError
from imbench.figures.dataset_scores import Board, board_parser, load_board

PROG = "imbench.figures.performance_profile"


def performance_profile(scores: pd.DataFrame, thetas: np.ndarray) -> pd.DataFrame:
    """rho_m(theta) for every method (column) of ``scores`` (data sets × methods, higher is better).

    Parameters
    ----------
    scores : pandas.DataFrame
        Complete matrix of non-negative scores.
    thetas : numpy.ndarray
        Thresholds in [0, 1].

    Returns
    -------
    pandas.DataFrame
        Index ``theta``, one column per method: the fraction of data sets whose score is at least theta
        times that data set's best score.
    """
    values = scores.to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError("the score matrix has missing values; keep only data sets every method has")
    if (values < 0).any():
        raise ValueError("the performance profile needs non-negative scores (theta times the best score)")
    best = values.max(axis=1, keepdims=True)
    # a relative tolerance, so that a score exactly at theta * best counts (0.75 * 0.8 > 0.6 in floating point)
    threshold = np.asarray(thetas, dtype=float)[:, None, None] * best[None, :, :]
    reached = values[None, :, :] >= threshold * (1 - 1e-9)
    profile = reached.mean(axis=1)
    return pd.DataFrame(profile, index=pd.Index(np.asarray(thetas, dtype=float), name="theta"),
                        columns=list(scores.columns))


def _area(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[:-1] + y[1:]) / 2))


def write_profile(board: Board, path: Path, metric: str, thetas: np.ndarray) -> list[Path]:
    """Draw the profile and write the PNG, the numbers (CSV) and a caption (Markdown)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = board.data.scores
    profile = performance_profile(scores, thetas)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    for m in profile.columns:
        ax.step(profile.index, profile[m], where="post", label=board.labels.get(m, m),
                lw=2.2 if m == "egl" else 1.3)
    ax.set_xlabel("θ (fraction of the best score on each data set)")
    ax.set_ylabel(f"fraction of the {len(scores)} data sets with {metric} ≥ θ · best")
    ax.set_xlim(float(thetas[0]), float(thetas[-1]))
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    csv = path.with_suffix(".csv")
    profile.rename(columns=board.labels).to_csv(csv)
    scores_csv = path.with_name(path.stem + "_scores.csv")
    scores.rename(columns=board.labels).to_csv(scores_csv)
    caption = path.with_suffix(".md")
    title = f"Dolan–Moré performance profile of {metric} over {len(scores)} data sets"
    area = {board.labels.get(m, m): _area(profile.index.to_numpy(), profile[m].to_numpy()) for m in profile.columns}
    # Provenance goes right under the figure: the data-set list below can run to thousands of characters.
    lines = [f"# {title}", "", f"![{title}]({path.name})", "", *(f"- {line}" for line in board.provenance), "",
             f"rho_m(theta) = share of data sets where method m scores at least theta times the best method "
             f"there. Profile: [{csv.name}]({csv.name}); the mean scores it is made from: "
             f"[{scores_csv.name}]({scores_csv.name}).", "",
             "Area under each profile over the plotted theta range (higher = closer to the best more often): "
             + ", ".join(f"{k} {v:.3f}" for k, v in sorted(area.items(), key=lambda kv: -kv[1])) + ".", "",
             f"Data sets: {', '.join(map(str, scores.index))}.", ""]
    lines += [f"- Note: {n}." for n in board.data.notes] + [""]
    caption.write_text("\n".join(lines))
    return [path, csv, scores_csv, caption]


def main(argv: list[str] | None = None) -> int:
    p = board_parser(f"python -m {PROG}", __doc__.split("\n\n")[0])
    p.add_argument("--theta-min", type=float, default=0.0, help="left end of the theta axis (default 0)")
    a = p.parse_args(argv)
    if not 0.0 <= a.theta_min < 1.0:
        p.error(f"--theta-min must be in [0, 1), got {a.theta_min}")
    try:
        board = load_board(a, PROG)
    except ConfigError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    scores = board.data.scores
    if scores.shape[0] < 1 or scores.shape[1] < 2:
        print(f"{PROG}: error: need at least 2 methods with runs on a common data set under {a.out_dir} "
              f"(profile {a.profile}); have {scores.shape[1]} method(s) on {scores.shape[0]} data set(s). "
              + " ".join(board.data.notes), file=sys.stderr)
        return 1
    name = f"{'_'.join(a.experiments)}_{a.profile}_performance_profile.png"
    files = write_profile(board, Path(a.results_dir) / name, a.metric, np.linspace(a.theta_min, 1.0, 201))
    print("wrote " + ", ".join(map(str, files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
