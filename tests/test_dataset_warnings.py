"""Where a researcher can go wrong with a dataset: `prepare` counts its skipped files per reason and
warns about an empty eval split; `train` refuses a domain without eval images while the image panels
(data.eval_images > 0) would show them, before it builds a model."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cyclegan import cli
from cyclegan.data.dataset import PreparedDataset
from cyclegan.data.phantom import write_phantom
from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.recipes import resolve
from cyclegan.data.skip_reasons import describe_skips, reason_kind
from cyclegan.train import training
from tests.helpers import TINY, tiny_config

SIZE = (32, 32)


def _raw(root: Path, healthy: int, cancer: int) -> Path:
    """A phantom folder with `healthy` and `cancer` images (64x52 DICOMs; cancer ones with masks)."""
    write_phantom(root, max(healthy, cancer), seed=5, height=64, width=52)
    for domain, keep in (("healthy", healthy), ("cancer", cancer)):
        for path in sorted((root / domain).iterdir())[keep:]:
            path.unlink()
            (root / "masks" / f"{path.stem}.png").unlink(missing_ok=True)
    return root


@pytest.fixture(scope="module")
def no_cancer_eval(tmp_path_factory) -> Path:
    """5 healthy and 3 cancer images at --eval-fraction 0.15: 1 healthy eval image, 0 cancer (round(0.45))."""
    root = tmp_path_factory.mktemp("no_cancer_eval")
    out = root / "prepared"
    manifest = prepare_dataset([f"folder:{_raw(root / 'raw', 5, 3)}"], resolve(size=SIZE), out, progress=False)
    assert manifest["original_counts"]["eval"] == {"healthy": 1, "cancer": 0}
    return out


@pytest.fixture(scope="module")
def no_eval_split(tmp_path_factory) -> Path:
    """4 images per domain prepared with --eval-fraction 0 (no held-out split, as the exp1 recipes)."""
    root = tmp_path_factory.mktemp("no_eval_split")
    out = root / "prepared"
    prepare_dataset([f"folder:{_raw(root / 'raw', 4, 4)}"], resolve(size=SIZE, eval_fraction=0.0), out,
                    progress=False)
    return out


def _prepare(raw: Path, *extra: str) -> int:
    return cli.main(["prepare", "--source", f"folder:{raw}", "--size", "32x32", "--no-progress", *extra])


# prepare: the skipped files, counted per reason


@pytest.mark.parametrize("reason, kind", [
    ("unreadable DICOM: InvalidDicomError: File is missing DICOM File Meta Information header", "unreadable DICOM"),
    ("not an image file (suffix '.txt')", "not an image file"),
    ("too small: 16x16 pixels; images need at least 32 on each side", "too small"),
    ("belongs to /raw/cancer/x.dcm, which was skipped", "belongs to a skipped image"),
    ("6 of 3072 pixels are NaN or infinite", "NaN or infinite pixels"),
    ("file id 22678 already used by /raw/AllDICOMs/22678_a_b_L_CC.dcm", "file id already used"),
    ("annotation of /raw/healthy/h.dcm: not drawn: healthy images get an empty mask under --mask-rule empty",
     "annotation not drawn into the mask"),
])
def test_a_reason_kind_drops_the_paths_and_numbers_of_its_reason(reason, kind):
    assert reason_kind(reason) == kind


def test_the_summary_counts_table_rows_apart_from_files():
    rows = [{"path": "/raw/BCDR/d01_img.csv:line 4", "reason": "no file a.tif in /raw/BCDR"},
            {"path": "/raw/BCDR/d01_img.csv:line 9", "reason": "no file b.tif in /raw/BCDR"}]
    assert describe_skips(rows) == "skipped 2 table rows: 2 listed file not found"
    assert describe_skips(rows[:1] + [{"path": "/raw/x.txt", "reason": "not an image file (suffix '.txt')"}]) == (
        "skipped 2 files and table rows: 1 listed file not found, 1 not an image file")
    assert describe_skips([]) == "skipped no files"


def test_prepare_prints_the_skipped_files_counted_per_reason(tmp_path, capsys):
    raw = _raw(tmp_path / "raw", 6, 6)
    for name in ("broken_a.dcm", "broken_b.dcm"):
        (raw / "healthy" / name).write_bytes(b"not a dicom" * 20)
    (raw / "cancer" / "notes.txt").write_text("reading notes")
    cv2.imwrite(str(raw / "cancer" / "tiny.png"), np.tile(np.arange(16, dtype=np.uint8), (16, 1)))
    out = tmp_path / "prepared"
    assert _prepare(raw, "--out", str(out)) == 0
    captured = capsys.readouterr()
    assert (f"skipped 4 files: 2 unreadable DICOM, 1 not an image file, 1 too small; each with its reason in "
            f"{out / 'manifest.json'} (\"skipped\")") in captured.err.splitlines()
    printed = json.loads(captured.out)
    assert printed["skipped"] == 4
    assert printed["skipped_by_reason"] == {"unreadable DICOM": 2, "not an image file": 1, "too small": 1}
    # the manifest keeps every file with its whole reason
    reasons = {Path(entry["path"]).name: entry["reason"]
               for entry in json.loads((out / "manifest.json").read_text())["skipped"]}
    assert set(reasons) == {"broken_a.dcm", "broken_b.dcm", "notes.txt", "tiny.png"}
    assert reasons["broken_a.dcm"].startswith("unreadable DICOM: ") and reasons["broken_a.dcm"] != "unreadable DICOM"
    assert reasons["tiny.png"] == "too small: 16x16 pixels; images need at least 32 on each side"


# prepare: an empty eval split


def test_prepare_warns_when_a_domain_has_no_eval_images(tmp_path, capsys):
    assert _prepare(_raw(tmp_path / "raw", 5, 3), "--dry-run") == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: the eval split of cancer is empty (0 of 3 cancer images held out at --eval-fraction 0.15, "
        "--split-by image): `train` refuses the dataset while data.eval_images > 0 (the TensorBoard image panels "
        "show eval images), and `translate`, `artifacts`, `detect` and `study build` read the eval split by "
        "default; raise --eval-fraction, or add cancer images"]


def test_prepare_warns_once_when_there_is_no_held_out_split(tmp_path, capsys):
    assert _prepare(_raw(tmp_path / "raw", 4, 4), "--dry-run", "--eval-fraction", "0") == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: the eval split is empty (--eval-fraction is 0: no held-out images): "
                                  "TensorBoard's image panels will show training images")


def test_prepare_does_not_warn_when_both_domains_have_eval_images(tmp_path, capsys):
    assert _prepare(_raw(tmp_path / "raw", 6, 6), "--dry-run") == 0
    assert "warning" not in capsys.readouterr().err


# train: refused before a model is built when the panels need eval images


class ModelBuilt(Exception):
    """Raised instead of building the CycleGAN: training got past its dataset checks."""


@pytest.fixture
def no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise ModelBuilt

    monkeypatch.setattr(training, "CycleGAN", refuse)


def _train(data: Path, run_dir: Path, *overrides: str) -> int:
    sets = [arg for item in [*TINY, *overrides] for arg in ("--set", item)]
    return cli.main(["train", "--config", "experiments/exp1.json", "--data", str(data), "--run-dir", str(run_dir),
                     "--no-progress", *sets])


def test_train_refuses_a_domain_without_eval_images_while_the_panels_are_on(no_cancer_eval, tmp_path, capsys,
                                                                           no_model):
    assert _train(no_cancer_eval, tmp_path / "run") == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert (f"the eval split of cancer in {no_cancer_eval} is empty (prepared with --eval-fraction 0.15; "
            "training records: cancer 3), but the image panels (data.eval_images=2) show eval images") in err
    assert "--set data.eval_images=0 to train without image panels" in err and "--eval-fraction" in err
    assert not (tmp_path / "run").exists()


def test_train_takes_a_dataset_with_eval_images(prepared, tmp_path, no_model):
    with pytest.raises(ModelBuilt):
        _train(prepared, tmp_path / "run")


def test_train_takes_a_dataset_without_a_held_out_split_and_says_the_panels_show_training_images(
        no_eval_split, tmp_path, capsys, no_model):
    with pytest.raises(ModelBuilt):
        _train(no_eval_split, tmp_path / "run")
    assert (f"warning: {no_eval_split} has no eval split (prepared with --eval-fraction 0): the image panels show "
            "the first 2 training images of each domain") in capsys.readouterr().err


def test_with_the_panels_off_check_eval_split_lets_an_empty_eval_split_through(no_cancer_eval):
    training.check_eval_split(tiny_config("data.eval_images=0"), PreparedDataset.open(no_cancer_eval))
    with pytest.raises(ValueError, match="eval split of cancer"):
        training.check_eval_split(tiny_config(), PreparedDataset.open(no_cancer_eval))


def test_with_the_panels_off_training_runs_on_a_domain_without_eval_images(no_cancer_eval, tmp_path):
    # train.image_every is 2 (TINY): an image panel callback on zero images would fail at step 2
    assert _train(no_cancer_eval, tmp_path / "run", "data.eval_images=0", "train.max_steps=2") == 0
    assert (tmp_path / "run" / "checkpoints").is_dir()
