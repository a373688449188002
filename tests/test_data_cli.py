"""`python -m cyclegan prepare` with the dataset flags, its dry run, and `preview`'s contact sheet."""

import json

import cv2
import pytest

from cyclegan import cli
from cyclegan.data.phantom_layouts import write_bcdr, write_inbreast
from cyclegan.data.preview import TILE_SIDE


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
    assert manifest["augmentation"]["copies"] == 1 and manifest["label_rule"]["name"] == "birads4"

    sheet_path = tmp_path / "sheets" / "preview.png"
    assert cli.main(["preview", str(out), "--out", str(sheet_path), "--per-group", "3"]) == 0
    sheet = cv2.imread(str(sheet_path))
    assert max(64, 48) <= TILE_SIDE  # so tiles keep the prepared size
    assert sheet.shape[0] == 4 * 64 + 3 * 4 and sheet.shape[1] == 150 + 3 * (48 + 4)  # 4 rows, caption + 3 tiles
    red = (sheet[..., 2] == 255) & (sheet[..., 1] == 0) & (sheet[..., 0] == 0)
    assert red[64 + 4: 2 * 64 + 4].any() and not red[:64].any()  # mask outlines on train/cancer, none on healthy


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
