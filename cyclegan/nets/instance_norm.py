"""Instance normalisation's arithmetic, two equivalent ways, and which of them is fastest here.

Both map x (B, H, W, C) with scale and offset (C,) float32 to
(x - mean_hw) / sqrt(var_hw + epsilon) * scale + offset, the statistics per sample and channel
(var_hw biased), computed in float32 whatever x's dtype; the output has x's dtype.

- "fused": TensorFlow's fused batch-norm kernel in training mode, whose statistics over
  (N, H, W) become instance statistics once each sample's channels are moved into the channel
  axis of a batch of one (free when B = 1). oneDNN's AVX-512 kernel makes it about 2.5x faster
  than "moments" (forward and backward), but with AVX2 alone it is about 1.3x slower.
- "moments": separate mean, variance and scaling ops, differentiated by TensorFlow.

`fastest()` times both (forward and backward at two generator-sized shapes, interleaved) the first
time a process asks, and caches the answer per machine, device, thread counts and TensorFlow version in
$XDG_CACHE_HOME/breastgan-keras/instance_norm.json (default ~/.cache/...); the environment
variable CYCLEGAN_INSTANCE_NORM=fused|moments overrides it. The two agree to float tolerance.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import time
from pathlib import Path

import tensorflow as tf

from cyclegan.runtime import threads
from cyclegan.runtime.machine import device_description

ENVIRONMENT_VARIABLE = "CYCLEGAN_INSTANCE_NORM"
TIMED_SHAPES = ((1, 128, 128, 64), (2, 64, 64, 128))  # (B, H, W, C): a generator's wide and deep layers
TIMED_REPEATS = 7


def fused(x, scale, offset, epsilon: float):
    """Instance norm by the fused batch-norm kernel; see the module docstring."""
    if x.shape[0] == 1:
        return _fused_batch_of_one(x, scale, offset, epsilon)
    batch, height, width, channels = tf.unstack(tf.shape(x))
    as_channels = tf.reshape(tf.transpose(x, (1, 2, 0, 3)), (1, height, width, batch * channels))
    normalised = _fused_batch_of_one(as_channels, tf.tile(scale, [batch]), tf.tile(offset, [batch]), epsilon)
    return tf.transpose(tf.reshape(normalised, (height, width, batch, channels)), (2, 0, 1, 3))


def _fused_batch_of_one(x, scale, offset, epsilon: float):
    """Per-channel normalisation of a (1, H, W, C') batch; scale and offset (C',) float32."""
    kernel_dtype = tf.float32 if x.dtype == tf.bfloat16 else x.dtype  # no bfloat16 GPU kernel
    empty = tf.zeros((0,), tf.float32)
    normalised = tf.raw_ops.FusedBatchNormV3(
        x=tf.cast(x, kernel_dtype), scale=scale, offset=offset, mean=empty, variance=empty,
        epsilon=epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=True)[0]
    return tf.cast(normalised, x.dtype)


def moments(x, scale, offset, epsilon: float):
    """Instance norm by separate ops; see the module docstring."""
    x32 = tf.cast(x, tf.float32)
    centred = x32 - tf.reduce_mean(x32, (1, 2), keepdims=True)
    variance = tf.reduce_mean(tf.square(centred), (1, 2), keepdims=True)
    return tf.cast(centred * (tf.math.rsqrt(variance + epsilon) * scale) + offset, x.dtype)


IMPLEMENTATIONS = {"fused": fused, "moments": moments}


@functools.cache
def fastest() -> dict:
    """{"implementation", "source" ("environment", "cache" or "measured"), "ms" per implementation
    (forward + backward at TIMED_SHAPES, when measured), "key"}: the choice for this process."""
    forced = os.environ.get(ENVIRONMENT_VARIABLE)
    if forced:
        if forced not in IMPLEMENTATIONS:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}={forced!r}: choose one of {', '.join(IMPLEMENTATIONS)}")
        return {"implementation": forced, "source": "environment", "ms": None, "key": None}
    key = machine_key()
    cache = _cache_path()
    cached = _read_cache(cache)
    if key in cached and cached[key].get("implementation") in IMPLEMENTATIONS:
        return {**cached[key], "source": "cache", "key": key}
    with tf.init_scope():
        ms = time_implementations()
    choice = {"implementation": min(ms, key=ms.get), "ms": ms}
    cached[key] = choice
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(cached, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass  # an unwritable cache only means measuring again next time
    return {**choice, "source": "measured", "key": key}


def time_implementations(shapes=TIMED_SHAPES, repeats: int = TIMED_REPEATS) -> dict[str, float]:
    """Milliseconds of one forward and backward pass of each implementation over `shapes`
    (float32), the median of `repeats` rounds that alternate between implementations."""
    steps = {name: [_timed_pass(implementation, shape) for shape in shapes]
             for name, implementation in IMPLEMENTATIONS.items()}
    for passes in steps.values():
        for run in passes:
            run()  # trace and warm up
    seconds = {name: [] for name in steps}
    for _ in range(repeats):
        for name, passes in steps.items():
            start = time.perf_counter()
            for run in passes:
                run()
            seconds[name].append(time.perf_counter() - start)
    return {name: round(1e3 * statistics.median(values), 3) for name, values in seconds.items()}


def _timed_pass(implementation, shape):
    """A function running `implementation` forward and backward on fixed random tensors of `shape`."""
    x = tf.random.stateless_normal(shape, (1, 2))
    upstream = tf.random.stateless_normal(shape, (3, 4))
    scale = tf.ones(shape[-1:])
    offset = tf.zeros(shape[-1:])

    @tf.function
    def forward_backward():  # graph gradients: a Keras layer call, which may trigger this, stops tapes
        y = implementation(x, scale, offset, 1e-5)
        return tf.gradients(y, (x, scale, offset), grad_ys=upstream)

    return lambda: [gradient.numpy() for gradient in forward_backward()]


def machine_key() -> str:
    """What the choice depends on: device, CPU and its instruction set, cores, the thread counts
    (cyclegan/runtime/threads.py), TensorFlow version."""
    cpu_threads = threads.describe()
    return (f"{device_description()} | threads {cpu_threads['inter_op']}x{cpu_threads['intra_op']} "
            f"| TensorFlow {tf.__version__}")


def _cache_path() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "breastgan-keras" / "instance_norm.json"


def _read_cache(path: Path) -> dict:
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return cached if isinstance(cached, dict) else {}
