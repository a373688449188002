"""Keras callbacks run between compiled training steps: guard, scalars, image panels,
checkpoints and progress. None of them touches the compiled step itself.

Each callback knows the global step of the run: `start_step` (restored from a checkpoint)
plus the batches `fit` has completed.
"""

from __future__ import annotations

import math
import time

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from cyclegan.analysis.artifact_report import score_images
from cyclegan.errors import NonFiniteLossError


class StepCallback(keras.callbacks.Callback):
    def __init__(self, start_step: int):
        super().__init__()
        self.start_step = start_step

    def global_step(self, batch: int) -> int:
        """Steps completed once batch `batch` (0-based within this fit call) has run."""
        return self.start_step + batch + 1


class NonFiniteLossGuard(StepCallback):
    """Stops training at the first NaN/Inf loss, before anything else sees that step."""

    def on_train_batch_end(self, batch, logs=None):
        bad = {name: float(value) for name, value in sorted((logs or {}).items())
               if not math.isfinite(float(value))}
        if bad:
            terms = ", ".join(f"{name} = {value}" for name, value in bad.items())
            raise NonFiniteLossError(
                f"loss became non-finite at step {self.global_step(batch)} ({terms}); training "
                "stopped and no checkpoint was written for this step")


class ScalarLogger(StepCallback):
    """Every `every` steps: every loss term, both learning rates and steps/s to TensorBoard."""

    def __init__(self, writer, every: int, start_step: int):
        super().__init__(start_step)
        self.writer = writer
        self.every = every
        self._last = None

    def on_train_begin(self, logs=None):
        self._last = (self.start_step, time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        step = self.global_step(batch)
        if step % self.every:
            return
        now = time.perf_counter()
        last_step, last_time = self._last
        self._last = (step, now)
        with self.writer.as_default(step=step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"losses/{name}", float(value))
            for name, value in self.model.learning_rates().items():
                tf.summary.scalar(f"lr/{name}", value)
            tf.summary.scalar("perf/steps_per_s", (step - last_step) / max(now - last_time, 1e-9))
        self.writer.flush()


def _to_unit(images: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((images - low) / (high - low), 0.0, 1.0)


def panel(inputs: np.ndarray, translated: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
    """One direction's panel, (rows x H, 5 x W) float in [0, 1].

    Per eval image a row: input | translated | reconstructed | translated - input |
    reconstructed - input; with a mask channel (C = 2) a second row shows the same for the mask.
    Images map [-1, 1] to [0, 1]; differences map [-2, 2] to [0, 1] (no change is mid-grey).
    Inputs are (N, H, W, C) arrays in [-1, 1].
    """
    rows = []
    for index in range(inputs.shape[0]):
        for channel in range(inputs.shape[-1]):
            source = inputs[index, ..., channel]
            fake = translated[index, ..., channel]
            cycled = reconstructed[index, ..., channel]
            tiles = [_to_unit(source, -1, 1), _to_unit(fake, -1, 1), _to_unit(cycled, -1, 1),
                     _to_unit(fake - source, -2, 2), _to_unit(cycled - source, -2, 2)]
            rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


class ImagePanels(StepCallback):
    """Every `every` steps, on the same fixed eval images: a panel per direction (tags
    `images/h2c`, `images/c2h`) and the median artefact scores of the translations
    (`artifacts/h2c_cpr_db`, `artifacts/h2c_tile_rms`, `artifacts/c2h_…`). At the start of a run
    the real eval images' scores are logged once at step 0 as the baseline
    (`artifacts/baseline_h2c_cpr_db` scores the h2c inputs, and so on).
    """

    def __init__(self, writer, eval_healthy: np.ndarray, eval_cancer: np.ndarray, every: int,
                 start_step: int):
        super().__init__(start_step)
        self.writer = writer
        self.inputs = {"h2c": eval_healthy, "c2h": eval_cancer}
        self.every = every
        self._translate = None

    def on_train_begin(self, logs=None):
        self._translate = tf.function(self.model.translate, reduce_retracing=True)
        if self.start_step == 0:
            with self.writer.as_default(step=0):
                for direction, inputs in self.inputs.items():
                    self._log_scores(f"baseline_{direction}", score_images(inputs, inputs))

    def on_train_batch_end(self, batch, logs=None):
        step = self.global_step(batch)
        if step % self.every == 0:
            self.write(step)

    def write(self, step: int) -> None:
        with self.writer.as_default(step=step):
            for direction, inputs in self.inputs.items():
                outputs = self._translate(tf.constant(inputs), direction)
                translated, reconstructed = (np.asarray(output, np.float32) for output in outputs)
                image = panel(inputs, translated, reconstructed)
                tf.summary.image(f"images/{direction}", image[None, ..., None])
                self._log_scores(direction, score_images(translated, inputs))
        self.writer.flush()

    @staticmethod
    def _log_scores(prefix: str, scores: dict[str, np.ndarray]) -> None:
        for metric, values in scores.items():
            tf.summary.scalar(f"artifacts/{prefix}_{metric}", float(np.median(values)))


def all_finite(variables) -> bool:
    return all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables)


class StepCheckpoint(StepCallback):
    """Saves `manager` every `every` steps, numbered by step, refusing non-finite weights."""

    def __init__(self, manager: tf.train.CheckpointManager, every: int, start_step: int):
        super().__init__(start_step)
        self.manager = manager
        self.every = every

    def on_train_batch_end(self, batch, logs=None):
        step = self.global_step(batch)
        if step % self.every == 0:
            save_checkpoint(self.manager, self.model, step)


def save_checkpoint(manager: tf.train.CheckpointManager, model, step: int) -> str:
    """Write a checkpoint numbered `step`; raises NonFiniteLossError if any weight is NaN/Inf."""
    if not all_finite(model.generator_variables + model.discriminator_variables):
        raise NonFiniteLossError(f"weights became NaN or Inf by step {step}; no checkpoint written")
    return manager.save(checkpoint_number=step)


class ProgressBar(StepCallback):
    """A tqdm bar over the whole run: step, generator/discriminator losses, ETA."""

    SHOWN = {"G": "generators/total", "D_h": "d_healthy/total", "D_c": "d_cancer/total",
             "cyc": "generators/cycle_total"}

    def __init__(self, start_step: int, end_step: int, refresh_every: int = 10):
        super().__init__(start_step)
        self.end_step = end_step
        self.refresh_every = refresh_every
        self.bar = None

    def on_train_begin(self, logs=None):
        self.bar = tqdm(total=self.end_step, initial=self.start_step, unit="step", dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if (batch + 1) % self.refresh_every == 0 and logs:
            self.bar.set_postfix({key: f"{float(logs[name]):.3f}" for key, name in self.SHOWN.items()},
                                 refresh=False)

    def on_train_end(self, logs=None):
        self.bar.close()
