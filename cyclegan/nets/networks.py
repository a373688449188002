"""The CycleGAN networks: a ResNet generator and a PatchGAN discriminator.

One class each, configured by `GeneratorConfig` / `DiscriminatorConfig` (cyclegan.config) to build
experiment 1's or experiment 2's networks (models/breast_cycle_gan_graph.py in BreastGAN/experiment1;
models/breast_cycle_gan/generator.py and discriminator.py in BreastGAN/experiment2). Inputs are
NHWC float tensors in [-1, 1].
Outputs are float32 whatever the dtype policy: the generator's tanh and the discriminator's logits
are computed in float32, so the networks work under a mixed precision policy. The two network
classes themselves always use the float32 policy (their layers take the global one), so their
inputs reach the generator's input skip unrounded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import partial

import keras
from keras import layers, ops

from cyclegan.config import ConvConfig, DiscriminatorConfig, ExperimentConfig, GeneratorConfig, variant_table
from cyclegan.domains import DIRECTIONS, DOMAINS, discriminator, generator
from cyclegan.nets.layers import Conv, InstanceNorm, LeakyReLU, ReflectionPad2D, icnr

WEIGHT_STDDEV = 0.02  # std of the normal / truncated normal conv weights and of the IN scale
LEAKY_RELU_SLOPE = 0.2


@dataclasses.dataclass(frozen=True)
class Padding:
    """A padding mode: its pad layer (pads H and W by n pixels on every side), and whether the
    generator's downsampling and head convs use TensorFlow's 'same' padding (experiment 1's code)
    instead of that pad + 'valid'."""

    pad: Callable[[int], keras.layers.Layer]
    same_convs: bool


# The variants a network config chooses from, by the names config.CHOICES gives them. Factories
# build a fresh object per call (an unseeded Keras initializer gives equal values on every call).
PAD_MODES = variant_table("generator.padding", {
    "zero": Padding(layers.ZeroPadding2D, same_convs=True),
    "reflect": Padding(ReflectionPad2D, same_convs=False),
})
KERNEL_INITIALIZERS = variant_table("generator.kernel_init", {
    "truncated_normal": lambda: keras.initializers.TruncatedNormal(0.0, WEIGHT_STDDEV),
    "normal": lambda: keras.initializers.RandomNormal(0.0, WEIGHT_STDDEV),
})
NORM_SCALE_INITIALIZERS = variant_table("generator.norm_scale_init", {
    "truncated_normal": lambda: keras.initializers.TruncatedNormal(1.0, WEIGHT_STDDEV),
    "ones": keras.initializers.Ones,
})
CONV_BIASES = variant_table("generator.conv_bias", {  # whether a conv has a bias, given whether a norm follows it
    "always": lambda normalised: True,
    "unnormalised": lambda normalised: not normalised,
})
ACTIVATIONS = variant_table("generator.activation", {
    "leaky_relu": lambda: LeakyReLU(LEAKY_RELU_SLOPE),
    "relu": layers.ReLU,
})
RESIDUAL_ACTIVATIONS = variant_table("generator.residual_activation", {  # applied to block + input, or nothing
    "relu": layers.ReLU,
    "none": None,
})
UPSAMPLING_INITIALIZERS = variant_table("generator.transpose_init", {  # the upsampling convs' kernel initializer
    "network": lambda config: KERNEL_INITIALIZERS[config.kernel_init](),
    "glorot_uniform": lambda config: keras.initializers.GlorotUniform(),
})


def _conv_unit(config: ConvConfig, filters: int, kernel_size: int, *,
               strides: int = 1, pad: int = 0, padding: str = "valid", norm: bool = True,
               activation: str | None = None, transpose: bool = False,
               kernel_initializer: keras.initializers.Initializer | None = None) -> list[keras.layers.Layer]:
    """[pad] -> conv -> [instance norm] -> [activation], with the network-wide settings of `config`."""
    unit = [PAD_MODES[config.padding].pad(pad)] if pad else []
    unit.append(Conv(
        filters, kernel_size, strides, padding,
        use_bias=CONV_BIASES[config.conv_bias](norm),
        kernel_initializer=kernel_initializer or KERNEL_INITIALIZERS[config.kernel_init](),
        transpose=transpose, spectral_norm=config.spectral_norm))
    if norm:
        unit.append(InstanceNorm(config.norm_epsilon, NORM_SCALE_INITIALIZERS[config.norm_scale_init]()))
    if activation:
        unit.append(ACTIVATIONS[activation]())
    return unit


def _size_keeping_conv(config: GeneratorConfig, filters: int, kernel_size: int, **options) -> list[keras.layers.Layer]:
    """A conv unit whose output is (H / strides, W / strides): 'same' where the padding mode says so
    (PAD_MODES), else a pad of kernel_size // 2 and 'valid'."""
    if PAD_MODES[config.padding].same_convs:
        return _conv_unit(config, filters, kernel_size, padding="same", **options)
    return _conv_unit(config, filters, kernel_size, pad=kernel_size // 2, **options)


def _downsample(config: GeneratorConfig, filters: int) -> list[keras.layers.Layer]:
    """3x3 stride-2 conv, IN, activation. (H, W) -> (H/2, W/2)."""
    return _size_keeping_conv(config, filters, 3, strides=2, activation=config.activation)


def _upsampling_initializer(config: GeneratorConfig, transposed: bool) -> keras.initializers.Initializer:
    """The kernel initializer of an upsampling conv: transpose_init's, through ICNR (scale 2) when config.icnr."""
    initializer = UPSAMPLING_INITIALIZERS[config.transpose_init](config)
    return icnr(initializer, scale=2, transposed=transposed) if config.icnr else initializer


def _transposed_conv_upsample(config: GeneratorConfig, filters: int) -> list[keras.layers.Layer]:
    """Transposed conv (transpose_kernel_size, stride 2, 'same'), then IN if transpose_norm (else a
    bias), then the activation. (H, W) -> (2H, 2W)."""
    return _conv_unit(config, filters, config.transpose_kernel_size, strides=2, padding="same",
                      norm=config.transpose_norm, activation=config.activation, transpose=True,
                      kernel_initializer=_upsampling_initializer(config, transposed=True))


def _resize_conv_upsample(interpolation: str, config: GeneratorConfig, filters: int) -> list[keras.layers.Layer]:
    """Resize x2 by `interpolation`, pad 1, 3x3 'valid' conv, IN, activation. (H, W) -> (2H, 2W)."""
    initializer = _upsampling_initializer(config, transposed=False)
    return [layers.UpSampling2D(2, interpolation=interpolation)] + _conv_unit(
        config, filters, 3, pad=1, activation=config.activation, kernel_initializer=initializer)


UPSAMPLERS = variant_table("generator.upsample", {  # (config, filters) -> the layers of one x2 upsampling
    "conv_transpose": _transposed_conv_upsample,
    "nn_upsample_conv": partial(_resize_conv_upsample, "nearest"),
    "bilinear_upsample_conv": partial(_resize_conv_upsample, "bilinear"),
})


@keras.saving.register_keras_serializable(package="cyclegan")
class ResidualBlock(keras.layers.Layer):
    """[pad 1, conv 3x3, IN, activation, pad 1, conv 3x3, IN] + input, then config.residual_activation
    (RESIDUAL_ACTIVATIONS). Input and output (B, H, W, filters)."""

    def __init__(self, config: GeneratorConfig, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.filters = filters
        self.body = keras.Sequential(
            _conv_unit(config, filters, 3, pad=1, activation=config.activation)
            + _conv_unit(config, filters, 3, pad=1), name="body")
        make_activation = RESIDUAL_ACTIVATIONS[config.residual_activation]
        self.output_activation = make_activation() if make_activation else None

    def call(self, inputs, training=None):
        outputs = inputs + self.body(inputs, training=training)
        return self.output_activation(outputs) if self.output_activation else outputs

    def get_config(self):
        return {**super().get_config(), "config": dataclasses.asdict(self.config), "filters": self.filters}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(GeneratorConfig(**config.pop("config")), **config)


@keras.saving.register_keras_serializable(package="cyclegan")
class ResnetGenerator(keras.Model):
    """ResNet CycleGAN generator: (B, H, W, channels) in [-1, 1] -> same shape, float32, in (-1, 1).

    H and W must be multiples of 4. With f = config.filters:
    stem 7x7 conv -> f; two stride-2 downsamplings -> 2f, 4f; config.residual_blocks residual
    blocks at 4f; two x2 upsamplings -> 2f, f; head 7x7 conv -> channels (bias, no norm); then
    tanh(input + head) if config.input_skip else tanh(head). Zero padding mode uses zero pads
    (stem, residual, resize-conv) and TensorFlow 'same' convs (down, head); reflect mode uses
    reflect pads and 'valid' convs everywhere. Transposed convs are always 'same'.
    """

    def __init__(self, config: GeneratorConfig, channels: int, name: str = "generator", **kwargs):
        super().__init__(name=name, **{"dtype": "float32", **kwargs})
        if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
            raise ValueError(f"ResnetGenerator: `channels` must be a positive integer; got {channels!r}")
        self.config = config
        self.channels = channels
        f = config.filters
        self.encoder = keras.Sequential(
            _conv_unit(config, f, 7, pad=3, activation=config.activation)
            + _downsample(config, 2 * f) + _downsample(config, 4 * f), name="encoder")
        blocks = [ResidualBlock(config, 4 * f, name=f"residual_block_{i}") for i in range(config.residual_blocks)]
        # A Sequential (not a list) so that checkpoints reach the blocks through the generator itself.
        self.residual_blocks = keras.Sequential(blocks or [layers.Identity()], name="residual_blocks")
        upsample = UPSAMPLERS[config.upsample]
        self.decoder = keras.Sequential(upsample(config, 2 * f) + upsample(config, f), name="decoder")
        self.head = keras.Sequential(_size_keeping_conv(config, channels, 7, norm=False), name="head")

    def call(self, inputs, training=None):
        height, width = inputs.shape[1], inputs.shape[2]
        if (height is not None and height % 4) or (width is not None and width % 4):
            raise ValueError(f"ResnetGenerator: height and width must be multiples of 4; got {height}x{width}")
        net = self.encoder(inputs, training=training)
        net = self.residual_blocks(net, training=training)
        net = self.decoder(net, training=training)
        logits = ops.cast(self.head(net, training=training), "float32")
        if self.config.input_skip:
            logits = logits + ops.cast(inputs, "float32")
        return ops.tanh(logits)

    def get_config(self):
        return {"config": dataclasses.asdict(self.config), "channels": self.channels, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(GeneratorConfig(**config.pop("config")), **config)


@keras.saving.register_keras_serializable(package="cyclegan")
class PatchDiscriminator(keras.Model):
    """PatchGAN discriminator: (B, H, W, channels) -> raw float32 patch logits (B, h, w, 1).

    Five 4x4 'valid' convs, each after a pad of 2 (zero or reflect by config.padding), with
    filters f, 2f, 4f, 8f, 1 (f = config.filters) and strides 2, 2, 2, 1, 1; instance norm on the
    middle three; LeakyReLU(0.2) after the first four; no output activation.
    Sizes along the way: H -> H/2 + 1 -> ... (256 -> 129 -> 65 -> 33 -> 34 -> 35).
    """

    def __init__(self, config: DiscriminatorConfig, channels: int, name: str = "discriminator", **kwargs):
        super().__init__(name=name, **{"dtype": "float32", **kwargs})
        if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
            raise ValueError(f"PatchDiscriminator: `channels` must be a positive integer; got {channels!r}")
        self.config = config
        self.channels = channels
        f = config.filters
        self.body = keras.Sequential(
            _conv_unit(config, f, 4, strides=2, pad=2, norm=False, activation="leaky_relu")
            + _conv_unit(config, 2 * f, 4, strides=2, pad=2, activation="leaky_relu")
            + _conv_unit(config, 4 * f, 4, strides=2, pad=2, activation="leaky_relu")
            + _conv_unit(config, 8 * f, 4, pad=2, activation="leaky_relu")
            + _conv_unit(config, 1, 4, pad=2, norm=False), name="body")

    def call(self, inputs, training=None):
        return ops.cast(self.body(inputs, training=training), "float32")

    def get_config(self):
        return {"config": dataclasses.asdict(self.config), "channels": self.channels, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(DiscriminatorConfig(**config.pop("config")), **config)


def build_generators(config: ExperimentConfig) -> tuple[ResnetGenerator, ResnetGenerator]:
    """(g_h2c, g_c2h), each built by a call on a zeros batch of config.image_shape."""
    return _built(_generators(config), config)


def build_networks(config: ExperimentConfig) -> tuple[ResnetGenerator, ResnetGenerator,
                                                      PatchDiscriminator, PatchDiscriminator]:
    """(g_h2c, g_c2h, d_healthy, d_cancer), each built by a call on a zeros batch of config.image_shape.

    d_healthy judges domain A (healthy) images, d_cancer domain B (cancer) images. All four are made
    before any is built, so a seed gives the weights it always gave.
    """
    generators = _generators(config)
    discriminators = tuple(PatchDiscriminator(config.discriminator, config.channels, name=discriminator(domain))
                           for domain in DOMAINS)
    return _built((*generators, *discriminators), config)


def _generators(config: ExperimentConfig) -> tuple[ResnetGenerator, ResnetGenerator]:
    """(g_h2c, g_c2h), not built yet."""
    return tuple(ResnetGenerator(config.generator, config.channels, name=generator(direction))
                 for direction in DIRECTIONS)


def _built(networks: tuple, config: ExperimentConfig) -> tuple:
    zeros = ops.zeros((1, *config.image_shape))
    for network in networks:
        network(zeros)
    return networks


def count_params(model: keras.Model) -> int:
    """Number of trainable parameters (spectral norm's u vectors are not trainable)."""
    return sum(math.prod(weight.shape) for weight in model.trainable_weights)
