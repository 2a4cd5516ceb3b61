"""dSprites, generated procedurally from its published definition (Matthey et al. 2017).

The published set (deepmind/dsprites-dataset) is every combination of colour (1: white), shape
(1 square, 2 ellipse, 3 heart), scale ``linspace(0.5, 1, 6)``, orientation ``linspace(0, 2π, 40)``,
posX and posY ``linspace(0, 1, 32)``: 737,280 binary 64×64 images. Here they are drawn on demand
from factor rows, never all at once; the pixels are this module's own geometry, not the published
``.npz`` pixels, so only the factor definitions are the published ones.

Geometry (all lengths in pixels; pixel ``(r, c)`` covers ``[c, c+1) × [r, r+1)``, and is on when
its centre ``(c + 0.5, r + 0.5)`` lies inside the shape):

* half-size ``h = 10 · scale`` (5 to 10 px). In the shape's own frame ``(x, y)`` (units of h, y up):
  square ``max(|x|, |y|) ≤ 1``; ellipse ``x² + (2y)² ≤ 1`` (2:1, long axis horizontal at
  orientation 0); heart ``(X² + Y² − 1)³ − X² Y³ ≤ 0`` with ``X = 1.139 x``, ``Y = 1.139 y + 0.118``
  (the classic implicit heart, lobes up and point down, scaled and shifted so that its bounding box
  is centred on the origin and within ``[−1, 1]²``). Every shape therefore fits in a disc of radius
  ``h·√2 ≤ 14.15`` px about its centre.
* position: centre column ``16 + 32·posX``, centre row ``16 + 32·posY`` (a 16 px margin, more
  than 14.15, so that no shape is ever clipped; posX moves right, posY moves *down*, as array
  rows grow).
* orientation θ rotates the shape about its centre, counter-clockwise as the image is displayed
  (row 0 at the top). Orientations 0 and 39 are both 0 ≡ 2π, as in the published grid; they render
  identically up to pixel centres that lie exactly on a boundary (a few pixels at most).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from imbench.data.factors import FactorGrid
from imbench.errors import ConfigError

IMAGE_SIZE = 64
HALF_SIZE_PX = 10.0  # h at scale 1
MARGIN_PX = 16  # > HALF_SIZE_PX·√2, so a shape never leaves the canvas
_WINDOW = 2 * MARGIN_PX  # each shape is drawn in a 32×32 window around its centre
_CHUNK = 2048  # images drawn per vectorised step (bounds the float64 temporaries to ~50 MB)
_HEART_SCALE = 1.139  # the implicit heart's half-width (1.1384…), rounded up
_HEART_SHIFT = 0.118  # centre of its vertical extent [−1, 1.236]

SHAPES = ("square", "ellipse", "heart")

#: The six published latents, in the published order, with the published values.
LATENTS = FactorGrid(
    names=("color", "shape", "scale", "orientation", "posX", "posY"),
    values=(np.array([1.0]), np.array([1.0, 2.0, 3.0]), np.linspace(0.5, 1.0, 6),
            np.linspace(0.0, 2 * np.pi, 40), np.linspace(0.0, 1.0, 32), np.linspace(0.0, 1.0, 32)),
)
#: The five factors that vary (LATENTS 1–5, as disentanglement_lib's ``dsprites_full`` uses them).
FACTORS = LATENTS.subset([1, 2, 3, 4, 5])
SHAPE, SCALE, ORIENTATION, POS_X, POS_Y = range(5)  # column of each factor in a factor row


@dataclass(frozen=True, eq=False)
class Sprites:
    """Continuous sprite parameters, one entry per image (arrays of equal length).

    ``shape`` is 0, 1, 2 (square, ellipse, heart); ``scale`` in [0.5, 1]; ``orientation`` in
    radians; ``pos_x``, ``pos_y`` in [0, 1].
    """

    shape: np.ndarray
    scale: np.ndarray
    orientation: np.ndarray
    pos_x: np.ndarray
    pos_y: np.ndarray

    def __len__(self) -> int:
        return len(self.shape)

    def __getitem__(self, index: slice | np.ndarray) -> Sprites:
        return Sprites(self.shape[index], self.scale[index], self.orientation[index],
                       self.pos_x[index], self.pos_y[index])


def sprites_of(factors: np.ndarray) -> Sprites:
    """The sprite parameters of factor rows (columns shape, scale, orientation, posX, posY)."""
    rows = FACTORS.check_rows(factors)
    v = FACTORS.values_of(rows)
    return Sprites(shape=rows[:, SHAPE], scale=v[:, SCALE], orientation=v[:, ORIENTATION],
                   pos_x=v[:, POS_X], pos_y=v[:, POS_Y])


def render(factors: np.ndarray) -> np.ndarray:
    """Draw the dSprites images of factor rows.

    Parameters
    ----------
    factors : numpy.ndarray
        Integer array (n, 5): indices of shape, scale, orientation, posX, posY.

    Returns
    -------
    numpy.ndarray
        float32 (n, 1, 64, 64) with values 0 and 1.
    """
    return render_sprites(sprites_of(factors))


def render_sprites(sprites: Sprites) -> np.ndarray:
    """Draw sprites given by continuous parameters (see the module docstring for the geometry).

    Returns
    -------
    numpy.ndarray
        float32 (n, 1, 64, 64) with values 0 and 1.
    """
    _check_sprites(sprites)
    out = np.zeros((len(sprites), 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for start in range(0, len(sprites), _CHUNK):
        _draw(sprites[start:start + _CHUNK], out[start:start + _CHUNK, 0])
    return out


def _check_sprites(s: Sprites) -> None:
    n = len(s)
    if any(len(a) != n for a in (s.scale, s.orientation, s.pos_x, s.pos_y)):
        raise ConfigError("Sprites arrays must all have the same length")
    if n and not np.isin(s.shape, (0, 1, 2)).all():
        raise ConfigError(f"sprite shape must be 0, 1 or 2 ({', '.join(SHAPES)})")
    for name, a, lo, hi in (("scale", s.scale, 0.0, 1.0), ("pos_x", s.pos_x, 0.0, 1.0),
                            ("pos_y", s.pos_y, 0.0, 1.0)):
        if n and not ((a >= lo) & (a <= hi)).all():
            raise ConfigError(f"sprite {name} must lie in [{lo}, {hi}] (larger shapes or positions would "
                              f"leave the 64×64 canvas)")
    if n and not np.isfinite(s.orientation).all():
        raise ConfigError("sprite orientation must be finite")


def _draw(s: Sprites, canvas: np.ndarray) -> None:
    order = np.argsort(s.shape, kind="stable")  # contiguous runs per shape: no boolean-mask copies
    s = s[order]
    span = IMAGE_SIZE - 2 * MARGIN_PX
    cx = MARGIN_PX + span * s.pos_x
    cy = MARGIN_PX + span * s.pos_y
    col0 = np.floor(cx).astype(np.int64) - MARGIN_PX
    row0 = np.floor(cy).astype(np.int64) - MARGIN_PX
    offsets = np.arange(_WINDOW) + 0.5
    h = HALF_SIZE_PX * s.scale
    # float32 from here on: the window coordinates are small, and it halves the memory traffic
    u = (((col0[:, None] + offsets) - cx[:, None]) / h[:, None]).astype(np.float32)  # rightwards, units of h
    v = ((cy[:, None] - (row0[:, None] + offsets)) / h[:, None]).astype(np.float32)  # upwards
    cos = np.cos(s.orientation).astype(np.float32)[:, None, None]
    sin = np.sin(s.orientation).astype(np.float32)[:, None, None]
    # shape frame = display frame rotated back by θ (the shape itself turns counter-clockwise)
    x = u[:, None, :] * cos + v[:, :, None] * sin
    y = v[:, :, None] * cos - u[:, None, :] * sin
    inside = np.empty(x.shape, dtype=bool)
    bounds = np.searchsorted(s.shape, np.arange(len(SHAPES) + 1))
    for shape, test in enumerate((_in_square, _in_ellipse, _in_heart)):
        run = slice(bounds[shape], bounds[shape + 1])
        inside[run] = test(x[run], y[run])
    # every 32×32 window of the canvas, writable: one fancy index picks each image's own window
    windows = np.lib.stride_tricks.sliding_window_view(canvas, (_WINDOW, _WINDOW), axis=(1, 2), writeable=True)
    windows[order, row0, col0] = inside


def _in_square(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(x), np.abs(y)) <= 1.0


def _in_ellipse(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * x + 4.0 * y * y <= 1.0


def _in_heart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    X2 = np.square(_HEART_SCALE * x)
    Y = _HEART_SCALE * y + _HEART_SHIFT
    Y3 = Y * Y * Y
    r = X2 + Y * Y - 1.0
    return r * r * r <= X2 * Y3


def sample_factors(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` factor rows drawn uniformly over the 737,280 combinations (int64, (n, 5))."""
    return FACTORS.sample(n, rng)


def sample_with_fixed(factor_index: int, value_index: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform factor rows with factor ``factor_index`` (a column, 0–4) held at ``value_index``."""
    return FACTORS.sample_with_fixed(factor_index, value_index, n, rng)


def latents_classes(factors: np.ndarray) -> np.ndarray:
    """Factor rows in the published ``latents_classes`` layout (a leading colour column of 0)."""
    rows = FACTORS.check_rows(factors)
    return np.concatenate([np.zeros((len(rows), 1), dtype=np.int64), rows], axis=1)


def latents_values(factors: np.ndarray) -> np.ndarray:
    """The published ``latents_values`` rows (colour, shape, scale, orientation, posX, posY)."""
    return LATENTS.values_of(latents_classes(factors))


def published_index(factors: np.ndarray) -> np.ndarray:
    """Each row's index in the published arrays (``latents_classes @ latents_bases``)."""
    return LATENTS.flat_index(latents_classes(factors))


@dataclass(frozen=True, eq=False)
class DSpritesSampler:
    """Ground-truth sampler over all of dSprites whose observations are rendered images."""

    @property
    def num_factors(self) -> int:
        return FACTORS.num_factors

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return sample_factors(n, rng)

    def sample_with_fixed(self, factor_index: int, value_index: int, n: int,
                          rng: np.random.Generator) -> np.ndarray:
        return sample_with_fixed(factor_index, value_index, n, rng)

    def observe(self, factors: np.ndarray) -> np.ndarray:
        return render(factors)


@dataclass(frozen=True, eq=False)
class SkewedShapes:
    """An imbalanced dSprites training set, as factor rows with the shape as class label.

    Attributes
    ----------
    factors : numpy.ndarray
        int64 (n, 5) factor rows, in published order (render them in batches with :func:`render`).
    labels : numpy.ndarray
        int64 (n,) class = shape index (0 square, 1 ellipse, 2 heart).
    counts : dict
        Rows per class.
    ir : float
    keep_shape : int
        The shape kept complete (the majority class).
    """

    factors: np.ndarray
    labels: np.ndarray
    counts: dict[int, int]
    ir: float
    keep_shape: int


def skew_shapes(ir: float, keep_shape: int, rng: np.random.Generator) -> SkewedShapes:
    """Skew dSprites' shape factor: keep every image of one shape, subsample the other two.

    Spec §2.1 [R] for IMSIC Fig. 4b (how the paper imbalanced dSprites is unstated, §9 item 8):
    the kept shape has all 245,760 combinations of the other factors; each other shape gets
    ``floor(245760 / ir)`` of them, drawn uniformly without replacement.

    Parameters
    ----------
    ir : float
        Imbalance ratio, at least 1.
    keep_shape : int
        0 (square), 1 (ellipse) or 2 (heart).
    rng : numpy.random.Generator
    """
    if isinstance(ir, bool) or not (isinstance(ir, numbers.Real) and math.isfinite(ir) and ir >= 1):
        raise ConfigError(f"ir must be a finite number >= 1; got {ir!r}")
    if keep_shape not in (0, 1, 2):
        raise ConfigError(f"keep_shape must be 0, 1 or 2 ({', '.join(SHAPES)}); got {keep_shape!r}")
    per_shape = FACTORS.size // FACTORS.sizes[SHAPE]
    n_min = int(per_shape // ir)
    if n_min < 1:
        raise ConfigError(f"ir={ir} leaves no image of the subsampled shapes ({per_shape}/ir < 1); lower ir")
    rest = FACTORS.subset([SCALE, ORIENTATION, POS_X, POS_Y])
    parts = []
    for shape in range(FACTORS.sizes[SHAPE]):
        flat = (np.arange(per_shape) if shape == keep_shape
                else np.sort(rng.choice(per_shape, size=n_min, replace=False)))
        rows = rest.rows_at(flat)
        parts.append(np.concatenate([np.full((len(rows), 1), shape, dtype=np.int64), rows], axis=1))
    factors = np.concatenate(parts)
    labels = factors[:, SHAPE].copy()
    counts = {s: int((labels == s).sum()) for s in range(FACTORS.sizes[SHAPE])}
    return SkewedShapes(factors=factors, labels=labels, counts=counts, ir=float(ir), keep_shape=keep_shape)
