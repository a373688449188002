"""tf.data pipelines over a prepared dataset: shapes, scaling, epochs, exact resume, eval images."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from cyclegan.data.dataset import PreparedDataset
from cyclegan.data.phantom import write_phantom
from cyclegan.data.pipeline import decoder, eval_images, train_dataset
from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.recipes import resolve
from cyclegan.data.records import FEATURES

SIZE = (64, 48)
TRAIN_PER_DOMAIN = 14  # 16 per domain, 2 to eval


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pipeline")
    write_phantom(root / "raw", count=16, seed=5, height=SIZE[0], width=SIZE[1])
    prepare_dataset([f"folder:{root / 'raw'}"], resolve(size=SIZE), root / "data", progress=False)
    return root / "data"


@pytest.fixture(scope="module")
def dataset(data_dir) -> PreparedDataset:
    return PreparedDataset.open(data_dir)


def _batches(dataset, count, batch=2, seed=7, start_step=0, include_masks=False) -> list[np.ndarray]:
    """`count` batches, each as one array stacking (healthy, cancer)."""
    batches = train_dataset(dataset, batch, include_masks, seed, start_step=start_step)
    return [np.stack([healthy.numpy(), cancer.numpy()]) for healthy, cancer in batches.take(count)]


def test_batches_have_the_image_shape_and_range(dataset):
    assert dataset.epoch_steps(4) == TRAIN_PER_DOMAIN // 4
    healthy, cancer = next(iter(train_dataset(dataset, 4, include_masks=False, seed=1)))
    assert healthy.shape == cancer.shape == (4, *SIZE, 1) and healthy.dtype == tf.float32
    for batch in (healthy.numpy(), cancer.numpy()):
        assert np.allclose(batch.min(axis=(1, 2, 3)), -1.0) and np.allclose(batch.max(axis=(1, 2, 3)), 1.0)


def test_mask_channel_is_min_max_scaled_in_both_domains(dataset):
    healthy, cancer = next(iter(train_dataset(dataset, 2, include_masks=True, seed=1)))
    assert healthy.shape == (2, *SIZE, 2)
    for masks in (healthy.numpy()[..., 1], cancer.numpy()[..., 1]):  # healthy: synthetic blobs
        assert np.allclose(masks.min(axis=(1, 2)), -1.0) and np.allclose(masks.max(axis=(1, 2)), 1.0)


def test_each_epoch_visits_every_image_once_in_a_fresh_order(dataset):
    steps = TRAIN_PER_DOMAIN // 2
    batches = _batches(dataset, 2 * steps)
    epochs = [np.concatenate(batches[:steps], axis=1), np.concatenate(batches[steps:], axis=1)]
    for epoch in epochs:
        for domain in epoch:
            assert len({image.tobytes() for image in domain}) == TRAIN_PER_DOMAIN
    assert not np.array_equal(epochs[0], epochs[1])
    assert {image.tobytes() for image in epochs[0][0]} == {image.tobytes() for image in epochs[1][0]}


def test_resuming_at_a_step_yields_the_same_batches_as_an_uninterrupted_run(dataset):
    steps = TRAIN_PER_DOMAIN // 2
    uninterrupted = _batches(dataset, 3 * steps, seed=9)
    for start_step in (3, steps, 2 * steps - 1):
        resumed = _batches(dataset, 3 * steps - start_step, seed=9, start_step=start_step)
        for offset, batch in enumerate(resumed):
            np.testing.assert_array_equal(batch, uninterrupted[start_step + offset])
    assert not np.array_equal(_batches(dataset, steps, seed=10), uninterrupted[:steps])


def test_a_two_batch_step_reads_consecutive_batches_and_resumes_at_twice_the_step(dataset):
    """The sequential order's steps: ((healthy, cancer), (next_healthy, next_cancer)), straddling
    epochs where an epoch has an odd number of batches (7 here)."""
    single = _batches(dataset, 12, seed=9)
    for start_step in (0, 3, 5):
        steps = train_dataset(dataset, 2, False, seed=9, start_step=start_step, batches_per_step=2)
        for offset, (first, second) in enumerate(steps.take(6 - start_step)):
            step = start_step + offset
            np.testing.assert_array_equal(np.stack([t.numpy() for t in first]), single[2 * step])
            np.testing.assert_array_equal(np.stack([t.numpy() for t in second]), single[2 * step + 1])
    assert dataset.epoch_steps(2, batches_per_step=2) == TRAIN_PER_DOMAIN // 2 // 2


def test_order_is_reproducible_with_op_determinism(dataset):
    already_enabled = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        first, second = _batches(dataset, 4, include_masks=True), _batches(dataset, 4, include_masks=True)
    finally:
        if not already_enabled:
            tf_config.disable_op_determinism()
    np.testing.assert_array_equal(np.stack(first), np.stack(second))


def test_eval_images_are_the_first_eval_images_by_source(dataset, data_dir):
    healthy, cancer = eval_images(dataset, 5, include_masks=True)
    assert healthy.shape == cancer.shape == (2, *SIZE, 2)  # only 2 eval images per domain
    assert healthy.min() == -1.0 and healthy.max() == 1.0
    again_healthy, again_cancer = eval_images(dataset, 1, include_masks=False)
    np.testing.assert_array_equal(again_healthy, healthy[:1, ..., :1])
    np.testing.assert_array_equal(again_cancer, cancer[:1, ..., :1])
    images = dataset.manifest["images"]
    first_source = min(item["source"] for item in images if (item["split"], item["domain"]) == ("eval", "healthy"))
    shards = sorted(map(str, data_dir.glob("eval-healthy-*")))
    examples = [tf.io.parse_single_example(record, FEATURES) for record in tf.data.TFRecordDataset(shards, "GZIP")]
    [first] = [example for example in examples if example["source"].numpy().decode() == first_source]
    pixels = tf.io.decode_png(first["image"], dtype=tf.uint16).numpy().astype(np.float32)
    expected = (pixels - pixels.min()) / (pixels.max() - pixels.min()) * 2 - 1
    np.testing.assert_allclose(healthy[0, ..., :1], expected, atol=1e-6)


def test_eval_images_fall_back_to_training_images(dataset, data_dir, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    manifest = json.loads(json.dumps(dataset.manifest))
    for path in data_dir.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    manifest["counts"]["eval"]["cancer"] = 0
    manifest["shards"]["eval"]["cancer"] = []
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _, cancer = eval_images(PreparedDataset.open(copy), 3, include_masks=False)
    assert cancer.shape == (3, *SIZE, 1)


def test_manifest_errors_are_clear(dataset, tmp_path):
    assert dataset.counts["train"] == {"healthy": TRAIN_PER_DOMAIN, "cancer": TRAIN_PER_DOMAIN}
    with pytest.raises(FileNotFoundError, match="not a prepared dataset: no manifest.json"):
        PreparedDataset.open(tmp_path)
    manifest = json.loads(json.dumps(dataset.manifest))
    manifest["counts"]["train"]["healthy"] = 0
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="no healthy training images"):
        PreparedDataset.open(tmp_path)
    with pytest.raises(ValueError, match="exceeds the images an epoch pairs"):
        train_dataset(dataset, TRAIN_PER_DOMAIN + 1, include_masks=False, seed=0)
    manifest["counts"]["train"]["healthy"], manifest["version"] = TRAIN_PER_DOMAIN, 2
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"another version of `prepare` \(manifest version 2.*prepare it again"):
        PreparedDataset.open(tmp_path)


def test_a_size_other_than_the_configs_is_refused(dataset):
    dataset.check_size(SIZE, "unused")
    with pytest.raises(ValueError, match=r"trains on 32x32 images, but .* was prepared at 64x48; prepare it again"):
        dataset.check_size((32, 32), "prepare it again")


def test_order_ignores_the_global_tf_seed(dataset):
    unseeded = _batches(dataset, 3)
    tf.random.set_seed(1234)
    try:
        seeded = _batches(dataset, 3)
    finally:
        tf.random.set_seed(None)
    np.testing.assert_array_equal(np.stack(seeded), np.stack(unseeded))


def test_exp1_pairing_fixes_pairs_by_index_and_leaves_the_extra_healthy_images_out(tmp_path):
    """Experiment 1's shuffle(cancer, healthy): one permutation of the #cancer indices per epoch, applied
    to both domains. With 10 healthy and 6 cancer records: 6 pairs (healthy[i], cancer[i]) per epoch."""
    write_phantom(tmp_path / "raw", count=10, seed=6, height=SIZE[0], width=SIZE[1])
    for path in sorted((tmp_path / "raw" / "cancer").iterdir())[6:]:
        path.unlink()
    prepare_dataset([f"folder:{tmp_path / 'raw'}"], resolve(size=SIZE, eval_fraction=0.0), tmp_path / "data",
                    progress=False)
    dataset = PreparedDataset.open(tmp_path / "data")
    assert dataset.epoch_steps(2, pairing="exp1") == 3 and dataset.epoch_steps(2) == 3
    stored = {domain: [example.numpy() for example in tf.data.TFRecordDataset(dataset.shard_paths("train", domain),
                                                                              "GZIP")]
              for domain in ("healthy", "cancer")}
    decode = decoder(*SIZE, include_masks=False)
    keys = {domain: [decode(record).numpy().tobytes() for record in records] for domain, records in stored.items()}
    expected_pairs = set(zip(keys["healthy"][:6], keys["cancer"]))
    batches = train_dataset(dataset, 2, False, seed=3, pairing="exp1")
    epochs = []
    for epoch in range(3):
        pairs = [(h.tobytes(), c.tobytes()) for healthy, cancer in batches.skip(3 * epoch).take(3)
                 for h, c in zip(healthy.numpy(), cancer.numpy())]
        assert set(pairs) == expected_pairs and len(pairs) == 6  # every cancer once, with its fixed partner
        epochs.append(pairs)
    assert epochs[0] != epochs[1]  # a fresh permutation each epoch
    with pytest.raises(ValueError, match="2 healthy and 6 cancer"):
        dataset.counts["train"]["healthy"] = 2
        dataset.epoch_steps(2, pairing="exp1")

