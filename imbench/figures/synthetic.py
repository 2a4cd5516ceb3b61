"""Synthetic-image previews: saved by the runs next to their record, read back for the figures.

A run keeps a few of its synthetic images per minority class in ``synthetic_preview.npz`` (uint8,
arrays ``images`` and ``labels``); :mod:`imbench.figures.grid` lays them out. This module does not
import matplotlib, so the runner can save previews without it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PREVIEW = "synthetic_preview.npz"


@dataclass
class Preview:
    """Saved synthetic images (uint8; N x H x W, or N x C x H x W for colour) and their classes."""
    images: np.ndarray
    labels: np.ndarray


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
    from imbench.records import write_bytes_atomic

    path = Path(run_dir) / PREVIEW
    images, labels = np.concatenate(keep_x), np.concatenate(keep_y)
    write_bytes_atomic(path, lambda fh: np.savez_compressed(fh, images=images, labels=labels))
    return path


def load_preview(run_dir: Path) -> Preview | None:
    """The preview a run saved in ``run_dir``, or None when it saved none."""
    path = Path(run_dir) / PREVIEW
    if not path.is_file():
        return None
    with np.load(path) as z:
        return Preview(images=z["images"], labels=z["labels"])
