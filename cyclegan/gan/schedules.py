"""Learning-rate schedule: constant, then linear decay to zero, counted in epochs or steps."""

from __future__ import annotations

import keras
import tensorflow as tf


class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = base * clip((duration - u) / (duration - decay_start), 0, 1), u = step // steps_per_unit.

    With epochs as the unit (steps_per_unit = steps per epoch) the rate is constant within an
    epoch, as in the original exp1 code; with steps (steps_per_unit = 1) it decays every step.
    It equals `base` until unit `decay_start` and reaches 0 at unit `duration`.
    """

    def __init__(self, base: float, duration: int, decay_start: int, steps_per_unit: int = 1):
        if steps_per_unit < 1:
            raise ValueError(f"steps_per_unit must be at least 1, got {steps_per_unit}")
        if not 0 <= decay_start <= duration:
            raise ValueError(f"need 0 <= decay_start <= duration, got {decay_start} and {duration}")
        self.base = base
        self.duration = duration
        self.decay_start = decay_start
        self.steps_per_unit = steps_per_unit

    def __call__(self, step):
        unit = tf.cast(tf.cast(step, tf.int64) // self.steps_per_unit, tf.float32)
        decay_length = float(max(self.duration - self.decay_start, 1))
        fraction = tf.clip_by_value((self.duration - unit) / decay_length, 0.0, 1.0)
        return self.base * fraction

    def get_config(self):
        return {"base": self.base, "duration": self.duration, "decay_start": self.decay_start,
                "steps_per_unit": self.steps_per_unit}
