import numpy as np
import tensorflow as tf
from tensorflow.core.util import event_pb2

from cyclegan.callbacks import panel
from cyclegan.eventfiles import truncate_events


def test_panel_columns_and_mask_rows():
    inputs = np.full((2, 4, 3, 2), -1.0, np.float32)
    translated = np.full_like(inputs, 1.0)
    reconstructed = inputs.copy()
    image = panel(inputs, translated, reconstructed)
    assert image.shape == (2 * 2 * 4, 5 * 3)
    row = image[:4]
    np.testing.assert_allclose(row[:, 0:3], 0.0)  # input -1 -> black
    np.testing.assert_allclose(row[:, 3:6], 1.0)  # translated +1 -> white
    np.testing.assert_allclose(row[:, 9:12], 1.0)  # translated - input = 2 -> white
    np.testing.assert_allclose(row[:, 12:15], 0.5)  # no change -> mid-grey


def _steps(logdir):
    steps = []
    for path in sorted(logdir.rglob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            if event.summary.value:
                steps.append(event.step)
    return steps


def test_truncate_events_drops_steps_after_the_checkpoint(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(1, 6):
            tf.summary.scalar("loss", float(step), step=step)
    writer.close()
    assert _steps(tmp_path) == [1, 2, 3, 4, 5]
    assert truncate_events(tmp_path, 3) == 2
    assert _steps(tmp_path) == [1, 2, 3]
    assert truncate_events(tmp_path, 3) == 0
