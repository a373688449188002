"""Panels, tag descriptions, the artefact chart's layout, and event files on resume."""

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorflow.core.util import event_pb2

from cyclegan.tensorboard import dashboard, panels
from cyclegan.tensorboard.eventfiles import run_events_dir, truncate_events
from cyclegan.train.callbacks import ImagePanels, ScalarLogger


def _lattice(shape, period, amplitude):
    """One bright pixel per period x period tile, zero mean, RMS `amplitude`, over (H, W): its power
    is spread evenly over all the lattice frequencies."""
    tile = np.zeros((period, period))
    tile[0, 0] = 1.0
    tile -= tile.mean()
    tile *= amplitude / np.sqrt(np.mean(tile**2))
    return np.tile(tile, (shape[0] // period, shape[1] // period)).astype(np.float32)


def test_panel_columns_differences_and_mask_rows():
    inputs = np.full((2, 4, 3, 2), -0.5, np.float32)
    translated = inputs + 0.1
    reconstructed = inputs.copy()
    reconstructed[..., 1] = 1.0
    image = panels.panel(inputs, translated, reconstructed)
    assert image.shape == (2 * 2 * 4, 5 * 3)
    image_row, mask_row = image[:4], image[4:8]
    np.testing.assert_allclose(image_row[:, 0:3], 0.25)  # -0.5 on the -1..1 scale
    np.testing.assert_allclose(image_row[:, 3:6], 0.3)
    # translated - input = 0.1, amplified 4x around mid-grey: 0.5 + 4 * 0.1 / 2
    np.testing.assert_allclose(image_row[:, 9:12], 0.5 + panels.DIFFERENCE_GAIN * 0.05, atol=1e-6)
    np.testing.assert_allclose(image_row[:, 12:15], 0.5)  # no change
    np.testing.assert_allclose(mask_row[:, 12:15], 1.0)  # the mask changed by 1.5: clipped white


def test_grid_view_keeps_a_faint_lattice_and_drops_smooth_anatomy():
    height, width = 64, 48
    ramp = np.linspace(-0.8, 0.8, width, dtype=np.float32)[None, :].repeat(height, 0)
    grid = _lattice((height, width), 4, 0.01)
    inputs = ramp[None, ..., None]
    view = panels.grid_view(inputs, (ramp + grid)[None, ..., None])
    assert view.shape == (height, 2 * width)
    inner = (slice(4, -4), slice(4, -4))
    real, fake = view[:, :width][inner], view[:, width:][inner]
    np.testing.assert_allclose(real, 0.5, atol=1e-4)  # a ramp has no high frequencies
    shown = (fake - 0.5) * 2 / panels.GRID_VIEW_GAIN  # back to image units
    np.testing.assert_allclose(shown, grid[inner], atol=1e-4)


@pytest.mark.parametrize("period, points", [
    (4, {(row, col) for row in (0, 16, 32, 48) for col in (0, 12, 24, 36)} - {(32, 24)}),
    (2, {(0, 0), (0, 24), (32, 0)}),
])
def test_spectrum_shows_a_lattice_as_points_where_the_description_says(period, points):
    height, width = 64, 48
    noise = np.random.default_rng(1).normal(0, 0.01, (height, width)).astype(np.float32)
    inputs = noise[None, ..., None]
    view = panels.spectrum_view(inputs, (noise + _lattice((height, width), period, 0.02))[None, ..., None])
    real, fake = view[:, :width], view[:, width:]
    on = np.zeros((height, width), bool)
    for row, col in points:
        on[row, col] = True
    # a peak spreads to its neighbour bins (Hann window), then is drawn 3x3; the spectrum wraps round
    near = ndimage.maximum_filter(on, size=5, mode="wrap")
    assert fake[on].min() > 0.6, "every lattice point is bright"
    assert np.percentile(fake[~near], 99) < 0.45, "nothing else is"
    assert real[on].max() < 0.6, "noise alone puts no point there"


def _events(logdir):
    """[(tag, step, Summary.Value)] of every event file under logdir."""
    found = []
    for path in sorted(logdir.rglob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            found += [(value.tag, event.step, value) for value in event.summary.value]
    return found


class _FakeModel:
    """What the callbacks use of CycleGAN: translate (an added lattice), learning rates, config."""

    config = SimpleNamespace(name="exp2")

    def translate(self, images, direction, training=False):
        lattice = _lattice(images.shape[1:3], 4, 0.1)[None, ..., None]
        translated = tf.clip_by_value(images + lattice, -1.0, 1.0)
        return translated, images

    def learning_rates(self):
        return {"generator": 2e-4, "discriminator": 1e-4}


def _eval_images(seed):
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 0.05, (2, 32, 32, 1))
    mask = np.where(rng.random((2, 32, 32, 1)) > 0.9, 1.0, -1.0)
    return np.concatenate([image, mask], axis=-1).astype(np.float32)


def _image_panels(logdir, start_step):
    writer = tf.summary.create_file_writer(str(logdir))
    callback = ImagePanels(writer, _eval_images(0), _eval_images(1), every=2, start_step=start_step)
    callback.set_model(_FakeModel())
    return callback, writer


def test_image_panels_log_described_panels_scores_and_a_baseline_line(tmp_path):
    callback, writer = _image_panels(tmp_path, start_step=0)
    callback.on_train_begin()
    for batch in range(4):
        callback.on_train_batch_end(batch)
    writer.close()
    events = _events(tmp_path)
    steps = {}
    for tag, step, value in events:
        steps.setdefault(tag, []).append(step)
        if tag != "custom_scalars__config__":
            assert value.metadata.summary_description, f"{tag} has no description"
    for direction in ("h2c", "c2h"):
        for name in (direction, f"{direction}_grid_view", f"{direction}_spectrum"):
            assert steps[f"images/{name}"] == [2, 4]
        for metric in ("cpr_db", "tile_rms"):
            assert steps[f"artifacts/{direction}_{metric}"] == [2, 4]
            assert steps[f"artifacts/baseline_{direction}_{metric}"] == [2, 4]
    assert steps["custom_scalars__config__"] == [0]

    panel = next(value for tag, _, value in events if tag == "images/h2c")
    width, height = (int(x) for x in panel.tensor.string_val[:2])
    assert (height, width) == (2 * 2 * 32, 5 * 32)  # an image and a mask row per eval image
    grid = next(value for tag, _, value in events if tag == "images/c2h_grid_view")
    assert [int(x) for x in grid.tensor.string_val[:2]] == [2 * 32, 2 * 32]

    scores = {tag: tf.make_ndarray(value.tensor) for tag, step, value in events if step == 4}
    assert scores["artifacts/h2c_tile_rms"] > 5 * scores["artifacts/baseline_h2c_tile_rms"]
    assert scores["artifacts/h2c_cpr_db"] > scores["artifacts/baseline_h2c_cpr_db"] + 10


def test_the_layout_charts_both_metrics_with_their_baselines_and_the_papers_onsets():
    for experiment, onset in (("exp1", "160k"), ("exp2", "45–50k")):
        layout = dashboard.artifact_layout(experiment)
        (category,) = layout.category
        assert onset in category.title
        tags = {tag for chart in category.chart for tag in chart.multiline.tag}
        assert tags == {f"^artifacts/{prefix}{direction}_{metric}$" for prefix in ("", "baseline_")
                        for direction in ("h2c", "c2h") for metric in ("cpr_db", "tile_rms")}
    assert "35k and 70k" in dashboard.paper_note("exp2")
    summary = tf.compat.v1.Summary.FromString(dashboard.layout_summary("exp1"))
    assert layout_pb2.Layout.FromString(tf.make_ndarray(summary.value[0].tensor).item()) == \
        dashboard.artifact_layout("exp1")


def test_a_resumed_run_writes_no_layout_and_no_step_twice(tmp_path):
    callback, writer = _image_panels(tmp_path, start_step=0)
    callback.on_train_begin()
    callback.on_train_batch_end(1)  # step 2
    writer.close()
    truncate_events(tmp_path, 0)  # no checkpoint yet: the run starts over
    callback, writer = _image_panels(tmp_path, start_step=0)
    callback.on_train_begin()
    callback.on_train_batch_end(1)
    writer.close()
    truncate_events(tmp_path, 2)  # resumed from the checkpoint at step 2
    callback, writer = _image_panels(tmp_path, start_step=2)
    callback.on_train_begin()
    callback.on_train_batch_end(1)  # step 4
    writer.close()
    pairs = [(tag, step) for tag, step, _ in _events(tmp_path)]
    assert len(pairs) == len(set(pairs)), "a tag was logged twice at one step"
    assert ("custom_scalars__config__", 0) in pairs
    assert {step for tag, step in pairs if tag == "images/h2c"} == {2, 4}


def test_scalar_logger_describes_every_tag(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    logger = ScalarLogger(writer, every=1, start_step=0)
    logger.set_model(_FakeModel())
    logger.on_train_begin()
    logger.on_train_batch_end(0, {"g_h2c/adversarial": 0.5, "d_cancer/fake": 0.25, "something/new": 1.0})
    writer.close()
    described = {tag: value.metadata.summary_description for tag, _, value in _events(tmp_path)}
    assert set(described) == {"losses/g_h2c/adversarial", "losses/d_cancer/fake", "losses/something/new",
                              "lr/generator", "lr/discriminator", "perf/steps_per_s"}
    assert "D_cancer(h2c(healthy))" in described["losses/g_h2c/adversarial"]
    assert "`something/new`" in described["losses/something/new"]
    assert all(described.values())


def _steps(logdir):
    return [step for _, step, _ in _events(logdir)]


def test_truncate_events_drops_steps_after_the_checkpoint(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(0, 6):
            tf.summary.scalar("loss", float(step), step=step)
    writer.close()
    assert _steps(tmp_path) == [0, 1, 2, 3, 4, 5]
    assert truncate_events(tmp_path, 3) == 2
    assert _steps(tmp_path) == [0, 1, 2, 3]
    assert truncate_events(tmp_path, 3) == 0
    assert truncate_events(tmp_path, 0) == 4  # no checkpoint: step 0 is written again too
    assert _steps(tmp_path) == []


def test_run_events_dir_names_the_run():
    assert run_events_dir("runs/a/tensorboard", "exp2_conv_transpose").as_posix() == \
        "runs/a/tensorboard/exp2_conv_transpose"
    assert run_events_dir("tb", "my run/../x").name == "my_run_.._x"  # one folder, no path
    assert run_events_dir("tb", "..").name == "run"
