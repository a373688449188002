"""A plain Keras 3 CycleGAN training step: the yardstick that `bench --compare-plain` times the
project's step against.

It is the step most people would write from the Keras documentation, with nothing tuned:

- the networks are plain functional copies of cyclegan/nets/networks.py's (same layers, shapes, kernel
  sizes, strides, paddings, biases and activations, so the same FLOPs), built from stock Keras
  layers: `Conv2D`, `Conv2DTranspose`, `ZeroPadding2D`, `UpSampling2D`, `LeakyReLU`, `ReLU`, and
  `GroupNormalization(groups=-1)` as instance norm (one group per channel: per-sample, per-channel
  statistics over height and width, then a per-channel scale and offset). The only non-stock layer
  is a reflect pad (`ops.pad(..., mode="reflect")`), which Keras lacks; spectral norm, where a
  config asks for it, is Keras' `SpectralNormalization` wrapper;
- one persistent `tf.GradientTape` records the whole step: both generators' translations and
  reconstructions, the LSGAN and cycle (+ identity) losses as the config weighs them, and both
  discriminators on real images and on the (stop-gradient) fakes; then the generators and the
  discriminators are updated once each, by Keras' `Adam` with the config's rates and betas. This
  is the project's `train.update_order=joint` work, pass for pass: the discriminators judge the
  fakes in a separate pass for their own loss, as the project's step must (it feeds them through
  the pool), so both steps do the same arithmetic;
- no history pool, no learning-rate schedule (the config's rates are constant until the decay
  starts), no distribution strategy, no NaN guard;
- the step is one `tf.function`, compiled by XLA when `train.jit_compile` is set; the networks are
  built under the config's `train.mixed_precision` policy (float16 adds Keras' loss scaling).

`PlainCycleGAN(config, networks)` copies the trainable weights of the project's networks
(g_h2c, g_c2h, d_healthy, d_cancer) when given them, so both steps start from the same weights.

    step = PlainCycleGAN(config)
    losses = step.train_step(healthy, cancer)   # dict of float32 scalars
"""

from __future__ import annotations

import time

import keras
import tensorflow as tf
from keras import layers, ops

WEIGHT_STDDEV = 0.02
LEAKY_SLOPE = 0.2
POLICIES = {"off": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


class ReflectPad(layers.Layer):
    """Reflect-pad height and width by `amount` pixels."""

    def __init__(self, amount: int, **kwargs):
        super().__init__(**kwargs)
        self.amount = amount

    def call(self, x):
        p = self.amount
        return ops.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")


def _initializer(name: str):
    if name == "truncated_normal":
        return keras.initializers.TruncatedNormal(0.0, WEIGHT_STDDEV)
    if name == "normal":
        return keras.initializers.RandomNormal(0.0, WEIGHT_STDDEV)
    return keras.initializers.GlorotUniform()


def _pad(x, mode: str, amount: int):
    return layers.ZeroPadding2D(amount)(x) if mode == "zero" else ReflectPad(amount)(x)


def _activate(x, name: str | None):
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=LEAKY_SLOPE)(x)
    if name == "relu":
        return layers.ReLU()(x)
    return x


def _conv(x, net, filters: int, kernel: int, *, strides: int = 1, pad: int = 0, padding: str = "valid",
          norm: bool = True, activation: str | None = None, transpose: bool = False, init: str | None = None):
    """[pad] -> Conv2D / Conv2DTranspose -> [GroupNormalization(groups=-1)] -> [activation]."""
    if pad:
        x = _pad(x, net.padding, pad)
    kind = layers.Conv2DTranspose if transpose else layers.Conv2D
    conv = kind(filters, kernel, strides=strides, padding=padding,
                use_bias=net.conv_bias == "always" or not norm,
                kernel_initializer=_initializer(init or net.kernel_init))
    if net.spectral_norm:
        conv = layers.SpectralNormalization(conv)
    x = conv(x)
    if norm:
        gamma = (keras.initializers.TruncatedNormal(1.0, WEIGHT_STDDEV) if net.norm_scale_init == "truncated_normal"
                 else "ones")
        x = layers.GroupNormalization(groups=-1, epsilon=net.norm_epsilon, gamma_initializer=gamma)(x)
    return _activate(x, activation)


def plain_generator(config, name: str) -> keras.Model:
    """ResNet generator of `config.generator`, as a functional model of stock layers."""
    g, f = config.generator, config.generator.filters
    inputs = keras.Input(config.image_shape)
    x = _conv(inputs, g, f, 7, pad=3, activation=g.activation)
    for filters in (2 * f, 4 * f):
        if g.padding == "zero":
            x = _conv(x, g, filters, 3, strides=2, padding="same", activation=g.activation)
        else:
            x = _conv(x, g, filters, 3, strides=2, pad=1, activation=g.activation)
    for _ in range(g.residual_blocks):
        y = _conv(x, g, 4 * f, 3, pad=1, activation=g.activation)
        y = _conv(y, g, 4 * f, 3, pad=1)
        x = layers.Add()([x, y])
        if g.residual_activation == "relu":
            x = layers.ReLU()(x)
    init = "glorot_uniform" if g.transpose_init == "glorot_uniform" else g.kernel_init
    for filters in (2 * f, f):
        if g.upsample == "conv_transpose":
            x = _conv(x, g, filters, g.transpose_kernel_size, strides=2, padding="same", norm=g.transpose_norm,
                      activation=g.activation, transpose=True, init=init)
        else:
            interpolation = "nearest" if g.upsample == "nn_upsample_conv" else "bilinear"
            x = layers.UpSampling2D(2, interpolation=interpolation)(x)
            x = _conv(x, g, filters, 3, pad=1, activation=g.activation, init=init)
    if g.padding == "zero":
        x = _conv(x, g, config.channels, 7, padding="same", norm=False)
    else:
        x = _conv(x, g, config.channels, 7, pad=3, norm=False)
    logits = layers.Activation("linear", dtype="float32")(x)
    if g.input_skip:
        logits = layers.Add(dtype="float32")([logits, inputs])
    return keras.Model(inputs, layers.Activation("tanh", dtype="float32")(logits), name=name)


def plain_discriminator(config, name: str) -> keras.Model:
    """PatchGAN discriminator of `config.discriminator`: raw float32 patch logits."""
    d, f = config.discriminator, config.discriminator.filters
    inputs = keras.Input(config.image_shape)
    x = _conv(inputs, d, f, 4, strides=2, pad=2, norm=False, activation="leaky_relu")
    x = _conv(x, d, 2 * f, 4, strides=2, pad=2, activation="leaky_relu")
    x = _conv(x, d, 4 * f, 4, strides=2, pad=2, activation="leaky_relu")
    x = _conv(x, d, 8 * f, 4, pad=2, activation="leaky_relu")
    x = _conv(x, d, 1, 4, pad=2, norm=False)
    return keras.Model(inputs, layers.Activation("linear", dtype="float32")(x), name=name)


def _mean_square(x, target: float):
    return tf.reduce_mean(tf.square(tf.cast(x, tf.float32) - target))


def _mean_absolute(x, y):
    return tf.reduce_mean(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))


class PlainCycleGAN:
    """Four plain networks, two Adams and one compiled joint training step (see the module docstring)."""

    def __init__(self, config, networks=None):
        self.config = config
        train = config.train
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(POLICIES[train.mixed_precision])
        try:
            self.g_h2c, self.g_c2h = plain_generator(config, "g_h2c"), plain_generator(config, "g_c2h")
            self.d_healthy = plain_discriminator(config, "d_healthy")
            self.d_cancer = plain_discriminator(config, "d_cancer")
        finally:
            keras.config.set_dtype_policy(previous)
        if networks is not None:
            for plain, theirs in zip((self.g_h2c, self.g_c2h, self.d_healthy, self.d_cancer), networks):
                copy_weights(theirs, plain)
        self.g_variables = self.g_h2c.trainable_variables + self.g_c2h.trainable_variables
        self.d_variables = self.d_healthy.trainable_variables + self.d_cancer.trainable_variables
        self.g_optimizer = self._adam(train.generator_lr, "plain_g_adam")
        self.d_optimizer = self._adam(train.discriminator_lr, "plain_d_adam")
        self.g_optimizer.build(self.g_variables)
        self.d_optimizer.build(self.d_variables)
        self.train_step = tf.function(self._train_step, jit_compile=bool(train.jit_compile))

    def _adam(self, rate: float, name: str) -> keras.optimizers.Optimizer:
        train = self.config.train
        adam = keras.optimizers.Adam(rate, beta_1=train.beta_1, beta_2=train.beta_2, epsilon=train.adam_epsilon,
                                     name=name)
        if train.mixed_precision == "float16":
            return keras.optimizers.LossScaleOptimizer(adam, name=f"{name}_loss_scale")
        return adam

    def _scaled(self, optimizer, loss):
        return optimizer.scale_loss(loss) if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else loss

    def _combine(self, healthy_term, cancer_term):
        total = healthy_term + cancer_term
        return total if self.config.loss.cycle_reduction == "sum" else total / 2.0

    def _train_step(self, healthy, cancer):
        loss = self.config.loss
        with tf.GradientTape(persistent=True) as tape:
            fake_cancer = self.g_h2c(healthy, training=True)
            cycled_healthy = self.g_c2h(fake_cancer, training=True)
            fake_healthy = self.g_c2h(cancer, training=True)
            cycled_cancer = self.g_h2c(fake_healthy, training=True)
            cycle = self._combine(_mean_absolute(healthy, cycled_healthy), _mean_absolute(cancer, cycled_cancer))
            if loss.identity_weight:
                cycle += loss.identity_weight * self._combine(_mean_absolute(healthy, fake_cancer),
                                                              _mean_absolute(cancer, fake_healthy))
            adversarial = loss.generator_adversarial_weight * (
                _mean_square(self.d_cancer(fake_cancer, training=True), 1.0)
                + _mean_square(self.d_healthy(fake_healthy, training=True), 1.0))
            g_total = loss.cycle_weight * cycle + adversarial
            d_cancer = (loss.discriminator_real_weight * _mean_square(self.d_cancer(cancer, training=True), 1.0)
                        + loss.discriminator_fake_weight
                        * _mean_square(self.d_cancer(tf.stop_gradient(fake_cancer), training=True), 0.0))
            d_healthy = (loss.discriminator_real_weight * _mean_square(self.d_healthy(healthy, training=True), 1.0)
                         + loss.discriminator_fake_weight
                         * _mean_square(self.d_healthy(tf.stop_gradient(fake_healthy), training=True), 0.0))
            d_total = d_cancer + d_healthy
            g_scaled = self._scaled(self.g_optimizer, g_total)
            d_scaled = self._scaled(self.d_optimizer, d_total)
        g_gradients = tape.gradient(g_scaled, self.g_variables)
        d_gradients = tape.gradient(d_scaled, self.d_variables)
        del tape
        self.g_optimizer.apply(g_gradients, self.g_variables)
        self.d_optimizer.apply(d_gradients, self.d_variables)
        return {"generators/total": g_total, "generators/adversarial": adversarial,
                "d_cancer/total": d_cancer, "d_healthy/total": d_healthy}

    def step_seconds(self, healthy, cancer, steps: int, warmup: int) -> list[float]:
        """Seconds of each of `steps` steps after `warmup` untimed ones; each waits for its losses."""
        healthy, cancer = tf.convert_to_tensor(healthy), tf.convert_to_tensor(cancer)
        for _ in range(warmup):
            float(self.train_step(healthy, cancer)["generators/total"])
        seconds = []
        for _ in range(steps):
            start = time.perf_counter()
            float(self.train_step(healthy, cancer)["generators/total"])
            seconds.append(time.perf_counter() - start)
        return seconds


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Assign `source`'s trainable weights to `target`'s, in order; their shapes must match."""
    theirs, ours = source.trainable_weights, target.trainable_weights
    if len(theirs) != len(ours):
        raise ValueError(f"{target.name}: {len(ours)} trainable weights, the source has {len(theirs)}")
    for mine, other in zip(ours, theirs):
        if tuple(mine.shape) != tuple(other.shape):
            raise ValueError(f"{target.name}: weight {mine.path} is {tuple(mine.shape)}, the source's "
                             f"{other.path} is {tuple(other.shape)}")
        mine.assign(ops.cast(other, mine.dtype))
