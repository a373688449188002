"""What a data source yields: one `SourceItem` per usable image, one `SkippedFile` per file not used.

A source is any iterable of these (see `sources.py`); preparation only ever sees these two types,
so adding a dataset means writing a module that turns its layout into them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DOMAINS = ("healthy", "cancer")  # index = label: 0 healthy (A), 1 cancer (B)


@dataclass(frozen=True)
class SourceItem:
    """One mammogram as read from its source, before any preprocessing.

    image: (h, w) float32 raw intensities, bright = dense tissue (MONOCHROME1 already inverted).
    mask: (h, w) bool, True inside lesions; None when the source has no annotation for the image.
    laterality: "L" or "R" when the source records it reliably; None lets preparation decide by
        which half of the image is brighter.
    mask_synthesised: True when the source itself made the mask up (e.g. from a single point).
    """

    path: str
    image: np.ndarray
    label: int
    mask: np.ndarray | None = None
    patient_id: str | None = None
    laterality: str | None = None
    mask_synthesised: bool = False

    @property
    def domain(self) -> str:
        return DOMAINS[self.label]


@dataclass(frozen=True)
class SkippedFile:
    """A file a source found but did not use, and why (recorded in manifest.json)."""

    path: str
    reason: str
