"""Preparation of an any-folder source into split GZIP TFRecord shards and a manifest."""

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf

from cyclegan.data import prepare as prepare_module
from cyclegan.data.inputs import load_inputs
from cyclegan.data.phantom import write_phantom
from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.recipes import DEFAULTS, RECIPES, resolve
from cyclegan.data.records import FEATURES
from tests.data.helpers import assert_rerun_in_another_process_is_identical

SIZE = (64, 48)
SETTINGS = resolve(size=SIZE)
PER_DOMAIN = 16
BENIGN = "healthy_0001_R_CC"  # the healthy image given a mask


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """Phantom folder plus a corrupt DICOM, a text file, an orphan mask, a cancer image without mask and
    a healthy image with one (a benign finding)."""
    root = tmp_path_factory.mktemp("raw") / "phantom"
    write_phantom(root, count=PER_DOMAIN, seed=3, height=SIZE[0], width=SIZE[1])
    (root / "cancer" / "corrupt.dcm").write_bytes(b"not a dicom" * 20)
    (root / "healthy" / "notes.txt").write_text("reading notes")
    cv2.imwrite(str(root / "masks" / "orphan.png"), np.zeros(SIZE, np.uint8))
    (root / "masks" / "cancer_0005_R_CC.png").unlink()
    benign = np.zeros(SIZE, np.uint8)
    benign[30:36, 8:14] = 255  # a right breast, so its mask lies on the right: columns 34-39 after mirroring
    cv2.imwrite(str(root / "masks" / f"{BENIGN}.png"), benign[:, ::-1])
    return root


@pytest.fixture(scope="module")
def prepared(raw, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("prepared") / "data"
    return out, prepare_dataset([f"folder:{raw}"], SETTINGS, out, progress=False)


def _examples(out: Path, manifest: dict) -> list[dict]:
    examples = []
    for split, domains in manifest["shards"].items():
        for domain, names in domains.items():
            for serialized in tf.data.TFRecordDataset([str(out / name) for name in names], "GZIP"):
                parsed = tf.io.parse_single_example(serialized, FEATURES)
                features = {key: value.numpy() for key, value in parsed.items()}
                features["split"], features["domain"] = split, domain
                features["image"] = tf.io.decode_png(features["image"], dtype=tf.uint16).numpy()[..., 0]
                features["mask"] = tf.io.decode_png(features["mask"], dtype=tf.uint16).numpy()[..., 0]
                examples.append(features)
    return examples


def test_counts_cover_every_image_split_85_15_per_domain(prepared):
    out, manifest = prepared
    counts = manifest["counts"]
    assert counts == {"train": {"healthy": 14, "cancer": 14}, "eval": {"healthy": 2, "cancer": 2}}
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert manifest["size"] == list(SIZE) and manifest["seed"] == 42 and manifest["eval_fraction"] == 0.15
    assert len(manifest["sources"]) == 1 and manifest["sources"][0].startswith("folder:")
    shards = [name for domains in manifest["shards"].values() for names in domains.values() for name in names]
    assert sorted(path.name for path in out.iterdir()) == sorted(["manifest.json", *shards])
    assert sorted(shards) == sorted(
        f"{split}-{domain}-00000.tfrecord.gz" for split in ("train", "eval") for domain in ("healthy", "cancer")
    )


def test_skipped_files_are_listed_with_reasons(prepared, raw):
    reasons = {Path(entry["path"]).name: entry["reason"] for entry in prepared[1]["skipped"]}
    assert set(reasons) == {"corrupt.dcm", "notes.txt", "orphan.png"}
    assert "DICOM" in reasons["corrupt.dcm"]
    assert "not an image" in reasons["notes.txt"]
    assert "mask without" in reasons["orphan.png"]


def test_examples_hold_oriented_16_bit_images_masks_and_labels(prepared):
    out, manifest = prepared
    examples = _examples(out, manifest)
    assert len(examples) == 2 * PER_DOMAIN and manifest["bit_depth"] == 16
    origins = {}
    for example in examples:
        image, mask = example["image"], example["mask"]
        assert image.shape == mask.shape == SIZE and image.dtype == mask.dtype == np.uint16
        assert (example["height"], example["width"]) == SIZE
        assert example["label"] == ("healthy", "cancer").index(example["domain"])
        assert f"/{example['domain']}/" in example["source"].decode()
        assert image.max() == 65535 and image[:, :24].mean() > image[:, 24:].mean()  # breast on the left
        assert mask.max() == 65535  # every image has a mask: annotated or synthetic, min-max scaled
        origins[Path(example["source"].decode()).stem] = example["mask_origin"].decode()
        breast = image > np.percentile(image[image > 0], 5)
        assert np.all(breast[mask > 0]) or origins[Path(example["source"].decode()).stem] == "annotated"
    synthetic = {stem for stem, origin in origins.items() if origin == "synthetic"}
    assert synthetic == {stem for stem in origins if stem.startswith("healthy") and stem != BENIGN} | {
        "cancer_0005_R_CC"}
    assert manifest["mask_origins"] == {"healthy": {"annotated": 1, "synthetic": PER_DOMAIN - 1, "empty": 0},
                                        "cancer": {"annotated": PER_DOMAIN - 1, "synthetic": 1, "empty": 0}}
    assert manifest["rules"]["mask"]["name"] == "synthetic"
    entries = {Path(entry["source"]).stem: entry for entry in manifest["images"]}
    assert entries[BENIGN]["mask"] == "annotated" and entries[BENIGN]["mask_files"][0].endswith(f"{BENIGN}.png")
    assert entries["healthy_0002_L_MLO"]["mask_inside_breast"] is True


def test_under_the_empty_mask_rule_healthy_masks_are_empty_and_their_annotations_reported(raw, tmp_path):
    manifest = prepare_dataset([f"folder:{raw}"], resolve(size=SIZE, mask_rule="empty"), tmp_path / "data",
                               progress=False)
    assert manifest["mask_origins"] == {"healthy": {"annotated": 0, "synthetic": 0, "empty": PER_DOMAIN},
                                        "cancer": {"annotated": PER_DOMAIN - 1, "synthetic": 1, "empty": 0}}
    reasons = {Path(entry["path"]).name: entry["reason"] for entry in manifest["skipped"]}
    assert "healthy images get an empty mask under --mask-rule empty" in reasons[f"{BENIGN}.png"]
    for example in _examples(tmp_path / "data", manifest):
        assert example["mask"].any() == (example["domain"] == "cancer")


@pytest.mark.slow  # tests/data/test_mixed.py checks the same with two workers in the default suite
def test_a_rerun_in_another_process_gives_byte_identical_output(prepared, raw, tmp_path):
    assert_rerun_in_another_process_is_identical([f"folder:{raw}"], SETTINGS, prepared[0], tmp_path / "again")


def test_an_existing_output_is_refused_unless_overwrite(raw, tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(FileExistsError, match="already exists"):
        prepare_dataset([f"folder:{raw}"], SETTINGS, out, progress=False)
    prepare_dataset([f"folder:{raw}"], SETTINGS, out, overwrite=True, progress=False)
    assert (out / "manifest.json").is_file() and not (out / "old.txt").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data"]  # no staging leftovers


def test_an_interrupted_run_leaves_no_dataset(raw, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepare_module, "write_shards", fail)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset([f"folder:{raw}"], SETTINGS, tmp_path / "data", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_domain_is_an_error_naming_it(tmp_path):
    write_phantom(tmp_path / "raw", count=2, seed=0, height=SIZE[0], width=SIZE[1])
    for path in (tmp_path / "raw" / "cancer").iterdir():
        path.unlink()
    with pytest.raises(ValueError, match=r"no cancer images in folder:.*raw"):
        prepare_dataset([f"folder:{tmp_path / 'raw'}"], SETTINGS, tmp_path / "data", progress=False)
    assert not (tmp_path / "data").exists()


def test_no_usable_images_is_an_error(tmp_path):
    (tmp_path / "raw" / "healthy").mkdir(parents=True)
    (tmp_path / "raw" / "healthy" / "readme.md").write_text("nothing here")
    with pytest.raises(ValueError, match="no usable images"):
        prepare_dataset([f"folder:{tmp_path / 'raw'}"], SETTINGS, tmp_path / "data", progress=False)


def test_bad_sources_are_rejected_clearly(tmp_path):
    with pytest.raises(ValueError, match="valid kinds: bcdr, cbis, folder, inbreast"):
        prepare_dataset([f"inbreast2:{tmp_path}"], SETTINGS, tmp_path / "data", progress=False)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        prepare_dataset([f"folder:{tmp_path / 'nowhere'}"], SETTINGS, tmp_path / "data", progress=False)


def test_resolve_puts_the_given_settings_over_the_recipes():
    settings = resolve("exp1", size=(64, 64), views=None, seed=7)  # None keeps the recipe's views
    assert settings == replace(RECIPES["exp1"], size=(64, 64), seed=7) and settings.views == ("CC",)
    assert SETTINGS == replace(DEFAULTS, size=SIZE) and SETTINGS.recipe is None
    with pytest.raises(ValueError, match="unknown recipe 'exp3'; valid recipes: exp1, exp1-paper, exp2"):
        resolve("exp3")
    with pytest.raises(ValueError, match="no image size"):
        prepare_dataset(["folder:unused"], resolve(), None, dry_run=True)


def test_a_wide_png_is_padded_at_the_bottom_and_right_facing_breasts_are_flipped(tmp_path):
    root = tmp_path / "raw"
    for domain in ("healthy", "cancer"):
        (root / domain).mkdir(parents=True)
    wide = np.zeros((40, 120), np.uint16)
    cv2.ellipse(wide, (0, 20), (100, 18), 0, -90, 90, 30000, thickness=-1)  # breast on the left
    cv2.circle(wide, (30, 12), 4, 60000, thickness=-1)  # bright blob in its upper part
    cv2.imwrite(str(root / "healthy" / "left.png"), wide)
    cv2.imwrite(str(root / "cancer" / "right.tif"), np.ascontiguousarray(wide[:, ::-1]))
    manifest = prepare_dataset([f"folder:{root}"], resolve(size=SIZE, eval_fraction=0.0), tmp_path / "data",
                               progress=False)
    images = {example["domain"]: example["image"] for example in _examples(tmp_path / "data", manifest)}
    np.testing.assert_array_equal(images["healthy"], images["cancer"])
    assert images["healthy"][:16].any() and not images["healthy"][16:].any()  # 40x120 -> 16x48, not stretched
    blob = np.unravel_index(np.argmax(images["cancer"]), SIZE)
    assert blob[1] < 24 and blob[0] < 8


def test_non_finite_constant_and_too_small_images_are_skipped_with_their_reasons(tmp_path):
    root = tmp_path / "raw"
    write_phantom(root, count=2, seed=0, height=SIZE[0], width=SIZE[1])
    with_nan = np.linspace(0, 1, SIZE[0] * SIZE[1], dtype=np.float32).reshape(SIZE)
    with_nan[10:12, 10:13] = np.nan
    cv2.imwrite(str(root / "healthy" / "nan.tif"), with_nan)
    cv2.imwrite(str(root / "healthy" / "zeros.png"), np.zeros(SIZE, np.uint16))
    cv2.imwrite(str(root / "cancer" / "dot.png"), np.full((1, 1), 200, np.uint8))
    cv2.imwrite(str(root / "cancer" / "narrow.png"), np.tile(np.arange(31, dtype=np.uint8), (64, 1)).T)
    cv2.imwrite(str(root / "cancer" / "smallest.png"), np.tile(np.arange(32, dtype=np.uint8), (32, 1)))
    manifest = prepare_dataset([f"folder:{root}"], resolve(size=SIZE, eval_fraction=0.0), tmp_path / "data",
                               progress=False)
    reasons = {Path(entry["path"]).name: entry["reason"] for entry in manifest["skipped"]}
    assert reasons == {"nan.tif": "6 of 3072 pixels are NaN or infinite",
                       "zeros.png": "constant image: every pixel is 0",
                       "dot.png": "too small: 1x1 pixels; images need at least 32 on each side",
                       "narrow.png": "too small: 31x64 pixels; images need at least 32 on each side"}
    assert manifest["counts"]["train"] == {"healthy": 2, "cancer": 3}  # smallest.png, 32x32, is used
    assert "below 32 pixels on a side" in manifest["preprocessing"]["usable"]


def test_a_raw_folder_to_translate_skips_unusable_images_alike(tmp_path):
    write_phantom(tmp_path / "raw", count=1, seed=0, height=SIZE[0], width=SIZE[1])
    cv2.imwrite(str(tmp_path / "raw" / "healthy" / "zeros.png"), np.zeros(SIZE, np.uint8))
    sources, images, skipped = load_inputs(tmp_path / "raw" / "healthy", SIZE, False, "healthy")
    assert [Path(source).name for source in sources] == ["healthy_0000_L_CC.dcm"] and images.shape[0] == 1
    assert skipped == [{"path": str(tmp_path / "raw" / "healthy" / "zeros.png"),
                        "reason": "constant image: every pixel is 0"}]
