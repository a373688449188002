"""The two instance-norm implementations agree, and the fastest one is measured once and cached."""

import json

import numpy as np
import pytest
import tensorflow as tf

from cyclegan.nets import instance_norm
from cyclegan.nets.layers import InstanceNorm


def _forward_backward(implementation, x, scale, offset, upstream):
    with tf.GradientTape() as tape:
        tape.watch((x, scale, offset))
        y = implementation(x, scale, offset, 1e-5)
    return (y, *tape.gradient(y, (x, scale, offset), output_gradients=upstream))


@pytest.mark.parametrize("batch", [1, 3])
def test_fused_and_moments_give_the_same_outputs_and_gradients(batch):
    rng = np.random.default_rng(batch)
    x = tf.constant(rng.normal(2.0, 3.0, (batch, 12, 10, 5)) * rng.uniform(0.01, 10, 5), tf.float32)
    scale = tf.constant(rng.uniform(0.5, 1.5, 5), tf.float32)
    offset = tf.constant(rng.normal(0, 1, 5), tf.float32)
    upstream = tf.constant(rng.normal(0, 1, x.shape), tf.float32)
    fused = _forward_backward(instance_norm.fused, x, scale, offset, upstream)
    moments = _forward_backward(instance_norm.moments, x, scale, offset, upstream)
    for name, a, b in zip(("output", "d_input", "d_scale", "d_offset"), fused, moments):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)
    per_sample = x.numpy()
    expected = (per_sample - per_sample.mean((1, 2), keepdims=True)) / np.sqrt(
        per_sample.var((1, 2), keepdims=True) + 1e-5) * scale.numpy() + offset.numpy()
    np.testing.assert_allclose(moments[0].numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_moments_computes_in_float32_and_returns_the_input_dtype(dtype):
    x = tf.cast(tf.random.stateless_normal((2, 8, 8, 3), (0, 1)) * 100 + 300, dtype)
    scale, offset = tf.ones((3,)), tf.zeros((3,))
    y = instance_norm.moments(x, scale, offset, 1e-5)
    assert y.dtype == dtype
    np.testing.assert_allclose(tf.cast(y, tf.float32).numpy(),
                               instance_norm.fused(x, scale, offset, 1e-5).numpy().astype(np.float32), atol=2e-2)


def test_the_layer_uses_the_implementation_it_names():
    x = tf.random.stateless_normal((2, 6, 6, 4), (5, 6))
    layers = {name: InstanceNorm(implementation=name) for name in instance_norm.IMPLEMENTATIONS}
    outputs = {name: layer(x).numpy() for name, layer in layers.items()}
    np.testing.assert_allclose(outputs["fused"], outputs["moments"], atol=1e-5)
    assert InstanceNorm.from_config(layers["moments"].get_config()).implementation == "moments"
    with pytest.raises(ValueError, match="`implementation` must be one of fused, moments"):
        InstanceNorm(implementation="cudnn")


@pytest.fixture
def fresh_choice(tmp_path, monkeypatch):
    """fastest() with an empty cache under tmp_path and no environment override."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(instance_norm.ENVIRONMENT_VARIABLE, raising=False)
    instance_norm.fastest.cache_clear()
    yield tmp_path / "breastgan-keras" / "instance_norm.json"
    instance_norm.fastest.cache_clear()


def test_the_fastest_implementation_is_measured_once_then_read_from_the_cache(fresh_choice, monkeypatch):
    timings = {"fused": 9.0, "moments": 4.0}
    measured = []
    monkeypatch.setattr(instance_norm, "time_implementations", lambda: measured.append(1) or dict(timings))
    first = instance_norm.fastest()
    assert first["implementation"] == "moments" and first["source"] == "measured" and first["ms"] == timings
    cached = json.loads(fresh_choice.read_text())
    assert cached[instance_norm.machine_key()]["implementation"] == "moments"

    instance_norm.fastest.cache_clear()
    timings.update(fused=1.0)  # a new measurement would now choose fused
    second = instance_norm.fastest()
    assert second["implementation"] == "moments" and second["source"] == "cache" and len(measured) == 1


def test_the_environment_overrides_the_measurement(fresh_choice, monkeypatch):
    monkeypatch.setattr(instance_norm, "time_implementations", lambda: pytest.fail("measured despite the override"))
    monkeypatch.setenv(instance_norm.ENVIRONMENT_VARIABLE, "moments")
    assert instance_norm.fastest() == {"implementation": "moments", "source": "environment", "ms": None, "key": None}
    instance_norm.fastest.cache_clear()
    monkeypatch.setenv(instance_norm.ENVIRONMENT_VARIABLE, "fast")
    with pytest.raises(ValueError, match="CYCLEGAN_INSTANCE_NORM='fast': choose one of fused, moments"):
        instance_norm.fastest()


def test_timing_reports_every_implementation_in_milliseconds():
    ms = instance_norm.time_implementations(shapes=((1, 8, 8, 4),), repeats=2)
    assert set(ms) == set(instance_norm.IMPLEMENTATIONS) and all(value > 0 for value in ms.values())
