"""Undoing `prepare`'s geometry and intensity scaling: a training-frame image back at its source's size.

`prepare` (preprocess.py) mirrors a right-facing breast, resizes (fit: aspect kept, zero padding or
cropping at the right and bottom; stretch: both sides), and min-max scales the resized raw
intensities to [-1, 1]. `SourceGeometry` records those choices for one source image and maps a
frame-sized array back: the frame's part that holds the image is resized (bilinear) to the source
pixels it came from, and model values become raw intensities again.

Two ways to put a modified frame into the source:
- `blend`: the change (translated − input, at the training size) is upsampled and added to the
  source's own pixels inside the breast (`breast_region`, not grown); outside it, and wherever the
  frame cropped the source, the source's pixels are kept exactly. The source's full-resolution
  detail stays; the generator's change comes in at the training resolution's detail.
- `full`: the translated frame itself, upsampled, replaces the part of the source it covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import breast_region, orient, resize, scaled_shape

MODES = ("blend", "full")


@dataclass(frozen=True)
class SourceGeometry:
    """Where one source image sits in the (height, width) training `frame`.

    `shape`: the source's (rows, columns); `flipped`: mirrored left-right by `prepare`; `low`, `high`:
    the raw intensities (bright = dense) that became -1 and 1; `region`: (rows, columns) bool, the
    breast in the oriented source (where `blend` puts the change).
    """

    shape: tuple[int, int]
    frame: tuple[int, int]
    resize: str
    flipped: bool
    low: float
    high: float
    region: np.ndarray

    @classmethod
    def of(cls, trained: np.ndarray, frame: tuple[int, int], resize_mode: str, flipped: bool) -> SourceGeometry:
        """The geometry of the raw (rows, columns) image `trained` — the source as `prepare` read it,
        label blanking applied where the source has it — prepared at `frame` with `resize_mode`."""
        oriented = np.ascontiguousarray(trained[:, ::-1]) if flipped else trained
        resized = resize(oriented, frame, resize_mode)
        return cls(trained.shape, tuple(frame), resize_mode, flipped, float(resized.min()), float(resized.max()),
                   breast_region(oriented, margin=0))

    def _extent(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((rows, columns) of the frame holding the image, (rows, columns) of the source they cover)."""
        if self.resize == "stretch":
            return self.frame, self.shape
        _, (scaled_width, scaled_height) = scaled_shape(self.shape, self.frame)
        held = (min(scaled_height, self.frame[0]), min(scaled_width, self.frame[1]))
        covered = (min(self.shape[0], round(held[0] * self.shape[0] / scaled_height)),
                   min(self.shape[1], round(held[1] * self.shape[1] / scaled_width)))
        return held, covered

    def _upsample(self, values: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """The frame-sized (H, W) `values` over the source pixels they cover (bilinear), and that extent."""
        (rows, columns), covered = self._extent()
        held = np.ascontiguousarray(values[:rows, :columns], np.float32)
        return cv2.resize(held, (covered[1], covered[0]), interpolation=cv2.INTER_LINEAR), covered

    def to_source(self, source: np.ndarray, translated: np.ndarray, original: np.ndarray, mode: str) -> np.ndarray:
        """The raw (rows, columns) source with the (H, W) `translated` frame put in, in the source's
        orientation and raw units; `original` is the frame the generator was given."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        oriented = orient(source, None, "R" if self.flipped else "L")[0].astype(np.float32, copy=True)
        span = (self.high - self.low) / 2.0
        if mode == "blend":
            change, (rows, columns) = self._upsample((translated - original) * span)
            oriented[:rows, :columns] += np.where(self.region[:rows, :columns], change, 0.0)
        else:
            image, (rows, columns) = self._upsample(self.low + (translated + 1.0) * span)
            oriented[:rows, :columns] = image
        return oriented[:, ::-1] if self.flipped else oriented
