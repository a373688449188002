"""Translating from any kept step with nothing but the run directory."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from cyclegan import cli
from cyclegan.runs.rundir import RunDir
from cyclegan.runs.translate import translate_run


def _rows(manifest):
    with open(manifest, newline="") as handle:
        return list(csv.DictReader(handle))


def test_translate_prepared_split_at_two_steps(tiny_run, prepared, tmp_path):
    out = tmp_path / "out"
    manifest = translate_run(tiny_run, "h2c", prepared, out, steps=[2, 4], progress=False)
    rows = _rows(manifest)
    assert {row["step"] for row in rows} == {"2", "4"}
    assert len(rows) % 2 == 0 and rows
    row = next(r for r in rows if r["step"] == "4")
    png = Image.open(out / row["translated"])
    assert png.mode == "I;16"
    assert png.text["CycleGAN-Modified"] == "yes" and png.text["CycleGAN-Step"] == "4"
    assert png.text["CycleGAN-Direction"] == "h2c" and "CycleGAN-modified" in png.text["Description"]
    for kind in ("reconstructed", "difference"):
        assert Image.open(out / row[kind]).text["CycleGAN-Run"] == str(tiny_run)

    arrays = np.load(out / row["arrays"])
    keras.utils.set_random_seed(123)  # weights a checkpoint failed to reach would differ from the run's
    generators = RunDir(tiny_run).generators(4)
    expected = generators["h2c"](tf.constant(arrays["input"][None]))[0].numpy()
    np.testing.assert_allclose(arrays["translated"], expected, atol=1e-5)
    np.testing.assert_allclose(arrays["difference"], arrays["translated"] - arrays["input"], atol=1e-6)
    stored = np.asarray(png, np.float64) / 65535.0 * 2.0 - 1.0
    np.testing.assert_allclose(stored, arrays["translated"][..., 0], atol=2.0 / 65535)

    at_step_2 = np.load(out / next(r for r in rows if r["step"] == "2" and r["source"] == row["source"])["arrays"])
    assert not np.allclose(at_step_2["translated"], arrays["translated"])


def test_translate_raw_folder_like_prepare(tiny_run, prepared, tmp_path):
    raw_cancer = prepared.parent / "raw" / "cancer"
    code = cli.main(["translate", "--run", str(tiny_run), "--direction", "c2h", "--input", str(raw_cancer),
                     "--out", str(tmp_path / "out")])
    assert code == 0
    rows = _rows(tmp_path / "out" / "manifest.csv")
    assert len(rows) == len(list(raw_cancer.iterdir())) and {r["step"] for r in rows} == {"4"}


def test_unknown_step_lists_the_kept_ones(tiny_run, prepared, tmp_path, capsys):
    code = cli.main(["translate", "--run", str(tiny_run), "--step", "3", "--direction", "h2c",
                     "--input", str(prepared), "--out", str(tmp_path / "out")])
    assert code == cli.EXIT_BAD_INPUT
    assert "kept steps: [2, 4]" in capsys.readouterr().err


def test_run_without_checkpoints_is_an_error(tiny_run, prepared, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text((tiny_run / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="no checkpoints"):
        translate_run(empty, "h2c", prepared, tmp_path / "out", progress=False)
