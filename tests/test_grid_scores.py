"""grid_scores' two metrics against a re-computation from their definitions, written here with NumPy loops.

The definitions (cyclegan/grid_scores.py): the residual minus its mean; `cpr_db` = 10·log10 of the
power of the periodic-Hann-windowed spectrum in the 3 × 3 bins around the P² − 1 lattice
frequencies (i·H/P, j·W/P), rounded half to even, over 9 × median / ln 2 of each one's ring of
bins at Chebyshev distance 3..8; `tile_rms` = the RMS about its mean of the P × P tile averaged,
phase by phase, over the high-passed residual (minus its P × P box mean, reflected at the border)
on the mask eroded by P pixels (the border counting as outside). The existing tests check how the
scores behave (0 dB without a pattern, +6 dB per doubling, the pattern's RMS); these check that
they are exactly those numbers.
"""

import math

import numpy as np
import pytest
from scipy import ndimage

from cyclegan.grid_scores import grid_artifact_score, paper_experiment, score_images


def _reference_cpr_db(residual: np.ndarray, period: int) -> float:
    height, width = residual.shape
    rows, cols = np.arange(height), np.arange(width)
    window = np.sin(np.pi * rows / height)[:, None] ** 2 * np.sin(np.pi * cols / width)[None, :] ** 2
    power = np.abs(np.fft.fft2(residual * window)) ** 2
    peaks, noise = 0.0, 0.0
    for i in range(period):
        for j in range(period):
            if i == j == 0:
                continue
            centre = (round(i * height / period), round(j * width / period))  # Python rounds half to even
            block, ring = [], []
            for dy in range(-8, 9):
                for dx in range(-8, 9):
                    value = power[(centre[0] + dy) % height, (centre[1] + dx) % width]
                    distance = max(abs(dy), abs(dx))
                    if distance <= 1:
                        block.append(value)
                    elif 3 <= distance <= 8:
                        ring.append(value)
            assert len(block) == 9 and len(ring) == 264
            peaks += sum(block)
            noise += 9 * np.median(ring) / math.log(2)
    return 10 * math.log10(peaks / noise)


def _reference_tile_rms(residual: np.ndarray, mask: np.ndarray, period: int) -> float:
    height, width = residual.shape
    padded = np.pad(mask.astype(bool), period, constant_values=False)
    kept = np.ones((height, width), bool)
    for dy in range(-period, period + 1):
        for dx in range(-period, period + 1):
            kept &= padded[period + dy: period + dy + height, period + dx: period + dx + width]
    high_pass = residual - ndimage.uniform_filter(residual, size=period, mode="reflect")
    tile = np.zeros((period, period))
    for a in range(period):
        for b in range(period):
            phase = kept[a::period, b::period]
            tile[a, b] = high_pass[a::period, b::period][phase].mean()
    return float(np.sqrt(np.mean((tile - tile.mean()) ** 2)))


def _scene(shape, period, seed):
    """A noisy image with a weak period-`period` pattern, its source, and an off-centre elliptical mask."""
    rng = np.random.default_rng(seed)
    source = ndimage.gaussian_filter(rng.normal(size=shape), 2.0) + 3.0
    pattern = np.tile(rng.normal(size=(period, period)), (shape[0] // period + 1, shape[1] // period + 1))
    image = source + rng.normal(scale=0.2, size=shape) + 0.05 * pattern[: shape[0], : shape[1]]
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    mask = ((rows - 0.45 * shape[0]) / (0.4 * shape[0])) ** 2 + ((cols - 0.3 * shape[1]) / (0.5 * shape[1])) ** 2 <= 1
    return image, source, mask


@pytest.mark.parametrize("shape, period, seed", [((64, 64), 4, 0), ((250, 202), 4, 1), ((61, 83), 3, 2),
                                                 ((96, 80), 8, 3), ((40, 42), 2, 4), ((24, 30), 4, 6)])
def test_both_scores_are_their_definitions(shape, period, seed):
    image, source, mask = _scene(shape, period, seed)
    for residual_source in (None, source):
        scores = grid_artifact_score(image, residual_source, mask, period)
        residual = image - (0.0 if residual_source is None else residual_source)
        residual = residual - residual.mean()
        assert scores["cpr_db"] == pytest.approx(_reference_cpr_db(residual, period), rel=1e-9, abs=1e-9)
        assert scores["tile_rms"] == pytest.approx(_reference_tile_rms(residual, mask, period), rel=1e-9)


def test_no_mask_is_the_whole_image_eroded_at_its_border():
    image, source, _ = _scene((70, 66), 4, 5)
    residual = image - source - (image - source).mean()
    expected = _reference_tile_rms(residual, np.ones(image.shape, bool), 4)
    assert grid_artifact_score(image, source, None, 4)["tile_rms"] == pytest.approx(expected, rel=1e-9)


def test_score_images_scores_channel_0_inside_the_references_breast():
    """score_images: (N, H, W, C) images in [-1, 1]; tile_rms inside the pixels of `reference` above black (-1)."""
    rng = np.random.default_rng(7)
    reference = np.full((2, 48, 40, 1), -1.0)
    reference[:, 4:44, :28] = rng.uniform(-0.999, 1.0, size=(2, 40, 28, 1))
    images = np.concatenate([np.tanh(rng.normal(size=(2, 48, 40, 1))), np.zeros((2, 48, 40, 1))], axis=-1)
    scores = score_images(images, reference)
    for index in range(2):
        expected = grid_artifact_score(images[index, ..., 0], mask=reference[index, ..., 0] > -1.0 + 1e-3)
        assert scores["cpr_db"][index] == expected["cpr_db"] and scores["tile_rms"][index] == expected["tile_rms"]
    whole = grid_artifact_score(images[0, ..., 0])["tile_rms"]
    assert scores["tile_rms"][0] != pytest.approx(whole, rel=1e-3)  # the mask matters


def test_paper_experiment_reads_the_run_name():
    assert [paper_experiment(name) for name in ("exp1", "exp1-float32", "exp2", "exp2-tconv4", "mine")] == [
        "exp1", "exp1", "exp2", "exp2", "exp2"]


@pytest.mark.parametrize("period, smallest", [(4, 17), (8, 24), (2, 17)])  # max(17, 3 * period) pixels a side
def test_the_smallest_image_a_period_allows(period, smallest):
    rng = np.random.default_rng(period)
    assert set(grid_artifact_score(rng.normal(size=(smallest, smallest + 3)), period=period)) == {"cpr_db", "tile_rms"}
    for shape in ((smallest - 1, smallest + 3), (smallest + 3, smallest - 1)):
        with pytest.raises(ValueError, match=f"at least {smallest} pixels"):
            grid_artifact_score(rng.normal(size=shape), period=period)

