"""Augmented copies of prepared images: rotation, per-axis scaling and contrast, seeded per image and copy.

Ranges (notebooks/imgaug.py in BreastGAN/augmentation): rotation ±4°, scale 0.98–1.13 per axis, linear contrast factor 0.08–1.2 (image
only), then re-standardised. Copies are made from the prepared 8-bit image and mask at the
target size: both go through the same affine map about the image centre (bilinear for the image,
nearest neighbour for the mask, zero outside). The contrast change v -> 128 + c·(v − 128) acts
on the 8-bit image, clipped to [0, 255] and rounded as an 8-bit augmenter does; that clipping and
rounding is what survives re-standardisation (a purely linear change would be undone by it).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .preprocess import rescale_intensities, to_uint8

ROTATION_DEGREES = (-4.0, 4.0)
SCALE = (0.98, 1.13)
CONTRAST = (0.08, 1.2)
CONTRAST_CENTRE = 128.0


@dataclass(frozen=True)
class Augmentation:
    """One copy's parameters: rotation in degrees (counter-clockwise), scale factors, contrast factor."""

    rotation: float
    scale_y: float
    scale_x: float
    contrast: float

    def as_dict(self) -> dict:
        return asdict(self)


def ranges() -> dict:
    """The parameter ranges, as recorded in the manifest."""
    return {"rotation_degrees": list(ROTATION_DEGREES), "scale_per_axis": list(SCALE),
            "contrast_factor": list(CONTRAST), "contrast_centre": CONTRAST_CENTRE}


def draw_augmentation(seed: int, source: str, copy: int) -> Augmentation:
    """Parameters of copy number `copy` (1, 2, ...) of the image read from `source`.

    A pure function of its arguments, so reruns and any number of workers give the same copies.
    """
    source_key = int.from_bytes(hashlib.sha256(source.encode("utf-8")).digest()[:8], "little")
    rng = np.random.default_rng([seed, source_key, copy])
    return Augmentation(rotation=float(rng.uniform(*ROTATION_DEGREES)), scale_y=float(rng.uniform(*SCALE)),
                        scale_x=float(rng.uniform(*SCALE)), contrast=float(rng.uniform(*CONTRAST)))


def affine_matrix(shape: tuple[int, int], augmentation: Augmentation) -> np.ndarray:
    """2x3 float64 map (OpenCV convention, x = column) scaling then rotating about the image centre."""
    height, width = shape
    angle = math.radians(augmentation.rotation)
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    linear = rotation @ np.diag([augmentation.scale_x, augmentation.scale_y])
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    return np.hstack([linear, (centre - linear @ centre)[:, None]])


def augment(image: np.ndarray, mask: np.ndarray, augmentation: Augmentation) -> tuple[np.ndarray, np.ndarray]:
    """Warp a uint8 (H, W) image and 0/255 mask identically, change the image's contrast, re-standardise.

    Returns (uint8 image spanning [0, 255] unless constant, uint8 0/255 mask), both (H, W).
    """
    matrix = affine_matrix(image.shape, augmentation)
    size = (image.shape[1], image.shape[0])
    warped = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    warped_mask = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    contrasted = CONTRAST_CENTRE + augmentation.contrast * (warped.astype(np.float32) - CONTRAST_CENTRE)
    eight_bit = np.clip(np.rint(contrasted), 0, 255)
    return to_uint8(rescale_intensities(eight_bit)), warped_mask
