"""Grid-artefact scores for the onset study: translations of held-out images at each checkpoint,
the real images' band, and how small a lattice the score detects.

Images are float (N, H, W, C) arrays in [-1, 1]; channel 0 is scored. Every image is scored on its
own, translations exactly like the real images they came from, at both lattice periods a
generator's two stride-2 upsamplings can paint: 2 and 4 pixels (cyclegan/grid_scores.py). The breast is the
input's pixels above the black background.
"""

from __future__ import annotations

import numpy as np

from cyclegan.grid_scores import grid_artifact_score

PERIODS = (2, 4)
BAND = (25, 75)  # the real images' band: these percentiles of their per-image scores


def breast(images: np.ndarray) -> np.ndarray:
    """Bool (N, H, W): the pixels of `images` (N, H, W, C) above the black background."""
    return images[..., 0] > -1.0 + 1e-3


def image_scores(images: np.ndarray, reference: np.ndarray) -> dict[str, np.ndarray]:
    """{"cpr_db_p2", "tile_rms_p2", "cpr_db_p4", "tile_rms_p4"}: (N,) scores of `images`, `tile_rms`
    inside `reference`'s breast."""
    masks = breast(reference)
    scores = {}
    for period in PERIODS:
        per_image = [grid_artifact_score(image[..., 0], mask=mask, period=period) for image, mask in zip(images, masks)]
        for metric in ("cpr_db", "tile_rms"):
            scores[f"{metric}_p{period}"] = np.array([score[metric] for score in per_image])
    return scores


def summary(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Median and the band's percentiles of each score: {"cpr_db_p4_median", "cpr_db_p4_q25", ...}."""
    out = {}
    for name, values in scores.items():
        low, median, high = np.percentile(values, [BAND[0], 50, BAND[1]])
        out.update({f"{name}_median": float(median), f"{name}_q25": float(low), f"{name}_q75": float(high)})
    return out


def lattice(shape: tuple[int, int], period: int, seed: int = 0) -> np.ndarray:
    """(H, W) float64 pattern repeating every `period` pixels, zero mean, RMS 1: a checkerboard for
    period 2, a seeded random tile for longer periods (as a transposed convolution's uneven overlap
    paints one)."""
    if period == 2:
        tile = np.array([[1.0, -1.0], [-1.0, 1.0]])
    else:
        tile = np.random.default_rng(seed).standard_normal((period, period))
        tile -= tile.mean()
    tile /= np.sqrt(np.mean(tile**2))
    reps = (-(-shape[0] // period), -(-shape[1] // period))
    return np.tile(tile, reps)[: shape[0], : shape[1]]


def inject(images: np.ndarray, period: int, amplitude: float) -> np.ndarray:
    """`images` (N, H, W, C) with a lattice of RMS `amplitude` (image units) added to channel 0
    inside the breast, clipped to [-1, 1] as a generator's tanh output is."""
    pattern = lattice(images.shape[1:3], period) * amplitude
    out = images.copy()
    out[..., 0] = np.clip(images[..., 0] + pattern * breast(images), -1.0, 1.0)
    return out


AMPLITUDES = tuple(float(a) for a in np.geomspace(1e-4, 0.3, 24))  # RMS, in [-1, 1] image units


def calibrate(images: np.ndarray, threshold_margin_db: float) -> list[dict]:
    """For each period, the median `cpr_db` at that period of `images` with a lattice of each of
    AMPLITUDES injected, and whether it reaches the real images' 75th percentile + margin.

    Returns rows {"period", "amplitude", "cpr_db_median", "threshold_db", "detected"}.
    """
    real = summary(image_scores(images, images))
    rows = []
    for period in PERIODS:
        threshold = real[f"cpr_db_p{period}_q75"] + threshold_margin_db
        for amplitude in AMPLITUDES:
            injected = inject(images, period, amplitude)
            median = summary(image_scores(injected, images))[f"cpr_db_p{period}_median"]
            rows.append({"period": period, "amplitude": amplitude, "cpr_db_median": median,
                         "threshold_db": threshold, "detected": median >= threshold})
    return rows


def detection_limits(rows: list[dict]) -> dict[int, float | None]:
    """{period: the smallest amplitude from which on every larger one is detected} (None: never)."""
    limits = {}
    for period in PERIODS:
        ordered = sorted((row for row in rows if row["period"] == period), key=lambda row: row["amplitude"])
        limit = None
        for row in reversed(ordered):
            if not row["detected"]:
                break
            limit = row["amplitude"]
        limits[period] = limit
    return limits
