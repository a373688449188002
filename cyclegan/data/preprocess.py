"""Per-image preprocessing: label blanking, orientation, intensity scaling, resize and pad to the target size.

Convention: after `orient`, every breast lies on the LEFT of the image (chest wall at the left
edge), as a left breast is stored. Geometry is shared by image and mask; padding is added (or
excess cropped) on the far side, i.e. the right and bottom edges.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

REGION_SIDE = 512  # pixels: the breast region for label blanking is found on a copy this small
REGION_MARGIN = 2  # pixels of that copy the region is grown by, so the skin line is kept
BACKGROUND_SIGMAS = 4.0  # robust standard deviations above the background level that count as tissue


def breast_on_right(image: np.ndarray) -> bool:
    """True if the right half of a (h, w) image is brighter on average than the left half."""
    half = image.shape[1] // 2
    return float(image[:, image.shape[1] - half:].mean()) > float(image[:, :half].mean())


def faces_right(image: np.ndarray, laterality: str | None) -> bool:
    """Whether the breast lies on the image's right: laterality "R" yes, "L" no, None by brightness."""
    return laterality == "R" if laterality in ("L", "R") else breast_on_right(image)


def orient(image: np.ndarray, mask: np.ndarray | None, laterality: str | None):
    """Mirror image (and mask) left-right when the breast faces right (see `faces_right`).

    Returns contiguous (image, mask) with the breast on the left.
    """
    if not faces_right(image, laterality):
        return image, mask
    mirrored_mask = None if mask is None else np.ascontiguousarray(mask[:, ::-1])
    return np.ascontiguousarray(image[:, ::-1]), mirrored_mask


def breast_region(image: np.ndarray) -> np.ndarray:
    """(h, w) bool: the largest region brighter than the background, its holes filled, grown slightly.

    Found on a copy shrunk to at most REGION_SIDE pixels per side; burned-in labels and markers
    that do not touch the breast fall outside it.
    """
    height, width = image.shape
    factor = max(1, math.ceil(max(height, width) / REGION_SIDE))
    small = cv2.resize(np.ascontiguousarray(image, np.float32),
                       (math.ceil(width / factor), math.ceil(height / factor)), interpolation=cv2.INTER_AREA)
    low, high = float(small.min()), float(small.max())
    if high <= low:
        return np.ones((height, width), bool)
    grey = np.rint((small - low) * (255.0 / (high - low))).astype(np.uint8)
    bright = (grey > _background_threshold(grey)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=8)
    if count <= 1:
        return np.ones((height, width), bool)
    largest = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    _, outside = cv2.connectedComponents((~largest).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([outside[0], outside[-1], outside[:, 0], outside[:, -1]]))
    region = ~np.isin(outside, border[border > 0])  # the breast and the holes inside it
    region = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=REGION_MARGIN)
    return cv2.resize(region, (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)


def _background_threshold(grey: np.ndarray) -> float:
    """Grey level above which a uint8 pixel is not background.

    The background level is the median of Otsu's darker class, its spread the MAD-based standard
    deviation there; the threshold is BACKGROUND_SIGMAS of them above (at least 1 grey level), and
    never above Otsu's, so dark fatty tissue at the breast's edge stays with the breast.
    """
    otsu, _ = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = grey[grey <= otsu].astype(np.float32)
    level = float(np.median(dark))
    spread = 1.4826 * float(np.median(np.abs(dark - level)))
    return min(float(otsu), level + max(1.0, BACKGROUND_SIGMAS * spread))


def blank_labels(image: np.ndarray) -> np.ndarray:
    """The image with everything outside `breast_region` set to the image's minimum (background)."""
    return np.where(breast_region(image), image, image.min()).astype(image.dtype, copy=False)


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


def _scaled_shape(shape: tuple[int, int], size: tuple[int, int]) -> tuple[float, tuple[int, int]]:
    """(scale, (width, height) after scaling): the longer side (height on a tie) fits `size`."""
    height, width = shape
    scale = size[0] / height if height >= width else size[1] / width
    return scale, (max(1, round(width * scale)), max(1, round(height * scale)))


def _pad_or_crop(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Zero-pad or crop at the right and bottom to exactly `size` = (height, width)."""
    fitted = np.zeros(size, dtype=array.dtype)
    cropped = array[: size[0], : size[1]]
    fitted[: cropped.shape[0], : cropped.shape[1]] = cropped
    return fitted


def fit_to_size(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an image keeping the aspect ratio, then zero-pad or crop at the right/bottom to `size`.

    The longer side (height on a tie) is scaled to the corresponding side of `size` = (height,
    width). Anti-aliased area averaging when shrinking, bilinear when enlarging.
    """
    scale, new_size = _scaled_shape(array.shape, size)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return _pad_or_crop(cv2.resize(array, new_size, interpolation=interpolation), size)


def fit_mask_to_size(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (h, w) bool mask with `fit_to_size`'s geometry as uint8 0/255.

    When shrinking, a pixel is lesion if any lesion pixel falls in its footprint, so single-pixel
    findings (calcifications marked by one point) survive; nearest neighbour when enlarging.
    """
    scale, new_size = _scaled_shape(mask.shape, size)
    as_float = np.ascontiguousarray(mask, np.float32)
    if scale < 1:
        resized = cv2.resize(as_float, new_size, interpolation=cv2.INTER_AREA) > 0
    else:
        resized = cv2.resize(as_float, new_size, interpolation=cv2.INTER_NEAREST) > 0.5
    return _pad_or_crop(resized.astype(np.uint8) * np.uint8(255), size)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and clip a float image in [0, 255] to uint8."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def preprocess(image: np.ndarray, mask: np.ndarray | None, size: tuple[int, int],
               laterality: str | None = None):
    """Raw (h, w) image and optional (h, w) bool mask -> uint8 image and 0/255 uint8 mask of `size`.

    Orient, standardise and rescale to [0, 255], fit to `size`. Returns (image, mask); mask is
    None when none was given.
    """
    image, mask = orient(image, mask, laterality)
    image = to_uint8(fit_to_size(rescale_intensities(image), size))
    return image, None if mask is None else fit_mask_to_size(mask, size)


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
