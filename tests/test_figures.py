"""Synthetic-image previews and the PNG grid of Fajardo Figs. 1-2."""
from __future__ import annotations

import numpy as np

from imbench.figures.png import decode_png, encode_png
from imbench.figures.synthetic import grid, load_preview, save_preview, write_grid


def test_png_round_trip_and_rejects_non_uint8():
    img = (np.arange(35 * 17) % 256).astype(np.uint8).reshape(35, 17)
    assert np.array_equal(decode_png(encode_png(img)), img)
    try:
        encode_png(img.astype(np.float32))
    except ValueError as e:
        assert "uint8" in str(e)
    else:
        raise AssertionError("float image accepted")


def test_preview_keeps_only_synthetic_images_of_the_asked_classes(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((60, 1, 28, 28)).astype(np.float32)
    y = np.repeat([0, 3, 4], 20)
    synth = np.zeros(60, bool)
    synth[25:] = True  # last 15 of class 3 and all of class 4 are synthetic
    path = save_preview(tmp_path, X, y, synth, classes=[3, 4], per_class=5)
    images, labels = load_preview(tmp_path)
    assert path.is_file() and images.shape == (10, 28, 28) and images.dtype == np.uint8
    assert sorted(labels.tolist()) == [3] * 5 + [4] * 5
    # every kept image is one of the synthetic images of its class, rescaled to 0..255
    pool = {c: X[synth & (y == c), 0].astype(np.float64) * 255 for c in (3, 4)}
    for img, c in zip(images, labels):
        assert min(np.abs(img - p).max() for p in pool[int(c)]) <= 0.5
    assert save_preview(tmp_path / "none", X, y, np.zeros(60, bool), classes=[3]) is None


def test_grid_places_each_method_in_its_row(tmp_path):
    a = np.full((4, 5, 5), 10, np.uint8)
    b = np.full((4, 5, 5), 200, np.uint8)
    labels = np.array([1, 1, 2, 2])
    canvas = grid([(a, labels), (b, labels)], classes=[1, 2], per_class=2, pad=1, group_pad=0)
    assert canvas.shape == (2 * 6 + 1, 2 * 2 * 6 + 1)
    assert canvas[1:6, 1:6].max() == 10 and canvas[7:12, 1:6].min() == 200
    png, caption = write_grid(tmp_path / "fig.png", [("SMOTE", a, labels, "r1"), ("CVAE", b, labels, "r2")],
                              [1, 2], 2, "test", provenance=["Made by: cmd", "Git commit(s) of the runs: abc"])
    assert np.array_equal(decode_png(png.read_bytes()), grid([(a, labels), (b, labels)], [1, 2], 2))
    text = caption.read_text()
    assert "1. SMOTE" in text and "2. CVAE" in text and "fig.png" in text
    assert "Made by: cmd" in text and "Git commit(s) of the runs: abc" in text
