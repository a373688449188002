"""Reading mammogram and mask files (DICOM, PNG, TIFF, ...) into 2-D arrays.

Every reader returns a (h, w) array (or shape) or raises `UnreadableImage` whose message is the
reason a preparation manifest records for skipping the file; `check_usable` does the same for
pixels that decode but cannot be a mammogram. No TensorFlow here: worker processes import this module.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pydicom

from .items import UnusableFile

DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ""})  # DICOM files often carry no suffix
RASTER_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".pgm"})
MIN_SIDE = 32  # pixels: a smaller image shows no breast structure; resizing it up would invent one


class UnreadableImage(UnusableFile):
    """A file that should hold an image but cannot be decoded into one; the message says why."""


def is_image_path(path: Path) -> bool:
    """True if the file name looks like an image this module can read (judged by suffix)."""
    return path.suffix.lower() in DICOM_SUFFIXES | RASTER_SUFFIXES


def read_dicom(path: Path) -> tuple[np.ndarray, pydicom.Dataset]:
    """Pixels of a single-frame greyscale DICOM as (h, w) float32, bright = dense, and its header.

    MONOCHROME1 images (bright = low value) are inverted so that every image is MONOCHROME2-like.
    """
    try:
        dataset = pydicom.dcmread(path)
        pixels = dataset.pixel_array
    except Exception as error:  # pydicom raises many types for corrupt or non-DICOM files
        raise UnreadableImage(f"unreadable DICOM: {type(error).__name__}: {error}") from error
    if pixels.ndim != 2:
        raise UnreadableImage(f"DICOM pixel data has shape {pixels.shape}; expected one greyscale frame")
    pixels = pixels.astype(np.float32)
    if dataset.get("PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
        pixels = pixels.max() - pixels
    return pixels, dataset


def read_dicom_shape(path: Path) -> tuple[int, int]:
    """(rows, columns) of a DICOM image from its header alone, without decoding the pixels."""
    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        return int(dataset.Rows), int(dataset.Columns)
    except Exception as error:  # pydicom raises many types for corrupt or non-DICOM files
        raise UnreadableImage(f"unreadable DICOM header: {type(error).__name__}: {error}") from error


def read_raster(path: Path) -> np.ndarray:
    """A PNG / TIFF / JPEG file as (h, w) float32 at its stored bit depth (colour -> grey)."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise UnreadableImage("unreadable image file (OpenCV could not decode it)")
    if pixels.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if pixels.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        pixels = cv2.cvtColor(pixels, code)
    return pixels.astype(np.float32)


def read_image(path: Path) -> np.ndarray:
    """Any supported image file as (h, w) float32, bright = dense tissue."""
    if path.suffix.lower() in DICOM_SUFFIXES:
        return read_dicom(path)[0]
    if path.suffix.lower() in RASTER_SUFFIXES:
        return read_raster(path)
    raise UnreadableImage(f"not an image file (suffix {path.suffix!r})")


def check_usable(image: np.ndarray) -> None:
    """UnusableFile, its message the reason, when a decoded (h, w) image cannot be a mammogram: a side
    below MIN_SIDE pixels, any NaN or infinite value, or one value everywhere (nothing but background)."""
    height, width = image.shape
    if min(height, width) < MIN_SIDE:
        raise UnusableFile(f"too small: {height}x{width} pixels; images need at least {MIN_SIDE} on each side")
    non_finite = int(np.count_nonzero(~np.isfinite(image)))
    if non_finite:
        raise UnusableFile(f"{non_finite} of {image.size} pixels are NaN or infinite")
    if image.min() == image.max():
        raise UnusableFile(f"constant image: every pixel is {float(image.flat[0]):g}")


def read_mask(path: Path) -> np.ndarray:
    """A lesion mask file as (h, w) bool: True where the stored value is non-zero."""
    return read_image(path) > 0
