"""The images of TensorBoard's panels, built from a direction's eval images and their translations.

Inputs are (N, H, W, C) float arrays in [-1, 1] (channel 0 the image, channel 1 the lesion mask
when masks travel as a channel). Every builder returns one (rows x H, columns x W) float32 image
in [0, 1] at native resolution: one pixel of the panel is one pixel of the image, so a 2- or
4-pixel pattern is never averaged away. The scales are fixed (the spectrum's relative to its
median), so panels of different steps and runs compare directly.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import ndimage

from cyclegan.display import DIFFERENCE_GAIN
from cyclegan.grid_scores import periodic_hann

HIGH_PASS_PERIOD = 4  # the local mean spans one period of the transposed convs' 4-pixel lattice
GRID_VIEW_GAIN = 10.0  # the high-pass spans -0.1..0.1 image units from black to white
SPECTRUM_DB_RANGE = (0.0, 40.0)  # dB above the spectrum's median bin, black to white
SPECTRUM_POINT_SIZE = 3  # every bin is drawn as the brightest of its 3x3 neighbours


def image_tile(images: np.ndarray) -> np.ndarray:
    """Images in [-1, 1] to [0, 1]: -1 black, 1 white."""
    return np.clip((images + 1.0) / 2.0, 0.0, 1.0)


def difference_tile(difference: np.ndarray, gain: float) -> np.ndarray:
    """A difference in image units to [0, 1]: 0 mid-grey, +-1 / gain white / black."""
    return np.clip(0.5 + gain * difference / 2.0, 0.0, 1.0)


def high_pass(images: np.ndarray) -> np.ndarray:
    """(N, H, W) images minus their local mean, float32.

    The local mean is a box one period (HIGH_PASS_PERIOD pixels) wide, centred on the pixel: the
    HIGH_PASS_PERIOD + 1 pixels around it with the two outermost at half weight, in both directions
    (edges reflected).
    It averages a whole period of a 4- or 2-pixel pattern, so such a pattern passes whole, and it is
    symmetric, so a smooth gradient leaves nothing.
    """
    images = np.asarray(images, np.float32)
    weights = np.ones(HIGH_PASS_PERIOD + 1, np.float32)
    weights[[0, -1]] = 0.5
    weights /= weights.sum()
    local_mean = ndimage.correlate1d(images, weights, axis=1, mode="reflect")
    local_mean = ndimage.correlate1d(local_mean, weights, axis=2, mode="reflect")
    return images - local_mean


def log_power_spectrum_db(images: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (N, H, W) power spectra of the Hann-windowed images, in dB above each spectrum's
    median bin, zero frequency at (H // 2, W // 2)."""
    height, width = images.shape[1:]
    window = np.outer(periodic_hann(height), periodic_hann(width)).astype(np.float32)
    spectra = scipy.fft.fft2(images * window, axes=(1, 2))
    power = spectra.real**2 + spectra.imag**2
    median = np.median(power, axis=(1, 2), keepdims=True)
    decibels = 10.0 * np.log10(np.maximum(power, 1e-30) / np.maximum(median, 1e-30))
    return scipy.fft.fftshift(decibels, axes=(1, 2)).astype(np.float32)


def spectrum_tile(decibels: np.ndarray) -> np.ndarray:
    """An (H, W) spectrum in dB to [0, 1] over SPECTRUM_DB_RANGE, each bin drawn as the brightest
    of its SPECTRUM_POINT_SIZE neighbourhood so that a one-bin peak stays visible when shrunk."""
    low, high = SPECTRUM_DB_RANGE
    points = ndimage.maximum_filter(decibels, size=SPECTRUM_POINT_SIZE, mode="wrap")
    return np.clip((points - low) / (high - low), 0.0, 1.0)


def _grid(rows: list[list[np.ndarray]]) -> np.ndarray:
    return np.concatenate([np.concatenate(row, axis=1) for row in rows], axis=0).astype(np.float32)


def panel(inputs: np.ndarray, translated: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
    """The translation panel, (N x C x H, 5 x W) in [0, 1].

    Per eval image a row, and with a mask channel (C = 2) a second row for the mask:
    input | translated | reconstructed | translated - input | reconstructed - input.
    Images map -1..1 to black..white; differences are amplified by DIFFERENCE_GAIN around mid-grey.
    """
    rows = []
    for index in range(inputs.shape[0]):
        for channel in range(inputs.shape[-1]):
            source, fake, cycled = (stack[index, ..., channel] for stack in (inputs, translated, reconstructed))
            rows.append([image_tile(source), image_tile(fake), image_tile(cycled),
                         difference_tile(fake - source, DIFFERENCE_GAIN),
                         difference_tile(cycled - source, DIFFERENCE_GAIN)])
    return _grid(rows)


def grid_signal(images: np.ndarray) -> np.ndarray:
    """(N, H, W) -> the high-pass clipped to what the grid view shows, +-1 / GRID_VIEW_GAIN: edges
    and bright specks are capped there, a faint lattice passes whole."""
    limit = 1.0 / GRID_VIEW_GAIN
    return np.clip(high_pass(images), -limit, limit)


def grid_view(inputs: np.ndarray, translated: np.ndarray) -> np.ndarray:
    """The high-pass "grid view" of channel 0, (N x H, 2 x W) in [0, 1]: per eval image a row,
    input | translated, each minus its local mean and amplified by GRID_VIEW_GAIN around mid-grey."""
    rows = zip(grid_signal(inputs[..., 0]), grid_signal(translated[..., 0]))
    return _grid([[difference_tile(real, GRID_VIEW_GAIN), difference_tile(fake, GRID_VIEW_GAIN)]
                  for real, fake in rows])


def spectrum_view(inputs: np.ndarray, translated: np.ndarray) -> np.ndarray:
    """Log power spectra of the grid view (channel 0), (N x H, 2 x W) in [0, 1]: per eval image a
    row, input | translated, zero frequency at the centre of each tile.

    A pattern repeating every P pixels puts points at multiples of (H / P, W / P) bins from the
    centre: for P = 4 on a 4 x 4 lattice at 0, 1/4, 1/2 and 3/4 of the tile's height and width (the
    centre excepted), for P = 2 at the middles of the top and left edges and the top-left corner.
    """
    rows = zip(log_power_spectrum_db(grid_signal(inputs[..., 0])),
               log_power_spectrum_db(grid_signal(translated[..., 0])))
    return _grid([[spectrum_tile(real), spectrum_tile(fake)] for real, fake in rows])
