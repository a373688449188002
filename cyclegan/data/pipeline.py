"""tf.data input pipelines over a `PreparedDataset` (dataset.py): training batches and eval images.

Every image is min-max scaled to [-1, 1] on its own; with `include_masks` the lesion mask rides
along as channel 1, min-max scaled the same way (an empty mask is -1 everywhere), as experiment 2's
data provider scaled both. Tensors are float32 (H, W, C), C = 2 with masks else 1.

Pairing of the two domains in an epoch (config `data.pairing`):
  independent  both domains shuffled afresh and independently each epoch (unpaired, as experiment 2
               and generic CycleGANs); an epoch is min(#healthy, #cancer) images of each
  exp1         experiment 1's code (resources/data/utils.py `shuffle(cancer, healthy)`): one
               permutation of the #cancer indices each epoch, applied to both domains, so pairs
               are fixed within an epoch and healthy records from index #cancer on (in shard
               order) are never used. The original's behaviour, not a recommendation
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from cyclegan.domains import CANCER, DOMAINS, HEALTHY
from cyclegan.errors import DatasetError

from .dataset import MANIFEST_NAME, SPLITS, PreparedDataset
from .records import parse_example, read_records


def train_dataset(dataset: PreparedDataset, global_batch_size: int, include_masks: bool, seed: int,
                  start_step: int = 0, batches_per_step: int = 1, pairing: str = "independent"):
    """Infinite dataset of training steps' inputs: (healthy, cancer) float32 batches of shape
    (global_batch_size, H, W, C), or with `batches_per_step` 2 two consecutive such pairs,
    ((healthy, cancer), (next_healthy, next_cancer)).

    An epoch is `dataset.paired_images` // global_batch_size batches, ordered by `pairing` (see the
    module docstring) with stateless shuffles seeded by (seed, epoch), so the order ignores TF's
    global seed. Starting at `start_step` yields exactly what an uninterrupted run yields from that
    step on.
    """
    if batches_per_step not in (1, 2):
        raise ValueError(f"a step reads 1 or 2 batches, not {batches_per_step}")
    counts = dataset.counts["train"]
    batches_per_epoch = dataset.epoch_steps(global_batch_size, pairing=pairing)
    records = {domain: read_records(dataset.shard_paths("train", domain)) for domain in DOMAINS}
    pairs_per_epoch = batches_per_epoch * global_batch_size

    def epoch_pairs(epoch: tf.Tensor) -> tf.data.Dataset:
        if pairing == "exp1":
            return _paired(records[HEALTHY], records[CANCER], counts[CANCER], (seed, 2 * epoch))
        shuffled = tuple(
            _shuffled(records[domain], counts[domain], seed=(seed, 2 * epoch + stream))
            for stream, domain in enumerate(DOMAINS)
        )
        return tf.data.Dataset.zip(shuffled)

    start_epoch, batch_in_epoch = divmod(start_step * batches_per_step, batches_per_epoch)
    decode = decoder(*dataset.size, include_masks)
    steps = (
        tf.data.Dataset.counter(start_epoch)
        .flat_map(lambda epoch: epoch_pairs(epoch).take(pairs_per_epoch))
        .skip(batch_in_epoch * global_batch_size)  # still serialized: resuming costs no decoding
        .map(lambda healthy, cancer: (decode(healthy), decode(cancer)),
             num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(global_batch_size, drop_remainder=True)
    )
    if batches_per_step == 2:
        steps = steps.batch(2, drop_remainder=True).map(
            lambda healthy, cancer: ((healthy[0], cancer[0]), (healthy[1], cancer[1])))
    return steps.prefetch(tf.data.AUTOTUNE)


def eval_images(dataset: PreparedDataset, count: int, include_masks: bool) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` eval images of each domain by source path, as float32 (n, H, W, C) arrays.

    A domain without eval images falls back to its training images. Returns (healthy, cancer).
    """
    arrays = []
    for domain in DOMAINS:
        split = "eval" if dataset.counts["eval"][domain] > 0 else "train"
        arrays.append(split_images(dataset, split, domain, include_masks, limit=count)[1])
    return arrays[0], arrays[1]


def split_images(dataset: PreparedDataset, split: str, domain: str, include_masks: bool,
                 limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Source paths and float32 (n, H, W, C) images of one split and domain, ordered by source path.

    `limit` keeps only the first images in that order.
    """
    height, width = dataset.size
    decode = decoder(height, width, include_masks)
    records = read_records(dataset.shard_paths(split, domain))
    by_source = sorted(((parse_example(serialized)["source"].numpy().decode(), serialized)
                        for serialized in records), key=lambda pair: pair[0])[:limit]
    images = [decode(serialized).numpy() for _, serialized in by_source]
    empty = np.zeros((0, height, width, 2 if include_masks else 1), np.float32)
    return [source for source, _ in by_source], np.stack(images) if images else empty


def check_shards(dataset: PreparedDataset) -> None:
    """Read every shard the manifest lists to its end: DatasetError naming the first one that is
    missing or unreadable (truncated, corrupt), or the split and domain whose shards do not hold
    the records the manifest counts."""
    for split in SPLITS:
        for domain in DOMAINS:
            records = sum(_count_records(path) for path in dataset.shard_paths(split, domain))
            if records != dataset.counts[split][domain]:
                raise DatasetError(
                    f"the {split} {domain} shards of {dataset.path} hold {records} records, but its "
                    f"{MANIFEST_NAME} counts {dataset.counts[split][domain]}; prepare the dataset again")


def _count_records(path: str) -> int:
    if not Path(path).is_file():
        raise DatasetError(f"shard {path} (listed in {MANIFEST_NAME}) is missing; prepare the dataset again")
    try:
        return int(read_records([path]).reduce(np.int64(0), lambda count, _: count + 1))
    except tf.errors.OpError as err:
        raise DatasetError(f"shard {path} is unreadable ({_op_error_reason(err)}); prepare the dataset again") from err


def _op_error_reason(err: tf.errors.OpError) -> str:
    """A TensorFlow error's own message, without the function and op names TensorFlow adds."""
    reason = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", err.message)
    return re.sub(r"\s*\[Op:[^\]]*\].*$", "", reason, flags=re.DOTALL).strip()


def _permutation(count: int, seed: tuple) -> tf.Tensor:
    """The indices 0..count-1 in the stateless random order fixed by `seed`, a pair of integers."""
    seed = tf.stack([tf.cast(part, tf.int64) for part in seed])
    return tf.random.experimental.stateless_shuffle(tf.range(count), seed=seed)


def _shuffled(records: tf.data.Dataset, count: int, seed: tuple) -> tf.data.Dataset:
    """The `count` records in the stateless random order fixed by `seed`."""
    order = _permutation(count, seed)
    return records.batch(count).map(lambda batch: tf.gather(batch, order)).unbatch()


def _paired(healthy: tf.data.Dataset, cancer: tf.data.Dataset, count: int, seed: tuple) -> tf.data.Dataset:
    """(healthy[i], cancer[i]) for i in one random order of 0..count-1: the first `count` healthy
    records paired with the `count` cancer records by index."""
    order = _permutation(count, seed)
    both = tf.data.Dataset.zip((healthy.take(count).batch(count), cancer.batch(count)))
    return both.map(lambda h, c: (tf.gather(h, order), tf.gather(c, order))).unbatch()


def decoder(height: int, width: int, include_masks: bool):
    """A function: serialized example -> float32 (height, width, C) tensor in [-1, 1]."""

    def to_unit_range(png: tf.Tensor) -> tf.Tensor:
        array = tf.cast(tf.io.decode_png(png, channels=1, dtype=tf.uint16), tf.float32)
        low, high = tf.reduce_min(array), tf.reduce_max(array)
        return tf.math.divide_no_nan(array - low, high - low) * 2.0 - 1.0

    def decode(serialized: tf.Tensor) -> tf.Tensor:
        features = parse_example(serialized)
        image = to_unit_range(features["image"])
        if include_masks:
            image = tf.concat([image, to_unit_range(features["mask"])], axis=-1)
        return tf.ensure_shape(image, (height, width, 2 if include_masks else 1))

    return decode
