"""Images to translate: a prepared split, or a folder of raw files preprocessed exactly as
`prepare` would with its default settings (same reading, synthetic masks, orientation, resize,
16-bit intensities and [-1, 1] scaling, through the same record encoder and decoder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cyclegan.domains import DOMAINS

from .augment import image_rng
from .dataset import PreparedDataset, is_prepared
from .image_files import check_usable, is_image_path, read_image
from .items import UnusableFile
from .pipeline import decoder, split_images
from .preprocess import preprocess
from .records import serialize_example
from .synthetic_masks import synthetic_mask


def load_inputs(path, size: tuple[int, int], include_masks: bool, domain: str,
                split: str = "eval", seed: int = 42) -> tuple[list[str], np.ndarray, list[dict]]:
    """(source paths, float32 (n, H, W, C) images in [-1, 1], skipped [{path, reason}]).

    `path` is a prepared dataset folder (its `split` images of `domain`, which must have been
    prepared at `size`) or a folder of DICOM / PNG / TIFF files, all taken as `domain`; with
    `include_masks`, each of those gets a synthetic mask drawn with `seed`, as `prepare` draws them.
    """
    path = Path(path)
    if is_prepared(path):
        dataset = PreparedDataset.open(path)
        dataset.check_size(size, f"give an input prepared at {size[0]}x{size[1]}, or a folder of images")
        sources, images = split_images(dataset, split, domain, include_masks)
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
            check_usable(raw)
        except UnusableFile as error:
            skipped.append({"path": str(file), "reason": str(error)})
            continue
        mask = synthetic_mask(raw, image_rng(seed, str(file), 0))[0] if include_masks else None
        image, stored_mask = preprocess(raw, mask, size)
        origin = "synthetic" if include_masks else "empty"
        stored_mask = np.zeros_like(image) if stored_mask is None else stored_mask
        example = serialize_example(image, stored_mask, DOMAINS.index(domain), str(file), origin)
        sources.append(str(file))
        images.append(decode(example).numpy())
    if not images:
        raise ValueError(f"no readable images in {path}")
    return sources, np.stack(images), skipped
