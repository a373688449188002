"""tf.data input pipelines over a prepared dataset (see prepare.py): training batches and eval images.

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

import json
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from cyclegan.errors import DatasetError

from .items import DOMAINS
from .manifest import MANIFEST_VERSION
from .prepare import MANIFEST_NAME
from .recipes import PAIRINGS
from .records import SPLITS, parse_example, read_records


def read_manifest(data_dir) -> dict:
    """The manifest of a prepared dataset folder.

    FileNotFoundError when the folder holds no manifest.json; DatasetError (a ValueError) naming the
    file when it is not valid JSON, was prepared by an older version (8-bit records) or lacks a key
    training reads; ValueError when a domain has no training images.
    """
    path = Path(data_dir) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{data_dir} is not a prepared dataset: no {MANIFEST_NAME}; "
            f"run `python -m cyclegan prepare …` to create one"
        )
    manifest = _parse_manifest(path)
    if manifest.get("version") != MANIFEST_VERSION:
        raise DatasetError(
            f"{data_dir} was prepared by another version of `prepare` (manifest version {manifest.get('version')}, "
            f"this one reads {MANIFEST_VERSION}: 16-bit records); prepare it again "
            "(python -m cyclegan prepare ... --overwrite)")
    _check_manifest_keys(path, manifest)
    for domain in DOMAINS:
        if manifest["counts"]["train"][domain] == 0:
            raise ValueError(f"prepared dataset {data_dir} has no {domain} training images")
    return manifest


def _parse_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path} is not valid JSON ({err}); prepare the dataset again") from err
    if not isinstance(manifest, dict):
        raise DatasetError(f"{path} is not a JSON object; prepare the dataset again")
    return manifest


def _check_manifest_keys(path: Path, manifest: dict) -> None:
    """DatasetError naming the first key training reads that is missing or of the wrong type."""
    size = manifest.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(_is_count(side) and side > 0 for side in size)):
        raise DatasetError(f"{path}: 'size' must be [height, width] in pixels, got {size!r}; "
                           "prepare the dataset again")
    for split in SPLITS:
        for domain in DOMAINS:
            count = _entry(path, manifest, "counts", split, domain)
            shards = _entry(path, manifest, "shards", split, domain)
            if not _is_count(count):
                raise DatasetError(f"{path}: counts.{split}.{domain} must be a record count, got {count!r}")
            if not (isinstance(shards, list) and all(isinstance(name, str) for name in shards)):
                raise DatasetError(f"{path}: shards.{split}.{domain} must be a list of file names, got {shards!r}")


def _entry(path: Path, manifest: dict, *keys: str):
    """manifest[keys[0]][keys[1]]…, or DatasetError naming the manifest and the first missing key."""
    value = manifest
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise DatasetError(f"{path} has no '{'.'.join(keys[:depth + 1])}'; it was not written by `prepare` "
                               "or is damaged: prepare the dataset again")
        value = value[key]
    return value


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def dataset_counts(data_dir) -> dict:
    """Images per split and domain: {"train": {"healthy": n, "cancer": n}, "eval": {...}}."""
    return read_manifest(data_dir)["counts"]


def epoch_steps(manifest: dict, global_batch_size: int, batches_per_step: int = 1,
                pairing: str = "independent") -> int:
    """Steps in an epoch: the images an epoch pairs (`paired_images`) // global batch size //
    batches per step (at least 1; a step of the sequential order reads two batches)."""
    batches = paired_images(manifest, pairing) // global_batch_size
    if batches == 0:
        raise ValueError(
            f"global batch size {global_batch_size} exceeds the images an epoch pairs "
            f"({manifest['counts']['train']}): an epoch would have no steps; lower train.batch_size")
    return max(batches // batches_per_step, 1)


def paired_images(manifest: dict, pairing: str) -> int:
    """Images of each domain an epoch uses: min(#healthy, #cancer) training records, or #cancer
    under the exp1 pairing (ValueError when there are fewer healthy than cancer records)."""
    counts = manifest["counts"]["train"]
    if pairing not in PAIRINGS:
        raise ValueError(f"data.pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
    if pairing == "exp1" and counts["healthy"] < counts["cancer"]:
        raise ValueError(f"data.pairing exp1 pairs every cancer record with a healthy one, but the dataset has "
                         f"{counts['healthy']} healthy and {counts['cancer']} cancer training records")
    return counts["cancer"] if pairing == "exp1" else min(counts[domain] for domain in DOMAINS)


def train_dataset(data_dir, global_batch_size: int, include_masks: bool, seed: int, start_step: int = 0,
                  batches_per_step: int = 1, pairing: str = "independent"):
    """Infinite dataset of training steps' inputs: (healthy, cancer) float32 batches of shape
    (global_batch_size, H, W, C), or with `batches_per_step` 2 two consecutive such pairs,
    ((healthy, cancer), (next_healthy, next_cancer)).

    An epoch is `paired_images` // global_batch_size batches, ordered by `pairing` (see the module
    docstring) with stateless shuffles seeded by (seed, epoch), so the order ignores TF's global
    seed. Starting at `start_step` yields exactly what an uninterrupted run yields from that step on.
    """
    if batches_per_step not in (1, 2):
        raise ValueError(f"a step reads 1 or 2 batches, not {batches_per_step}")
    manifest = read_manifest(data_dir)
    counts = manifest["counts"]["train"]
    batches_per_epoch = epoch_steps(manifest, global_batch_size, pairing=pairing)
    records = {domain: read_records(_shard_paths(data_dir, manifest, "train", domain)) for domain in DOMAINS}
    pairs_per_epoch = batches_per_epoch * global_batch_size

    def epoch_pairs(epoch: tf.Tensor) -> tf.data.Dataset:
        if pairing == "exp1":
            return _paired(records["healthy"], records["cancer"], counts["cancer"], (seed, 2 * epoch))
        shuffled = tuple(
            _shuffled(records[domain], counts[domain], seed=(seed, 2 * epoch + stream))
            for stream, domain in enumerate(DOMAINS)
        )
        return tf.data.Dataset.zip(shuffled)

    start_epoch, batch_in_epoch = divmod(start_step * batches_per_step, batches_per_epoch)
    height, width = manifest["size"]
    decode = decoder(height, width, include_masks)
    dataset = (
        tf.data.Dataset.counter(start_epoch)
        .flat_map(lambda epoch: epoch_pairs(epoch).take(pairs_per_epoch))
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


def check_shards(data_dir, manifest: dict) -> None:
    """Read every shard the manifest lists to its end: DatasetError naming the first one that is
    missing or unreadable (truncated, corrupt), or the split and domain whose shards do not hold
    the records the manifest counts."""
    for split in SPLITS:
        for domain in DOMAINS:
            records = sum(_count_records(path) for path in _shard_paths(data_dir, manifest, split, domain))
            if records != manifest["counts"][split][domain]:
                raise DatasetError(
                    f"the {split} {domain} shards of {data_dir} hold {records} records, but its "
                    f"{MANIFEST_NAME} counts {manifest['counts'][split][domain]}; prepare the dataset again")


def _count_records(path: str) -> int:
    if not Path(path).is_file():
        raise DatasetError(f"shard {path} (listed in {MANIFEST_NAME}) is missing; prepare the dataset again")
    try:
        return int(read_records([path]).reduce(np.int64(0), lambda count, _: count + 1))
    except tf.errors.OpError as err:
        raise DatasetError(f"shard {path} is unreadable ({op_error_reason(err)}); prepare the dataset again") from err


def op_error_reason(err: tf.errors.OpError) -> str:
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
