"""Small builders shared by the tests: a tiny config, a tiny prepared dataset, a reader kit's page data."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from cyclegan.config import ExperimentConfig, config_from_dict

TINY = [
    "data.height=32", "data.width=32", "data.eval_images=2", "generator.filters=4",
    "generator.residual_blocks=1", "discriminator.filters=4", "train.log_every=1",
    "train.image_every=2", "train.checkpoint_every=2",
]


def tiny_config(*overrides: str, experiment: str = "exp1") -> ExperimentConfig:
    raw = json.loads((Path(__file__).resolve().parents[1] / "experiments" / f"{experiment}.json").read_text())
    return config_from_dict(raw, TINY + list(overrides))


class TF1Adam:
    """tf.train.AdamOptimizer, written from its documented update: per-variable moments, one
    beta-power pair per instance, advanced by every apply_gradients call (`t`: calls so far)."""

    def __init__(self, beta_1, beta_2, epsilon, t: int = 0):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = t
        self.moments = {}

    def apply_gradients(self, gradients, variables, lr):
        import tensorflow as tf

        self.t += 1
        rate = lr * math.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)
        for gradient, variable in zip(gradients, variables):
            m, v = self.moments.get(id(variable), (0.0, 0.0))
            m = self.beta_1 * m + (1 - self.beta_1) * gradient
            v = self.beta_2 * v + (1 - self.beta_2) * tf.square(gradient)
            self.moments[id(variable)] = (m, v)
            variable.assign_sub(rate * m / (tf.sqrt(v) + self.epsilon))


def sgd(name: str, turns: list[list]):
    """Plain SGD for CycleGAN's `make_optimizer` (an update is -lr x gradient, so updates compare
    gradients; Adam's do not depend on the gradient's scale)."""
    import keras

    optimizer = keras.optimizers.SGD(name=name)
    optimizer.build([variable for variables in turns for variable in variables])
    return optimizer


def make_prepared(root: Path, count: int = 6, size=(32, 32)) -> Path:
    """A phantom of `count` images per domain prepared at `size`; returns the prepared folder."""
    from cyclegan.data.phantom import write_phantom
    from cyclegan.data.prepare import prepare_dataset
    from cyclegan.data.recipes import resolve

    raw = root / "raw"
    write_phantom(raw, count, seed=3, height=64, width=52)
    prepared = root / "prepared"
    prepare_dataset([f"folder:{raw}"], resolve(size=size), prepared, progress=False)
    return prepared


def page_data(reader: Path) -> dict:
    """The study data a kit's reader/reading.html carries."""
    found = re.search(r'<script type="application/json" id="study-data">(.*?)</script>',
                      (reader / "reading.html").read_text(), re.DOTALL)
    return json.loads(found.group(1))


def dciodvfy_errors(path) -> list[str]:
    """The "Error" lines dicom3tools' dciodvfy prints for a DICOM file (pytest skips without dciodvfy)."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy not installed (Debian package dicom3tools; .ci/run installs it)")
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")]
