"""TFRecord I/O for prepared datasets: one tf.train.Example per image, GZIP shards per split and domain.

Shard files are `{split}-{domain}-{shard:05d}.tfrecord.gz`. Example features:
  image, mask        bytes: 16-bit greyscale PNG of shape (height, width), each min-max scaled to
                     [0, 65535] (an empty mask is all 0)
  label              int64: 0 healthy, 1 cancer
  source             bytes: path of the raw file the image came from; augmented copies add "#augN"
  height, width      int64: pixels
  mask_origin        bytes: "annotated", "synthetic" or "empty"
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np
import tensorflow as tf

from .png_bytes import decode_png, encode_png

COMPRESSION = "GZIP"

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "mask": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "source": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "mask_origin": tf.io.FixedLenFeature([], tf.string),
}


def shard_name(split: str, domain: str, shard: int) -> str:
    return f"{split}-{domain}-{shard:05d}.tfrecord.gz"


def serialize_example(image: np.ndarray, mask: np.ndarray, label: int, source: str, mask_origin: str) -> bytes:
    """One serialized tf.train.Example from a uint16 (H, W) image and mask."""
    return serialize_encoded(encode_png(image), encode_png(mask), label, source, mask_origin,
                             image.shape[0], image.shape[1])


def serialize_encoded(image_png: bytes, mask_png: bytes, label: int, source: str, mask_origin: str,
                      height: int, width: int) -> bytes:
    """One serialized tf.train.Example from an already PNG-encoded (height, width) image and mask."""

    def int64(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    def raw(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    features = {
        "image": raw(image_png),
        "mask": raw(mask_png),
        "label": int64(label),
        "source": raw(source.encode("utf-8")),
        "height": int64(height),
        "width": int64(width),
        "mask_origin": raw(mask_origin.encode("utf-8")),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    return example.SerializeToString(deterministic=True)  # map order fixed across processes


def write_shards(directory: Path, split: str, domain: str, examples: Iterable[bytes],
                 per_shard: int) -> list[str]:
    """Write serialized examples in order into GZIP shards of at most `per_shard`; returns file names.

    `examples` may be a generator: it is consumed one example at a time.
    """
    names = []
    examples = iter(examples)
    while chunk := list(islice(examples, per_shard)):
        names.append(shard_name(split, domain, len(names)))
        with tf.io.TFRecordWriter(str(Path(directory) / names[-1]), options=COMPRESSION) as writer:
            for example in chunk:
                writer.write(example)
    return names


def read_records(paths: list[str]) -> tf.data.Dataset:
    """Serialized examples of the given shard files, in file order."""
    return tf.data.TFRecordDataset(paths, compression_type=COMPRESSION)


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parse one serialized example into scalar tensors (PNGs still encoded)."""
    return tf.io.parse_single_example(serialized, FEATURES)


def decoded_examples(paths: list[str]) -> Iterator[dict]:
    """Each example of the shard files, in order, as numpy values; image and mask as uint16 (H, W) arrays."""
    for serialized in read_records(paths):
        features = {key: value.numpy() for key, value in parse_example(serialized).items()}
        features["image"], features["mask"] = decode_png(features["image"]), decode_png(features["mask"])
        features["source"] = features["source"].decode("utf-8")
        features["mask_origin"] = features["mask_origin"].decode("utf-8")
        yield features
