"""Grids of synthetic samples per method, from the previews the runs saved (image data only).

One grid per block: a row per method whose runs saved a preview (:func:`imbench.figures.synthetic.load_preview`;
methods without synthetic samples have none and are left out), the first run (by seed, fold, repeat)
that has one, drawn by :func:`imbench.figures.grid.grid_figure`.
"""
from __future__ import annotations

from pathlib import Path

from imbench.figures.grid import GridRow, grid_figure
from imbench.figures.synthetic import load_preview
from imbench.report.frame import Sweep
from imbench.report.plots import SavedFigure, save_figure, slug, variant_colors

PER_CLASS = 3


def synthetic_grids(sweep: Sweep, reference: str, dest: Path, provenance: str,
                    per_class: int = PER_CLASS) -> list[SavedFigure]:
    """One PNG + SVG grid per block that has previews (see the module docstring)."""
    order = list(variant_colors(sweep, reference))
    saved = []
    groups = dict(list(sweep.runs.groupby("block", sort=False)))
    for block in (groups[b] for b in sweep.ordered_blocks()):
        label = block["block_label"].iloc[0]
        rows, classes = [], set()
        for variant in [v for v in order if v in set(block["variant"])]:
            runs = block[block["variant"] == variant].sort_values(["seed", "fold", "repeat"])
            for path in runs["path"]:
                preview = load_preview(Path(path).parent)
                if preview is not None and len(preview.images):
                    rows.append(GridRow(variant, preview.images, preview.labels, source=Path(path).parent.name))
                    classes.update(int(c) for c in preview.labels)
                    break
        if not rows:
            continue
        title = f"Synthetic samples — {label}"
        fig = grid_figure(rows, sorted(classes), per_class, title)
        caption = (f"{per_class} synthetic images per minority class from the first run of each method that saved "
                   "a preview: " + "; ".join(f"{r.label} from run {r.source}" for r in rows)
                   + ". Methods without synthetic samples have no row.")
        saved.append(save_figure(fig, dest, f"synthetic_{slug(label)}", title, caption, provenance))
    return saved
