"""What a data source yields: one `SourceItem` per candidate image, one `SkippedFile` per file not used.

A source is an iterable of these (see `sources.py`); preparation only ever sees these types, so
adding a dataset means writing a module that turns its layout into them. Items are cheap to make:
their pixels are read later, possibly in a worker process, by calling `item.read()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cyclegan.domains import DOMAINS

VIEWS = ("CC", "MLO")


class UnusableFile(ValueError):
    """A file (or table row) that cannot be used; the message is the reason the manifest records."""


@dataclass(frozen=True)
class Pixels:
    """What `SourceItem.read` returns.

    image: (h, w) float32 raw intensities, bright = dense tissue (MONOCHROME1 already inverted).
    mask: (h, w) bool, True inside lesions; None when there is no annotation to draw.
    mask_files: files (or "table:line N" rows) the mask was drawn from.
    unused: reasons, by path, for companion files the read looked at but did not draw.
    """

    image: np.ndarray
    mask: np.ndarray | None = None
    mask_files: tuple[str, ...] = ()
    unused: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceItem:
    """One mammogram a source found, with its label and metadata; pixels not yet read.

    read: returns `Pixels` or raises `UnusableFile`; must pickle (a module-level function or a
        functools.partial of one) because it may run in a worker process.
    laterality: "L" or "R" when the source records it reliably; None lets preparation decide by
        which half of the image is brighter.
    view: "CC", "MLO" or None (unknown; not filtered by --views).
    aliases: further names an exclusion list may use for the image (besides file name and stem).
    companions: annotation files that belong to this image; each ends up in the image's record
        (drawn into the mask) or in the manifest's skipped list.
    blank_labels: the source burns text labels into its images; keep only the breast region.
    """

    path: str
    label: int
    read: Callable[[], Pixels]
    patient_id: str | None = None
    laterality: str | None = None
    view: str | None = None
    aliases: tuple[str, ...] = ()
    companions: tuple[str, ...] = ()
    blank_labels: bool = False

    @property
    def domain(self) -> str:
        return DOMAINS[self.label]


@dataclass(frozen=True)
class SkippedFile:
    """A file (or table row, as "table:line N") a source found but did not use, and why."""

    path: str
    reason: str


def skip_with_companions(item: SourceItem, reason: str) -> list[SkippedFile]:
    """The item's image and each of its companion files as skipped, the companions pointing at it."""
    companion_reason = f"belongs to {item.path}, which was skipped"
    return [SkippedFile(item.path, reason)] + [SkippedFile(path, companion_reason) for path in item.companions]
