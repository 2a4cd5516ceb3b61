"""Critical-difference diagram (Demšar 2006) of a :class:`~imbench.report.significance.RankTest`.

A rank axis from 1 (best, left) to k; each method hangs from its mean rank, names to the left for the
better half and to the right for the rest; thick bars join methods whose mean ranks differ by no more
than Nemenyi's critical difference (drawn as a bar above the axis).
"""
from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure

from imbench.report.plots import new_figure
from imbench.report.significance import RankTest


@dataclass(frozen=True)
class Clique:
    """Consecutive methods (by mean rank) not significantly different: positions ``first`` to ``last``."""
    first: int
    last: int


def cliques(ranks: list[float], cd: float) -> list[Clique]:
    """Maximal runs of ascending ``ranks`` spanning at most ``cd``, of two or more methods."""
    found = []
    for i in range(len(ranks)):
        j = i
        while j + 1 < len(ranks) and ranks[j + 1] - ranks[i] <= cd:
            j += 1
        if j > i and not any(c.first <= i and j <= c.last for c in found):
            found.append(Clique(i, j))
    return found


def draw_cd(test: RankTest) -> Figure:
    """The diagram of ``test`` as a matplotlib Figure."""
    names = list(test.mean_ranks.index)
    ranks = [float(r) for r in test.mean_ranks]
    k = len(names)
    half = (k + 1) // 2
    groups = cliques(ranks, test.critical_difference)
    height = 1.6 + 0.32 * max(half, k - half) + 0.18 * len(groups)
    fig = new_figure(8.0, height, constrained=False)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96))
    ax.set_axis_off()
    lo, hi = 1, k
    axis_y = 0.0
    ax.set_xlim(lo - 1.6, hi + 1.6)
    ax.set_ylim(-(0.5 + 0.32 * max(half, k - half) + 0.18 * len(groups)), 1.0)
    ax.plot([lo, hi], [axis_y, axis_y], color="black", lw=1)
    for r in range(lo, hi + 1):
        ax.plot([r, r], [axis_y, axis_y + 0.08], color="black", lw=1)
        ax.text(r, axis_y + 0.12, str(r), ha="center", va="bottom", fontsize=9)
    cd = test.critical_difference
    ax.plot([lo, lo + cd], [0.65, 0.65], color="black", lw=1.5)
    for x in (lo, lo + cd):
        ax.plot([x, x], [0.6, 0.7], color="black", lw=1)
    ax.text(lo + cd / 2, 0.72, f"CD = {cd:.2f} (Nemenyi, α = {test.alpha})", ha="center", va="bottom", fontsize=9)
    for i, (name, rank) in enumerate(zip(names, ranks)):
        left = i < half
        level = i if left else k - 1 - i
        y = -(0.35 + 0.32 * level + 0.18 * len(groups))
        end = lo - 0.2 if left else hi + 0.2
        ax.plot([rank, rank, end], [axis_y, y, y], color="black", lw=0.8)
        ax.text(end - 0.05 if left else end + 0.05, y, f"{name} ({rank:.2f})", ha="right" if left else "left",
                va="center", fontsize=9)
    for g, clique in enumerate(groups):
        y = -(0.12 + 0.16 * g)
        ax.plot([ranks[clique.first] - 0.04, ranks[clique.last] + 0.04], [y, y], color="black", lw=3,
                solid_capstyle="butt")
    return fig
