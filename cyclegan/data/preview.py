"""Contact sheet of a prepared dataset: a few images per split and domain, lesion masks outlined.

One row per (split, domain): a caption tile, then the first `per_group` original images of that
group in shard order (by source path; augmented copies are left out). Mask outlines (every pixel
the mask touches) are red for annotated masks and yellow for synthetic ones; the caption says so.
Tiles are the prepared 16-bit images shown in 8 bits and shrunk so their longer side is at most
TILE_SIDE pixels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cyclegan.domains import DOMAINS

from .dataset import SPLITS, PreparedDataset
from .records import decoded_examples

TILE_SIDE = 256
CAPTION_WIDTH = 150
GAP = 4  # pixels between tiles
RED, YELLOW, WHITE = (0, 0, 255), (0, 255, 255), (255, 255, 255)  # BGR
OUTLINE_COLOURS = {"annotated": RED, "synthetic": YELLOW}


def write_preview(data_dir, out, per_group: int = 4) -> Path:
    """Write the contact sheet of the prepared dataset in `data_dir` as a PNG at `out`; returns its path."""
    if per_group < 1:
        raise ValueError(f"per_group must be at least 1, got {per_group}")
    if not cv2.haveImageWriter(str(out)):
        raise ValueError(f"cannot write an image named {out}: its suffix is not an image format (use .png)")
    dataset = PreparedDataset.open(data_dir)
    height, width = dataset.size
    scale = min(1.0, TILE_SIDE / max(height, width))
    tile = (max(1, round(height * scale)), max(1, round(width * scale)))
    rows = []
    for split in SPLITS:
        for domain in DOMAINS:
            tiles = [_tile(features, tile) for features in _originals(dataset.shard_paths(split, domain), per_group)]
            tiles += [np.full((*tile, 3), 40, np.uint8)] * (per_group - len(tiles))
            caption = _caption(tile[0], [split, domain, f"{dataset.counts[split][domain]} records"])
            rows.append(_hstack([caption, *tiles]))
    sheet = _vstack([_legend(rows[0].shape[1]), *rows])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), sheet):
        raise ValueError(f"could not write {out}")
    return out


def _originals(shard_paths: list[str], count: int) -> list[dict]:
    """Decoded features of the first `count` non-augmented records in the shards of one split and domain."""
    found = []
    for features in decoded_examples(shard_paths):
        if len(found) == count:
            break
        if "#aug" not in features["source"]:
            found.append(features)
    return found


def _tile(features: dict, size: tuple[int, int]) -> np.ndarray:
    """A BGR (h, w, 3) tile: the image in 8 bits with its mask's outline drawn on it."""
    image = cv2.resize(features["image"], size[::-1], interpolation=cv2.INTER_AREA)
    mask = cv2.resize((features["mask"] > 0).astype(np.float32), size[::-1], interpolation=cv2.INTER_AREA)
    tile = cv2.cvtColor((image >> 8).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    colour = OUTLINE_COLOURS.get(features["mask_origin"])
    if colour is not None:
        contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(tile, contours, -1, colour, thickness=1)
    return tile


def _caption(height: int, lines: list[str]) -> np.ndarray:
    caption = np.zeros((height, CAPTION_WIDTH, 3), np.uint8)
    for index, line in enumerate(lines):
        cv2.putText(caption, line, (6, 20 + 20 * index), cv2.FONT_HERSHEY_SIMPLEX, 0.5, WHITE, 1, cv2.LINE_AA)
    return caption


def _legend(width: int) -> np.ndarray:
    """A strip `width` pixels wide naming the outline colours."""
    legend = np.zeros((28, width, 3), np.uint8)
    x = 6
    for text, colour in (("mask outlines:", WHITE), ("annotated", RED), ("synthetic", YELLOW)):
        cv2.putText(legend, text, (x, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
        x += cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)[0][0] + 12
    return legend


def _hstack(tiles: list[np.ndarray]) -> np.ndarray:
    gap = np.zeros((tiles[0].shape[0], GAP, 3), np.uint8)
    return np.hstack([part for tile in tiles for part in (tile, gap)][:-1])


def _vstack(rows: list[np.ndarray]) -> np.ndarray:
    gap = np.zeros((GAP, rows[0].shape[1], 3), np.uint8)
    return np.vstack([part for row in rows for part in (row, gap)][:-1])
