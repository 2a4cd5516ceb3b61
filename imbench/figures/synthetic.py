"""Synthetic-image previews: saved next to a run's record, collected into one grid per experiment block.

The grid has one row per method; within a row, ``per_class`` images of each minority class, classes
left to right (the layout of Fajardo et al.'s Figs. 1-2). PNG has no text, so a Markdown caption beside
it names the rows, the classes and the runs the images come from.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from imbench.figures.png import write_png

PREVIEW = "synthetic_preview.npz"


def save_preview(run_dir: Path, X_res: np.ndarray, y_res: np.ndarray, synthetic: np.ndarray,
                 classes: list[int], per_class: int = 8, seed: int = 0) -> Path | None:
    """Keep ``per_class`` synthetic images of each class in ``classes`` (uint8) in ``run_dir``."""
    if X_res.ndim < 3 or not synthetic.any():
        return None
    rng = np.random.default_rng(seed)
    keep_x, keep_y = [], []
    for c in classes:
        idx = np.flatnonzero(synthetic & (y_res == c))
        if len(idx) == 0:
            continue
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False)
        imgs = X_res[pick].reshape((len(pick),) + X_res.shape[-2:]) if X_res.ndim == 4 and X_res.shape[1] == 1 \
            else X_res[pick]
        keep_x.append(np.clip(np.rint(np.asarray(imgs, dtype=np.float64) * 255), 0, 255).astype(np.uint8))
        keep_y.append(np.full(len(pick), c))
    if not keep_x:
        return None
    path = Path(run_dir) / PREVIEW
    np.savez_compressed(path, images=np.concatenate(keep_x), labels=np.concatenate(keep_y))
    return path


def load_preview(run_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    path = Path(run_dir) / PREVIEW
    if not path.is_file():
        return None
    with np.load(path) as z:
        return z["images"], z["labels"]


def grid(rows: list[tuple[np.ndarray, np.ndarray]], classes: list[int], per_class: int, pad: int = 2,
         group_pad: int = 6) -> np.ndarray:
    """One uint8 canvas: row r holds, for each class, up to ``per_class`` images of rows[r] (H×W gray)."""
    h, w = next(imgs.shape[-2:] for imgs, _ in rows if len(imgs))
    col_w = per_class * (w + pad) + group_pad
    canvas = np.full((len(rows) * (h + pad) + pad, len(classes) * col_w + pad), 255, dtype=np.uint8)
    for r, (imgs, labels) in enumerate(rows):
        for ci, c in enumerate(classes):
            sel = imgs[labels == c][:per_class]
            for k, img in enumerate(sel):
                y0 = pad + r * (h + pad)
                x0 = pad + ci * col_w + k * (w + pad)
                canvas[y0:y0 + h, x0:x0 + w] = img
    return canvas


def write_grid(path: Path, rows: list[tuple[str, np.ndarray, np.ndarray, str]], classes: list[int],
               per_class: int, title: str, provenance: list[str] | None = None) -> tuple[Path, Path]:
    """Write the PNG and its Markdown caption; ``rows`` are (label, images, labels, source run);
    ``provenance`` lines (command, commits, hardware) go under the title."""
    png = write_png(path, grid([(i, l) for _, i, l, _ in rows], classes, per_class))
    lines = [f"# {title}", ""] + [f"{line}  " for line in provenance or []] + ["", f"![{title}]({png.name})", "",
             f"Rows, top to bottom (each: {per_class} synthetic images per class, classes "
             f"{', '.join(map(str, classes))} left to right):", ""]
    lines += [f"{k + 1}. {label} — from run `{src}`" for k, (label, _, _, src) in enumerate(rows)]
    caption = path.with_suffix(".md")
    caption.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return png, caption
