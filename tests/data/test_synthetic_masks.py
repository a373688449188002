"""Experiment 2's synthetic lesion masks: blobs of the original's size and values, inside the breast."""

import math

import cv2
import numpy as np
import pytest

from cyclegan.data.synthetic_masks import (
    EDGE_NOISE,
    MAX_DRAWS,
    VALUE_RANGE,
    draw_blobs,
    radius_range,
    synthetic_mask,
)


def _half_disc_breast(height: int = 400, width: int = 320) -> np.ndarray:
    image = np.full((height, width), 50.0, np.float32)
    cv2.ellipse(image, (0, height // 2), (int(width * 0.8), int(height * 0.45)), 0, -90, 90, 3000.0, thickness=-1)
    return image


def test_a_synthetic_mask_lies_inside_the_breast_and_repeats_with_its_seed():
    image = _half_disc_breast()
    mask, inside = synthetic_mask(image, np.random.default_rng([42, 7, 0]))
    assert inside and mask.dtype == np.float32 and np.count_nonzero(mask) > 0
    assert np.all(image[mask > 0] == 3000.0)  # only breast pixels (at or above Otsu's threshold)
    again, _ = synthetic_mask(image, np.random.default_rng([42, 7, 0]))
    other, _ = synthetic_mask(image, np.random.default_rng([42, 8, 0]))
    np.testing.assert_array_equal(mask, again)
    assert not np.array_equal(mask, other)


def test_blobs_have_the_originals_sizes_values_and_count():
    shape = (400, 400)
    low, high = radius_range(shape)
    assert (low, high) == (5, 40)
    # semi-axes are sqrt(r1) rows and sqrt(r2) columns, r1 <= r_max, r2 <= r_max^2 / r_min (not r1, r2)
    row_reach = 2 * math.ceil(math.sqrt(1.8 * high)) + 1
    column_reach = 2 * math.ceil(math.sqrt(1.8 * high**2 / low)) + 1
    rng = np.random.default_rng(0)
    blob_counts = []
    for _ in range(400):
        mask = draw_blobs(shape, rng)
        count, labels, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
        blob_counts.append(len(np.unique(mask[mask > 0])))  # one value per blob (overlaps add a third)
        for component in range(1, count):
            values = np.unique(mask[labels == component])
            assert values.min() >= VALUE_RANGE[0] - 1e-6
            if len(values) == 1:  # one blob, not two overlapping
                assert values[0] <= VALUE_RANGE[1] + 1e-6
                assert stats[component, cv2.CC_STAT_HEIGHT] <= row_reach
                assert stats[component, cv2.CC_STAT_WIDTH] <= column_reach
    assert 1.55 < np.mean(blob_counts) < 1.85  # 1 + Poisson(0.7)


def test_when_no_draw_fits_the_last_one_is_kept_and_reported():
    image = np.zeros((200, 200), np.float32)
    image[100, 100] = 1.0  # a "breast" of one pixel: no blob fits in it
    mask, inside = synthetic_mask(image, np.random.default_rng(1))
    assert not inside and np.count_nonzero(mask) > 0
    assert MAX_DRAWS == 20


class ScriptedRng:
    """Stands in for np.random.Generator: hands out scripted values and records each distribution asked for;
    every per-pixel edge noise is `noise_z` standard deviations."""

    def __init__(self, extra_blobs, integers, uniforms, noise_z=0.0):
        self.extra_blobs, self.noise_z = extra_blobs, noise_z
        self._integers, self._uniforms = iter(integers), iter(uniforms)
        self.calls = []

    def poisson(self, lam):
        self.calls.append(("poisson", lam))
        return self.extra_blobs

    def integers(self, low, high):
        self.calls.append(("integers", low, high))
        return next(self._integers)

    def uniform(self, low, high):
        self.calls.append(("uniform", low, high))
        return next(self._uniforms)

    def normal(self, loc, scale, size):
        self.calls.append(("normal", loc, scale))
        return loc + scale * np.full(size, self.noise_z)


def _original_blob(shape, centre, r1, area, threshold):
    """One blob by experiment 2's gen_element (resources/synthetic_data.py), every pixel of its loop box
    [centre - r, centre + r) tested against one threshold: (float mask, r2, value)."""
    low, high = radius_range(shape)
    r2 = max(1, int(area / r1))
    value = 0.9 + (2.5 - 0.9) * (1 - r1 * r2 / high**2)
    mask = np.zeros(shape)
    for x in range(max(0, centre[0] - r1), min(centre[0] + r1, shape[0])):
        for y in range(max(0, centre[1] - r2), min(centre[1] + r2, shape[1])):
            if (x - centre[0]) ** 2 / r1 + (y - centre[1]) ** 2 / r2 <= threshold:
                mask[x, y] = value
    return mask, r2, value


@pytest.mark.parametrize("shape, centre, r1, area, noise_z", [
    ((400, 320), (200, 150), 9, 300.0, 0.0),  # inside the image; r2 = 33
    ((400, 320), (200, 150), 30, 1000.0, 7.9),  # edge noise at 7.9 sigma: pixels a narrowed search must reach
    ((400, 320), (0, 319), 4, 700.0, -3.0),  # on the corner: the box is clipped to the image
    ((400, 320), (3, 3), 30, 900.0, 0.0),  # near the corner, the search (8 px each way) clipped at 0
    ((400, 320), (6, 6), 16, 256.0, 0.0),  # 6 px from the edges, as far as the search reaches
    ((400, 320), (397, 3), 32, 20.0, 2.0),  # r2 = 1: a one-pixel-wide column
    ((158, 200), (80, 90), 15, 1.5, 0.0),  # r_min = 1, r_max = 15 (odd): the smallest area, 1
])
def test_a_blob_is_the_originals_ellipse_value_and_draws(shape, centre, r1, area, noise_z):
    low, high = radius_range(shape)
    rng = ScriptedRng(0, [*centre, r1], [area], noise_z)
    mask = draw_blobs(shape, rng)
    expected, r2, value = _original_blob(shape, centre, r1, area, 1 + EDGE_NOISE * noise_z)
    assert np.count_nonzero(expected) > 0
    np.testing.assert_allclose(mask, expected, rtol=1e-6)
    assert mask.dtype == np.float32 and VALUE_RANGE == (0.9, 2.5) and EDGE_NOISE == 0.1
    assert rng.calls == [("poisson", 0.7), ("integers", 0, shape[0]), ("integers", 0, shape[1]),
                         ("uniform", max(1, low**2), high**2), ("integers", low, high + 1), ("normal", 0.0, 0.1)]


def test_overlapping_blobs_add():
    shape = (400, 320)
    rng = ScriptedRng(1, [200, 150, 9, 196, 152, 12], [300.0, 200.0])
    mask = draw_blobs(shape, rng)
    first, _, _ = _original_blob(shape, (200, 150), 9, 300.0, 1.0)
    second, _, _ = _original_blob(shape, (196, 152), 12, 200.0, 1.0)
    assert np.count_nonzero(first * second) > 0
    np.testing.assert_allclose(mask, first + second, rtol=1e-6)
    assert [call[0] for call in rng.calls].count("normal") == 2


@pytest.mark.parametrize("shape, expected", [((400, 400), (5, 40)), ((256, 208), (2, 20)), ((50, 60), (1, 5)),
                                             ((30, 900), (1, 3)), ((158, 200), (1, 15)), ((400, 320), (4, 32))])
def test_radius_range_floors_a_fraction_of_the_shorter_side(shape, expected):
    assert radius_range(shape) == expected


def test_an_image_of_one_grey_is_all_breast():
    mask, inside = synthetic_mask(np.full((120, 100), 7.0, np.float32), np.random.default_rng(2))
    assert inside and np.count_nonzero(mask) > 0


def test_the_breast_is_at_or_above_otsus_threshold_as_in_the_original():
    """experiment 2's generate_otsu_mask (resources/data/transformer.py) keeps `img >= threshold_otsu(img)`.
    On an integer image Otsu's threshold is one of its greys, here the darkest, so every pixel is
    breast and the first draw is kept, though it reaches the dark columns."""
    image = np.full((120, 100), 10, np.uint8)
    image[:, :60], image[:, :30] = 200, 150
    first = draw_blobs(image.shape, np.random.default_rng(0))
    assert np.count_nonzero(first[:, 60:]) > 0
    mask, inside = synthetic_mask(image, np.random.default_rng(0))
    assert inside
    np.testing.assert_array_equal(mask, first)
