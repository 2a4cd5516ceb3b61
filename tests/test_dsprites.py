import itertools

import numpy as np
import pytest

from imbench.data import dsprites as ds
from imbench.errors import ConfigError


def grid(*axes):
    return np.array(list(itertools.product(*axes)), dtype=np.int64)


def centroids(images):
    m = images[:, 0]
    area = m.sum(axis=(1, 2))
    col = (m.sum(axis=1) @ (np.arange(64) + 0.5)) / area
    row = (m.sum(axis=2) @ (np.arange(64) + 0.5)) / area
    return col, row


def with_orientation(rows, theta):
    s = ds.sprites_of(rows)
    return ds.Sprites(s.shape, s.scale, np.full(len(rows), theta), s.pos_x, s.pos_y)


def test_factors_are_the_published_ones():
    assert ds.LATENTS.names == ("color", "shape", "scale", "orientation", "posX", "posY")
    assert ds.LATENTS.sizes == (1, 3, 6, 40, 32, 32)
    assert ds.LATENTS.size == 737_280
    expected = [[1.0], [1.0, 2.0, 3.0], np.linspace(0.5, 1, 6), np.linspace(0, 2 * np.pi, 40),
                np.linspace(0, 1, 32), np.linspace(0, 1, 32)]
    for got, want in zip(ds.LATENTS.values, expected):
        np.testing.assert_array_equal(got, want)
    assert ds.FACTORS.names == ds.LATENTS.names[1:] and ds.FACTORS.sizes == (3, 6, 40, 32, 32)


def test_published_index_and_values_follow_the_published_layout():
    bases = np.array([737280, 245760, 40960, 1024, 32, 1])  # the dsprites README's latents_bases
    rows = ds.sample_factors(500, np.random.default_rng(0))
    np.testing.assert_array_equal(ds.published_index(rows), ds.latents_classes(rows) @ bases)
    np.testing.assert_array_equal(ds.FACTORS.rows_at(ds.FACTORS.flat_index(rows)), rows)
    assert ds.published_index(np.array([[0, 0, 0, 0, 0], [2, 5, 39, 31, 31]])).tolist() == [0, 737_279]
    np.testing.assert_allclose(ds.latents_values(np.array([[2, 5, 39, 31, 0]])),
                               [[1.0, 3.0, 1.0, 2 * np.pi, 1.0, 0.0]])


def test_images_are_binary_64x64_and_stay_inside_the_canvas():
    # the largest shapes at the four extreme positions, every orientation
    rows = grid(range(3), [5], range(40), [0, 31], [0, 31])
    images = ds.render(rows)
    assert images.shape == (len(rows), 1, 64, 64) and images.dtype == np.float32
    assert set(np.unique(images).tolist()) == {0.0, 1.0}
    assert (images.sum(axis=(1, 2, 3)) > 0).all()
    border = np.concatenate([images[..., 0, :], images[..., -1, :], images[..., :, 0], images[..., :, -1]], axis=-1)
    assert border.sum() == 0


def test_area_grows_with_scale():
    rows = grid(range(3), range(6), range(0, 40, 3), [0, 13, 31], [0, 20])
    area = ds.render(rows).sum(axis=(1, 2, 3)).reshape(3, 6, -1)
    assert (np.diff(area, axis=1) > 0).all()
    # the shapes' areas at scale 1: square (2h)² = 400, ellipse π h²/2 ≈ 157, heart ≈ 2.82 h² ≈ 282
    np.testing.assert_allclose(area[:, 5].mean(axis=1), [400, 157, 282], rtol=0.03)


@pytest.mark.parametrize("axis", ["posX", "posY"])
def test_centroid_moves_with_position(axis):
    moving, held = (3, 4) if axis == "posX" else (4, 3)
    other = grid(range(3), [0, 5], range(0, 40, 7))  # shape, scale, orientation
    full = np.zeros((len(other) * 32, 5), dtype=np.int64)
    full[:, :3] = np.repeat(other, 32, axis=0)
    full[:, moving] = np.tile(np.arange(32), len(other))
    full[:, held] = 9
    col, row = centroids(ds.render(full))
    along, across = (col, row) if axis == "posX" else (row, col)
    along, across = along.reshape(-1, 32), across.reshape(-1, 32)
    assert (np.diff(along, axis=1) > 0).all()
    # one step is 32/31 px; the other coordinate stays put
    np.testing.assert_allclose(np.diff(along, axis=1).mean(axis=1), 32 / 31, atol=0.05)
    assert (across.max(axis=1) - across.min(axis=1) < 1.0).all()
    # posX 0..1 maps the centre to 16..48 px (the shape's centroid, not its box centre, for the heart)
    squares = other[:, 0] == 0
    np.testing.assert_allclose(along[squares][:, [0, -1]], np.tile([16.0, 48.0], (squares.sum(), 1)), atol=0.6)


def test_a_full_turn_gives_the_same_image():
    # orientation 39 is 2π; allowed: a pixel centre on a boundary may flip (a few pixels at most)
    rows = grid(range(3), range(6), [0], range(0, 32, 2), range(0, 32, 3))
    turned = rows.copy()
    turned[:, 2] = 39
    diff = np.abs(ds.render(rows) - ds.render(turned)).sum(axis=(1, 2, 3))
    assert diff.max() <= 2


def test_quarter_turn_maps_a_square_onto_itself_but_not_the_other_shapes():
    rows = grid(range(3), range(6), [0], range(0, 32, 5), range(0, 32, 7))
    upright = ds.render(rows)
    diff = np.abs(upright - ds.render_sprites(with_orientation(rows, np.pi / 2))).sum(axis=(1, 2, 3))
    assert diff[rows[:, 0] == 0].max() <= 2
    assert diff[rows[:, 0] == 1].min() > 20  # the 2:1 ellipse turns upright
    half = np.abs(upright - ds.render_sprites(with_orientation(rows, np.pi))).sum(axis=(1, 2, 3))
    assert half[rows[:, 0] == 2].min() > 10  # the heart turns upside down
    assert half[rows[:, 0] == 1].max() <= 2  # the ellipse has a half-turn symmetry


def test_orientation_turns_counter_clockwise_as_displayed():
    heart = np.array([[2, 5, 0, 15, 15]])
    col0, row0 = centroids(ds.render(heart))
    centre = 16 + 32 * 15 / 31
    assert row0[0] < centre - 1  # lobes up (mass above the centre), point down
    col, row = centroids(ds.render_sprites(with_orientation(heart, np.pi / 2)))
    assert col[0] < centre - 1 and abs(row[0] - centre) < 0.5  # a quarter turn left: the point faces right
    ellipse = ds.render_sprites(with_orientation(np.array([[1, 5, 0, 15, 15]]), np.pi / 4))[0, 0]
    on = np.argwhere(ellipse > 0)
    r, c = on[:, 0] - on[:, 0].mean(), on[:, 1] - on[:, 1].mean()
    assert (r * c).mean() < -5  # long axis from lower left to upper right (rows grow downwards)


def test_the_three_shapes_differ():
    rows = grid(range(3), [2, 5], range(0, 40, 5), [10], [20])
    images = ds.render(rows).reshape(3, -1, 64 * 64)
    for a, b in itertools.combinations(range(3), 2):
        assert (np.abs(images[a] - images[b]).sum(axis=1) > 15).all()


def test_sampling():
    rng = np.random.default_rng(1)
    rows = ds.sample_factors(20_000, rng)
    assert rows.shape == (20_000, 5) and rows.dtype == np.int64
    for k, size in enumerate(ds.FACTORS.sizes):
        counts = np.bincount(rows[:, k], minlength=size)
        assert len(counts) == size and counts.min() > 0.7 * 20_000 / size
    fixed = ds.sample_with_fixed(2, 17, 300, rng)
    assert (fixed[:, 2] == 17).all() and len(np.unique(fixed[:, 3])) > 20
    np.testing.assert_array_equal(ds.sample_factors(10, np.random.default_rng(5)),
                                  ds.sample_factors(10, np.random.default_rng(5)))
    with pytest.raises(ConfigError, match="factor_index"):
        ds.sample_with_fixed(5, 0, 3, rng)
    with pytest.raises(ConfigError, match="'shape' has 3 values"):
        ds.sample_with_fixed(0, 3, 3, rng)


def test_sampler_observes_rendered_images():
    rows = ds.sample_factors(8, np.random.default_rng(2))
    sampler = ds.DSpritesSampler()
    assert sampler.num_factors == 5
    np.testing.assert_array_equal(sampler.observe(rows), ds.render(rows))


@pytest.mark.parametrize("rows, match", [
    (np.array([[0, 0, 40, 0, 0]]), "'orientation' has 40 values"),
    (np.array([[0, 0, 0, 0]]), r"shape \(n, 5\)"),
    (np.array([[0.0, 0, 0, 0, 0]]), "integers"),
    (np.array([[-1, 0, 0, 0, 0]]), "'shape' has 3 values"),
])
def test_render_rejects_bad_rows(rows, match):
    with pytest.raises(ConfigError, match=match):
        ds.render(rows)


def test_render_sprites_rejects_shapes_that_would_leave_the_canvas():
    s = ds.sprites_of(np.array([[0, 5, 0, 31, 0]]))
    with pytest.raises(ConfigError, match="pos_x"):
        ds.render_sprites(ds.Sprites(s.shape, s.scale, s.orientation, s.pos_x + 0.1, s.pos_y))
    with pytest.raises(ConfigError, match="scale"):
        ds.render_sprites(ds.Sprites(s.shape, s.scale * 1.5, s.orientation, s.pos_x, s.pos_y))


def test_skew_shapes_keeps_one_shape_and_subsamples_the_others():
    skewed = ds.skew_shapes(100, keep_shape=1, rng=np.random.default_rng(0))
    assert skewed.counts == {0: 2457, 1: 245_760, 2: 2457}  # floor(245760 / 100)
    np.testing.assert_array_equal(skewed.labels, skewed.factors[:, 0])
    index = ds.published_index(skewed.factors)
    assert len(np.unique(index)) == len(index)  # without replacement
    kept = index[skewed.labels == 1]
    np.testing.assert_array_equal(np.sort(kept), 245_760 + np.arange(245_760))
    minority = skewed.factors[skewed.labels == 0]
    assert len(np.unique(minority[:, 2])) == 40 and len(np.unique(minority[:, 3])) == 32  # spread, not a block
    again = ds.skew_shapes(100, keep_shape=1, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again.factors, skewed.factors)
    other = ds.skew_shapes(100, keep_shape=1, rng=np.random.default_rng(1))
    assert not np.array_equal(other.factors, skewed.factors)


@pytest.mark.parametrize("ir, keep, match", [
    (0.5, 0, "ir must be"), (float("nan"), 0, "ir must be"), (True, 0, "ir must be"),
    (10, 3, "keep_shape"), (300_000, 0, "no image"),
])
def test_skew_shapes_rejects_bad_requests(ir, keep, match):
    with pytest.raises(ConfigError, match=match):
        ds.skew_shapes(ir, keep, np.random.default_rng(0))
