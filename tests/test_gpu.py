"""GPU-only checks (`pytest -m gpu`, which benchmarks/gpu_check.sh runs): instance norm on the GPU's
kernels in every precision, and an XLA step (float32 and bfloat16) on the GPU against the step
without XLA. Skipped where TensorFlow sees no GPU."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cyclegan.gan.model import CycleGAN
from cyclegan.nets.layers import InstanceNorm
from tests.helpers import sgd, tiny_config

GPUS = tf.config.list_physical_devices("GPU")
DEVICE = "GPU"  # the device kind the tests place work on and check
POLICIES = {"float32": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not GPUS, reason="needs a GPU that TensorFlow sees")]

# Largest relative error of a step's weight update against float32 without XLA: XLA alone only
# reorders float32 sums; bfloat16 keeps 8 significant bits (tests/test_precision.py measures
# 0.03-0.09 on the CPU).
UPDATE_TOLERANCE = {"off": 1e-3, "bfloat16": 0.15}
LOSS_TOLERANCE = {"off": 1e-4, "bfloat16": 2e-2}


@pytest.fixture
def exact_float32():
    """No TensorFloat-32 in GPU matmuls and convolutions while the test runs (it rounds float32 inputs to
    10 bits, with or without XLA, which would hide the differences these tests look for)."""
    before = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    yield
    tf.config.experimental.enable_tensor_float_32_execution(before)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("batch", [1, 3])
def test_instance_norm_on_the_gpu_matches_its_definition(dtype, batch):
    rng = np.random.default_rng(0)
    images = rng.normal(2.0, 3.0, (batch, 16, 12, 5)).astype(np.float32)
    layer = InstanceNorm(1e-5, dtype=POLICIES[dtype])  # computes in `dtype`, as under a mixed policy
    layer.build(images.shape)
    layer.gamma.assign(rng.uniform(0.5, 1.5, 5).astype(np.float32))
    layer.beta.assign(rng.normal(0, 1, 5).astype(np.float32))
    with tf.device(f"/{DEVICE}:0"):
        inputs = tf.cast(images, dtype)
        outputs = layer(inputs)
    assert DEVICE in outputs.device and outputs.dtype == dtype
    rounded = np.asarray(tf.cast(inputs, tf.float64))
    mean = rounded.mean(axis=(1, 2), keepdims=True)
    expected = (rounded - mean) / np.sqrt(rounded.var(axis=(1, 2), keepdims=True) + 1e-5)
    expected = expected * np.asarray(layer.gamma) + np.asarray(layer.beta)
    tolerance = 1e-5 if dtype == "float32" else 3e-2  # 16-bit outputs keep 8 (bfloat16) or 11 bits
    np.testing.assert_allclose(np.asarray(tf.cast(outputs, tf.float64)), expected, rtol=tolerance,
                               atol=tolerance * 4)


def _model(mode: str, jit: bool) -> CycleGAN:
    config = tiny_config("train.pool_size=0", "train.update_order=joint", f"train.mixed_precision={mode}",
                         "train.generator_lr=0.01", "train.discriminator_lr=0.01")
    model = CycleGAN(config, make_optimizer=sgd)
    model.compile(jit_compile=jit)
    return model


def _variables(model: CycleGAN):
    return model.generator_variables + model.discriminator_variables


@pytest.mark.parametrize("mode", ["off", "bfloat16"])
def test_xla_step_on_the_gpu_matches_the_float32_step_without_xla(mode, exact_float32):
    keras.utils.set_random_seed(0)
    reference, compiled = _model("off", jit=False), _model(mode, jit=True)
    for source, target in zip(_variables(reference), _variables(compiled)):
        target.assign(source)
    assert DEVICE in compiled.g_h2c.trainable_variables[0].value.device
    initial = [np.asarray(v) for v in _variables(reference)]
    rng = np.random.default_rng(0)
    batch = tf.data.Dataset.from_tensors(tuple(np.tanh(rng.normal(size=(2, 32, 32, 1))).astype(np.float32)
                                               for _ in range(2)))
    reference_logs = reference.fit(batch, verbose=0, shuffle=False).history
    compiled_logs = compiled.fit(batch, verbose=0, shuffle=False).history
    for name in ("generators/total", "generators/cycle_total", "d_healthy/total", "d_cancer/total"):
        assert np.isfinite(compiled_logs[name][0]), name
        assert compiled_logs[name][0] == pytest.approx(reference_logs[name][0], rel=LOSS_TOLERANCE[mode]), name
    expected = np.concatenate([(np.asarray(v) - w).ravel() for v, w in zip(_variables(reference), initial)])
    actual = np.concatenate([(np.asarray(v) - w).ravel() for v, w in zip(_variables(compiled), initial)])
    assert np.linalg.norm(expected) > 1e-4  # the step changed the weights
    assert np.linalg.norm(actual - expected) < UPDATE_TOLERANCE[mode] * np.linalg.norm(expected)
