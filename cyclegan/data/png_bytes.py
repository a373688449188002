"""PNG file bytes <-> (h, w) uint8 or uint16 arrays: how prepared records store images and masks.

Lossless and deterministic. No pydicom and no TensorFlow here: worker processes and the training
pipeline import this module.
"""

from __future__ import annotations

import cv2
import numpy as np


def encode_png(array: np.ndarray) -> bytes:
    """A uint8 or uint16 (h, w) array as PNG file bytes."""
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError(f"PNG encoding failed for an array of shape {array.shape}")
    return encoded.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """PNG file bytes (as `encode_png` writes them) back to a (h, w) array of the stored depth."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
