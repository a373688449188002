"""Per-image preprocessing: orientation, intensity range, aspect-preserving fit, synthesised masks."""

import cv2
import numpy as np
import pytest

from cyclegan.data.preprocess import (blank_labels, fit_mask_to_size, fit_to_size, orient, preprocess,
                                      rescale_intensities, synthesise_mask)


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
    fitted = fit_to_size(wide, (64, 48))
    assert fitted.shape == (64, 48)
    assert np.all(fitted[:16] == 200.0)  # 40 x 120 shrunk by 0.4 -> 16 x 48, not stretched
    assert np.all(fitted[16:] == 0.0)


def test_a_tall_image_fills_the_height_and_pads_or_crops_on_the_right():
    tall = np.full((200, 100), 7.0, np.float32)
    padded = fit_to_size(tall, (64, 48))  # 0.32 -> 64 x 32
    assert np.allclose(padded[:, :32], 7.0) and np.all(padded[:, 32:] == 0.0)
    ramp = np.tile(np.arange(180, dtype=np.float32), (200, 1))
    cropped = fit_to_size(ramp, (64, 48))  # 0.32 -> 64 x 58, the 10 rightmost columns dropped
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


def test_intensities_are_standardised_into_the_full_8_bit_range():
    rescaled = rescale_intensities(np.random.default_rng(0).normal(5000.0, 300.0, (30, 20)))
    assert rescaled.dtype == np.float32
    assert rescaled.min() == 0.0 and rescaled.max() == pytest.approx(255.0)
    assert np.all(rescale_intensities(np.full((4, 4), 9.0)) == 0.0)


def test_a_shrunk_mask_keeps_every_lesion_pixel_as_0_and_255():
    image, blob = _right_facing_breast()
    _, mask = preprocess(image, blob, (64, 48))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    single = np.zeros((400, 300), bool)
    single[123, 45] = True  # a calcification marked by one point
    shrunk = fit_mask_to_size(single, (64, 48))  # 0.16x
    assert np.argwhere(shrunk).tolist() == [[19, 7]] and shrunk.max() == 255


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


def test_synthesised_mask_is_an_ellipse_inside_the_breast():
    image, _ = preprocess(_right_facing_breast()[0], None, (64, 48))
    mask = synthesise_mask(image)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    assert 0 < np.count_nonzero(mask) < np.count_nonzero(image > 40)
    assert np.all(image[mask > 0] > 40)  # only breast pixels
    np.testing.assert_array_equal(mask, synthesise_mask(image))
    assert np.count_nonzero(synthesise_mask(np.zeros((64, 48), np.uint8))) > 0
