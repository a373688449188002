"""Per-image preprocessing: label blanking, orientation, resize (fit and pad, or stretch), 16-bit intensities.

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


def breast_region(image: np.ndarray, margin: int = REGION_MARGIN) -> np.ndarray:
    """(h, w) bool: the largest region brighter than the background, its holes filled, grown by
    `margin` pixels of the shrunk copy.

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
    region = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=margin)
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


STORED_MAX = 65535  # records hold 16-bit PNGs: [0, 1] maps to [0, STORED_MAX]
RESIZE_MODES = ("fit", "stretch")


def unit_range(array: np.ndarray) -> np.ndarray:
    """Linear rescale of a float array to [0, 1] (min -> 0, max -> 1); a constant array becomes zeros.

    The originals standardise ((x - mean) / std) before this rescale; that changes nothing, since a
    linear map to a fixed range does not depend on an earlier linear map.
    """
    array = array.astype(np.float32)
    low, high = float(array.min()), float(array.max())
    if high <= low:
        return np.zeros_like(array)
    return (array - low) * np.float32(1.0 / (high - low))


def to_stored(array: np.ndarray) -> np.ndarray:
    """A float (h, w) array min-max scaled (`unit_range`) and rounded to uint16 [0, STORED_MAX]."""
    return np.rint(unit_range(array) * STORED_MAX).astype(np.uint16)


def scaled_shape(shape: tuple[int, int], size: tuple[int, int]) -> tuple[float, tuple[int, int]]:
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


def resize(array: np.ndarray, size: tuple[int, int], mode: str = "fit") -> np.ndarray:
    """A float32 (h, w) array resized to `size` = (height, width), anti-aliased.

    fit: the aspect ratio is kept, the longer side (height on a tie) fills its side of `size`, and
        the rest is zero-padded (or cropped) at the right and bottom.
    stretch: both sides are scaled to fill `size` exactly (experiment 1 trained on images stretched
        this way).
    Area averaging when a side shrinks (anti-aliased), bilinear when both grow.
    """
    array = np.ascontiguousarray(array, np.float32)
    if mode == "fit":
        _, new_size = scaled_shape(array.shape, size)
    elif mode == "stretch":
        new_size = (size[1], size[0])
    else:
        raise ValueError(f"resize mode must be one of {', '.join(RESIZE_MODES)}, got {mode!r}")
    shrinks = new_size[0] < array.shape[1] or new_size[1] < array.shape[0]
    resized = cv2.resize(array, new_size, interpolation=cv2.INTER_AREA if shrinks else cv2.INTER_LINEAR)
    return _pad_or_crop(resized, size)


def preprocess(image: np.ndarray, mask: np.ndarray | None, size: tuple[int, int],
               laterality: str | None = None, resize_mode: str = "fit"):
    """Raw (h, w) image and optional (h, w) mask (bool or float >= 0) -> uint16 image and mask of `size`.

    In the originals' order: orient, resize the raw intensities (anti-aliased, zero padding), then
    min-max scale to [0, STORED_MAX] (`to_stored`). The mask gets the same geometry and its own
    min-max scale, so its values are graded with soft edges; an empty mask stays all zeros. Returns
    (image, mask); mask is None when none was given.
    """
    image, mask = orient(image, mask, laterality)
    stored = to_stored(resize(image, size, resize_mode))
    return stored, None if mask is None else to_stored(resize(mask, size, resize_mode))
