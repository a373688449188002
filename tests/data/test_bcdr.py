"""BCDR (D01 with outlines, D02 without) in its true layout: labels, outline masks, skipped rows and files."""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.recipes import resolve
from cyclegan.data.records import decoded_examples
from tests.data.phantom_layouts import write_bcdr

SIZE = (64, 48)
MISSING = 1  # a D01 image whose TIFF is gone


@pytest.fixture(scope="module")
def bcdr(tmp_path_factory) -> tuple[Path, list[dict], list[dict]]:
    root = tmp_path_factory.mktemp("raw") / "BCDR"
    d01 = write_bcdr(root, 12, seed=2, height=SIZE[0], width=SIZE[1])
    d02 = write_bcdr(root, 8, seed=3, height=SIZE[0], width=SIZE[1], name="BCDR-D02", outlines=False)
    Path(d01[MISSING]["path"]).unlink()
    unlisted = root / "BCDR-D01_dataset" / "patient_1" / "study_1" / "img_1_1_2_LCC.tif"
    cv2.imwrite(str(unlisted), np.zeros(SIZE, np.uint16))
    (root / "BCDR-D01_dataset" / "bcdr_d01_features.csv").write_text("patient_id, feature\n1, 0.5\n")
    return root, d01, d02


@pytest.fixture(scope="module")
def prepared(bcdr, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("prepared") / "bcdr"
    return out, prepare_dataset([f"bcdr:{bcdr[0]}"], resolve(size=SIZE, eval_fraction=0.0), out, progress=False)


def test_malign_outlines_are_cancer_everything_else_healthy(bcdr, prepared):
    _, d01, d02 = bcdr
    domains = {entry["source"]: entry["domain"] for entry in prepared[1]["images"]}
    expected = {case["path"]: "cancer" if case["classification"] == "Malign" else "healthy"
                for case in d01 + d02 if case is not d01[MISSING]}
    assert domains == expected
    assert prepared[1]["counts"]["train"] == {"healthy": 7 + 8, "cancer": 4}
    patients = {entry["patient_id"] for entry in prepared[1]["images"]}
    assert patients == {"1", "2", "3"}


def test_missing_and_unlisted_files_and_unused_tables_are_skipped(bcdr, prepared):
    root = bcdr[0]
    reasons = {entry["path"]: entry["reason"] for entry in prepared[1]["skipped"]}
    table = root / "BCDR-D01_dataset" / "bcdr_d01_img.csv"
    assert reasons[f"{table}:line {MISSING + 2}"].startswith(f"no file {bcdr[1][MISSING]['image_filename']}")
    assert reasons[str(root / "BCDR-D01_dataset" / "patient_1" / "study_1" / "img_1_1_2_LCC.tif")] == \
        "not listed in bcdr_d01_img.csv"
    assert "not read" in reasons[str(root / "BCDR-D01_dataset" / "bcdr_d01_features.csv")]
    assert len(reasons) == 3
    tables = prepared[1]["per_source"][f"bcdr:{root}"]["tables"]
    assert sorted(Path(path).name for path in tables) == ["bcdr_d01_img.csv", "bcdr_d01_outlines.csv",
                                                          "bcdr_d02_img.csv"]


def test_masks_are_the_outlines_benign_ones_included_and_breasts_face_left(bcdr, prepared):
    out, manifest = prepared
    classification = {case["path"]: case["classification"] for case in bcdr[1] + bcdr[2]}
    paths = [str(out / name) for names in manifest["shards"]["train"].values() for name in names]
    for example in decoded_examples(paths):
        image, mask = example["image"], example["mask"]
        assert image[:, :24].mean() > image[:, 24:].mean()  # right breasts mirrored by their view code
        outlined = classification[example["source"]] is not None  # Malign, or Benign on a healthy image
        assert example["mask_origin"] == ("annotated" if outlined else "synthetic") and mask.any()
        if outlined:
            assert image[mask > 0].mean() > image[(image > 0) & (mask == 0)].mean()  # outlines the bright lesion
    files = {entry["source"]: entry["mask_files"] for entry in manifest["images"] if entry["domain"] == "cancer"}
    assert all(len(rows) == 1 and ":line " in rows[0] and "outlines.csv" in rows[0] for rows in files.values())
    assert json.loads((out / "manifest.json").read_text())["per_source"][f"bcdr:{bcdr[0]}"]["images"] == \
        {"healthy": 15, "cancer": 4}


def _with_extra_outline_rows(root: Path, d01: list[dict], tmp_path: Path) -> Path:
    """A copy of the BCDR tree whose first Malign image gets a later Benign row and first Benign image a
    later Malign row (each repeating its own outline)."""
    copy = tmp_path / "BCDR"
    shutil.copytree(root, copy)
    table = copy / "BCDR-D01_dataset" / "bcdr_d01_outlines.csv"
    lines = table.read_text().splitlines()
    rows = {line.split(", ")[6]: line for line in lines[1:]}
    swaps = {"Malign": "Benign", "Benign": "Malign"}
    for case in (d01[0], d01[4]):  # index 0: Malign, index 4: Benign (classifications cycle)
        row = rows[case["image_filename"]].split(", ")
        lines.append(", ".join(row[:-1] + [swaps[row[-1]]]))
    table.write_text("\n".join(lines) + "\n")
    return copy


@pytest.mark.parametrize("rule, malign_then_benign, benign_then_malign, benign_only, drawn_rows", [
    ("malignant", "cancer", "cancer", "healthy", 1),
    ("last-outline", "healthy", "cancer", "healthy", 1),
    ("any-outline", "cancer", "cancer", "cancer", 2),
])
def test_each_bcdr_rule_labels_and_draws_as_its_original(bcdr, tmp_path, rule, malign_then_benign,
                                                         benign_then_malign, benign_only, drawn_rows):
    root, d01, _ = bcdr
    copy = _with_extra_outline_rows(root, d01, tmp_path)
    manifest = prepare_dataset([f"bcdr:{copy}"], resolve(size=SIZE, bcdr_rule=rule), None, dry_run=True,
                               progress=False)
    entries = {str(Path(entry["source"]).relative_to(copy)): entry for entry in manifest["images"]}
    first, second, third = (entries[str(Path(d01[index]["path"]).relative_to(root))] for index in (0, 4, 7))
    assert (first["domain"], second["domain"]) == (malign_then_benign, benign_then_malign)
    assert third["domain"] == benign_only  # index 7: one Benign row
    assert len(first["mask_files"]) == drawn_rows and first["mask"] == "annotated"
    assert manifest["rules"]["bcdr"]["name"] == rule
    reasons = [entry["reason"] for entry in manifest["skipped"] if "outlines.csv:line" in entry["path"]]
    assert len(reasons) == 2 * (2 - drawn_rows)  # every row not drawn is reported
