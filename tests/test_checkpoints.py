"""What a checkpoint gives back: a run's generators at a step are the trained model's, direction by
direction; and the discriminators of a trained model judge what its pools hand out."""

import json

import numpy as np
import pytest
import tensorflow as tf

from cyclegan.config import config_to_dict
from cyclegan.domains import DIRECTIONS, H2C, generator, judge
from cyclegan.gan.model import CycleGAN
from cyclegan.runs.rundir import CONFIG_NAME, RunDir
from tests.helpers import tiny_config


def test_a_runs_generators_at_a_step_are_the_trained_models_by_direction(tmp_path):
    config = tiny_config()
    model = CycleGAN(config)
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    (run.path / CONFIG_NAME).write_text(json.dumps(config_to_dict(config)))
    run.checkpoints.writer(model.state(), 0).save(3)

    loaded = run.generators(3)
    images = np.random.default_rng(0).uniform(-1, 1, (2, *config.image_shape)).astype(np.float32)
    outputs = {direction: np.asarray(model.networks[generator(direction)](images)) for direction in DIRECTIONS}
    assert np.abs(outputs[DIRECTIONS[0]] - outputs[DIRECTIONS[1]]).max() > 1e-3  # a swap would show
    for direction in DIRECTIONS:
        np.testing.assert_allclose(np.asarray(loaded[direction](images)), outputs[direction], atol=1e-6)


class Recording:
    """A network that records what it was called on and what it returned, and otherwise is the network."""

    def __init__(self, network):
        self.network = network
        self.calls = []

    def __call__(self, images, **kwargs):
        output = self.network(images, **kwargs)
        self.calls.append((np.asarray(images), np.asarray(output)))
        return output

    def __getattr__(self, name):
        return getattr(self.network, name)


@pytest.mark.parametrize("mode", ["cyclegan", "tfgan"])
def test_a_discriminator_judges_the_pools_output_old_fakes_included(mode):
    """A pool of 2 fills in two steps; from then on the fake half of what d_cancer judges is this
    step's fake or, about half the time, one g_h2c made in an earlier step."""
    model = CycleGAN(tiny_config("train.pool_size=2", f"train.pool_mode={mode}", "train.update_order=joint"))
    g_h2c, d_cancer = Recording(model.networks[generator(H2C)]), Recording(model.networks[judge(H2C)])
    model.networks.update({generator(H2C): g_h2c, judge(H2C): d_cancer})
    rng = np.random.default_rng(1)
    shape = (1, *model.config.image_shape)
    fakes, old_ones = [], 0  # every step's fake cancer image, in order
    for _ in range(12):
        g_h2c.calls.clear()
        d_cancer.calls.clear()
        healthy, cancer = (rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(2))
        model.train_step((tf.constant(healthy), tf.constant(cancer)))
        [fake] = [output for images, output in g_h2c.calls if np.array_equal(images, healthy)]
        [judged] = [images for images, _ in d_cancer.calls if len(images) == 2]  # real and pooled, in one call
        np.testing.assert_array_equal(judged[:1], cancer)
        matches = [index for index, earlier in enumerate(fakes + [fake]) if np.allclose(judged[1:], earlier, atol=1e-6)]
        assert matches, "d_cancer judged a fake g_h2c never made"
        old_ones += matches[-1] < len(fakes)
        fakes.append(fake)
    assert 2 <= old_ones <= 9  # 10 queries of a full pool, each old with probability 1/2
