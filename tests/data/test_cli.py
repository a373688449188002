"""`python -m cyclegan prepare` with the dataset flags, its dry run, and `preview`'s contact sheet."""

import json

import cv2
import numpy as np
import pytest

from cyclegan import cli
from cyclegan.data.preview import TILE_SIDE
from cyclegan.data.records import decoded_examples
from tests.data.phantom_layouts import write_bcdr, write_inbreast


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    write_inbreast(root / "INbreast", 8, height=64, width=48)
    write_bcdr(root / "BCDR", 8, seed=1, height=64, width=48)
    return root


def _prepare(raw, *extra):
    return cli.main(["prepare", "--source", f"inbreast:{raw / 'INbreast'}", "--source", f"bcdr:{raw / 'BCDR'}",
                     "--size", "64x48", "--no-progress", *extra])


def test_dry_run_prints_counts_and_every_skip_and_writes_nothing(raw, tmp_path, capsys):
    assert _prepare(raw, "--dry-run", "--label-rule", "birads3", "--views", "CC", "--out", str(tmp_path / "p")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert not (tmp_path / "p").exists() and printed["out"] is None
    assert sum(sum(counts.values()) for counts in printed["counts"].values()) == 8  # 4 + 4 CC views
    reasons = [entry["reason"] for entry in printed["skipped"]]
    assert sum("view MLO is not among the selected views (CC)" == reason for reason in reasons) == 8
    assert set(printed["per_source"]) == {f"inbreast:{raw / 'INbreast'}", f"bcdr:{raw / 'BCDR'}"}


def test_prepare_with_copies_and_patient_split_then_preview(raw, tmp_path, capsys):
    out = tmp_path / "prepared"
    assert _prepare(raw, "--out", str(out), "--augment-copies", "1", "--split-by", "patient") == 0
    printed = json.loads(capsys.readouterr().out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert printed["counts"] == manifest["counts"] and manifest["split_by"] == "patient"
    assert manifest["augmentation"]["copies"] == 1 and manifest["rules"]["label"]["name"] == "birads4"

    sheet_path = tmp_path / "sheets" / "preview.png"
    assert cli.main(["preview", str(out), "--out", str(sheet_path), "--per-group", "3"]) == 0
    sheet = cv2.imread(str(sheet_path))
    assert max(64, 48) <= TILE_SIDE  # so tiles keep the prepared size
    legend = 28 + 4
    assert sheet.shape[0] == legend + 4 * 64 + 3 * 4 and sheet.shape[1] == 150 + 3 * (48 + 4)  # caption + 3 tiles
    red = (sheet[..., 2] == 255) & (sheet[..., 1] == 0) & (sheet[..., 0] == 0)
    yellow = (sheet[..., 2] == 255) & (sheet[..., 1] == 255) & (sheet[..., 0] == 0)
    healthy_row = slice(legend, legend + 64)
    assert red[legend + 64 + 4: legend + 2 * 64 + 4, 150:].any()  # annotated outlines on train/cancer
    assert yellow[healthy_row, 150:].any() and red[:legend].any() and yellow[:legend].any()  # and the legend


def test_prepare_errors_exit_2(raw, tmp_path, capsys):
    assert _prepare(raw) == cli.EXIT_BAD_INPUT
    assert "--out" in capsys.readouterr().err
    assert cli.main(["prepare", "--source", f"cbis:{raw / 'INbreast'}", "--size", "64x48", "--dry-run"]) == 2
    assert "no case-description CSV" in capsys.readouterr().err
    assert _prepare(raw, "--dry-run", "--views", "LAT") == cli.EXIT_BAD_INPUT
    assert "views must be" in capsys.readouterr().err
    assert cli.main(["preview", str(tmp_path), "--out", str(tmp_path / "p.png")]) == cli.EXIT_BAD_INPUT
    assert "not a prepared dataset" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()
    assert cli.main(["preview", str(tmp_path), "--out", str(tmp_path / "p.jpgx")]) == cli.EXIT_BAD_INPUT
    assert "not an image format" in capsys.readouterr().err


def test_the_exp1_recipe_makes_experiment_1s_data_and_flags_override_it(raw, tmp_path, capsys):
    out = tmp_path / "exp1"
    assert cli.main(["prepare", "--recipe", "exp1", "--source", f"inbreast:{raw / 'INbreast'}",
                     "--source", f"bcdr:{raw / 'BCDR'}", "--size", "64x64", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recipe"]["name"] == "exp1" and manifest["recipe"]["pairing"] == "exp1"
    assert manifest["size"] == [64, 64]  # --size overrides the recipe's 256x256
    assert (manifest["resize"], manifest["selection"]["views"], manifest["augmentation"]["copies"]) == \
        ("stretch", ["CC"], 9)
    assert {kind: rule["name"] for kind, rule in manifest["rules"].items()} == \
        {"label": "mass", "bcdr": "any-outline", "mask": "synthetic"}
    assert manifest["eval_fraction"] == 0.0 and sum(manifest["counts"]["eval"].values()) == 0
    assert {entry["view"] for entry in manifest["images"]} == {"CC"}
    originals = sum(manifest["original_counts"]["train"].values())
    assert sum(manifest["counts"]["train"].values()) == 10 * originals  # 1 + 9 copies each
    bcdr_cancer = {entry["source"] for entry in manifest["images"]
                   if entry["source_spec"].startswith("bcdr:") and entry["domain"] == "cancer"}
    outlined = {entry["source"] for entry in manifest["images"]
                if entry["source_spec"].startswith("bcdr:") and entry["mask_files"]}
    assert bcdr_cancer == outlined  # any outline, benign ones included, is cancer
    first = next(iter(decoded_examples([str(out / manifest["shards"]["train"]["healthy"][0])])))
    assert np.count_nonzero(first["image"][:, -2:]) > 64  # stretched: no padding on the right


def test_the_exp2_recipe_and_a_missing_size(raw, capsys):
    assert cli.main(["prepare", "--recipe", "exp2", "--source", f"bcdr:{raw / 'BCDR'}", "--dry-run",
                     "--no-progress"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["size"] == [512, 408] and printed["mask_origins"]["healthy"]["empty"] == 0
    assert cli.main(["prepare", "--source", f"bcdr:{raw / 'BCDR'}", "--dry-run"]) == cli.EXIT_BAD_INPUT
    assert "no image size" in capsys.readouterr().err
