"""Small Keras 3 layers the CycleGAN networks are built from.

All tensors are NHWC (batch, height, width, channels). Weights are float32; under a mixed
precision policy the layers compute in the policy's compute dtype, except where stated.

- `ReflectionPad2D`: reflect-pad height and width.
- `LeakyReLU`: max(x, slope * x), differentiated from its output.
- `InstanceNorm`: per-sample, per-channel normalisation with a learned scale and offset.
- `Conv`: 2-D convolution or transposed convolution, optional bias, optional spectral norm.
- `ICNR` / `icnr`: checkerboard-free initialisation of kernels that feed a x2 upsampling.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from cyclegan.nets import instance_norm

CONV_PADDINGS = ("same", "valid")


def _check_positive_int(layer: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: `{name}` must be a positive integer; got {value!r}")


def _check_bool(layer: str, name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{layer}: `{name}` must be True or False; got {value!r}")


def _l2_normalize(x):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x)), 1e-12))


@keras.saving.register_keras_serializable(package="cyclegan")
class ReflectionPad2D(keras.layers.Layer):
    """Reflect-pad height and width by `padding` pixels on every side (edge pixel not repeated).

    Input (B, H, W, C) -> output (B, H + 2p, W + 2p, C); needs p < H and p < W.
    """

    def __init__(self, padding: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"ReflectionPad2D: `padding` must be a non-negative integer; got {padding!r}")
        self.padding = padding

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"ReflectionPad2D expects NHWC input of rank 4; got shape {input_shape}")
        for axis, size in (("height", input_shape[1]), ("width", input_shape[2])):
            if size is not None and size <= self.padding:
                raise ValueError(
                    f"ReflectionPad2D: reflect padding by {self.padding} needs {axis} > {self.padding}; "
                    f"got {axis} {size}")

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        added = 2 * self.padding
        return (batch, None if height is None else height + added, None if width is None else width + added, channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="cyclegan")
class LeakyReLU(keras.layers.Layer):
    """y = max(x, slope * x), 0 < slope < 1, with the gradient computed from y instead of x (exact:
    y and x share their sign). TensorFlow's own gradient reads x, which a convolution fused with its
    bias and this activation (grappler's remapper) no longer produces; the remapper pass then fails
    and its fusions are dropped for the whole graph. Input and output of any shape and float dtype.
    """

    def __init__(self, negative_slope: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) \
                or not 0 < negative_slope < 1:
            raise ValueError(f"LeakyReLU: `negative_slope` must be in (0, 1); got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        slope = self.negative_slope

        @tf.custom_gradient
        def activate(x):
            y = tf.nn.leaky_relu(x, slope)
            return y, lambda dy: tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=slope)

        return activate(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@keras.saving.register_keras_serializable(package="cyclegan")
class InstanceNorm(keras.layers.Layer):
    """Instance normalisation: each sample's each channel normalised over H and W, then scaled and shifted.

    y = (x - mean_hw) / sqrt(var_hw + epsilon) * gamma + beta, gamma and beta of shape (C,)
    (beta starts at 0), var_hw the biased variance, computed in float32; the output has the
    input's dtype. Input and output (B, H, W, C). `implementation` names one of
    instance_norm.IMPLEMENTATIONS ("fused", "moments"; equal to float tolerance); None (the
    default) takes the one `instance_norm.fastest()` found fastest on this machine.
    """

    def __init__(self, epsilon: float = 1e-5, scale_initializer="ones", implementation: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ValueError(f"InstanceNorm: `epsilon` must be a positive number; got {epsilon!r}")
        if implementation is not None and implementation not in instance_norm.IMPLEMENTATIONS:
            raise ValueError(f"InstanceNorm: `implementation` must be one of "
                             f"{', '.join(instance_norm.IMPLEMENTATIONS)} or None; got {implementation!r}")
        self.epsilon = float(epsilon)
        self.scale_initializer = keras.initializers.get(scale_initializer)
        self.implementation = implementation

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"InstanceNorm expects NHWC input with known channels; got shape {input_shape}")
        channels = (input_shape[-1],)
        self.gamma = self.add_weight(
            name="gamma", shape=channels, initializer=self.scale_initializer, autocast=False)
        self.beta = self.add_weight(name="beta", shape=channels, initializer="zeros", autocast=False)

    def call(self, inputs):
        implementation = self.implementation or instance_norm.fastest()["implementation"]
        return instance_norm.IMPLEMENTATIONS[implementation](inputs, self.gamma, self.beta, self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "scale_initializer": keras.initializers.serialize(self.scale_initializer),
            "implementation": self.implementation,
        }


@keras.saving.register_keras_serializable(package="cyclegan")
class Conv(keras.layers.Layer):
    """2-D convolution (or transposed convolution) with a square kernel, optional bias and spectral norm.

    Input (B, H, W, C_in) -> output (B, H', W', filters), with k = kernel_size and s = strides:
    convolution 'same': H' = ceil(H / s); 'valid': H' = (H - k) // s + 1;
    transposed 'same': H' = H * s; transposed 'valid': H' = (H - 1) * s + max(k, s).
    'same' follows TensorFlow: any odd padding pixel goes to the bottom/right.

    The kernel variable has shape (k, k, C_in, filters), or (k, k, filters, C_in) when transposed;
    the bias (filters,) starts at 0. With `spectral_norm`, the kernel is reshaped to a matrix W of
    shape (k * k * C_in, filters) (output channels last, for either layout), its largest singular
    value sigma is estimated by one power iteration from a non-trainable vector u of shape
    (1, filters), and the layer applies kernel / sigma; the kernel variable is never overwritten and
    u is updated only when called with training=True. Sigma is computed in float32.
    """

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, padding: str = "valid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform", transpose: bool = False,
                 spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("Conv", "filters", filters)
        _check_positive_int("Conv", "kernel_size", kernel_size)
        _check_positive_int("Conv", "strides", strides)
        if padding not in CONV_PADDINGS:
            raise ValueError(f"Conv: `padding` must be one of {', '.join(CONV_PADDINGS)}; got {padding!r}")
        for name, value in (("use_bias", use_bias), ("transpose", transpose), ("spectral_norm", spectral_norm)):
            _check_bool("Conv", name, value)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.transpose = transpose
        self.spectral_norm = spectral_norm

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"Conv expects NHWC input with known channels; got shape {input_shape}")
        k, in_channels = self.kernel_size, input_shape[-1]
        kernel_shape = (k, k, self.filters, in_channels) if self.transpose else (k, k, in_channels, self.filters)
        self.kernel = self.add_weight(
            name="kernel", shape=kernel_shape, initializer=self.kernel_initializer, autocast=False)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros", autocast=False)
        self.u = None
        if self.spectral_norm:
            self.u = self.add_weight(
                name="spectral_u", shape=(1, self.filters), initializer=keras.initializers.RandomNormal(0.0, 1.0),
                dtype="float32", trainable=False, autocast=False, aggregation="only_first_replica")

    def applied_kernel(self, training=False):
        """The float32 kernel the layer convolves with: the variable, divided by sigma with spectral norm.

        With spectral norm and training=True, also stores the power iteration's new u.
        """
        kernel = ops.cast(self.kernel, "float32")
        if not self.spectral_norm:
            return kernel
        output_channels_last = ops.transpose(kernel, (0, 1, 3, 2)) if self.transpose else kernel
        matrix = ops.reshape(output_channels_last, (-1, self.filters))
        v = ops.stop_gradient(_l2_normalize(ops.matmul(self.u, ops.transpose(matrix))))
        u = ops.stop_gradient(_l2_normalize(ops.matmul(v, matrix)))
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        if training:
            self.u.assign(u)
        return kernel / sigma

    def call(self, inputs, training=None):
        kernel = ops.cast(self.applied_kernel(training), self.compute_dtype)
        if self.transpose:
            outputs = ops.conv_transpose(inputs, kernel, self.strides, self.padding)
        else:
            outputs = ops.conv(inputs, kernel, self.strides, self.padding)
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, ops.cast(self.bias, self.compute_dtype))
        return outputs

    def compute_output_shape(self, input_shape):
        k, s = self.kernel_size, self.strides

        def size(n):
            if n is None:
                return None
            if self.transpose:
                return n * s if self.padding == "same" else (n - 1) * s + max(k, s)
            return -(-n // s) if self.padding == "same" else (n - k) // s + 1

        return (input_shape[0], size(input_shape[1]), size(input_shape[2]), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "transpose": self.transpose,
            "spectral_norm": self.spectral_norm,
        }


@keras.saving.register_keras_serializable(package="cyclegan")
class ICNR(keras.initializers.Initializer):
    """ICNR (Aitken et al. 2017, arXiv 1707.02937): initialise a kernel feeding a x`scale` upsampling so
    that, at initialisation, the upsampled output is a nearest-neighbour resize of a smaller
    convolution, hence free of checkerboard patterns. `base_initializer` draws the smaller kernel.

    transposed=False, kernel (kh, kw, in, out) of a convolution whose output is rearranged by
    depth_to_space (sub-pixel convolution): draw (kh, kw, in, out / scale^2) and tile it scale^2
    times along the last axis, so every sub-pixel position of an output pixel block gets the same
    filter (TensorFlow's depth_to_space order: channel = position * out / scale^2 + c). This is
    also what experiment 2 applied to the convolution after its nearest/bilinear resize; there the
    resize alone already keeps a constant image constant for any kernel, and ICNR only makes the
    out / scale^2 channel groups start equal.

    transposed=True, kernel (kh, kw, out, in) of a transposed convolution with stride `scale`:
    output phase p (of scale per axis) is produced by kernel taps p, p + scale, ... (up to a
    shift fixed by the padding). Draw (kh // scale, kw // scale, out, in), repeat every tap
    `scale` times along both spatial axes, and zero any remaining taps (kh % scale of them, at the
    end): then every phase applies the same filter to the same inputs, and the output is a
    nearest-neighbour upsampling (possibly shifted by one pixel) of a stride-1 convolution.
    """

    def __init__(self, base_initializer="glorot_uniform", scale: int = 2, transposed: bool = False):
        _check_positive_int("ICNR", "scale", scale)
        _check_bool("ICNR", "transposed", transposed)
        self.base_initializer = keras.initializers.get(base_initializer)
        self.scale = scale
        self.transposed = transposed

    def __call__(self, shape, dtype=None):
        if len(shape) != 4:
            raise ValueError(f"ICNR initialises 2-D conv kernels of rank 4; got shape {tuple(shape)}")
        kh, kw, third, last = shape
        s = self.scale
        if self.transposed:
            if kh < s or kw < s:
                raise ValueError(f"ICNR: a transposed kernel needs spatial size >= scale {s}; got {kh}x{kw}")
            sub = self.base_initializer((kh // s, kw // s, third, last), dtype=dtype)
            sub = ops.repeat(ops.repeat(sub, s, axis=0), s, axis=1)
            return ops.pad(sub, ((0, kh % s), (0, kw % s), (0, 0), (0, 0)))
        if last % (s * s):
            raise ValueError(f"ICNR: output channels ({last}) must be divisible by scale^2 = {s * s}")
        sub = self.base_initializer((kh, kw, third, last // (s * s)), dtype=dtype)
        return ops.tile(sub, (1, 1, 1, s * s))

    def get_config(self):
        return {
            "base_initializer": keras.initializers.serialize(self.base_initializer),
            "scale": self.scale,
            "transposed": self.transposed,
        }


def icnr(base_initializer="glorot_uniform", scale: int = 2, transposed: bool = False) -> ICNR:
    """An `ICNR` initializer; see its docstring for the two kernel layouts."""
    return ICNR(base_initializer, scale, transposed)
