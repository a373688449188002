"""Mixed precision: a bfloat16 / float16 step stays close to the float32 step; float16's loss
scaling skips an overflowing update but the step still counts; the float32 parts stay float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cyclegan.gan.model import CycleGAN
from tests.helpers import sgd, tiny_config

SGD_LEARNING_RATE = 0.01
# Largest relative error of a step's weight update (per network family) against float32: bfloat16
# keeps 8 significant bits, float16 11 (measured on this tiny model: about 0.03-0.09 and 0.01-0.03).
UPDATE_TOLERANCE = {"bfloat16": 0.15, "float16": 0.05}
FLOAT16_LOSS_SCALE = 2.0 ** 8  # low enough that no gradient of the tiny model overflows


def _batch():
    rng = np.random.default_rng(0)
    healthy, cancer = (np.tanh(rng.normal(size=(2, 32, 32, 1))).astype(np.float32) for _ in range(2))
    return tf.data.Dataset.from_tensors((healthy, cancer))


def _with_sgd(mode: str) -> CycleGAN:
    """A tiny model updated by plain SGD, loss-scaled for float16.

    Dynamic loss scaling starts at 2^15 and halves on every overflow, skipping that update; the
    scale is set low here so that the compared step is applied.
    """
    config = tiny_config("train.pool_size=0", "train.update_order=joint", f"train.mixed_precision={mode}",
                         f"train.generator_lr={SGD_LEARNING_RATE}", f"train.discriminator_lr={SGD_LEARNING_RATE}")
    model = CycleGAN(config, make_optimizer=sgd)
    if mode == "float16":
        for optimizer in model.optimizers.values():
            optimizer.dynamic_scale.assign(FLOAT16_LOSS_SCALE)
    model.compile(jit_compile=False)
    return model


def _variables(model: CycleGAN):
    return model.generator_variables + model.discriminator_variables


@pytest.mark.slow  # two models traced per mode: about 20 s each
@pytest.mark.parametrize("mode", ["bfloat16", "float16"])
def test_mixed_precision_step_stays_close_to_float32(mode):
    keras.utils.set_random_seed(0)
    reference = _with_sgd("off")
    mixed = _with_sgd(mode)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert mixed.g_h2c.encoder.layers[1].compute_dtype == mode
    for source, target in zip(_variables(reference), _variables(mixed)):
        target.assign(source)
    initial = [np.asarray(v) for v in _variables(reference)]

    reference_logs = reference.fit(_batch(), verbose=0, shuffle=False).history
    mixed_logs = mixed.fit(_batch(), verbose=0, shuffle=False).history
    for name in ("generators/total", "generators/cycle_total", "d_healthy/total", "d_cancer/total"):
        assert mixed_logs[name][0] == pytest.approx(reference_logs[name][0], rel=2e-2), name

    for networks in (slice(0, len(reference.generator_variables)), slice(len(reference.generator_variables), None)):
        expected = np.concatenate([(np.asarray(v) - w).ravel()
                                   for v, w in zip(_variables(reference)[networks], initial[networks])])
        actual = np.concatenate([(np.asarray(v) - w).ravel()
                                 for v, w in zip(_variables(mixed)[networks], initial[networks])])
        assert np.linalg.norm(expected) > 1e-4  # the step changed the weights
        assert np.linalg.norm(actual - expected) < UPDATE_TOLERANCE[mode] * np.linalg.norm(expected)


@pytest.mark.slow
def test_float16_overflow_skips_the_update_but_counts_the_step():
    model = CycleGAN(tiny_config("train.pool_size=0", "train.mixed_precision=float16"))
    model.compile(jit_compile=False)
    (optimizer,) = model.optimizers.values()  # exp1: one Adam for the four updates
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    optimizer.dynamic_scale.assign(2.0 ** 60)  # scaled float16 gradients overflow
    before = [np.asarray(v) for v in _variables(model)]
    model.fit(_batch(), verbose=0, shuffle=False)
    assert int(model.step) == 1 and int(optimizer.iterations) == 0  # Adam's counter counts applied updates
    assert float(optimizer.dynamic_scale) == 2.0 ** 56  # halved by each of the four updates
    for variable, value in zip(_variables(model), before):
        np.testing.assert_array_equal(np.asarray(variable), value)


def test_generator_skip_and_tanh_see_the_float32_input():
    model = CycleGAN(tiny_config("train.mixed_precision=bfloat16"))
    for weight in model.g_h2c.head.weights:
        weight.assign(np.zeros(weight.shape, np.float32))  # output = tanh(input + 0)
    images = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32)
    translated = model.g_h2c(images)
    assert translated.dtype == tf.float32 and model.d_cancer(images).dtype == tf.float32
    np.testing.assert_allclose(np.asarray(translated), np.tanh(images), rtol=1e-6, atol=1e-7)
