"""Tests of cyclegan.nets.layers and cyclegan.nets.networks: the paper's exact parameter counts, the layers'
maths, output shapes, and the artefact options (spectral norm, ICNR, mixed precision)."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from cyclegan.config import config_from_dict
from cyclegan.nets.layers import ICNR, Conv, InstanceNorm, LeakyReLU, ReflectionPad2D, icnr
from cyclegan.nets.networks import PatchDiscriminator, ResnetGenerator, build_networks, count_params

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _shipped(name: str) -> dict:
    """The raw JSON of a shipped experiment config."""
    return json.loads((EXPERIMENTS / f"{name}.json").read_text())


EXP1 = _shipped("exp1")
EXP2 = _shipped("exp2")  # the run script's configuration: no masks, nn_upsample_conv, ICNR, spectral norm
EXP2_SCRIPT_DEFAULTS = _shipped("exp2_script_defaults")  # masks, 4x4 conv_transpose
SMALL = {"filters": 4, "residual_blocks": 1}  # a fast generator for behaviour tests


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(0)


def _config(raw, height=32, width=32, generator=None):
    """An experiment config from `raw`, at a small image size, with generator fields overridden."""
    raw = {**raw, "data": {**raw.get("data", {}), "height": height, "width": width},
           "generator": {**raw.get("generator", {}), **(generator or {})}}
    return config_from_dict(raw)


def _random(*shape):
    return np.random.default_rng(0).uniform(-1, 1, shape).astype("float32")


# (generator, discriminator) trainable parameters of every shipped config (docs/originals.md).
PARAMETER_COUNTS = {
    "exp1": (2_849_537, 2_764_481),
    "exp2": (11_370_881, 2_763_585),
    "exp2_conv_transpose": (11_657_409, 2_763_585),
    "exp2_script_defaults": (11_663_682, 2_764_609),
}


@pytest.mark.parametrize("name", sorted(path.stem for path in EXPERIMENTS.glob("*.json")))
def test_parameter_counts_match_the_original_networks(name):
    """Every experiments/*.json: a new config fails here until its counts are added above."""
    assert name in PARAMETER_COUNTS, f"experiments/{name}.json has no parameter counts in PARAMETER_COUNTS"
    generator_params, discriminator_params = PARAMETER_COUNTS[name]
    networks = build_networks(_config(_shipped(name)))
    assert [network.name for network in networks] == ["g_h2c", "g_c2h", "d_healthy", "d_cancer"]
    assert [count_params(network) for network in networks] == [generator_params] * 2 + [discriminator_params] * 2


def test_every_config_with_parameter_counts_is_shipped():
    assert sorted(PARAMETER_COUNTS) == sorted(path.stem for path in EXPERIMENTS.glob("*.json"))


def test_reflection_padding_equals_numpy():
    x = _random(2, 5, 6, 3)
    padded = ReflectionPad2D(2)(x)
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))


def test_leaky_relu_and_its_gradient_equal_tensorflows():
    x = tf.constant(np.concatenate([_random(50), [0.0, -0.0, 1e-30, -1e-30]]).astype("float32"))
    upstream = tf.constant(_random(54).astype("float32"))
    results = []
    for activate in (LeakyReLU(0.2), lambda inputs: tf.nn.leaky_relu(inputs, 0.2)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = activate(x)
        results.append((y.numpy(), tape.gradient(y, x, output_gradients=upstream).numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    with pytest.raises(ValueError, match="must be in \\(0, 1\\)"):
        LeakyReLU(0.0)


def test_instance_norm_normalises_each_sample_and_channel_separately():
    x = _random(2, 8, 6, 3) * np.array([1.0, 5.0, 0.1]) + np.array([[[[2.0, -3.0, 0.5]]], [[[0.0, 1.0, 9.0]]]])
    norm = InstanceNorm(epsilon=1e-5, scale_initializer="ones")
    y = keras.ops.convert_to_numpy(norm(x.astype("float32")))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.var(axis=(1, 2)), 1.0, atol=1e-2)

    changed = x.copy()
    changed[1] = changed[1] * 7 + 4
    changed[1, :, :, 0] = _random(8, 6)
    np.testing.assert_allclose(norm(changed.astype("float32"))[0], y[0], atol=1e-6)


def test_instance_norm_computes_in_float32_and_returns_the_input_dtype():
    x = _random(1, 8, 8, 2) * 100 + 300
    norm = InstanceNorm(dtype="mixed_float16")
    y = norm(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert keras.backend.standardize_dtype(norm.gamma.dtype) == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y).astype("float32"), InstanceNorm()(x), atol=1e-2)


def test_exp1_generator_output_is_tanh_of_input_plus_head():
    generator = ResnetGenerator(_config(EXP1, generator=SMALL).generator, channels=1)
    x = _random(1, 16, 12, 1)
    generator(x)
    head_conv = generator.head.layers[-1]
    head_conv.kernel.assign(np.zeros(head_conv.kernel.shape))
    head_conv.bias.assign(np.zeros(head_conv.bias.shape))
    np.testing.assert_allclose(generator(x), np.tanh(x), atol=1e-6)


@pytest.mark.parametrize("raw", [EXP1, EXP2, EXP2_SCRIPT_DEFAULTS], ids=["exp1", "exp2", "exp2_script_defaults"])
@pytest.mark.parametrize("upsample, kernel_size", [
    ("conv_transpose", 3), ("conv_transpose", 4), ("nn_upsample_conv", 3), ("bilinear_upsample_conv", 3)])
def test_output_shapes(raw, upsample, kernel_size):
    config = _config(raw, generator={**SMALL, "upsample": upsample, "transpose_kernel_size": kernel_size})
    x = _random(2, 32, 24, config.channels)
    generated = ResnetGenerator(config.generator, config.channels)(x)
    assert tuple(generated.shape) == x.shape and keras.backend.standardize_dtype(generated.dtype) == "float32"
    assert np.all(np.abs(keras.ops.convert_to_numpy(generated)) < 1)
    # discriminator sizes: 32 -> 17 -> 9 -> 5 -> 6 -> 7 and 24 -> 13 -> 7 -> 4 -> 5 -> 6
    assert tuple(PatchDiscriminator(config.discriminator, config.channels)(x).shape) == (2, 7, 6, 1)


@pytest.mark.parametrize("transpose", [False, True], ids=["conv", "conv_transpose"])
def test_spectral_norm_makes_the_applied_kernel_unit_norm_without_changing_the_variable(transpose):
    conv = Conv(8, 3, strides=2 if transpose else 1, padding="same", transpose=transpose, spectral_norm=True,
                kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0))
    x = _random(1, 6, 6, 5)
    conv(x)
    kernel, u = conv.kernel.numpy(), conv.u.numpy()
    conv(x, training=False)
    np.testing.assert_array_equal(conv.u.numpy(), u)
    for _ in range(50):
        conv(x, training=True)
    assert not np.allclose(conv.u.numpy(), u)
    np.testing.assert_array_equal(conv.kernel.numpy(), kernel)
    applied = keras.ops.convert_to_numpy(conv.applied_kernel())
    if transpose:
        applied = applied.transpose(0, 1, 3, 2)
    assert np.linalg.svd(applied.reshape(-1, 8), compute_uv=False)[0] == pytest.approx(1.0, rel=0.05)


def test_spectral_norm_updates_u_only_in_training_through_the_generator():
    config = _config(EXP2, height=16, width=16, generator=SMALL)
    generator = ResnetGenerator(config.generator, config.channels)
    x = _random(1, 16, 16, 1)
    generator(x)
    u_vectors = [w for w in generator.non_trainable_weights if "spectral_u" in w.path]
    assert len(u_vectors) == 1 + 2 + 2 + 2 + 1  # stem, down, one residual block, up, head
    before = [u.numpy() for u in u_vectors]
    generator(x, training=False)
    assert all(np.array_equal(u.numpy(), b) for u, b in zip(u_vectors, before))
    generator(x, training=True)
    assert not any(np.array_equal(u.numpy(), b) for u, b in zip(u_vectors, before))


def _phases(image):
    """The four polyphase components of (H, W, C): rows/columns even or odd, interior only."""
    return [image[r::2, c::2][1:-1, 1:-1] for r in (0, 1) for c in (0, 1)]


@pytest.mark.parametrize("kernel_size", [3, 4])
def test_icnr_transposed_conv_has_no_checkerboard_at_init(kernel_size):
    def upsample_constant(initializer):
        conv = Conv(6, kernel_size, strides=2, padding="same", transpose=True, kernel_initializer=initializer)
        return keras.ops.convert_to_numpy(conv(np.ones((1, 8, 8, 5), "float32")))[0]

    first, *others = _phases(upsample_constant(icnr("glorot_uniform", scale=2, transposed=True)))
    for phase in others:
        np.testing.assert_allclose(phase, first, atol=1e-5)
    first, *others = _phases(upsample_constant("glorot_uniform"))
    assert max(np.abs(phase - first).max() for phase in others) > 1e-2


@pytest.mark.parametrize("kernel_size", [3, 4])
def test_icnr_transposed_conv_is_a_nearest_upsampling_at_init(kernel_size):
    conv = Conv(3, kernel_size, strides=2, padding="same", transpose=True,
                kernel_initializer=icnr(scale=2, transposed=True))
    out = keras.ops.convert_to_numpy(conv(_random(1, 8, 8, 4)))[0, 2:-2, 2:-2]
    # 2x2 blocks of equal pixels, aligned with the grid or shifted by one pixel (k = 4 'same')
    offset = 0 if np.allclose(out[0], out[1]) else 1
    blocks = out[offset:offset + 10, offset:offset + 10]
    np.testing.assert_allclose(blocks, np.repeat(np.repeat(blocks[::2, ::2], 2, axis=0), 2, axis=1), atol=1e-6)


def test_icnr_conv_kernel_gives_equal_sub_pixel_channel_groups():
    kernel = keras.ops.convert_to_numpy(icnr()((3, 3, 4, 8)))
    for group in range(1, 4):
        np.testing.assert_array_equal(kernel[..., 2 * group:2 * group + 2], kernel[..., :2])
    assert not np.allclose(kernel[..., 0], kernel[..., 1])


def test_layers_and_initializer_round_trip_through_config():
    conv = Conv(4, 3, padding="same", kernel_initializer=icnr(transposed=True), transpose=True, spectral_norm=True)
    clone = Conv.from_config(conv.get_config())
    assert clone.get_config() == conv.get_config()
    assert isinstance(clone.kernel_initializer, ICNR) and clone.kernel_initializer.transposed
    norm = InstanceNorm(1e-3, keras.initializers.TruncatedNormal(1.0, 0.02))
    assert InstanceNorm.from_config(norm.get_config()).get_config() == norm.get_config()


def test_networks_output_float32_under_mixed_precision():
    config = _config(EXP2, height=16, width=16, generator=SMALL)
    x = _random(1, 16, 16, 1)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        generated = ResnetGenerator(config.generator, 1)(x, training=True)
        logits = PatchDiscriminator(config.discriminator, 1)(x, training=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for output in (generated, logits):
        assert keras.backend.standardize_dtype(output.dtype) == "float32"
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(output)))


@pytest.mark.parametrize("make, message", [
    (lambda: ReflectionPad2D(-1), "`padding` must be a non-negative integer"),
    (lambda: ReflectionPad2D(3)(np.zeros((1, 2, 8, 1), "float32")), "needs height > 3"),
    (lambda: Conv(0, 3), "`filters` must be a positive integer"),
    (lambda: Conv(8, 3, padding="full"), "`padding` must be one of same, valid"),
    (lambda: InstanceNorm(epsilon=0), "`epsilon` must be a positive number"),
    (lambda: icnr()((3, 3, 4, 6)), "divisible by scale"),
    (lambda: ResnetGenerator(_config(EXP1, generator=SMALL).generator, 1)(np.zeros((1, 30, 32, 1), "float32")),
     "multiples of 4"),
])
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("raw", [EXP1, EXP2], ids=["exp1", "exp2"])
def test_checkpoints_reach_every_weight_through_the_network_itself(raw):
    """Restoring a network alone (as translate does) must find every weight, not only those the
    optimizer happens to reference."""
    import tensorflow as tf

    for network in build_networks(_config(raw, generator={**SMALL, "residual_blocks": 2})):
        reachable = {id(node) for node in tf.train.TrackableView(network).descendants()}
        assert all(id(weight) in reachable for weight in network.weights), network.name
