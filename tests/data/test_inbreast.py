"""INbreast in its true layout: labels under the three rules, skipped files with reasons, ROI masks, laterality."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cyclegan.data.mammogram_dicom import write_dicom
from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.recipes import resolve
from cyclegan.data.records import decoded_examples
from cyclegan.data.sources.inbreast import read_osirix_rois
from tests.data.phantom_layouts import write_inbreast, write_osirix

SIZE = (64, 48)
CORRUPT, NO_XML = 12, 15  # indices: a BI-RADS 5 mass whose DICOM is broken, a BI-RADS 6 mass without ROI file


@pytest.fixture(scope="module")
def inbreast(tmp_path_factory) -> tuple[Path, list[dict]]:
    """16 images (two rounds of the BI-RADS / Mass cases) plus the four kinds of broken entries."""
    root = tmp_path_factory.mktemp("raw") / "INbreast"
    written = write_inbreast(root, 16, seed=1, height=SIZE[0], width=SIZE[1])
    Path(written[CORRUPT]["path"]).write_bytes(b"DICM" + b"\x00" * 300)
    Path(written[NO_XML]["xml"]).unlink()
    with open(root / "INbreast.csv", "a") as table:
        table.write("removed;60;L;CC;201001;59999999;2;5;X;\n")  # a row with no file
    shutil.copy(written[0]["path"], root / "AllDICOMs" / "59999998_ffff_MG_L_CC_ANON.dcm")  # a file with no row
    (root / "AllDICOMs" / "readme.txt").write_text("not a mammogram")
    return root, written


def _expected_label(case: dict, rule: str):
    """0 / 1, or None when the rule excludes the image."""
    category = int(case["birads"][0])
    if rule == "mass":
        return int(case["mass"])
    if rule == "birads4" and category == 3:
        return None
    return int(category >= (4 if rule == "birads4" else 3))


@pytest.mark.parametrize("rule, healthy, cancer", [("birads4", 6, 6), ("birads3", 6, 8), ("mass", 8, 6)])
def test_labels_and_counts_under_each_rule(inbreast, rule, healthy, cancer):
    root, written = inbreast
    manifest = prepare_dataset([f"inbreast:{root}"], resolve(size=SIZE, label_rule=rule, mask_rule="empty"), None,
                               dry_run=True, progress=False)
    domains = {entry["source"]: entry["domain"] for entry in manifest["images"]}
    for index, case in enumerate(written):
        expected = _expected_label(case, rule)
        if index in (CORRUPT, NO_XML) or expected is None:
            assert case["path"] not in domains
        else:
            assert domains[case["path"]] == ("healthy", "cancer")[expected], (index, case)
    assert manifest["per_source"][f"inbreast:{root}"]["images"] == {"healthy": healthy, "cancer": cancer}
    assert manifest["rules"]["label"]["name"] == rule
    totals = {domain: manifest["counts"]["train"][domain] + manifest["counts"]["eval"][domain]
              for domain in ("healthy", "cancer")}
    assert totals == {"healthy": healthy, "cancer": cancer}


def test_broken_entries_are_skipped_with_their_reasons(inbreast):
    root, written = inbreast
    manifest = prepare_dataset([f"inbreast:{root}"], resolve(size=SIZE, mask_rule="empty"), None, dry_run=True,
                               progress=False)
    reasons = {entry["path"]: entry["reason"] for entry in manifest["skipped"]}
    assert "unreadable DICOM" in reasons[written[CORRUPT]["path"]]
    assert f"belongs to {written[CORRUPT]['path']}" in reasons[written[CORRUPT]["xml"]]
    assert "without its ROI file AllXML/50000015.xml" in reasons[written[NO_XML]["path"]]
    row = next(path for path in reasons if path.startswith(str(root / "INbreast.csv") + ":line"))
    assert row == f"{root / 'INbreast.csv'}:line 19" and "no DICOM with file id 59999999" in reasons[row]
    assert "no row for file id 59999998" in reasons[str(root / "AllDICOMs" / "59999998_ffff_MG_L_CC_ANON.dcm")]
    assert "not an INbreast DICOM" in reasons[str(root / "AllDICOMs" / "readme.txt")]
    assert "BI-RADS 3: excluded" in reasons[written[2]["path"]]
    assert "healthy images get an empty mask" in reasons[written[1]["xml"]]  # BI-RADS 2 with a benign ROI


def test_under_the_synthetic_mask_rule_unannotated_images_get_one_and_healthy_rois_are_kept(inbreast):
    root, written = inbreast
    manifest = prepare_dataset([f"inbreast:{root}"], resolve(size=SIZE), None, dry_run=True, progress=False)
    entries = {entry["source"]: entry for entry in manifest["images"]}
    no_xml = entries[written[NO_XML]["path"]]  # a cancer image without its ROI file: kept, as experiment 2 did
    assert no_xml["domain"] == "cancer" and no_xml["mask"] == "synthetic" and no_xml["mask_files"] == []
    benign = entries[written[1]["path"]]  # BI-RADS 2 with a benign ROI: keeps it
    assert benign["domain"] == "healthy" and benign["mask"] == "annotated"
    assert benign["mask_files"] == [written[1]["xml"]]
    assert {entry["mask"] for entry in entries.values() if entry["domain"] == "healthy" and not entry["mask_files"]} \
        == {"synthetic"}


def test_every_file_is_in_a_record_or_skipped(inbreast):
    root, _ = inbreast
    manifest = prepare_dataset([f"inbreast:{root}"], resolve(size=SIZE), None, dry_run=True, progress=False)
    accounted = {entry["source"] for entry in manifest["images"]}
    accounted |= {path for entry in manifest["images"] for path in entry["mask_files"]}
    accounted |= {entry["path"] for entry in manifest["skipped"]}
    accounted |= set(manifest["per_source"][f"inbreast:{root}"]["tables"])
    assert {str(path) for path in root.rglob("*") if path.is_file()} <= accounted
    assert len({entry["path"] for entry in manifest["skipped"]}) == len(manifest["skipped"])  # each once


def test_mass_rule_without_a_mass_column_reads_the_roi_names(tmp_path):
    written = write_inbreast(tmp_path / "INbreast", 8, height=SIZE[0], width=SIZE[1], mass_column=False)
    manifest = prepare_dataset([f"inbreast:{tmp_path / 'INbreast'}"], resolve(size=SIZE, label_rule="mass"), None,
                               dry_run=True, progress=False)
    domains = {entry["source"]: entry["domain"] for entry in manifest["images"]}
    assert domains == {case["path"]: ("healthy", "cancer")[case["mass"]] for case in written}


def test_rois_become_the_mask_polygons_filled_and_single_points_kept(tmp_path):
    xml = tmp_path / "1.xml"
    write_osirix(xml, [("Mass", [(10.0, 10.0), (20.0, 10.0), (20.0, 30.0), (10.0, 30.0)]),
                       ("Calcification", [(40.5, 50.2)])])
    assert read_osirix_rois(xml) == [("Mass", [(10.0, 10.0), (20.0, 10.0), (20.0, 30.0), (10.0, 30.0)]),
                                     ("Calcification", [(40.5, 50.2)])]
    written = write_inbreast(tmp_path / "INbreast", 4, height=SIZE[0], width=SIZE[1])
    shutil.copy(xml, written[3]["xml"])  # BI-RADS 4a, right breast: the ROI file decides its mask
    prepare_dataset([f"inbreast:{tmp_path / 'INbreast'}"], resolve(size=(32, 24), eval_fraction=0.0),
                    tmp_path / "out", progress=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    [cancer] = decoded_examples([str(tmp_path / "out" / name) for name in manifest["shards"]["train"]["cancer"]])
    assert cancer["mask_origin"] == "annotated"
    # The right breast is mirrored (x -> 47 - x), then shrunk 2x: the square x 10..20, y 10..30 becomes
    # columns 13..18, rows 5..15 (full inside, partly covered at its edges); the calcification pixel
    # (40, 50) becomes (row 25, column 3), a quarter of that pixel.
    mask = cancer["mask"]
    assert np.all(mask[6:15, 14:18] == 65535) and mask[25, 3] == round(65535 / 4)
    assert np.count_nonzero(mask) == 11 * 6 + 1 and np.count_nonzero(mask[5:16, 13:19] < 65535) > 0


def test_a_right_breast_ends_up_like_the_left_one(tmp_path):
    """Same breast with a bright blob stored as L and (mirrored) as R: identical prepared images."""
    root = tmp_path / "INbreast"
    written = write_inbreast(root, 4, height=80, width=40)  # 0: L CC BI-RADS 1, 1: R CC BI-RADS 2
    breast = np.zeros((80, 40), np.uint16)
    rows, columns = np.mgrid[0:80, 0:40]
    breast[((rows - 40) / 38.0) ** 2 + (columns / 30.0) ** 2 < 1] = 4000
    breast[(rows - 20) ** 2 + (columns - 8) ** 2 < 16] = 12000  # round blob, upper part near the chest wall
    for case, pixels in ((written[0], breast), (written[1], np.ascontiguousarray(breast[:, ::-1]))):
        write_dicom(Path(case["path"]), pixels, 14, "MONOCHROME2", case["patient"], case["laterality"], "CC", ("t",))
    prepare_dataset([f"inbreast:{root}"], resolve(size=(32, 32), eval_fraction=0.0), tmp_path / "out",
                    progress=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    images = {example["source"]: example["image"] for example in decoded_examples(
        [str(tmp_path / "out" / name) for name in manifest["shards"]["train"]["healthy"]])}
    left, right = images[written[0]["path"]], images[written[1]["path"]]
    np.testing.assert_array_equal(left, right)
    blob_rows, blob_columns = np.nonzero(left == left.max())
    assert blob_columns.max() < 8 and blob_rows.max() < 16  # upper left: where it was on the left breast
    assert not left[:, 16:].any()  # 80x40 -> 32x16 (aspect kept), zero padding on the right
    assert abs(np.ptp(blob_rows) - np.ptp(blob_columns)) <= 1  # the round blob stays round
    flipped = {entry["source"]: entry["flipped"] for entry in manifest["images"]}
    assert flipped[written[0]["path"]] is False and flipped[written[1]["path"]] is True
