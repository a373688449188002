"""Preparing INbreast, BCDR, CBIS-DDSM and a folder together: accounting, augmentation, splits, reruns, safety."""

import json
from pathlib import Path

import numpy as np
import pytest

from cyclegan.data import prepare as prepare_module
from cyclegan.data.augment import Augmentation, augment
from cyclegan.data.phantom import write_phantom
from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.recipes import resolve
from cyclegan.data.records import decoded_examples
from tests.data.helpers import assert_rerun_in_another_process_is_identical
from tests.data.phantom_layouts import write_bcdr, write_cbis, write_inbreast

SIZE = (64, 48)
COPIES = 2
SETTINGS = resolve(size=SIZE, augment_copies=COPIES, split_by="patient", eval_fraction=0.3)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    write_inbreast(root / "INbreast", 16, seed=1, height=SIZE[0], width=SIZE[1])
    write_bcdr(root / "BCDR", 8, seed=2, height=SIZE[0], width=SIZE[1])
    write_bcdr(root / "BCDR", 4, seed=3, height=SIZE[0], width=SIZE[1], name="BCDR-D02", outlines=False)
    write_cbis(root / "CBIS", 8, seed=4, height=SIZE[0], width=SIZE[1])
    write_phantom(root / "folder", count=4, seed=5, height=SIZE[0], width=SIZE[1])
    return root


def _sources(raw: Path) -> list[str]:
    return [f"inbreast:{raw / 'INbreast'}", f"bcdr:{raw / 'BCDR'}", f"cbis:{raw / 'CBIS'}", f"folder:{raw / 'folder'}"]


@pytest.fixture(scope="module")
def prepared(raw, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("prepared") / "mixed"
    return out, prepare_dataset(_sources(raw), SETTINGS, out, progress=False)


def _records(out: Path, manifest: dict) -> dict[str, dict]:
    """Every record by source, with its split."""
    records = {}
    for split, domains in manifest["shards"].items():
        for names in domains.values():
            for example in decoded_examples([str(out / name) for name in names]):
                records[example["source"]] = {**example, "split": split}
    return records


def test_counts_add_up_per_source_and_with_copies(raw, prepared):
    out, manifest = prepared
    originals = manifest["original_counts"]
    assert {source: account["images"] for source, account in manifest["per_source"].items()} == {
        f"inbreast:{raw / 'INbreast'}": {"healthy": 6, "cancer": 8},
        f"bcdr:{raw / 'BCDR'}": {"healthy": 9, "cancer": 3},
        f"cbis:{raw / 'CBIS'}": {"healthy": 5, "cancer": 3},
        f"folder:{raw / 'folder'}": {"healthy": 4, "cancer": 4},
    }
    for domain in ("healthy", "cancer"):
        total = sum(account["images"][domain] for account in manifest["per_source"].values())
        assert originals["train"][domain] + originals["eval"][domain] == total
    assert manifest["counts"] == {split: {domain: n * (1 + COPIES) for domain, n in counts.items()}
                                  for split, counts in originals.items()}
    records = _records(out, manifest)
    in_counts = sum(sum(counts.values()) for counts in manifest["counts"].values())
    assert len(records) == len(manifest["images"]) == in_counts
    assert sum(account["skipped"] for account in manifest["per_source"].values()) == len(manifest["skipped"])


def test_patient_split_keeps_patients_and_copies_together(prepared):
    out, manifest = prepared
    splits: dict[str, set] = {"train": set(), "eval": set()}
    for entry in manifest["images"]:
        if entry["patient_id"]:
            splits[entry["split"]].add((entry["source_spec"].partition(":")[0], entry["patient_id"]))
    assert splits["train"] and splits["eval"] and not splits["train"] & splits["eval"]
    records = _records(out, manifest)
    copies = [source for source in records if "#aug" in source]
    assert len(copies) == COPIES * (len(records) // (1 + COPIES))
    assert all(records[copy]["split"] == records[copy.split("#aug")[0]]["split"] for copy in copies)
    evaluated = sum(manifest["original_counts"]["eval"].values()) / sum(
        sum(counts.values()) for counts in manifest["original_counts"].values())
    assert 0.15 < evaluated < 0.35


def test_copies_are_their_image_warped_as_recorded(prepared):
    out, manifest = prepared
    records = _records(out, manifest)
    entries = [entry for entry in manifest["images"] if "augmented_from" in entry and entry["domain"] == "cancer"]
    assert len(entries) == COPIES * sum(counts["cancer"] for counts in manifest["original_counts"].values())
    for entry in entries[:6]:
        original, copy = records[entry["augmented_from"]], records[entry["source"]]
        image, mask = augment(original["image"], original["mask"], Augmentation(**entry["augmentation"]))
        np.testing.assert_array_equal(copy["image"], image)
        np.testing.assert_array_equal(copy["mask"], mask)
        assert copy["mask"].any() and copy["label"] == 1


def test_a_rerun_with_two_workers_in_another_process_is_byte_identical(raw, prepared, tmp_path):
    assert_rerun_in_another_process_is_identical(_sources(raw), SETTINGS, prepared[0], tmp_path / "again",
                                                 workers=2)


def test_a_dry_run_writes_nothing_and_reports_what_a_run_would(raw, prepared, tmp_path):
    manifest = prepare_dataset(_sources(raw), SETTINGS, tmp_path / "data", progress=False, dry_run=True)
    assert not (tmp_path / "data").exists()
    for key in ("counts", "original_counts", "per_source", "skipped", "images"):
        assert manifest[key] == prepared[1][key], key
    assert manifest["shards"] is None


def test_the_exclusion_list_removes_named_images(raw, tmp_path):
    inbreast = sorted((raw / "INbreast" / "AllDICOMs").iterdir())[0].name
    exclude = tmp_path / "exclusions.csv"
    exclude.write_text(f"Filename;Reason\n{inbreast};noisy\n50000003;noisy\n"
                       "patient_1/study_1/img_1_1_1_RCC.tif;noisy\nMass-Training_P_00001_LEFT_CC;x\nnowhere.dcm;x\n")
    manifest = prepare_dataset(_sources(raw), resolve(size=SIZE, exclude=exclude), None, progress=False,
                               dry_run=True)
    excluded = [entry["path"] for entry in manifest["skipped"] if "exclusion file" in entry["reason"]]
    assert len(excluded) == 5  # the BCDR name is listed in both D01 and D02: names match wherever they occur
    assert manifest["selection"]["excluded_names_unmatched"] == ["nowhere.dcm"]
    assert not any(entry["source"] in excluded for entry in manifest["images"])


def test_an_interruption_while_writing_keeps_the_previous_output(raw, tmp_path, monkeypatch):
    sources = [f"bcdr:{raw / 'BCDR'}"]
    out = tmp_path / "data"
    prepare_dataset(sources, resolve(size=SIZE), out, progress=False)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    calls = []

    def interrupted(*args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return serialize(*args)

    serialize = prepare_module.serialize_encoded
    monkeypatch.setattr(prepare_module, "serialize_encoded", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(sources, resolve(size=SIZE, augment_copies=1), out, progress=False, overwrite=True)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert [path.name for path in tmp_path.iterdir()] == ["data"]  # no staging folder left behind
    assert json.loads((out / "manifest.json").read_text())["augmentation"]["copies"] == 0


def test_no_usable_images_is_an_error(tmp_path):
    written = write_inbreast(tmp_path / "INbreast", 3, height=SIZE[0], width=SIZE[1])
    for case in written:
        Path(case["path"]).write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"no usable images.*5 file\(s\) skipped"):
        prepare_dataset([f"inbreast:{tmp_path / 'INbreast'}"], resolve(size=SIZE), tmp_path / "data", progress=False)
    assert not (tmp_path / "data").exists()
