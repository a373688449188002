"""Turning found images into prepared 8-bit images and masks, in this process or in worker processes.

Per item: read the pixels, blank burned-in labels where the source has them, orient, standardise,
fit to size (preprocess.py), synthesise a mask for a cancer image without one, PNG-encode. No
TensorFlow here, so worker processes (spawned, not forked) start quickly.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np
from tqdm import tqdm

from .image_files import encode_png
from .items import DOMAINS, SkippedFile, SourceItem, UnusableFile, skip_with_companions
from .preprocess import blank_labels, faces_right, preprocess, synthesise_mask


@dataclass(frozen=True)
class Job:
    """One item to prepare and the "KIND:PATH" source it came from."""

    item: SourceItem
    source_spec: str


@dataclass(frozen=True)
class PreparedImage:
    """One preprocessed image, PNG-encoded, with what the manifest records about it."""

    source: str
    source_spec: str
    label: int
    patient_id: str | None
    view: str | None
    flipped: bool
    mask_synthesised: bool
    mask_files: tuple[str, ...]
    image_png: bytes
    mask_png: bytes

    @property
    def domain(self) -> str:
        return DOMAINS[self.label]

    @property
    def patient_key(self) -> str:
        """Who the image belongs to, for patient-level splits: KIND:patient, or the image itself."""
        if self.patient_id:
            return f"{self.source_spec.partition(':')[0]}:{self.patient_id}"
        return f"image:{self.source}"


def process(job: Job, size: tuple[int, int]) -> tuple[PreparedImage | None, list[SkippedFile]]:
    """Prepare one item at `size` = (height, width): (image or None, skipped files)."""
    item = job.item
    try:
        pixels = item.read()
    except UnusableFile as error:
        return None, skip_with_companions(item, str(error))
    image = blank_labels(pixels.image) if item.blank_labels else pixels.image
    flipped = faces_right(image, item.laterality)
    image, mask = preprocess(image, pixels.mask, size, "R" if flipped else "L")
    synthesised = pixels.mask_synthesised
    if mask is None and item.label == 1:
        mask, synthesised = synthesise_mask(image), True
    elif mask is None:
        mask = np.zeros_like(image)
    default = "not drawn: healthy images get an empty mask" if item.label == 0 else "not drawn into the mask"
    unused = [SkippedFile(path, f"annotation of {item.path}: {pixels.unused.get(path, default)}")
              for path in item.companions if path not in pixels.mask_files]
    prepared = PreparedImage(item.path, job.source_spec, item.label, item.patient_id, item.view, flipped,
                             synthesised, pixels.mask_files, encode_png(image), encode_png(mask))
    return prepared, unused


def process_all(jobs: list[Job], size: tuple[int, int], workers: int = 1,
                progress: bool = True) -> Iterator[tuple[PreparedImage | None, list[SkippedFile]]]:
    """`process` every job, in order; `workers` > 1 spreads them over that many processes."""
    bar = partial(tqdm, total=len(jobs), desc="prepare", unit="image", disable=not progress)
    work = partial(process, size=size)
    if workers <= 1 or len(jobs) <= 1:
        yield from bar(map(work, jobs))
        return
    context = multiprocessing.get_context("spawn")  # forking a process that has loaded TensorFlow is unsafe
    with context.Pool(min(workers, len(jobs)), initializer=_single_threaded) as pool:
        yield from bar(pool.imap(work, jobs, chunksize=1))


def _single_threaded() -> None:
    """Worker set-up: one OpenCV thread per worker, so N workers use N cores."""
    cv2.setNumThreads(1)
