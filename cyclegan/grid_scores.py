"""Grid-artefact metrics: how strongly an image (or its change from a source) repeats with a period.

Transposed-conv generators paint a pattern that repeats every `period` pixels (4 after two stride-2
upsamplings). Two scores measure it on a residual r (image − source, or the image itself):

- `cpr_db`, the checkerboard peak ratio: power of the Hann-windowed spectrum at the pattern's lattice
  frequencies over the power a noise spectrum would put there, in dB. About 0 on artefact-free
  residuals; about +6 dB per doubling of the pattern's amplitude once the pattern dominates the
  noise. Scale-free.
- `tile_rms`: the RMS of the average P×P tile of the high-passed residual, in the image's units; it
  estimates the pattern's own RMS amplitude.

`score_images` scores a batch of translations as training and the artefact report do, and the
PAPER_* facts say where the paper saw grid patterns appear.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import ndimage

PEAK_RADIUS = 1  # a peak is the 3x3 block of bins around a lattice frequency
RING_RADII = (3, 8)  # its background: bins at Chebyshev distance 3..8 from it
MIN_SIDE = 2 * RING_RADII[1] + 1  # pixels; smaller spectra cannot hold a whole ring


def _square_offsets(inner: int, outer: int) -> np.ndarray:
    """(n, 2) integer (row, col) offsets at Chebyshev distance inner..outer from the origin."""
    rows, cols = np.mgrid[-outer : outer + 1, -outer : outer + 1]
    distance = np.maximum(np.abs(rows), np.abs(cols))
    keep = (distance >= inner) & (distance <= outer)
    return np.stack([rows[keep], cols[keep]], axis=1)


PEAK_OFFSETS = _square_offsets(0, PEAK_RADIUS)  # 9 bins
RING_OFFSETS = _square_offsets(*RING_RADII)  # 264 bins
METRICS = ("cpr_db", "tile_rms")  # the scores, as grid_artifact_score names them
# What the paper reported (Becker et al., arXiv 1811.07767): where grid patterns appeared, and where exp2's
# images were chosen.
PAPER_ONSETS = {"exp1": (160_000, 160_000), "exp2": (45_000, 50_000)}
PAPER_SELECTION_STEPS = {"exp1": (), "exp2": (35_000, 70_000)}
PAPER_SIZES = {"exp1": "256×256", "exp2": "512×408"}


def paper_experiment(run_name: str) -> str:
    """Which paper experiment's facts apply to a run: "exp1" for names starting so, else "exp2"."""
    return "exp1" if run_name.startswith("exp1") else "exp2"


def grid_artifact_score(image, source=None, mask=None, period: int = 4) -> dict[str, float]:
    """Grid-artefact scores of a 2-D image (H, W), float, any units.

    source: optional (H, W) image the residual is taken against (e.g. the generator's input).
    mask: optional (H, W) bool region (e.g. the breast) used by `tile_rms` after erosion by `period`
    pixels, the image border counting as outside; no mask means the whole image, eroded the same way.
    `cpr_db` always uses the whole image (the Hann window already fades its border).
    When H or W is not a multiple of `period`, lattice frequencies i·H/P fall between FFT bins and
    are rounded to the nearest one (ties to even); the window's leakage then caps `cpr_db` near
    +90 dB, far above real patterns. `cpr_db` needs a noise-like background: on a noise-free
    synthetic residual it compares the pattern with rounding error.
    Returns {"cpr_db": dB, "tile_rms": image units}; a constant residual scores 0 dB and 0.
    """
    residual = _residual(image, source, period)
    kept = _eroded_mask(mask, residual.shape, period)
    if np.ptp(residual) == 0:
        return {"cpr_db": 0.0, "tile_rms": 0.0}
    return {"cpr_db": _checkerboard_peak_ratio_db(residual, period), "tile_rms": _tile_rms(residual, kept, period)}


def batch_scores(images, sources=None, masks=None, period: int = 4) -> dict[str, np.ndarray]:
    """`grid_artifact_score` of each of N images (N, H, W); sources and masks, if given, also (N, H, W).

    Returns {"cpr_db": (N,) float64, "tile_rms": (N,) float64}.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"batch_scores: images must be (N, H, W); got shape {images.shape}")
    for name, stack in (("sources", sources), ("masks", masks)):
        if stack is not None and np.shape(stack) != images.shape:
            raise ValueError(f"batch_scores: {name} must have the images' shape {images.shape}; "
                             f"got {np.shape(stack)}")
    scores = [
        grid_artifact_score(image, None if sources is None else sources[index],
                            None if masks is None else masks[index], period)
        for index, image in enumerate(images)]
    return {key: np.array([score[key] for score in scores], np.float64) for key in METRICS}


def score_images(images: np.ndarray, reference: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image scores {metric: (N,)} of (N, H, W, C) `images` in [-1, 1] (channel 0), `tile_rms`
    inside the breast: the pixels of `reference` (the same shape) above its black background."""
    breast = reference[..., 0] > -1.0 + 1e-3
    return batch_scores(images[..., 0], masks=breast)


def _residual(image, source, period) -> np.ndarray:
    """Validated float64 residual (image − source, or image), mean subtracted."""
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 2:
        raise ValueError(f"grid_artifact_score: period must be an integer >= 2; got {period!r}")
    image = np.asarray(image, np.float64)
    if image.ndim != 2:
        raise ValueError(f"grid_artifact_score: image must be 2-D (H, W); got shape {image.shape}")
    if min(image.shape) < max(MIN_SIDE, 3 * period):
        raise ValueError(f"grid_artifact_score: image sides must be at least {max(MIN_SIDE, 3 * period)} "
                         f"pixels for period {period}; got {image.shape}")
    residual = image
    if source is not None:
        source = np.asarray(source, np.float64)
        if source.shape != image.shape:
            raise ValueError(f"grid_artifact_score: source shape {source.shape} differs from image {image.shape}")
        residual = image - source
    if not np.all(np.isfinite(residual)):
        raise ValueError("grid_artifact_score: image and source must be finite (found NaN or inf)")
    return residual - residual.mean()


def _eroded_mask(mask, shape, period) -> np.ndarray:
    """Bool (H, W): the mask (or the whole image) eroded by `period` pixels; must cover every phase."""
    if mask is None:
        mask = np.ones(shape, bool)
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"grid_artifact_score: mask shape {mask.shape} differs from image {shape}")
    eroded = ndimage.minimum_filter(mask.astype(bool), size=2 * period + 1, mode="constant", cval=False)
    if _phase_sums(eroded, period).min() == 0:
        raise ValueError(f"grid_artifact_score: the mask eroded by {period} pixels must cover at least a "
                         f"{period}x{period} block; it keeps {np.count_nonzero(eroded)} pixels")
    return eroded


def _checkerboard_peak_ratio_db(residual: np.ndarray, period: int) -> float:
    """10·log10(power in 3x3 peaks at the lattice frequencies / expected noise power there).

    A noise bin's power is exponentially distributed, so median / ln 2 estimates its mean, robustly
    to other peaks falling in the ring; nine such bins make a peak's expected noise power.
    """
    height, width = residual.shape
    window = np.outer(periodic_hann(height), periodic_hann(width))
    spectrum = scipy.fft.fft2(residual * window)
    power = spectrum.real**2 + spectrum.imag**2
    lattice = np.stack(np.meshgrid(np.arange(period), np.arange(period), indexing="ij"), -1).reshape(-1, 2)[1:]
    centres = np.rint(lattice * np.array([height, width]) / period).astype(int)  # (P²−1, 2) bins

    def gather(offsets):  # (P²−1, len(offsets)) powers around each centre, indices wrapped
        bins = centres[:, None, :] + offsets[None, :, :]
        return power[bins[..., 0] % height, bins[..., 1] % width]

    peaks = gather(PEAK_OFFSETS).sum(axis=1)
    backgrounds = np.median(gather(RING_OFFSETS), axis=1) / np.log(2) * len(PEAK_OFFSETS)
    return float(10 * np.log10(peaks.sum() / backgrounds.sum()))


def periodic_hann(length: int) -> np.ndarray:
    """Periodic Hann window: a tone on an FFT bin leaks only into its two neighbours."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)


def _tile_rms(residual: np.ndarray, kept: np.ndarray, period: int) -> float:
    """RMS of the zero-mean P×P tile averaged, phase by phase, over the kept high-passed pixels."""
    high_pass = residual - ndimage.uniform_filter(residual, size=period, mode="reflect")
    tile = _phase_sums(high_pass * kept, period) / _phase_sums(kept, period)
    return float(np.sqrt(np.mean((tile - tile.mean()) ** 2)))


def _phase_sums(values: np.ndarray, period: int) -> np.ndarray:
    """(P, P) float64: sums of the (H, W) values over the pixels sharing (row mod P, col mod P)."""
    height, width = values.shape
    padded = np.zeros((-(-height // period) * period, -(-width // period) * period))
    padded[:height, :width] = values
    return padded.reshape(padded.shape[0] // period, period, -1, period).sum(axis=0).sum(axis=1)
