"""Turning found images into prepared 16-bit images and masks, in this process or in worker processes.

Per item: read the pixels (skipping images too small, non-finite or constant:
`check_usable`), blank burned-in labels where the source has them, draw a synthetic mask
where the mask rule gives one (synthetic_masks.py, on the full-resolution image), orient, resize
and scale to 16 bits (preprocess.py), PNG-encode. No TensorFlow here, so worker processes
(spawned, not forked) start quickly.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np
from tqdm import tqdm

from cyclegan.domains import DOMAINS

from .augment import image_rng
from .image_files import check_usable
from .items import SkippedFile, SourceItem, UnusableFile, skip_with_companions
from .labels import Rules
from .png_bytes import encode_png
from .preprocess import blank_labels, faces_right, preprocess
from .synthetic_masks import synthetic_mask

MASK_ORIGINS = ("annotated", "synthetic", "empty")


@dataclass(frozen=True)
class Job:
    """One item to prepare and the "KIND:PATH" source it came from."""

    item: SourceItem
    source_spec: str


@dataclass(frozen=True)
class ImageSettings:
    """How every image is prepared: size (height, width) pixels, resize mode, rules, seed of the draws."""

    size: tuple[int, int]
    resize: str = "fit"
    rules: Rules = Rules()
    seed: int = 42


@dataclass(frozen=True)
class PreparedImage:
    """One preprocessed image, PNG-encoded, with what the manifest records about it."""

    source: str
    source_spec: str
    label: int
    patient_id: str | None
    view: str | None
    flipped: bool
    mask_origin: str  # one of MASK_ORIGINS
    mask_inside_breast: bool | None  # synthetic masks: whether a draw fitted inside the breast
    mask_files: tuple[str, ...]
    image_png: bytes  # 16-bit PNG
    mask_png: bytes  # 16-bit PNG

    @property
    def domain(self) -> str:
        return DOMAINS[self.label]

    @property
    def patient_key(self) -> str:
        """Who the image belongs to, for patient-level splits: KIND:patient, or the image itself."""
        if self.patient_id:
            return f"{self.source_spec.partition(':')[0]}:{self.patient_id}"
        return f"image:{self.source}"


def process(job: Job, settings: ImageSettings) -> tuple[PreparedImage | None, list[SkippedFile]]:
    """Prepare one item: (image or None, skipped files); unreadable and unusable images are skipped."""
    item = job.item
    try:
        pixels = item.read()
        check_usable(pixels.image)
    except UnusableFile as error:
        return None, skip_with_companions(item, str(error))
    image = blank_labels(pixels.image) if item.blank_labels else pixels.image
    mask, origin, inside = pixels.mask, "annotated", None
    if mask is None and (settings.rules.mask == "synthetic" or item.label == 1):
        (mask, inside), origin = synthetic_mask(image, image_rng(settings.seed, item.path, 0)), "synthetic"
    elif mask is None:
        origin = "empty"
    flipped = faces_right(image, item.laterality)
    stored, stored_mask = preprocess(image, mask, settings.size, "R" if flipped else "L", settings.resize)
    if stored_mask is None:
        stored_mask = np.zeros_like(stored)
    default = ("not drawn: healthy images get an empty mask under --mask-rule empty" if item.label == 0
               else "not drawn into the mask")
    unused = [SkippedFile(path, f"annotation of {item.path}: {pixels.unused.get(path, default)}")
              for path in item.companions if path not in pixels.mask_files]
    prepared = PreparedImage(item.path, job.source_spec, item.label, item.patient_id, item.view, flipped,
                             origin, inside, pixels.mask_files, encode_png(stored), encode_png(stored_mask))
    return prepared, unused


def process_all(jobs: list[Job], settings: ImageSettings, workers: int = 1,
                progress: bool = True) -> Iterator[tuple[PreparedImage | None, list[SkippedFile]]]:
    """`process` every job, in order; `workers` > 1 spreads them over that many processes."""
    bar = partial(tqdm, total=len(jobs), desc="prepare", unit="image", disable=not progress)
    work = partial(process, settings=settings)
    if workers <= 1 or len(jobs) <= 1:
        yield from bar(map(work, jobs))
        return
    context = multiprocessing.get_context("spawn")  # forking a process that has loaded TensorFlow is unsafe
    with context.Pool(min(workers, len(jobs)), initializer=_single_threaded) as pool:
        yield from bar(pool.imap(work, jobs, chunksize=1))


def _single_threaded() -> None:
    """Worker set-up: one OpenCV thread per worker, so N workers use N cores."""
    cv2.setNumThreads(1)
