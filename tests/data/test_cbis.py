"""CBIS-DDSM in its true layout: CSV paths resolved on disk, MALIGNANT labels, ROI masks by size, labels blanked."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cyclegan.data.mammogram_dicom import write_dicom
from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.recipes import resolve
from cyclegan.data.records import decoded_examples
from tests.data.phantom_layouts import write_cbis

SIZE = (64, 48)
MISMATCH = 3  # a MALIGNANT mammogram whose ROI mask has the wrong size


@pytest.fixture(scope="module")
def cbis(tmp_path_factory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("raw") / "cbis"
    written = write_cbis(root, 8, seed=4, height=SIZE[0], width=SIZE[1])
    [roi_mask] = (root / "CBIS-DDSM").glob("Mass-Training_P_00004_RIGHT_MLO_1/*/*/1-2.dcm")
    write_dicom(roi_mask, np.zeros((30, 20), np.uint8), 8, "MONOCHROME2", "P_00004", "R", "MLO", ("x",))
    (root / "notes.csv").write_text("a,b\n1,2\n")
    return root, written


@pytest.fixture(scope="module")
def prepared(cbis, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("prepared") / "cbis"
    return out, prepare_dataset([f"cbis:{cbis[0]}"], resolve(size=SIZE, eval_fraction=0.0), out, progress=False)


def _key(path: str) -> str:
    """The patient / side / view part of a CBIS case folder in a path."""
    case = Path(path).relative_to(Path(path).parents[3]).parts[0]
    return case.split("_", 1)[1]


def test_malignant_mammograms_are_cancer_benign_ones_healthy_once_each(cbis, prepared):
    _, written = cbis
    domains = {_key(entry["source"]): entry["domain"] for entry in prepared[1]["images"]}
    expected = {f"{case['patient']}_{case['side']}_{case['view']}": "cancer" if case["pathology"] == "MALIGNANT"
                else "healthy" for index, case in enumerate(written) if index != MISMATCH}
    assert domains == expected  # mammogram 0, listed in the mass and the calc table, appears once
    assert prepared[1]["counts"]["train"] == {"healthy": 5, "cancer": 2}


def test_skips_name_the_mismatched_mask_the_repeat_and_unused_files(cbis, prepared):
    root, written = cbis
    reasons = {entry["path"]: entry["reason"] for entry in prepared[1]["skipped"]}
    assert "no ROI mask of the image's size 64x48" in reasons[written[MISMATCH]["path"]]
    repeated = [path for path, reason in reasons.items() if reason.startswith("same mammogram (P_00001 LEFT CC)")]
    assert len(repeated) == 1
    assert "not a CBIS-DDSM case-description table" in reasons[str(root / "notes.csv")]
    [cropped] = [reason for path, reason in reasons.items() if "Mass-Training_P_00001_LEFT_CC_1/" in path]
    assert "not the mammogram's size (a cropped image" in cropped  # 1-1.dcm, tried before the mask 1-2.dcm
    [cropped_of_skipped] = (root / "CBIS-DDSM").glob("Mass-Training_P_00004_RIGHT_MLO_1/*/*/1-1.dcm")
    assert reasons[str(cropped_of_skipped)] == f"belongs to {written[MISMATCH]['path']}, which was skipped"
    accounted = {entry["source"] for entry in prepared[1]["images"]} | set(reasons)
    accounted |= {path for entry in prepared[1]["images"] for path in entry["mask_files"]}
    accounted |= set(prepared[1]["per_source"][f"cbis:{root}"]["tables"])
    assert {str(path) for path in root.rglob("*") if path.is_file()} == accounted


def test_masks_are_the_full_size_roi_images_and_labels_are_blanked(cbis, prepared):
    out, manifest = prepared
    paths = [str(out / name) for names in manifest["shards"]["train"].values() for name in names]
    examples = list(decoded_examples(paths))
    assert len(examples) == 7
    for example in examples:
        image, mask = example["image"], example["mask"]
        assert image[:, :24].mean() > image[:, 24:].mean()  # oriented by the brighter half
        assert not image[1:9, 38:47].any()  # the burned-in label (top corner away from the breast) is gone
        if example["label"] == 1:
            assert mask.any() and image[mask > 0].mean() > image[(image > 0) & (mask == 0)].mean()
    drawn = [entry["mask_files"] for entry in manifest["images"] if entry["domain"] == "cancer"]
    assert all(len(files) == 1 and files[0].endswith("1-2.dcm") for files in drawn)
    assert json.loads((out / "manifest.json").read_text())["per_source"][f"cbis:{cbis[0]}"]["label_blanking"]


def test_views_select_cc_only_as_the_original(cbis):
    manifest = prepare_dataset([f"cbis:{cbis[0]}"], resolve(size=SIZE, views="CC"), None, dry_run=True,
                               progress=False)
    assert {entry["view"] for entry in manifest["images"]} == {"CC"}
    assert manifest["original_counts"]["train"]["cancer"] + manifest["original_counts"]["eval"]["cancer"] == 1
    reasons = [entry["reason"] for entry in manifest["skipped"]]
    mlo = "view MLO is not among the selected views (CC)"
    assert sum(reason == mlo for reason in reasons) == 4  # mammograms 2, 3, 6, 7


def _resolve_like_the_original(root: Path, written: str) -> Path:
    """A CSV path on disk as BreastGAN/augmentation's get_cbis_image_path finds it (the case folder by
    name, each UID folder by its last five characters); then the file, which this layout names
    1-<N+1>.dcm for a written 00000<N>.dcm."""
    case, study, series, name = written.strip().split("/")
    folder = root / "CBIS-DDSM" / case
    for uid in (study, series):
        [folder] = [child for child in folder.iterdir() if child.name.endswith(uid[-5:])]
    return folder / f"1-{int(name.removesuffix('.dcm')) + 1}.dcm"


def test_csv_paths_resolve_by_the_uid_suffix_rule_of_the_real_tree(cbis):
    root, written = cbis
    table = pd.read_csv(root / "mass_case_description_train_set.csv")
    full = {_resolve_like_the_original(root, path) for path in table["image file path"]}
    assert full == {Path(case["path"]) for case in written if Path(case["path"]).parts[-4].startswith("Mass-Training")}
    for column, expected in (("cropped image file path", "1-1.dcm"), ("ROI mask file path", "1-2.dcm")):
        assert {_resolve_like_the_original(root, path).name for path in table[column]} == {expected}
