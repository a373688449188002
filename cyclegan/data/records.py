"""TFRecord I/O for prepared datasets: one tf.train.Example per image, GZIP shards per split and domain.

Shard files are `{split}-{domain}-{shard:05d}.tfrecord.gz`. Example features:
  image, mask        bytes: 8-bit greyscale PNG of shape (height, width); mask values 0 / 255
  label              int64: 0 healthy, 1 cancer
  source             bytes: path of the raw file the image came from
  height, width      int64: pixels
  mask_synthesised   int64: 1 if the mask was made up rather than annotated
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

SPLITS = ("train", "eval")
COMPRESSION = "GZIP"

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "mask": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "source": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "mask_synthesised": tf.io.FixedLenFeature([], tf.int64),
}


def shard_name(split: str, domain: str, shard: int) -> str:
    return f"{split}-{domain}-{shard:05d}.tfrecord.gz"


def _png(array: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError(f"PNG encoding failed for an array of shape {array.shape}")
    return encoded.tobytes()


def serialize_example(image: np.ndarray, mask: np.ndarray, label: int, source: str,
                      mask_synthesised: bool) -> bytes:
    """One serialized tf.train.Example from a uint8 (H, W) image and a 0/255 uint8 (H, W) mask."""

    def int64(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    def raw(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    features = {
        "image": raw(_png(image)),
        "mask": raw(_png(mask)),
        "label": int64(label),
        "source": raw(source.encode("utf-8")),
        "height": int64(image.shape[0]),
        "width": int64(image.shape[1]),
        "mask_synthesised": int64(mask_synthesised),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    return example.SerializeToString(deterministic=True)  # map order fixed across processes


def write_shards(directory: Path, split: str, domain: str, examples: list[bytes],
                 per_shard: int) -> list[str]:
    """Write serialized examples in order into GZIP shards of at most `per_shard`; returns file names."""
    names = []
    for shard, start in enumerate(range(0, len(examples), per_shard)):
        names.append(shard_name(split, domain, shard))
        with tf.io.TFRecordWriter(str(Path(directory) / names[-1]), options=COMPRESSION) as writer:
            for example in examples[start : start + per_shard]:
                writer.write(example)
    return names


def read_records(paths: list[str]) -> tf.data.Dataset:
    """Serialized examples of the given shard files, in file order."""
    return tf.data.TFRecordDataset(paths, compression_type=COMPRESSION)


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parse one serialized example into scalar tensors (PNGs still encoded)."""
    return tf.io.parse_single_example(serialized, FEATURES)
