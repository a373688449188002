"""Experiment 2's synthetic lesion masks: blobs of the original's size and values, inside the breast."""

import math

import cv2
import numpy as np

from cyclegan.data.synthetic_masks import MAX_DRAWS, VALUE_RANGE, draw_blobs, radius_range, synthetic_mask


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
