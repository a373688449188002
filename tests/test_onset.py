"""Tests of the onset study (cyclegan/analysis/onset): the rule, the injected-lattice calibration, plan
files, and a study whose translations carry a lattice from a known step (an onset there) or none
(censored), scored through the study's own scoring path."""

import json

import numpy as np
import pytest

from cyclegan.analysis.onset import runner
from cyclegan.analysis.onset.plan import Evaluation, OnsetRule, load_plan, plan_from_dict, smoke
from cyclegan.analysis.onset.report import find_onsets, key_steps
from cyclegan.analysis.onset.scores import calibrate, detection_limits, image_scores, inject, lattice, summary
from cyclegan.errors import ConfigError

RULE = OnsetRule(warmup=100, above_real_db=3.0, above_min_db=3.0, consecutive=3)


def test_onset_needs_the_consecutive_evaluations_above_a_non_zero_band():
    steps = [0, 100, 200, 300, 400, 500, 600]
    band_top = 5.0  # real images' 75th percentile, dB
    medians = [4.0, 4.0, 8.5, 8.5, 4.0, 8.5, 8.5]
    assert RULE.find(steps, medians, band_top) is None  # never three in a row
    assert RULE.find(steps, [4.0, 4.0, 8.5, 8.5, 8.5, 4.0, 4.0], band_top) == 200
    assert RULE.find(steps, [4.0, 4.0, 7.9, 7.9, 7.9, 7.9, 7.9], band_top) is None  # below band + 3 dB


def test_a_value_exactly_at_the_threshold_counts():
    steps = [0, 100, 200, 300]
    assert RULE.find(steps, [1.0, 8.0, 8.0, 8.0], band_top=5.0) == 100
    assert RULE.find(steps, [1.0, np.nextafter(8.0, 0), 8.0, 8.0], band_top=5.0) is None


def test_warmup_and_the_runs_own_minimum():
    steps = [0, 50, 100, 200, 300, 400]
    # High from the start and fading: before the warm-up it does not count, and after it the run
    # is not 3 dB above its own minimum so far.
    assert RULE.find(steps, [20, 20, 20, 20, 20, 20], band_top=0.0) is None
    assert RULE.find(steps, [20, 20, 9, 9, 9, 9], band_top=0.0) is None
    # It fades to 6 dB and rises again to 9: an onset at the first of the three evaluations at 9.
    assert RULE.find(steps + [500], [20, 20, 6, 9, 9, 9, 9], band_top=0.0) == 200


def test_lattice_has_the_period_zero_mean_and_unit_rms():
    np.testing.assert_array_equal(lattice((3, 4), 2), [[1, -1, 1, -1], [-1, 1, -1, 1], [1, -1, 1, -1]])
    assert lattice((4, 10), 4).shape == (4, 10)  # wider than high
    for period in (2, 4):
        pattern = lattice((24, 20), period)
        assert pattern.shape == (24, 20)
        np.testing.assert_allclose(pattern[period:, :], pattern[:-period, :])
        np.testing.assert_allclose(pattern[:, period:], pattern[:, :-period])
        assert abs(pattern[:24, :20].mean()) < 1e-12 and np.sqrt(np.mean(pattern**2)) == pytest.approx(1.0)
    assert not np.allclose(lattice((8, 8), 4)[:, 2:], lattice((8, 8), 4)[:, :-2])  # not also period 2


@pytest.fixture(scope="module")
def phantoms():
    """(8, 64, 64, 1) phantom images in [-1, 1] whose background is black (-1), as prepared images'
    is (the phantom renders a faint film base there, which preparing maps to 0)."""
    from cyclegan.data.phantom import render_breast

    rng = np.random.default_rng(5)
    images = [render_breast(rng, 64, 64, ("CC", "MLO")[index % 2], cancer=index % 2 == 1)[0] for index in range(8)]
    images = np.where(np.stack(images) < 0.1, 0.0, np.stack(images))  # the breast is >= 0.3, the film base ~0.02
    return (images[..., None] * 2 - 1).astype(np.float32)


def test_an_injected_lattice_raises_its_periods_score(phantoms):
    clean = summary(image_scores(phantoms, phantoms))
    for period in (2, 4):
        strong = summary(image_scores(inject(phantoms, period, 0.05), phantoms))
        assert strong[f"cpr_db_p{period}_median"] > clean[f"cpr_db_p{period}_q75"] + 6
    # Only the breast is changed; the background stays black.
    injected = inject(phantoms, 4, 0.05)
    strongest = inject(phantoms, 4, 0.3)
    assert strongest.min() == -1.0 and strongest.max() == 1.0  # clipped to the generator's range
    outside = phantoms[..., 0] == -1
    assert 0.1 < outside.mean() < 0.9
    np.testing.assert_array_equal(injected[..., 0][outside], phantoms[..., 0][outside])


def test_the_band_is_the_interquartile_range_of_the_per_image_scores():
    assert summary({"cpr_db_p2": np.arange(101.0)[::-1]}) == {
        "cpr_db_p2_median": 50.0, "cpr_db_p2_q25": 25.0, "cpr_db_p2_q75": 75.0}


def test_a_detection_limit_is_where_every_larger_amplitude_is_detected():
    seen = {2: [False, True, False, True, True], 4: [True, True, True, True, False]}
    rows = [{"period": period, "amplitude": 0.01 * (index + 1), "detected": detected}
            for period, flags in seen.items() for index, detected in enumerate(flags)][::-1]
    assert detection_limits(rows) == {2: 0.04, 4: None}


def test_calibration_finds_a_detection_limit_for_each_period(phantoms):
    rows = calibrate(phantoms, threshold_margin_db=3.0)
    real = summary(image_scores(phantoms, phantoms))
    assert {row["threshold_db"] for row in rows if row["period"] == 4} == {real["cpr_db_p4_q75"] + 3.0}
    limits = detection_limits(rows)
    assert set(limits) == {2, 4}
    for period, limit in limits.items():
        assert limit is not None and 1e-4 < limit < 0.1
        below = [row for row in rows if row["period"] == period and row["amplitude"] < limit]
        assert not below[-1]["detected"]  # the next amplitude down is not seen
    strict = detection_limits(calibrate(phantoms, threshold_margin_db=10.0))
    assert all(strict[period] > limits[period] for period in limits)  # a higher bar needs a stronger lattice


PLAN = {"name": "test", "steps": 40, "seeds": [1, 2],
        "scale": ["data.height=32", "data.width=32", "generator.filters=4", "generator.residual_blocks=1",
                  "discriminator.filters=4"],
        "data": {"phantom_count": 8, "phantom_size": "64x52"},
        "evaluation": {"early_every": 10, "early_until": 20, "every": 20, "images": 6},
        "onset": {"warmup": 10, "consecutive": 2},
        "arms": [{"name": "lattice", "config": "experiments/exp1.json"},
                 {"name": "clean", "config": "experiments/exp1.json"}]}


def test_shipped_plans_load_and_give_every_run_its_overrides():
    from pathlib import Path

    plans = sorted(Path(__file__).resolve().parents[1].glob("experiments/reproduce/*.json"))
    assert {path.stem for path in plans} >= {"small", "medium", "full"}
    for path in plans:
        plan = load_plan(path)
        assert len(plan.arms) >= 4 and len(plan.seeds) >= 3, path
        study_runs = runner.Study(plan, "/nonexistent").runs
        assert len(study_runs) == len(plan.arms) * len(plan.seeds)
        for study_run in study_runs:
            assert study_run.config.train.max_steps == plan.steps
        tiny = smoke(plan)
        assert tiny.steps == 40 and tiny.seeds == (1,) and tiny.arms == plan.arms


def test_a_study_checkpoints_densely_early_then_evenly():
    plan = plan_from_dict({**PLAN, "evaluation": {"early_every": 5, "early_until": 15, "every": 20, "images": 2}})
    config = runner.Study(plan, "/nonexistent").runs[0].config
    assert [step for step in range(1, 61) if config.train.checkpoint_due(step)] == [5, 10, 15, 20, 40, 60]


@pytest.mark.parametrize("change, message", [
    ({"arms": []}, "no arms"),
    ({"arms": [{"name": "a", "config": "experiments/none.json"}]}, "does not exist"),
    ({"arms": [{"name": "a b", "config": "experiments/exp1.json"}]}, "must be letters"),
    ({"seeds": [1, 1]}, "distinct"),
    ({"steps": 30}, "multiple of evaluation.every"),
    ({"stpes": 40}, "unknown key"),
    ({"onset": {"warmup": 10, "conecutive": 2}}, "unknown key"),
])
def test_bad_plans_are_refused_with_the_reason(change, message):
    with pytest.raises(ConfigError, match=message):
        plan_from_dict({**PLAN, **change})


class LatticeFrom:
    """Stands in for a run's generators: the input, plus a period-4 lattice of RMS 0.05 from step
    `start` on (None: never)."""

    def __init__(self, start):
        self.start = start

    def __call__(self, step, direction, images):
        return images if self.start is None or step < self.start else inject(images, 4, 0.05)


def _fake_checkpoints(run_dir, steps):
    """A checkpoint state file listing `steps`, as tf.train.CheckpointManager writes it."""
    folder = run_dir / "checkpoints"
    folder.mkdir(parents=True)
    lines = [f'model_checkpoint_path: "ckpt-{steps[-1]}"'] + [f'all_model_checkpoint_paths: "ckpt-{s}"' for s in steps]
    (folder / "checkpoint").write_text("\n".join(lines) + "\n")


def test_a_run_with_an_injected_lattice_has_an_onset_and_a_clean_run_none(tmp_path, monkeypatch):
    plan = plan_from_dict(PLAN)
    study = runner.Study(plan, tmp_path / "study")
    study.start()
    steps = [10, 20, 40, 60, 80]
    by_arm = {"lattice": LatticeFrom(40), "clean": LatticeFrom(None)}
    for run in study.runs:
        _fake_checkpoints(run.path, steps)
    monkeypatch.setattr(runner, "Translator", lambda run_dir: by_arm[run_dir.path.name.split("-")[0]])
    for run in study.runs:
        rows = study.score(run)
        assert sorted({row["step"] for row in rows}) == steps
    onsets = {onset.run.name: onset for onset in find_onsets(study, study.baselines())}
    assert onsets["lattice-seed1"].step == 40 and onsets["lattice-seed2"].step == 40
    assert onsets["lattice-seed1"].per_series["h2c p2"] == 40  # a random 4x4 tile has period-2 content too
    assert onsets["clean-seed1"].step is None and onsets["clean-seed1"].last_step == 80
    # Scores are kept: a rerun scores only checkpoints it has not scored.
    monkeypatch.setattr(runner, "Translator", lambda run_dir: pytest.fail("scored again"))
    assert len(study.score(study.runs[0])) == 2 * len(steps)
    assert key_steps(onsets["lattice-seed1"], study.scores(study.runs[0]))[-2:] == [("onset", 40), ("end", 80)]


def test_a_study_folder_refuses_another_plan(tmp_path):
    runner.Study(plan_from_dict(PLAN), tmp_path).start()
    other = plan_from_dict({**PLAN, "steps": 60})
    with pytest.raises(ConfigError, match="another plan \\(steps differ\\)"):
        runner.Study(other, tmp_path).start()
    assert json.loads((tmp_path / "plan.json").read_text())["steps"] == 40


def test_evaluation_defaults_are_dense_early():
    cadence = Evaluation()
    assert cadence.early_every < cadence.every and cadence.early_until >= cadence.every


def test_a_study_can_train_some_arms_and_seeds_of_its_plan(tmp_path):
    plan = plan_from_dict(PLAN)
    some = runner.Study(plan, tmp_path, arms=["clean"], seeds=[2])
    assert [run.name for run in some.runs] == ["clean-seed2"]
    some.start()
    assert json.loads((tmp_path / "plan.json").read_text())["seeds"] == [1, 2]
    assert [run.name for run in runner.Study(plan, tmp_path).runs] == [
        "lattice-seed1", "lattice-seed2", "clean-seed1", "clean-seed2"]
    runner.Study(plan, tmp_path, arms=["lattice"]).start()  # the same plan: accepted
    with pytest.raises(ConfigError, match="no arm or seed missing, 7"):
        runner.Study(plan, tmp_path, arms=["missing"], seeds=[7])
