"""The report's plots (matplotlib, Agg canvas), each saved as PNG and SVG with its provenance in the
files' metadata.

- :func:`metric_vs_ir`: each metric against the IR, one line per method, 95% t-intervals; one figure per
  family (a block without its IR).
- :func:`per_class_recall`: recall of every class per method, one panel per block.
- :func:`recall_scatter`: minority against majority recall, one point per setting.

Intervals are over the (seed, fold) units of a setting, repeats of a fold averaged. Settings that lack
runs (:mod:`imbench.report.completeness`) are drawn with hollow markers.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from imbench.report.completeness import Completeness
from imbench.report.frame import Sweep
from imbench.tables.stats import per_unit

DPI = 100
UNIT_KEYS = ["seed", "fold"]
MARKERS = "osD^vP*Xh<>"
DODGE_DECADES = 0.012
HOLLOW_NOTE = "hollow markers: incomplete settings (runs missing)"


@dataclass(frozen=True)
class SavedFigure:
    """A figure written as ``png`` and ``svg``, with a title and a caption for the HTML page."""
    png: Path
    svg: Path
    title: str
    caption: str


@dataclass(frozen=True)
class Interval:
    """Mean and half-width of the 95% t-interval (NaN half-width with fewer than 2 values)."""
    mean: float
    half_width: float
    n: int


def t_interval(values: np.ndarray, level: float = 0.95) -> Interval:
    """Student t-interval of the mean of ``values`` (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(math.nan, math.nan, 0)
    if len(x) == 1:
        return Interval(float(x[0]), math.nan, 1)
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x)))
    return Interval(float(np.mean(x)), half, len(x))


def new_figure(width: float, height: float, constrained: bool = True) -> Figure:
    """A Figure on an Agg canvas (no pyplot state); ``constrained`` layout for subplot grids."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def slug(text: str) -> str:
    """A file-name-safe version of ``text``."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:80] or "all"


def save_figure(fig: Figure, dest: Path, stem: str, title: str, caption: str, provenance: str) -> SavedFigure:
    """Write ``dest/stem.png`` and ``dest/stem.svg``; ``provenance`` goes into both files' metadata.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    dest : pathlib.Path
        The folder (made if missing).
    stem : str
        File name without suffix.
    title, caption : str
        For the metadata and the HTML page.
    provenance : str
        Command, commits and hardware behind the figure.

    Returns
    -------
    SavedFigure
    """
    dest.mkdir(parents=True, exist_ok=True)
    png, svg = dest / f"{stem}.png", dest / f"{stem}.svg"
    meta = {"Title": title, "Description": f"{caption}\n{provenance}"}
    fig.savefig(png, dpi=DPI, format="png", metadata=meta)
    fig.savefig(svg, format="svg", metadata=meta)
    return SavedFigure(png, svg, title, caption)


def variant_colors(sweep: Sweep, reference: str) -> dict[str, tuple]:
    """One colour per method (variant), the same in every figure; the reference's first."""
    import matplotlib

    variants = sorted(sweep.runs["variant"].unique(), key=lambda v: (not v.split(" (")[0] == reference, v))
    cmap = matplotlib.colormaps["tab10" if len(variants) <= 10 else "tab20"]
    return {v: cmap(i % cmap.N) for i, v in enumerate(variants)}


def _ir_values(frame: pd.DataFrame) -> bool:
    return pd.to_numeric(frame["ir"], errors="coerce").notna().all()


def _grid(count: int, columns: int) -> tuple[int, int]:
    cols = min(count, columns)
    return math.ceil(count / cols), cols


def metric_vs_ir(sweep: Sweep, completeness: Completeness, metrics: list[str], reference: str, dest: Path,
                 provenance: str) -> list[SavedFigure]:
    """One figure per family with a numeric IR: a panel per metric, a line per method (see the module docstring)."""
    colors = variant_colors(sweep, reference)
    saved = []
    for label, family in sweep.runs.groupby("family_label", sort=True):
        if not _ir_values(family):
            continue
        nrows, ncols = _grid(len(metrics), 3)
        fig = new_figure(4.2 * ncols, 3.3 * nrows + 0.6)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        variants = [v for v in colors if v in set(family["variant"])]
        for ax, metric in zip(axes, metrics):
            for i, variant in enumerate(variants):
                runs = family[family["variant"] == variant]
                points = []
                for sid, setting in runs.groupby("setting"):
                    iv = t_interval(per_unit(setting, metric, UNIT_KEYS).to_numpy())
                    points.append((float(setting["ir"].iloc[0]), iv, completeness.setting_complete(sid)))
                points.sort(key=lambda p: p[0])
                # methods side by side around each IR (a small factor on the log axis), so intervals do not hide
                dodge = 10 ** (DODGE_DECADES * (i - (len(variants) - 1) / 2))
                x = [p[0] * dodge for p in points]
                y = [p[1].mean for p in points]
                err = [0 if math.isnan(p[1].half_width) else p[1].half_width for p in points]
                color = colors[variant]
                ax.errorbar(x, y, yerr=err, color=color, marker="o", ms=5, capsize=3, lw=1.4, label=variant,
                            mfc=color)
                for xi, yi, p in zip(x, y, points):
                    if not p[2]:
                        ax.plot([xi], [yi], marker="o", ms=8, mfc="white", mec=color, mew=1.5, ls="none")
            ax.set_xscale("log")
            irs = sorted({float(v) for v in family["ir"]})
            ax.set_xticks(irs, [f"{v:g}" for v in irs])
            ax.minorticks_off()
            ax.set_xlabel("imbalance ratio (IR)")
            ax.set_title(metric, fontsize=10)
            ax.grid(alpha=0.3)
        for ax in axes[len(metrics):]:
            ax.set_axis_off()
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)
        title = f"Metrics against IR — {label}"
        fig.suptitle(title, fontsize=11)
        caption = ("Mean over the (seed, fold) units of each setting with its 95% t-interval (repeats of a fold "
                   f"averaged); {HOLLOW_NOTE}.")
        saved.append(save_figure(fig, dest, f"metric_vs_ir_{slug(label)}", title, caption, provenance))
    return saved


def _classes(runs: pd.DataFrame) -> list[int]:
    found = [int(c.split(".", 1)[1]) for c in runs.columns
             if c.startswith("recall.") and c.split(".", 1)[1].isdigit() and runs[c].notna().any()]
    return sorted(found)


def per_class_recall(sweep: Sweep, completeness: Completeness, reference: str, dest: Path,
                     provenance: str) -> list[SavedFigure]:
    """One figure per family: a panel per block, bars of each class's recall per method (95% t-intervals)."""
    colors = variant_colors(sweep, reference)
    saved = []
    for label, family in sweep.runs.groupby("family_label", sort=True):
        blocks = _blocks_in_order(sweep, family)
        classes = _classes(family)
        if not classes:
            continue
        fig = new_figure(max(7.0, 0.55 * len(classes) * max(2, family["variant"].nunique()) / 2 + 2),
                         2.8 * len(blocks) + 0.8)
        axes = fig.subplots(len(blocks), 1, squeeze=False).ravel()
        for ax, (block_label, block) in zip(axes, blocks):
            variants = [v for v in colors if v in set(block["variant"])]
            width = 0.8 / len(variants)
            minority = set(block["m_set"].iloc[0]) if isinstance(block["m_set"].iloc[0], tuple) else set()
            for i, variant in enumerate(variants):
                runs = block[block["variant"] == variant]
                complete = all(completeness.setting_complete(s) for s in runs["setting"].unique())
                ivs = [t_interval(per_unit(runs, f"recall.{c}", UNIT_KEYS).to_numpy()) for c in classes]
                x = np.arange(len(classes)) + (i - (len(variants) - 1) / 2) * width
                ax.bar(x, [iv.mean for iv in ivs], width, color=colors[variant] if complete else "white",
                       edgecolor=colors[variant], hatch=None if complete else "//", label=variant,
                       yerr=[0 if math.isnan(iv.half_width) else iv.half_width for iv in ivs],
                       error_kw={"elinewidth": 0.8, "capsize": 1.5})
            ax.set_xticks(range(len(classes)), [f"{c}{'*' if c in minority else ''}" for c in classes])
            ax.set_ylabel("recall")
            ax.set_ylim(0, 1.05)
            ax.set_title(block_label, fontsize=9)
            ax.grid(axis="y", alpha=0.3)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)
        title = f"Per-class recall — {label}"
        fig.suptitle(title, fontsize=11)
        caption = ("Mean recall of each class (x axis; * = minority class) with its 95% t-interval over the "
                   "(seed, fold) units; hatched bars: incomplete settings.")
        saved.append(save_figure(fig, dest, f"per_class_recall_{slug(label)}", title, caption, provenance))
    return saved


def _blocks_in_order(sweep: Sweep, runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, runs) of the blocks in ``runs``, in the sweep's display order."""
    groups = dict(list(runs.groupby("block", sort=False)))
    return [(groups[b]["block_label"].iloc[0], groups[b]) for b in sweep.ordered_blocks() if b in groups]


def recall_scatter(sweep: Sweep, completeness: Completeness, reference: str, dest: Path,
                   provenance: str) -> SavedFigure | None:
    """Minority against majority recall: a panel per family, a point per setting (runs faint), IR by marker."""
    if "minority.recall" not in sweep.runs or "majority.recall" not in sweep.runs:
        return None
    colors = variant_colors(sweep, reference)
    families = list(sweep.runs.groupby("family_label", sort=True))
    nrows, ncols = _grid(len(families), 2)
    fig = new_figure(5.6 * ncols, 4.6 * nrows + 0.8)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (label, family) in zip(axes, families):
        blocks = [b for _, b in _blocks_in_order(sweep, family)]
        marker_of = {b["block_label"].iloc[0]: MARKERS[i % len(MARKERS)] for i, b in enumerate(blocks)}
        for sid, runs in family.groupby("setting"):
            color = colors[runs["variant"].iloc[0]]
            marker = marker_of[runs["block_label"].iloc[0]]
            ax.scatter(runs["majority.recall"], runs["minority.recall"], color=color, marker=marker, s=12,
                       alpha=0.3, linewidths=0)
            complete = completeness.setting_complete(sid)
            ax.scatter([runs["majority.recall"].mean()], [runs["minority.recall"].mean()], marker=marker, s=70,
                       facecolors=color if complete else "white", edgecolors=color if not complete else "black",
                       linewidths=1.2 if not complete else 0.6, zorder=3)
        # each axis fitted to its own spread: majority recall is usually crowded near 1
        limits = {}
        for col in ("majority.recall", "minority.recall"):
            values = family[col].to_numpy(dtype=float)
            low, high = float(np.nanmin(values)), float(np.nanmax(values))
            pad = max(0.01, 0.08 * (high - low))
            limits[col] = (max(0.0, low - pad), min(1.0, high + pad) + 0.002)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", zorder=0)
        ax.set_xlim(*limits["majority.recall"])
        ax.set_ylim(*limits["minority.recall"])
        ax.set_xlabel("majority recall")
        ax.set_ylabel("minority recall")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
        for block_label, marker in marker_of.items():
            ir = family.loc[family["block_label"] == block_label, "ir"].iloc[0]
            ax.scatter([], [], marker=marker, color="grey", label=f"ir={ir}" if len(marker_of) > 1 else block_label)
        ax.legend(fontsize=8, loc="lower left", frameon=False, title="marker", title_fontsize=8)
    for ax in axes[len(families):]:
        ax.set_axis_off()
    for variant, color in colors.items():
        axes[0].scatter([], [], color=color, label=variant)
    handles, labels = axes[0].get_legend_handles_labels()
    keep = [(h, lab) for h, lab in zip(handles, labels) if lab in colors]
    fig.legend([h for h, _ in keep], [lab for _, lab in keep], loc="outside lower center",
               ncols=min(len(keep), 6), frameon=False)
    title = "Minority against majority recall"
    fig.suptitle(title, fontsize=11)
    caption = ("Large markers: the mean of a setting (colour: method; shape: block); small faint markers: its runs; "
               "dashed: equal recall (where in range; the axes have different scales); hollow: incomplete settings.")
    return save_figure(fig, dest, "recall_scatter", title, caption, provenance)
