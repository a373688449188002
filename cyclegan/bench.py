"""`python -m cyclegan bench`: speed of one training step at a config's full size, against the
machine's own matrix-multiply peak, and the input pipeline's rate.

- Step time: `fit` on one repeated random batch of the config's size (global batch = per-replica
  batch x replicas), with the config's pool, strategy, XLA and precision settings; each step's
  time is the interval between consecutive batch ends, each waiting for the step's losses. The
  first `warmup` steps (tracing, compilation, first allocations) are dropped; the median of the
  rest is reported.
- FLOPs per step: counted from the layer shapes (cyclegan/flops.py says how).
- Peak: the best rate of a chain of large square matmuls in the convolutions' compute dtype,
  timed in the same run on one device; utilisation = achieved FLOP/s / (peak x replicas).
- Input pipeline: batches per second from prepared TFRecords (`--data`, or a temporary phantom
  prepared at the config's size), decoded exactly as training reads them, with nothing else
  running.

Other work on the machine slows every figure: while the steps are timed, the CPU time that other
processes used is measured (`background_cores`, in cores, from /proc/stat on Linux); compare
runs only when it is near 0.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from cyclegan import flops, precision
from cyclegan.config import ExperimentConfig
from cyclegan.data import pipeline
from cyclegan.distribution import select_strategy
from cyclegan.model import CycleGAN

PHANTOM_IMAGES = 12  # per domain, for the pipeline rate when no prepared data is given


class _StepClock(keras.callbacks.Callback):
    """Records when each batch ends, after its losses are computed (reading one forces that)."""

    def __init__(self):
        super().__init__()
        self.ends: list[float] = []

    def on_train_begin(self, logs=None):
        self.ends.append(time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        float(logs["generators/total"])
        self.ends.append(time.perf_counter())


class BackgroundLoad:
    """CPU time used by other processes while the block runs, in cores (None off Linux)."""

    def __enter__(self):
        self.start = (_machine_busy_seconds(), time.process_time(), time.perf_counter())
        return self

    def __exit__(self, *exc):
        busy, own, wall = self.start
        self.cores = None
        if busy is not None:
            other = (_machine_busy_seconds() - busy) - (time.process_time() - own)
            self.cores = max(other, 0.0) / (time.perf_counter() - wall)


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (every state but idle and iowait)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(value) for value in fields]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def step_seconds(config: ExperimentConfig, steps: int, warmup: int) -> tuple[list[float], CycleGAN]:
    """Seconds of each of `steps` training steps after `warmup` steps, and the model."""
    strategy = select_strategy(config.train.strategy)
    global_batch = config.train.batch_size * strategy.num_replicas_in_sync
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = CycleGAN(config)
        model.compile(jit_compile=config.train.jit_compile)
    rng = np.random.default_rng(config.seed)
    healthy, cancer = (np.tanh(rng.normal(size=(global_batch, *config.image_shape))).astype(np.float32)
                       for _ in range(2))
    step_input = (healthy, cancer)
    if config.train.batches_per_step == 2:  # the sequential order's second batch
        step_input = (step_input, step_input)
    batches = tf.data.Dataset.from_tensors(step_input).repeat()
    clock = _StepClock()
    model.fit(batches, epochs=1, steps_per_epoch=warmup + steps, callbacks=[clock], verbose=0, shuffle=False)
    return list(np.diff(clock.ends)[warmup:]), model


def matmul_peak(dtype: str, size: int, chain: int = 8, repeats: int = 5) -> float:
    """Best FLOP/s of `chain` dependent (size x size) matmuls in `dtype` on the default device."""
    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size), stddev=size ** -0.5), dtype)

    @tf.function
    def products(x):
        for _ in range(chain):
            x = tf.matmul(x, b)
        return tf.reduce_sum(tf.cast(x[:1, :1], tf.float32))

    products(a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        products(a).numpy()
        best = min(best, time.perf_counter() - start)
    return chain * 2 * size ** 3 / best


def pipeline_batches_per_second(data_dir, config: ExperimentConfig, global_batch: int, batches: int = 60,
                                warmup: int = 5) -> float:
    """Batches per second that `pipeline.train_dataset` delivers from prepared data."""
    dataset = pipeline.train_dataset(data_dir, global_batch, config.data.include_masks, config.seed,
                                     batches_per_step=config.train.batches_per_step)
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches / (time.perf_counter() - start)


def prepare_phantom(root: Path, config: ExperimentConfig) -> Path:
    """A phantom of PHANTOM_IMAGES per domain, prepared at the config's size under `root`."""
    from cyclegan.data.phantom import write_phantom
    from cyclegan.data.prepare import prepare_dataset

    height, width = config.data.height, config.data.width
    write_phantom(root / "raw", PHANTOM_IMAGES, seed=config.seed, height=height, width=width)
    prepare_dataset([f"folder:{root / 'raw'}"], (height, width), root / "prepared", progress=False)
    return root / "prepared"


def device_description() -> str:
    """The accelerator(s) the step runs on, or the CPU model and core count."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus]
        return f"{len(gpus)} x {names[0]}"
    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def run_bench(config: ExperimentConfig, steps: int = 5, warmup: int = 2, data_dir=None) -> dict:
    """Measure everything the module docstring lists; returns the JSON-ready figures.

    Units: ms_per_step in milliseconds; flops_per_step in FLOPs (whole global batch);
    peak_flops and achieved_flops in FLOP/s; images are counted per domain image (a step
    consumes global_batch healthy and global_batch cancer images).
    """
    if config.train.strategy == "multiworker":
        raise ValueError("bench measures one machine; use train.strategy auto, default or mirrored")
    with BackgroundLoad() as background:
        seconds, model = step_seconds(config, steps, warmup)
    replicas = model.distribute_strategy.num_replicas_in_sync
    global_batch = config.train.batch_size * replicas
    step_flops = global_batch * flops.train_step_flops(
        config, (model.g_h2c, model.g_c2h, model.d_healthy, model.d_cancer))["step"]
    dtype = precision.compute_dtype(config.train.mixed_precision)
    peak = matmul_peak(dtype, 8192 if tf.config.list_physical_devices("GPU") else 2048)
    with tempfile.TemporaryDirectory(prefix="cyclegan-bench-") as scratch:
        data = data_dir if data_dir is not None else prepare_phantom(Path(scratch), config)
        pipeline_rate = pipeline_batches_per_second(data, config, global_batch)
    median = statistics.median(seconds)
    achieved = step_flops / median
    return {
        "config": config.name,
        "image_shape": list(config.image_shape),
        "global_batch": global_batch,
        "replicas": replicas,
        "jit_compile": config.train.jit_compile,
        "mixed_precision": config.train.mixed_precision,
        "device": device_description(),
        "steps_timed": len(seconds),
        "ms_per_step": 1e3 * median,
        "ms_per_step_each": [round(1e3 * s, 1) for s in seconds],
        "steps_per_s": 1 / median,
        "images_per_s": 2 * global_batch / median,
        "flops_per_step": step_flops,
        "achieved_flops": achieved,
        "peak_flops": peak,
        "peak_dtype": dtype,
        "utilization": achieved / (peak * replicas),
        "pipeline_steps_per_s": pipeline_rate,
        "pipeline_images_per_s": 2 * global_batch * pipeline_rate,
        "pipeline_headroom": pipeline_rate * median,
        "pipeline_data": "phantom" if data_dir is None else str(data_dir),
        "background_cores": None if background.cores is None else round(background.cores, 2),
    }


def format_report(result: dict) -> str:
    """The figures of `run_bench` as a few readable lines."""
    return "\n".join([
        f"{result['config']} {'x'.join(map(str, result['image_shape']))}, global batch {result['global_batch']}, "
        f"{result['replicas']} replica(s), XLA {'on' if result['jit_compile'] else 'off'}, "
        f"precision {result['mixed_precision']} on {result['device']}",
        f"  step:        {result['ms_per_step']:.1f} ms median of {result['steps_timed']} "
        f"({result['steps_per_s']:.3f} steps/s, {result['images_per_s']:.2f} images/s)",
        f"  arithmetic:  {result['flops_per_step'] / 1e9:.1f} GFLOP/step -> "
        f"{result['achieved_flops'] / 1e9:.1f} GFLOP/s",
        f"  peak:        {result['peak_flops'] / 1e9:.1f} GFLOP/s ({result['peak_dtype']} matmul) -> "
        f"utilisation {result['utilization']:.2f}",
        f"  pipeline:    {result['pipeline_images_per_s']:.1f} images/s "
        f"({result['pipeline_headroom']:.1f}x the step rate, {result['pipeline_data']} data)",
        f"  other processes used {result['background_cores']} cores while the steps ran",
    ])
