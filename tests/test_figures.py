"""Synthetic-image previews and the matplotlib grid of Fajardo Figs. 1-2."""
from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from imbench.figures.grid import LABEL_PX, TITLE_PX, GridRow, grid_size, write_grid
from imbench.figures.synthetic import load_preview, save_preview

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_preview_keeps_only_synthetic_images_of_the_asked_classes(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((60, 1, 28, 28)).astype(np.float32)
    y = np.repeat([0, 3, 4], 20)
    synth = np.zeros(60, bool)
    synth[25:] = True  # last 15 of class 3 and all of class 4 are synthetic
    path = save_preview(tmp_path, X, y, synth, classes=[3, 4], per_class=5)
    preview = load_preview(tmp_path)
    assert path.is_file() and preview.images.shape == (10, 28, 28) and preview.images.dtype == np.uint8
    assert sorted(preview.labels.tolist()) == [3] * 5 + [4] * 5
    # every kept image is one of the synthetic images of its class, rescaled to 0..255
    pool = {c: X[synth & (y == c), 0].astype(np.float64) * 255 for c in (3, 4)}
    for img, c in zip(preview.images, preview.labels):
        assert min(np.abs(img - p).max() for p in pool[int(c)]) <= 0.5
    assert save_preview(tmp_path / "none", X, y, np.zeros(60, bool), classes=[3]) is None
    assert load_preview(tmp_path / "none") is None


def _rows_with_gray(image: np.ndarray, level: int) -> np.ndarray:
    """Pixel rows of the image area (right of the labels, under the title) holding gray ``level``."""
    area = image[TITLE_PX:, LABEL_PX:, :3]
    hit = (np.abs(area - level / 255).max(axis=-1) < 0.01)
    return TITLE_PX + np.flatnonzero(hit.any(axis=1))


def test_grid_png_has_the_expected_size_and_each_method_in_its_row(tmp_path):
    a = np.full((4, 5, 5), 10, np.uint8)
    b = np.full((4, 5, 5), 200, np.uint8)
    labels = np.array([1, 1, 2, 2])
    rows = [GridRow("SMOTE", a, labels, "r1"), GridRow("CVAE", b, labels, "r2")]
    files = write_grid(tmp_path / "fig.png", rows, [1, 2], 2, "test",
                       provenance=["Made by: cmd", "Git commit(s) of the runs: abc"])
    assert files.png.read_bytes()[:8] == PNG_SIGNATURE
    image = mpimg.imread(files.png)
    size = grid_size(n_rows=2, n_classes=2, per_class=2, image_side=5)
    assert image.shape[:2] == (size.height, size.width)
    dark, bright = _rows_with_gray(image, 10), _rows_with_gray(image, 200)
    assert len(dark) and len(bright) and dark.max() < bright.min()  # SMOTE's row above CVAE's
    text = files.caption.read_text()
    assert files.caption == tmp_path / "fig.md"
    assert "1. SMOTE — from run `r1`" in text and "2. CVAE — from run `r2`" in text and "](fig.png)" in text
    assert "Made by: cmd" in text and "Git commit(s) of the runs: abc" in text


def test_grid_of_colour_images_and_short_rows(tmp_path):
    rgb = np.zeros((3, 3, 8, 8), np.uint8)
    rgb[:, 0] = 255  # red, channels first as the runs store them
    rows = [GridRow("A", rgb, np.array([0, 0, 1])), GridRow("B", rgb[:0], np.array([], int))]
    files = write_grid(tmp_path / "c.png", rows, [0, 1], 3, "colour")
    image = mpimg.imread(files.png)
    size = grid_size(n_rows=2, n_classes=2, per_class=3, image_side=8)
    assert image.shape[:2] == (size.height, size.width)
    red = (image[..., 0] > 0.99) & (image[..., 1] < 0.01) & (image[..., 2] < 0.01)
    assert red.any()


def test_grid_without_images_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no row has images"):
        write_grid(tmp_path / "x.png", [GridRow("A", np.zeros((0, 5, 5), np.uint8), np.array([], int))],
                   [1], 2, "empty")


def _figure_run(out, run_id, method, data, loss, level):
    import json

    run = out / (run_id * 16)  # a run id: 16 hex digits
    run.mkdir(parents=True)
    X = np.full((40, 1, 28, 28), level / 255, np.float32)
    y = np.repeat([0, 8, 9], [20, 10, 10])
    save_preview(run, X, y, np.arange(40) >= 20, classes=[8, 9], per_class=3)
    rec = {"experiment": "gamo_1", "config": {"profile": {"name": "quick"}}, "git": {"commit": "abc"},
           "hardware": {"host": "h"}, "job": {"skew": "gamo_mnist", "method": method, "data": data, "loss": loss,
                                              "fold": 0, "repeat": 0, "minority": [8, 9]}}
    (run / "result.json").write_text(json.dumps(rec))
    (run / "done").write_text("\n")


def test_figure_cli_keeps_only_the_runs_where_says(tmp_path):
    """GAMO's Figure 4 is the MNIST, LS runs of gamo_1: the --where filters pick them and name the file."""
    from imbench.figures.__main__ import main

    out, res = tmp_path / "out", tmp_path / "res"
    _figure_run(out, "a", "gamo", "mnist", "ls", 200)
    _figure_run(out, "b", "gamo", "mnist", "ce", 50)
    _figure_run(out, "c", "gamo", "fmnist", "ls", 50)
    assert main(["gamo_1", "--block", "gamo_mnist", "--where", "data=mnist", "--where", "loss=ls", "--out-dir",
                 str(out), "--results-dir", str(res)]) == 0
    png = res / "gamo_1_quick_gamo_mnist_mnist_ls_synthetic.png"
    caption = png.with_suffix(".md").read_text()
    assert png.is_file() and "--where data=mnist --where loss=ls" in caption and f"/{'a' * 16}/result.json" in caption
    assert f"/{'b' * 16}/" not in caption and f"/{'c' * 16}/" not in caption
    assert main(["gamo_1", "--block", "gamo_mnist", "--where", "data=cifar10", "--out-dir", str(out),
                 "--results-dir", str(res)]) == 1
