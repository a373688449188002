"""Augmented copies: the originals' ranges, seeded per image and copy, mask warped exactly as the image."""

import cv2
import numpy as np
import pytest

from cyclegan.data.augment import CONTRAST, ROTATION_DEGREES, SCALE, Augmentation, augment, draw_augmentation
from cyclegan.data.preprocess import STORED_MAX


def _image_with_blob(centre=(40, 20)) -> tuple[np.ndarray, np.ndarray]:
    """A uint16 64x48 breast-like image with a bright round blob, and the blob's 0/STORED_MAX mask."""
    image = np.zeros((64, 48), np.uint16)
    cv2.ellipse(image, (0, 32), (40, 30), 0, -90, 90, 90 * 257, thickness=-1)
    mask = np.zeros_like(image)
    cv2.circle(mask, centre, 5, STORED_MAX, thickness=-1)
    image[mask > 0] = STORED_MAX
    return image, mask


def _centroid(array: np.ndarray) -> np.ndarray:
    return np.argwhere(array).mean(axis=0)


def test_parameters_stay_in_the_spec_ranges_and_depend_only_on_seed_source_and_copy():
    drawn = [draw_augmentation(42, f"raw/{index}.dcm", copy) for index in range(50) for copy in (1, 2)]
    assert all(ROTATION_DEGREES[0] <= a.rotation <= ROTATION_DEGREES[1] for a in drawn)
    assert all(SCALE[0] <= a.scale_x <= SCALE[1] and SCALE[0] <= a.scale_y <= SCALE[1] for a in drawn)
    assert all(CONTRAST[0] <= a.contrast <= CONTRAST[1] for a in drawn)
    assert min(a.rotation for a in drawn) < -3 and max(a.rotation for a in drawn) > 3  # the whole range is used
    assert draw_augmentation(42, "raw/1.dcm", 1) == draw_augmentation(42, "raw/1.dcm", 1)
    assert len({draw_augmentation(42, "raw/1.dcm", 1), draw_augmentation(42, "raw/1.dcm", 2),
                draw_augmentation(43, "raw/1.dcm", 1), draw_augmentation(42, "raw/2.dcm", 1)}) == 4


@pytest.mark.parametrize("augmentation", [Augmentation(4.0, 1.13, 0.98, 0.08), Augmentation(-4.0, 0.98, 1.13, 1.2),
                                          Augmentation(2.5, 1.05, 1.1, 0.5)])
def test_the_mask_follows_the_image(augmentation):
    image, mask = _image_with_blob()
    warped, warped_mask = augment(image, mask, augmentation)
    assert warped.shape == image.shape and warped.dtype == warped_mask.dtype == np.uint16
    assert warped_mask.max() == STORED_MAX and np.count_nonzero((warped_mask > 0) & (warped_mask < STORED_MAX))
    blob = warped >= np.percentile(warped, 97)  # the brightest pixels: the blob
    assert np.abs(_centroid(blob) - _centroid(warped_mask)).max() < 1.0
    assert np.abs(_centroid(warped_mask) - _centroid(mask)).max() > 0.3  # it did move


def test_rotation_and_scale_act_about_the_centre_as_stated():
    image, mask = _image_with_blob(centre=(23, 10))
    _, turned = augment(image, mask, Augmentation(4.0, 1.0, 1.0, 1.0))  # counter-clockwise as displayed
    (row, column), centre = _centroid(mask), np.array([31.5, 23.5])
    angle = np.radians(4.0)
    expected = centre + [(row - centre[0]) * np.cos(angle) - (column - centre[1]) * np.sin(angle),
                         (row - centre[0]) * np.sin(angle) + (column - centre[1]) * np.cos(angle)]
    assert np.abs(_centroid(turned) - expected).max() < 0.6
    _, tall = augment(image, mask, Augmentation(0.0, 1.13, 1.0, 1.0))
    assert np.ptp(np.argwhere(tall)[:, 0]) > np.ptp(np.argwhere(mask)[:, 0])  # stretched along y only
    assert np.ptp(np.argwhere(tall)[:, 1]) == np.ptp(np.argwhere(mask)[:, 1])


def test_contrast_is_re_standardised_and_only_its_clipping_survives():
    ramp = np.tile(np.rint(np.linspace(0, STORED_MAX, 48)).astype(np.uint16), (64, 1))
    mask = np.zeros_like(ramp)
    flat, flat_mask = augment(ramp, mask, Augmentation(0.0, 1.0, 1.0, 0.08))
    assert np.abs(flat.astype(int) - ramp).max() <= 2  # a linear change on floats is undone, no posterising
    assert not flat_mask.any()  # an empty mask stays empty
    bright, _ = augment(ramp, mask, Augmentation(0.0, 1.0, 1.0, 1.2))
    assert bright.min() == 0 and bright.max() == STORED_MAX
    assert np.count_nonzero(bright == STORED_MAX) > np.count_nonzero(ramp == STORED_MAX)  # clipped at the top
