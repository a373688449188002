"""Augmented copies of prepared images: rotation, per-axis scaling and contrast, seeded per image and copy.

Ranges (notebooks/imgaug.py in BreastGAN/augmentation; resources/data/transformer.py in
BreastGAN/experiment2): rotation ±4°, scale 0.98–1.13 per axis, linear contrast factor 0.08–1.2
(image only), then re-standardised. Copies are made from the prepared 16-bit image and mask at the
target size, in the originals' order: the image as floats in [0, 255], image and mask through the
same affine map about the image centre (bilinear for both, as imgaug's Affine, zero outside), the
contrast change v -> 128 + c·(v − 128) on the image, clipped to [0, 255] as imgaug clips (floats,
not rounded); that clipping is what survives re-standardisation (a purely linear change would be
undone by it). Both are then min-max scaled to 16 bits again.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .preprocess import STORED_MAX, to_stored

ROTATION_DEGREES = (-4.0, 4.0)
SCALE = (0.98, 1.13)
CONTRAST = (0.08, 1.2)
CONTRAST_CENTRE = 128.0
CONTRAST_RANGE = 255.0  # the contrast change acts on images scaled to [0, CONTRAST_RANGE]


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


def image_rng(seed: int, source: str, stream: int) -> np.random.Generator:
    """The random generator of one image's draws: stream 0 its synthetic mask, stream k >= 1 its copy k.

    A pure function of its arguments, so reruns and any number of workers draw the same.
    """
    source_key = int.from_bytes(hashlib.sha256(source.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, source_key, stream])


def draw_augmentation(seed: int, source: str, copy: int) -> Augmentation:
    """Parameters of copy number `copy` (1, 2, ...) of the image read from `source`."""
    rng = image_rng(seed, source, copy)
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
    """Warp a uint16 (H, W) image and mask identically, change the image's contrast, re-standardise.

    Returns (image, mask), uint16 (H, W), each spanning [0, STORED_MAX] unless constant.
    """
    matrix = affine_matrix(image.shape, augmentation)
    size = (image.shape[1], image.shape[0])

    def warp(array: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(array, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    scaled = image.astype(np.float32) * np.float32(CONTRAST_RANGE / STORED_MAX)
    contrasted = CONTRAST_CENTRE + augmentation.contrast * (warp(scaled) - CONTRAST_CENTRE)
    return to_stored(np.clip(contrasted, 0.0, CONTRAST_RANGE)), to_stored(warp(mask.astype(np.float32)))
