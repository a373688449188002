"""Lesion outlines to masks: polygons are filled; an outline of one or two points marks single pixels.

Points are (x, y) = (column, row) in the full-size image's pixel coordinates, as INbreast's
OsiriX ROIs and BCDR's outline tables store them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np


def draw_outlines(shape: tuple[int, int], outlines: Iterable[Sequence[tuple[float, float]]]) -> np.ndarray:
    """(h, w) bool mask of `shape` with every outline drawn; points outside the image are clipped."""
    mask = np.zeros(shape, np.uint8)
    for points in outlines:
        if len(points) <= 2:
            for x, y in points:
                row, column = math.floor(y), math.floor(x)
                if 0 <= row < shape[0] and 0 <= column < shape[1]:
                    mask[row, column] = 1
        else:
            cv2.fillPoly(mask, [np.rint(np.asarray(points, np.float64)).astype(np.int32)], 1)
    return mask.astype(bool)
