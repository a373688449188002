"""Images to translate: a prepared split, or a folder of raw files preprocessed exactly as
`prepare` would (same reading, orientation, intensity scaling, resize, 8-bit quantisation and
[-1, 1] scaling, through the same record encoder and decoder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .image_files import UnreadableImage, is_image_path, read_image
from .pipeline import decoder, split_images
from .prepare import MANIFEST_NAME
from .preprocess import preprocess, synthesise_mask
from .records import serialize_example


def load_inputs(path, size: tuple[int, int], include_masks: bool, domain: str,
                split: str = "eval") -> tuple[list[str], np.ndarray, list[dict]]:
    """(source paths, float32 (n, H, W, C) images in [-1, 1], skipped [{path, reason}]).

    `path` is a prepared dataset folder (its `split` images of `domain`, which must have been
    prepared at `size`) or a folder of DICOM / PNG / TIFF files, all taken as `domain`.
    """
    path = Path(path)
    if (path / MANIFEST_NAME).is_file():
        sources, images = split_images(path, split, domain, include_masks)
        if images.shape[1:3] != tuple(size):
            raise ValueError(f"{path} was prepared at {images.shape[1]}x{images.shape[2]} but the run "
                             f"expects {size[0]}x{size[1]}")
        return sources, images, []
    if not path.is_dir():
        raise FileNotFoundError(f"input {path} is neither a prepared dataset nor a folder of images")
    decode = decoder(size[0], size[1], include_masks)
    sources, images, skipped = [], [], []
    for file in sorted(p for p in path.iterdir() if p.is_file()):
        if not is_image_path(file):
            skipped.append({"path": str(file), "reason": "not an image file"})
            continue
        try:
            raw = read_image(file)
        except UnreadableImage as error:
            skipped.append({"path": str(file), "reason": str(error)})
            continue
        image, _ = preprocess(raw, None, size)
        mask = synthesise_mask(image) if domain == "cancer" else np.zeros_like(image)
        example = serialize_example(image, mask, int(domain == "cancer"), str(file), domain == "cancer")
        sources.append(str(file))
        images.append(decode(example).numpy())
    if not images:
        raise ValueError(f"no readable images in {path}")
    return sources, np.stack(images), skipped
