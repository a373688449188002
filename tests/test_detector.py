"""The automated detector: it finds an injected grid, stays at chance without one, and runs on a run."""

import csv

import numpy as np
import pytest
from scipy import ndimage

from cyclegan import cli
from cyclegan.analysis.artifacts.detector import CI_METHOD, FEATURES, cross_validated_detection, image_features


def _textures(count, rng):
    return np.stack([ndimage.gaussian_filter(rng.normal(size=(48, 40)), 2.0) for _ in range(count)])


def test_features_are_finite_and_named():
    features = image_features(_textures(1, np.random.default_rng(0))[0])
    assert features.shape == (len(FEATURES),) and np.all(np.isfinite(features))


def test_injected_grid_is_detected():
    rng = np.random.default_rng(1)
    originals = _textures(40, rng)
    grid = np.tile(rng.normal(size=(4, 4)), (12, 10)) * 0.02
    modified = originals + grid
    result = cross_validated_detection(originals, modified, folds=5)
    assert result.auc > 0.9 and result.ci_low > 0.5


def test_perfect_detection_of_14_pairs_keeps_an_honest_interval():
    rng = np.random.default_rng(3)
    originals = _textures(14, rng)
    modified = originals + np.tile(rng.normal(size=(4, 4)), (12, 10)) * 0.5  # a grid no fold can miss
    result = cross_validated_detection(originals, modified, folds=5)
    assert result.auc == 1.0 and result.ci_high == 1.0
    assert result.ci_low == pytest.approx(0.855, abs=1e-3)  # 28 images cannot show the AUC is exactly 1


def test_changes_without_a_pattern_stay_near_chance():
    rng = np.random.default_rng(2)
    originals = _textures(40, rng)
    modified = originals * 1.001  # a modification the features cannot see
    result = cross_validated_detection(originals, modified, folds=5)
    assert result.ci_low <= 0.5 <= result.ci_high


def test_too_few_sources_is_an_error():
    with pytest.raises(ValueError, match="at least 2 sources"):
        cross_validated_detection(np.zeros((1, 32, 32)), np.zeros((1, 32, 32)))


def test_detect_command_on_a_run(tiny_run, tmp_path, capsys):
    out = tmp_path / "detect"
    assert cli.main(["detect", "--run", str(tiny_run), "--split", "train", "--folds", "3", "--out", str(out)]) == 0
    with open(out / "detect.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows] == [2, 4]
    for row in rows:
        assert 0.0 <= float(row["ci_low"]) < float(row["ci_high"]) <= 1.0
        assert float(row["ci_low"]) <= float(row["auc"]) <= float(row["ci_high"])
        assert int(row["originals"]) == int(row["modified"]) > 2 and row["ci_method"] == CI_METHOD
    assert (out / "detect.png").read_bytes()[:4] == b"\x89PNG"
    assert f", {CI_METHOD}), " in capsys.readouterr().out
