"""Synthetic lesion masks for images without an annotation, drawn as experiment 2's code drew them.

The facts (BreastGAN/experiment2: resources/synthetic_data.py `generate_synth(mask_only=True)`,
resources/data/transformer.py `generate_otsu_mask`): on the full-resolution image, 1 + Poisson(0.7)
elliptical blobs at uniformly random centres. With r_min = max(1, ⌊min(h, w) / 80⌋) and
r_max = max(r_min, ⌊min(h, w) / 10⌋): an area A ~ U(r_min², r_max²), r1 ~ U{r_min..r_max},
r2 = max(1, ⌊A / r1⌋); a pixel at offset (dy, dx) from the centre is inside when
dy² / r1 + dx² / r2 ≤ 1 + N(0, 0.1²), drawn per pixel (so the semi-axes are √r1 and √r2 pixels and
the edge is ragged). Each blob has the value 0.9 + 1.6 · (1 − r1·r2 / r_max²): small blobs are
brighter; overlapping blobs add. Masks are redrawn, up to MAX_DRAWS times, until every blob pixel
lies in the breast: pixels at or above the image's Otsu threshold.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.filters import threshold_otsu

MAX_DRAWS = 20
MEAN_EXTRA_BLOBS = 0.7  # Poisson mean of blobs beyond the first
EDGE_NOISE = 0.1  # standard deviation of the per-pixel noise on the ellipse inequality
VALUE_RANGE = (0.9, 2.5)  # blob value for the largest and for the smallest possible blob
NOISE_REACH = 8.0  # pixels beyond 1 + NOISE_REACH * EDGE_NOISE are never inside (p < 1e-15)


def radius_range(shape: tuple[int, int]) -> tuple[int, int]:
    """(r_min, r_max) of blobs on an image of `shape` = (height, width) pixels."""
    smaller = min(shape)
    low = max(1, smaller // 80)
    return low, max(low, smaller // 10)


def draw_blobs(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A float32 (height, width) mask: 1 + Poisson(0.7) blobs, 0 elsewhere."""
    mask = np.zeros(shape, np.float32)
    for _ in range(1 + int(rng.poisson(MEAN_EXTRA_BLOBS))):
        centre = (int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1])))
        _add_blob(mask, centre, rng)
    return mask


def _add_blob(mask: np.ndarray, centre: tuple[int, int], rng: np.random.Generator) -> None:
    """Add one blob centred at (row, column) `centre` to `mask` in place."""
    low, high = radius_range(mask.shape)
    area = rng.uniform(max(1, low**2), high**2)
    row_radius = int(rng.integers(low, high + 1))
    column_radius = max(1, int(area / row_radius))
    value = VALUE_RANGE[0] + (VALUE_RANGE[1] - VALUE_RANGE[0]) * (1 - row_radius * column_radius / high**2)
    reach = 1 + NOISE_REACH * EDGE_NOISE
    rows = _span(centre[0], row_radius, reach, mask.shape[0])
    columns = _span(centre[1], column_radius, reach, mask.shape[1])
    offsets = (rows[:, None] - centre[0]) ** 2 / row_radius + (columns[None, :] - centre[1]) ** 2 / column_radius
    inside = offsets <= 1 + rng.normal(0.0, EDGE_NOISE, offsets.shape)
    mask[rows[0]: rows[-1] + 1, columns[0]: columns[-1] + 1] += np.float32(value) * inside


def _span(centre: int, radius: int, reach: float, length: int) -> np.ndarray:
    """Indices a blob may cover along one axis: [centre - radius, centre + radius) within the image,
    narrowed to where the inequality can hold."""
    half = min(radius, math.ceil(math.sqrt(radius * reach)))
    return np.arange(max(0, centre - half), min(centre + half + 1, centre + radius, length))


def synthetic_mask(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """(float32 mask of `image`'s shape, whether it lies inside the breast) for a raw (h, w) image.

    Draws `draw_blobs` until no blob pixel falls below the image's Otsu threshold, at most
    MAX_DRAWS times; when none fits, the last draw is returned with False.
    """
    breast = image >= threshold_otsu(image) if image.max() > image.min() else np.ones(image.shape, bool)
    for _ in range(MAX_DRAWS):
        mask = draw_blobs(image.shape, rng)
        if not np.any((mask > 0) & ~breast):
            return mask, True
    return mask, False
