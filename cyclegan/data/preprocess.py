"""Per-image preprocessing: orientation, intensity standardisation, resize and pad to the target size.

Convention: after `orient`, every breast lies on the LEFT of the image (chest wall at the left
edge), as a left breast is stored. Geometry is shared by image and mask; padding is added (or
excess cropped) on the far side, i.e. the right and bottom edges.
"""

from __future__ import annotations

import cv2
import numpy as np


def breast_on_right(image: np.ndarray) -> bool:
    """True if the right half of a (h, w) image is brighter on average than the left half."""
    half = image.shape[1] // 2
    return float(image[:, image.shape[1] - half:].mean()) > float(image[:, :half].mean())


def orient(image: np.ndarray, mask: np.ndarray | None, laterality: str | None):
    """Mirror image (and mask) left-right when the breast faces right.

    laterality "R" (a right breast, stored with the breast on the image's right) flips, "L" does
    not; None decides by `breast_on_right`. Returns (image, mask) with the breast on the left.
    """
    flip = laterality == "R" if laterality in ("L", "R") else breast_on_right(image)
    if not flip:
        return image, mask
    return image[:, ::-1], None if mask is None else mask[:, ::-1]


def rescale_intensities(image: np.ndarray) -> np.ndarray:
    """Standardise (subtract mean, divide by std), then rescale linearly to [0, 255]; float32.

    A constant image becomes all zeros.
    """
    image = image.astype(np.float32)
    standardised = (image - image.mean()) / max(float(image.std()), 1e-12)
    low, high = float(standardised.min()), float(standardised.max())
    if high <= low:
        return np.zeros_like(standardised)
    return (standardised - low) * np.float32(255.0 / (high - low))


def fit_to_size(array: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize keeping the aspect ratio, then zero-pad or crop at the right/bottom to exactly `size`.

    The array's longer side (height on a tie) is scaled to the corresponding side of `size`
    = (height, width); the other side is padded, or cropped when it overshoots. Interpolation:
    nearest when `nearest` (masks), else anti-aliased area averaging when shrinking and bilinear
    when enlarging.
    """
    height, width = array.shape
    scale = size[0] / height if height >= width else size[1] / width
    if nearest:
        interpolation = cv2.INTER_NEAREST
    else:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))  # OpenCV order: (w, h)
    resized = cv2.resize(array, new_size, interpolation=interpolation)[: size[0], : size[1]]
    fitted = np.zeros(size, dtype=array.dtype)
    fitted[: resized.shape[0], : resized.shape[1]] = resized
    return fitted


def preprocess(image: np.ndarray, mask: np.ndarray | None, size: tuple[int, int],
               laterality: str | None = None):
    """Raw (h, w) image and optional (h, w) bool mask -> uint8 image and 0/255 uint8 mask of `size`.

    Returns (image, mask); mask is None when none was given.
    """
    image, mask = orient(image, mask, laterality)
    image = np.clip(np.rint(fit_to_size(rescale_intensities(image), size)), 0, 255).astype(np.uint8)
    if mask is not None:
        mask = fit_to_size(np.ascontiguousarray(mask, dtype=np.uint8), size, nearest=True) * np.uint8(255)
    return image, mask


def synthesise_mask(image: np.ndarray) -> np.ndarray:
    """A stand-in lesion mask for a uint8 (H, W) image: an ellipse inside the Otsu breast region.

    The ellipse is centred on the centroid of the largest bright (Otsu) component, with semi-axes
    1/6 of that component's bounding box, and clipped to it. Returns uint8 0/255, deterministic.
    """
    _, bright = cv2.threshold(image, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(bright, connectivity=8)
    if count <= 1:  # blank image: centre of the whole frame
        region = np.ones_like(image, dtype=bool)
        centre, extent = (image.shape[1] / 2, image.shape[0] / 2), (image.shape[1], image.shape[0])
    else:
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        region = labels == largest
        centre = tuple(centroids[largest])
        extent = (stats[largest, cv2.CC_STAT_WIDTH], stats[largest, cv2.CC_STAT_HEIGHT])
    ellipse = np.zeros_like(image)
    axes = tuple(max(1, round(side / 6)) for side in extent)
    cv2.ellipse(ellipse, (round(centre[0]), round(centre[1])), axes, 0, 0, 360, 255, thickness=-1)
    return np.where(region, ellipse, 0).astype(np.uint8)
