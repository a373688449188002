"""tf.data input pipelines over a prepared dataset (see prepare.py): training batches and eval images.

Every image is min-max scaled to [-1, 1] on its own; with `include_masks` the lesion mask rides
along as channel 1, 0 -> -1 and 255 -> 1. Tensors are float32 (H, W, C), C = 2 with masks else 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from .items import DOMAINS
from .prepare import MANIFEST_NAME
from .records import parse_example, read_records


def read_manifest(data_dir) -> dict:
    """The manifest of a prepared dataset folder.

    FileNotFoundError when the folder holds no manifest.json, ValueError when a domain has no
    training images.
    """
    path = Path(data_dir) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{data_dir} is not a prepared dataset: no {MANIFEST_NAME}; "
            f"run `python -m cyclegan prepare …` to create one"
        )
    manifest = json.loads(path.read_text())
    for domain in DOMAINS:
        if manifest["counts"]["train"][domain] == 0:
            raise ValueError(f"prepared dataset {data_dir} has no {domain} training images")
    return manifest


def dataset_counts(data_dir) -> dict:
    """Images per split and domain: {"train": {"healthy": n, "cancer": n}, "eval": {...}}."""
    return read_manifest(data_dir)["counts"]


def epoch_steps(manifest: dict, global_batch_size: int, batches_per_step: int = 1) -> int:
    """Steps in an epoch: min(#healthy, #cancer) training images // global batch size //
    batches per step (at least 1; a step of the sequential order reads two batches)."""
    counts = manifest["counts"]["train"]
    batches = min(counts[domain] for domain in DOMAINS) // global_batch_size
    if batches == 0:
        raise ValueError(
            f"global batch size {global_batch_size} exceeds the smaller training domain ({counts}): "
            "an epoch would have no steps; lower train.batch_size")
    return max(batches // batches_per_step, 1)


def train_dataset(data_dir, global_batch_size: int, include_masks: bool, seed: int, start_step: int = 0,
                  batches_per_step: int = 1):
    """Infinite dataset of training steps' inputs: (healthy, cancer) float32 batches of shape
    (global_batch_size, H, W, C), or with `batches_per_step` 2 two consecutive such pairs,
    ((healthy, cancer), (next_healthy, next_cancer)).

    An epoch is min(#healthy, #cancer) // global_batch_size batches; in each epoch both domains
    are shuffled afresh and independently (unpaired), by stateless shuffles seeded with
    (seed, epoch), so the order ignores TF's global seed. Starting at `start_step` yields exactly
    what an uninterrupted run yields from that step on.
    """
    if batches_per_step not in (1, 2):
        raise ValueError(f"a step reads 1 or 2 batches, not {batches_per_step}")
    manifest = read_manifest(data_dir)
    counts = manifest["counts"]["train"]
    batches_per_epoch = epoch_steps(manifest, global_batch_size)
    records = {domain: read_records(_shard_paths(data_dir, manifest, "train", domain)) for domain in DOMAINS}
    pairs_per_epoch = batches_per_epoch * global_batch_size

    def epoch_pairs(epoch: tf.Tensor) -> tf.data.Dataset:
        shuffled = tuple(
            _shuffled(records[domain], counts[domain], seed=(seed, 2 * epoch + stream))
            for stream, domain in enumerate(DOMAINS)
        )
        return tf.data.Dataset.zip(shuffled).take(pairs_per_epoch)

    start_epoch, batch_in_epoch = divmod(start_step * batches_per_step, batches_per_epoch)
    height, width = manifest["size"]
    decode = decoder(height, width, include_masks)
    dataset = (
        tf.data.Dataset.counter(start_epoch)
        .flat_map(epoch_pairs)
        .skip(batch_in_epoch * global_batch_size)  # still serialized: resuming costs no decoding
        .map(lambda healthy, cancer: (decode(healthy), decode(cancer)),
             num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(global_batch_size, drop_remainder=True)
    )
    if batches_per_step == 2:
        dataset = dataset.batch(2, drop_remainder=True).map(
            lambda healthy, cancer: ((healthy[0], cancer[0]), (healthy[1], cancer[1])))
    return dataset.prefetch(tf.data.AUTOTUNE)


def eval_images(data_dir, count: int, include_masks: bool) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` eval images of each domain by source path, as float32 (n, H, W, C) arrays.

    A domain without eval images falls back to its training images. Returns (healthy, cancer).
    """
    manifest = read_manifest(data_dir)
    arrays = []
    for domain in DOMAINS:
        split = "eval" if manifest["counts"]["eval"][domain] > 0 else "train"
        arrays.append(split_images(data_dir, split, domain, include_masks, limit=count)[1])
    return arrays[0], arrays[1]


def split_images(data_dir, split: str, domain: str, include_masks: bool,
                 limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Source paths and float32 (n, H, W, C) images of one split and domain, ordered by source path.

    `limit` keeps only the first images in that order.
    """
    manifest = read_manifest(data_dir)
    height, width = manifest["size"]
    decode = decoder(height, width, include_masks)
    records = read_records(_shard_paths(data_dir, manifest, split, domain))
    by_source = sorted(((parse_example(serialized)["source"].numpy().decode(), serialized)
                        for serialized in records), key=lambda pair: pair[0])[:limit]
    images = [decode(serialized).numpy() for _, serialized in by_source]
    empty = np.zeros((0, height, width, 2 if include_masks else 1), np.float32)
    return [source for source, _ in by_source], np.stack(images) if images else empty


def _shard_paths(data_dir, manifest: dict, split: str, domain: str) -> list[str]:
    return [str(Path(data_dir) / name) for name in manifest["shards"][split][domain]]


def _shuffled(records: tf.data.Dataset, count: int, seed: tuple) -> tf.data.Dataset:
    """The `count` records in the stateless random order fixed by `seed`, a pair of integers."""
    seed = tf.stack([tf.cast(part, tf.int64) for part in seed])
    return (
        records.batch(count)
        .map(lambda batch: tf.random.experimental.stateless_shuffle(batch, seed=seed))
        .unbatch()
    )


def decoder(height: int, width: int, include_masks: bool):
    """A function: serialized example -> float32 (height, width, C) tensor in [-1, 1]."""

    def decode(serialized: tf.Tensor) -> tf.Tensor:
        features = parse_example(serialized)
        image = tf.cast(tf.io.decode_png(features["image"], channels=1), tf.float32)
        low, high = tf.reduce_min(image), tf.reduce_max(image)
        image = tf.math.divide_no_nan(image - low, high - low) * 2.0 - 1.0
        if include_masks:
            mask = tf.cast(tf.io.decode_png(features["mask"], channels=1), tf.float32) / 127.5 - 1.0
            image = tf.concat([image, mask], axis=-1)
        return tf.ensure_shape(image, (height, width, 2 if include_masks else 1))

    return decode
