"""The artefact report over a run's checkpoints, and the scores logged during training."""

import csv
import json

import numpy as np
import tensorflow as tf
from scipy import ndimage
from tensorflow.core.util import event_pb2

from cyclegan import cli
from cyclegan.analysis.artifacts.report import ArtifactCurve, plot_curve
from cyclegan.grid_scores import score_images


def _row(step, direction, cpr_db, baseline=0.0):
    return {"step": step, "direction": direction, "cpr_db_median": cpr_db, "baseline_cpr_db": baseline}


def test_onset_needs_two_consecutive_checkpoints_above_threshold():
    rows = [_row(10, "h2c", 1.0), _row(20, "h2c", 12.0), _row(30, "h2c", 3.0), _row(40, "h2c", 11.0),
            _row(50, "h2c", 15.0), _row(60, "h2c", 20.0), _row(10, "c2h", 30.0)]
    curve = ArtifactCurve(rows, "exp1")
    assert curve.onset("h2c", threshold_db=10.0) == 40
    assert curve.onset("h2c", threshold_db=25.0) is None
    assert curve.onset("c2h", threshold_db=10.0) is None  # a single checkpoint is not two


def test_onset_counts_from_the_real_images_baseline_and_needs_more_than_the_threshold():
    # Baselines differ by checkpoint: 40 dB over a 35 dB baseline is 5 above it, not 40.
    rows = [_row(10, "h2c", 40.0, baseline=35.0), _row(20, "h2c", 41.0, baseline=35.0),
            _row(30, "h2c", 46.0, baseline=36.0), _row(40, "h2c", 47.0, baseline=36.0),
            _row(10, "c2h", 30.0, baseline=20.0), _row(20, "c2h", 30.5, baseline=20.0)]
    curve = ArtifactCurve(rows, "exp1")
    assert curve.onset("h2c", threshold_db=8.0) == 30
    assert curve.onset("h2c", threshold_db=4.5) == 10
    assert curve.onset("h2c", threshold_db=5.0) == 20  # step 10 is exactly 5 dB above, not more
    assert curve.onset("c2h", threshold_db=10.0) is None  # exactly 10 dB above at step 10 is not above it


def test_score_images_sees_an_injected_grid_inside_the_breast():
    rng = np.random.default_rng(0)
    images = np.full((2, 64, 64, 1), -1.0, np.float32)
    images[:, 8:56, 4:40, 0] = ndimage.gaussian_filter(rng.uniform(-0.4, 0.4, (2, 48, 36)), (0, 2, 2))
    tile = np.tile(np.array([[0.05, -0.05], [-0.05, 0.05]]), (32, 32))
    with_grid = images.copy()
    with_grid[..., 0] += tile * (images[..., 0] > -1)
    clean, grid = score_images(images, images), score_images(with_grid, images)
    assert np.all(grid["tile_rms"] > 5 * clean["tile_rms"])
    assert np.all(grid["cpr_db"] > clean["cpr_db"])


def test_artifacts_command_writes_csv_plot_onset_and_comparison(tiny_run, tmp_path, capsys):
    out = tmp_path / "report"
    code = cli.main(["artifacts", "--run", str(tiny_run), "--out", str(out), "--compare-steps", "2,4"])
    assert code == 0
    assert "Estimated onset" in capsys.readouterr().out
    with open(out / "artifacts.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((int(r["step"]), r["direction"]) for r in rows) == [(2, "c2h"), (2, "h2c"), (4, "c2h"), (4, "h2c")]
    for row in rows:
        assert float(row["cpr_db_q25"]) <= float(row["cpr_db_median"]) <= float(row["cpr_db_q75"])
    onset = json.loads((out / "onset.json").read_text())
    assert onset["paper_onset"] == [160000, 160000] and onset["steps"] == [2, 4]
    for name in ("artifacts.png", "compare-2-4-h2c.png", "compare-2-4-c2h.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_the_plot_shows_the_threshold_and_labels_the_band(tmp_path):
    rows = [{**_row(step, direction, cpr_db, baseline=-1.0), "cpr_db_q25": cpr_db - 1, "cpr_db_q75": cpr_db + 1,
             "tile_rms_median": 0.01, "tile_rms_q25": 0.0, "tile_rms_q75": 0.02, "baseline_tile_rms": 0.01}
            for step, cpr_db in ((10, 0.0), (20, 8.0)) for direction in ("h2c", "c2h")]
    figure = plot_curve(ArtifactCurve(rows, "exp1"), {"h2c": 20, "c2h": None}, 6.5, tmp_path / "a.png")
    cpr_axis = figure.axes[0]
    levels = {line.get_label(): line.get_ydata()[0] for line in cpr_axis.get_lines() if "threshold" in line.get_label()}
    assert levels == {"h2c onset threshold: baseline + 6.5 dB": 5.5, "c2h onset threshold: baseline + 6.5 dB": 5.5}
    labels = cpr_axis.get_legend_handles_labels()[1]
    assert "h2c quartiles (25–75 % of images)" in labels
    assert not any("threshold" in line.get_label() for line in figure.axes[1].get_lines())


def test_a_threshold_of_zero_or_below_is_refused(tiny_run, tmp_path, capsys):
    for threshold in ("0", "-3"):
        assert cli.main(["artifacts", "--run", str(tiny_run), "--out", str(tmp_path), "--threshold-db", threshold]) != 0
        assert "above 0 dB" in capsys.readouterr().err
    assert not (tmp_path / "artifacts.png").exists()


def test_artifacts_without_checkpoints_is_a_clear_error(tiny_run, prepared, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("config.json", "run.json"):
        (empty / name).write_text((tiny_run / name).read_text())
    assert cli.main(["artifacts", "--run", str(empty), "--data", str(prepared)]) == cli.EXIT_BAD_INPUT
    assert "no checkpoints" in capsys.readouterr().err


def test_training_logs_artifact_scores_and_a_baseline(tiny_run):
    tags = {}
    for path in (tiny_run / "tensorboard").rglob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    for direction in ("h2c", "c2h"):
        for metric in ("cpr_db", "tile_rms"):
            assert sorted(tags[f"artifacts/{direction}_{metric}"]) == [2, 4]
            assert sorted(tags[f"artifacts/baseline_{direction}_{metric}"]) == [2, 4]
    assert tags["custom_scalars__config__"] == [0]
