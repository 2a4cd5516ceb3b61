"""Grids of synthetic images drawn with matplotlib (Agg canvas: no display needed).

One subplot row per method; within a row ``per_class`` images of each minority class, classes left to
right with a narrow blank column between them (the layout of Fajardo et al.'s Figs. 1-2). The method
names label the rows, ``class c`` heads each class group and the title sits on top; a Markdown caption
beside the PNG names the runs the images come from and the provenance.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
SCALE = 2  # screen pixels per image pixel
MIN_IMAGE_PX = 48  # tiny images are drawn at least this large
PAD_PX = 6  # around each image
LABEL_PX = 110  # left margin for the method names
TITLE_PX = 44  # top margin for the title and the class headings
MARGIN_PX = 6  # right and bottom margins
GAP_RATIO = 0.25  # width of the blank column between class groups, relative to an image column


@dataclass
class GridRow:
    """One method's row: its label, its preview images (N x H x W, or N x C x H x W) and their classes."""
    label: str
    images: np.ndarray
    labels: np.ndarray
    source: str = ""  # the run the images come from, named in the caption


@dataclass(frozen=True)
class PixelSize:
    width: int
    height: int


@dataclass(frozen=True)
class FigureFiles:
    """What :func:`write_grid` wrote."""
    png: Path
    caption: Path


def grid_size(n_rows: int, n_classes: int, per_class: int, image_side: int) -> PixelSize:
    """Size in pixels of the PNG :func:`draw_grid` writes.

    Parameters
    ----------
    n_rows : int
        Methods (rows).
    n_classes : int
        Class groups.
    per_class : int
        Images per class and row.
    image_side : int
        Larger side of one image, in image pixels.

    Returns
    -------
    PixelSize
    """
    cell = max(SCALE * image_side, MIN_IMAGE_PX) + PAD_PX
    gaps = round(GAP_RATIO * cell) * max(n_classes - 1, 0)
    return PixelSize(width=LABEL_PX + n_classes * per_class * cell + gaps + MARGIN_PX,
                     height=TITLE_PX + n_rows * cell + MARGIN_PX)


def _displayable(image: np.ndarray) -> np.ndarray:
    """H x W (gray) or H x W x 3 (RGB) from an H x W, 1 x H x W or 3 x H x W uint8 image."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[0] in (1, 3):  # channels first, as the runs store them
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    return img


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def grid_figure(rows: list[GridRow], classes: list[int], per_class: int, title: str) -> Figure:
    """The grid as a matplotlib Figure (Agg canvas) of :func:`grid_size` pixels at :data:`DPI`.

    Parameters
    ----------
    rows : list of GridRow
        Top to bottom; a row with fewer than ``per_class`` images of a class leaves those cells blank.
    classes : list of int
        The class groups, left to right.
    per_class : int
        Images shown per class and row.
    title : str
        Drawn above the grid.

    Returns
    -------
    matplotlib.figure.Figure
        Ready to ``savefig`` in any format.
    """
    shown = [r for r in rows if len(r.images)]
    if not shown:
        raise ValueError("no row has images")
    side = max(_displayable(shown[0].images[0]).shape[:2])
    size = grid_size(len(rows), len(classes), per_class, side)
    fig = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    # Image columns of each class group, then a narrow blank column before the next group.
    ratios = ([1.0] * per_class + [GAP_RATIO]) * len(classes)
    ratios = ratios[:-1]
    axes = fig.subplots(len(rows), len(ratios), squeeze=False, gridspec_kw={
        "width_ratios": ratios, "wspace": 0.08, "hspace": 0.08,
        "left": LABEL_PX / size.width, "right": 1 - MARGIN_PX / size.width,
        "top": 1 - TITLE_PX / size.height, "bottom": MARGIN_PX / size.height,
    })
    for ax in axes.ravel():
        ax.set_axis_off()
    group_start = [ci * (per_class + 1) for ci in range(len(classes))]
    for r, row in enumerate(rows):
        for ci, c in enumerate(classes):
            for k, image in enumerate(row.images[row.labels == c][:per_class]):
                ax = axes[r, group_start[ci] + k]
                ax.set_axis_on()
                _blank(ax)
                ax.imshow(_displayable(image), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        first = axes[r, 0]
        first.set_axis_on()
        _blank(first)
        first.set_ylabel(row.label, rotation=0, ha="right", va="center", fontsize=9)
    for ci, c in enumerate(classes):
        left = axes[0, group_start[ci]].get_position()
        right = axes[0, group_start[ci] + per_class - 1].get_position()
        fig.text((left.x0 + right.x1) / 2, left.y1 + 4 / size.height, f"class {c}", ha="center", va="bottom",
                 fontsize=9)
    fig.suptitle(title, y=1 - 4 / size.height, va="top", fontsize=9)
    return fig


def draw_grid(path: str | Path, rows: list[GridRow], classes: list[int], per_class: int, title: str) -> Path:
    """Draw the grid (:func:`grid_figure`) and save it as a PNG of :func:`grid_size` pixels.

    Parameters
    ----------
    path : str or pathlib.Path
        The PNG to write (folders are made).
    rows, classes, per_class, title
        As for :func:`grid_figure`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    fig = grid_figure(rows, classes, per_class, title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def write_grid(path: str | Path, rows: list[GridRow], classes: list[int], per_class: int, title: str,
               provenance: list[str] | None = None) -> FigureFiles:
    """Write the PNG (:func:`draw_grid`) and its Markdown caption ``<path stem>.md``.

    Parameters
    ----------
    path : str or pathlib.Path
        The PNG to write.
    rows, classes, per_class, title
        As for :func:`draw_grid`.
    provenance : list of str, optional
        Lines (command, commits, hardware) printed under the caption's title.

    Returns
    -------
    FigureFiles
        The PNG and the caption.
    """
    png = draw_grid(path, rows, classes, per_class, title)
    lines = [f"# {title}", ""] + [f"{line}  " for line in provenance or []] + ["", f"![{title}]({png.name})", "",
             f"Rows, top to bottom (each: {per_class} synthetic images per class, classes "
             f"{', '.join(map(str, classes))} left to right):", ""]
    lines += [f"{k + 1}. {row.label} — from run `{row.source}`" for k, row in enumerate(rows)]
    caption = png.with_suffix(".md")
    caption.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return FigureFiles(png=png, caption=caption)
