"""Per-image preprocessing: orientation, resize (fit or stretch), 16-bit intensities, graded masks."""

import cv2
import numpy as np
import pytest

from cyclegan.data.preprocess import STORED_MAX, blank_labels, orient, preprocess, resize, to_stored


def _right_facing_breast(height: int = 120, width: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """A half-disc breast against the right edge with a bright blob in its upper part, and the blob mask."""
    image = np.zeros((height, width), np.float32)
    cv2.ellipse(image, (width - 1, height // 2), (70, 50), 0, 90, 270, 1000.0, thickness=-1)
    blob = np.zeros((height, width), np.uint8)
    cv2.circle(blob, (width - 20, height // 2 - 25), 6, 1, thickness=-1)
    image[blob > 0] = 3000.0
    return image, blob.astype(bool)


def test_a_wide_image_keeps_its_aspect_and_pads_at_the_bottom():
    wide = np.full((40, 120), 200.0, np.float32)
    fitted = resize(wide, (64, 48))
    assert fitted.shape == (64, 48)
    assert np.all(fitted[:16] == 200.0)  # 40 x 120 shrunk by 0.4 -> 16 x 48, not stretched
    assert np.all(fitted[16:] == 0.0)


def test_stretch_fills_the_frame():
    wide = np.full((40, 120), 200.0, np.float32)
    stretched = resize(wide, (64, 48), "stretch")
    assert stretched.shape == (64, 48) and np.allclose(stretched, 200.0)
    image, _ = preprocess(np.random.default_rng(0).uniform(10, 20, (300, 200)), None, (64, 64), "L", "stretch")
    assert image.shape == (64, 64) and np.count_nonzero(image[:, -4:]) > 200  # no padding column
    with pytest.raises(ValueError, match="fit, stretch"):
        resize(wide, (64, 48), "crop")


def test_a_tall_image_fills_the_height_and_pads_or_crops_on_the_right():
    tall = np.full((200, 100), 7.0, np.float32)
    padded = resize(tall, (64, 48))  # 0.32 -> 64 x 32
    assert np.allclose(padded[:, :32], 7.0) and np.all(padded[:, 32:] == 0.0)
    ramp = np.tile(np.arange(180, dtype=np.float32), (200, 1))
    cropped = resize(ramp, (64, 48))  # 0.32 -> 64 x 58, the 10 rightmost columns dropped
    assert cropped.shape == (64, 48) and cropped[:, -1].mean() < 0.85 * ramp.max()


def test_a_right_facing_breast_ends_up_like_its_left_facing_mirror():
    right_image, right_blob = _right_facing_breast()
    left_image, left_blob = right_image[:, ::-1].copy(), right_blob[:, ::-1].copy()
    from_right = preprocess(right_image, right_blob, (64, 48))
    from_left = preprocess(left_image, left_blob, (64, 48))
    np.testing.assert_array_equal(from_right[0], from_left[0])
    np.testing.assert_array_equal(from_right[1], from_left[1])
    blob_columns = np.nonzero(from_right[1])[1]
    assert blob_columns.size and blob_columns.max() < 24  # on the left half, where the breast now lies
    image, _ = preprocess(right_image, None, (64, 48), laterality="L")  # recorded laterality wins
    assert image[:, 24:].mean() > image[:, :24].mean()


def test_orient_flips_mask_with_image():
    image, blob = _right_facing_breast()
    flipped_image, flipped_mask = orient(image, blob, None)
    np.testing.assert_array_equal(flipped_image, image[:, ::-1])
    np.testing.assert_array_equal(flipped_mask, blob[:, ::-1])


def test_intensities_are_stored_in_16_bits_over_the_full_range():
    rng = np.random.default_rng(0)
    stored = to_stored(rng.normal(5000.0, 300.0, (30, 20)))
    assert stored.dtype == np.uint16 and stored.min() == 0 and stored.max() == STORED_MAX
    assert np.all(to_stored(np.full((4, 4), 9.0)) == 0)
    ramp = np.tile(np.linspace(1000.0, 1100.0, 2000, dtype=np.float32), (64, 1))  # 2,000 grey levels
    image, _ = preprocess(ramp, None, (32, 1000), laterality="L")
    assert image.dtype == np.uint16 and len(np.unique(image)) > 900  # 8 bits would keep 256


def test_a_mask_is_resized_like_the_image_with_graded_edges():
    image, blob = _right_facing_breast()
    _, mask = preprocess(image, blob, (64, 48))
    values = np.unique(mask)
    assert mask.dtype == np.uint16 and values[0] == 0 and values[-1] == STORED_MAX
    assert np.count_nonzero((mask > 0) & (mask < STORED_MAX)) > 0  # soft edge, as the original's rescale
    single = np.zeros((400, 300), bool)
    single[123, 45] = True  # a calcification marked by one point
    _, shrunk = preprocess(np.ones((400, 300)), single, (64, 48), laterality="L")
    assert np.argwhere(shrunk).tolist() == [[19, 7]] and shrunk.max() == STORED_MAX


def test_label_blanking_removes_what_does_not_touch_the_breast_and_keeps_its_dark_edge():
    image = np.full((120, 100), 300.0, np.float32)
    image += np.random.default_rng(0).normal(0.0, 20.0, image.shape).astype(np.float32)  # film background
    cv2.ellipse(image, (0, 60), (70, 55), 0, -90, 90, 900.0, thickness=-1)  # dark fatty edge
    cv2.ellipse(image, (0, 60), (55, 45), 0, -90, 90, 3000.0, thickness=-1)  # dense tissue
    image[5:15, 80:95] = 4000.0  # burned-in label
    blanked = blank_labels(image)
    assert np.all(blanked[5:15, 80:95] == image.min())
    breast = np.zeros(image.shape, np.uint8)
    cv2.ellipse(breast, (0, 60), (70, 55), 0, -90, 90, 1, thickness=-1)
    assert np.array_equal(blanked[breast > 0], image[breast > 0])
