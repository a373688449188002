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

from cyclegan.domains import CANCER, FROM_DOMAIN, HEALTHY
from cyclegan.errors import NonFiniteLossError
from cyclegan.grid_scores import paper_experiment, score_images
from cyclegan.runs.checkpoints import Writer
from cyclegan.tensorboard import dashboard, panels


class StepCallback(keras.callbacks.Callback):
    def __init__(self, start_step: int):
        super().__init__()
        self.start_step = start_step

    def global_step(self, batch: int) -> int:
        """Steps completed once batch `batch` (0-based within this fit call) has run."""
        return self.start_step + batch + 1


class NonFiniteLossGuard(StepCallback):
    """Stops training after the first execution in which a loss became NaN/Inf, before anything
    else sees it, naming the first such step (the model records it) and the bad terms of the
    execution's last step."""

    def on_train_batch_end(self, batch, logs=None):
        first = int(self.model.first_nonfinite_step.numpy())
        if first:
            bad = {name: float(value) for name, value in sorted((logs or {}).items())
                   if not math.isfinite(float(value))}
            step = self.global_step(batch)
            terms = ", ".join(f"{name} = {value}" for name, value in bad.items())
            at = f"; at step {step}: {terms}" if first != step else f" ({terms})"
            raise NonFiniteLossError(
                f"loss became non-finite at step {first}{at}; training stopped and no checkpoint "
                "was written after that step")


class ScalarLogger(StepCallback):
    """Every `every` steps: every loss term, both learning rates and steps/s to TensorBoard, each
    with its description (dashboard.py)."""

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
                tf.summary.scalar(f"losses/{name}", float(value), description=dashboard.loss_description(name))
            for name, value in self.model.learning_rates().items():
                tf.summary.scalar(f"lr/{name}", value, description=dashboard.learning_rate_description(name))
            tf.summary.scalar("perf/steps_per_s", (step - last_step) / max(now - last_time, 1e-9),
                              description=dashboard.STEPS_PER_S_DESCRIPTION)
        self.writer.flush()


class ImagePanels(StepCallback):
    """Every `every` steps, on the same fixed eval images, per direction (h2c, c2h): three panels
    (`images/<direction>`, `images/<direction>_grid_view`, `images/<direction>_spectrum`; see
    panels.py) and the median artefact scores of the translations (`artifacts/<direction>_cpr_db`,
    `artifacts/<direction>_tile_rms`) with those of the real eval images it translates
    (`artifacts/baseline_<direction>_…`) at the same step, so the baseline draws a line.

    A run starting at step 0 also writes the Custom Scalars layout of the artefact chart, at step 0.
    Every tag carries a description (dashboard.py).
    """

    def __init__(self, writer, eval_healthy: np.ndarray, eval_cancer: np.ndarray, every: int,
                 start_step: int):
        super().__init__(start_step)
        self.writer = writer
        self.inputs = {FROM_DOMAIN[HEALTHY]: eval_healthy, FROM_DOMAIN[CANCER]: eval_cancer}
        self.every = every
        self._translate = None
        self._baselines = None
        self._experiment = None

    def on_train_begin(self, logs=None):
        self._translate = tf.function(self.model.translate, reduce_retracing=True)
        self._baselines = {direction: score_images(inputs, inputs) for direction, inputs in self.inputs.items()}
        self._experiment = paper_experiment(self.model.config.name)
        if self.start_step == 0:
            with self.writer.as_default(step=0):
                tf.summary.experimental.write_raw_pb(dashboard.layout_summary(self._experiment))
            self.writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        step = self.global_step(batch)
        if step % self.every == 0:
            self.write(step)

    def write(self, step: int) -> None:
        """Both directions' panels and scores at `step`."""
        with self.writer.as_default(step=step):
            for direction, inputs in self.inputs.items():
                outputs = self._translate(tf.constant(inputs), direction)
                translated, reconstructed = (np.asarray(output, np.float32) for output in outputs)
                self._log_panels(direction, inputs, translated, reconstructed)
                self._log_scores(direction, score_images(translated, inputs))
        self.writer.flush()

    @staticmethod
    def _log_panels(direction: str, inputs: np.ndarray, translated: np.ndarray,
                    reconstructed: np.ndarray) -> None:
        with_masks = inputs.shape[-1] == 2
        for name, image, description in (
                (direction, panels.panel(inputs, translated, reconstructed),
                 dashboard.panel_description(direction, with_masks)),
                (f"{direction}_grid_view", panels.grid_view(inputs, translated),
                 dashboard.grid_view_description(direction)),
                (f"{direction}_spectrum", panels.spectrum_view(inputs, translated),
                 dashboard.spectrum_description(direction))):
            tf.summary.image(f"images/{name}", image[None, ..., None], description=description)

    def _log_scores(self, direction: str, scores: dict[str, np.ndarray]) -> None:
        for metric, values in scores.items():
            tf.summary.scalar(f"artifacts/{direction}_{metric}", float(np.median(values)),
                              description=dashboard.artifact_description(direction, metric, self._experiment))
            tf.summary.scalar(f"artifacts/baseline_{direction}_{metric}",
                              float(np.median(self._baselines[direction][metric])),
                              description=dashboard.baseline_description(direction, metric))


class StepCheckpoint(StepCallback):
    """Saves a checkpoint (`writer`, runs/checkpoints.py) at each step where `due(step)` is true
    (TrainConfig.checkpoint_due)."""

    def __init__(self, writer: Writer, due, start_step: int):
        super().__init__(start_step)
        self.writer = writer
        self.due = due

    def on_train_batch_end(self, batch, logs=None):
        step = self.global_step(batch)
        if self.due(step):
            self.writer.save(step)


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
        self._next_postfix = self.start_step + self.refresh_every

    def on_train_batch_end(self, batch, logs=None):
        step = self.global_step(batch)
        self.bar.update(step - self.bar.n)
        if step >= self._next_postfix and logs:
            self._next_postfix = step + self.refresh_every
            self.bar.set_postfix({key: f"{float(logs[name]):.3f}" for key, name in self.SHOWN.items()},
                                 refresh=False)

    def on_train_end(self, logs=None):
        self.bar.close()
