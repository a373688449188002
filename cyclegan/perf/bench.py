"""`python -m cyclegan bench`: the speed of one training step at a config's full size, against the
machine's own matrix-multiply peak, and the input pipeline's rate (docs/speed.md explains every
field of the result, the method and the figures measured).

`run_bench(config, ...)` returns a dict: ms_per_step (median over the timed executions, warm-up
dropped), flops_per_step (flops.py), peak_flops and utilization (achieved / (peak x replicas)),
pipeline_steps_per_s, the machine (`device`, `cpu_isa`), `cpu_threads` (threads.py),
`instance_norm` (instance_norm.py) and `background_cores` (other processes' CPU use while timing);
with `--compare-plain` also the plain Keras step's ms (benchmarks/plain_keras_step.py) and
speedup_vs_plain; with `--profile DIR` the profiler's ms per op type (op_profile.py).
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from cyclegan.config import ExperimentConfig, config_from_dict, config_to_dict
from cyclegan.data import pipeline
from cyclegan.data.dataset import PreparedDataset
from cyclegan.gan import precision
from cyclegan.gan.model import CycleGAN
from cyclegan.gan.update_orders import update_order
from cyclegan.nets import instance_norm
from cyclegan.perf import flops, op_profile
from cyclegan.runtime import threads
from cyclegan.runtime.machine import cpu_flags, cpu_isa, device_description
from cyclegan.train.distribution import select_strategy

PROFILED_STEPS = 2  # traced after the timed ones with --profile
PROFILE_LINES = 10  # op types listed in the readable report
PHANTOM_IMAGES = 12  # per domain, for the pipeline rate when no prepared data is given
PLAIN_STEP = Path(__file__).resolve().parents[2] / "benchmarks" / "plain_keras_step.py"


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


class _Interleaved(keras.callbacks.Callback):
    """Times the project's steps like `_StepClock`, and after each one past the first `warmup`
    runs `plain_step` (which returns its own seconds) outside the project's intervals."""

    def __init__(self, plain_step, warmup: int):
        super().__init__()
        self.plain_step, self.warmup = plain_step, warmup
        self.project: list[float] = []
        self.plain: list[float] = []

    def on_train_begin(self, logs=None):
        self.last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        float(logs["generators/total"])
        now = time.perf_counter()
        if batch >= self.warmup:
            self.project.append(now - self.last)
            self.plain.append(self.plain_step())
        self.last = time.perf_counter()


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


def build_model(config: ExperimentConfig) -> CycleGAN:
    """The project's CycleGAN for `config`, compiled, under the config's strategy."""
    strategy = select_strategy(config.train.strategy)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = CycleGAN(config)
        model.compile(jit_compile=config.train.jit_compile, steps_per_execution=config.train.steps_per_execution)
    return model


def random_batch(config: ExperimentConfig, global_batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(healthy, cancer): one batch of tanh'd Gaussian images of the config's shape, from its seed."""
    rng = np.random.default_rng(config.seed)
    return tuple(np.tanh(rng.normal(size=(global_batch, *config.image_shape))).astype(np.float32)
                 for _ in range(2))


def fit_seconds(model: CycleGAN, batch, steps: int, warmup: int) -> list[float]:
    """Seconds per step of `steps` executions of `model.fit` on the repeated `batch`, after `warmup`
    untimed ones (an execution runs train.steps_per_execution steps; its time is divided among them)."""
    step_input = batch
    if update_order(model.config.train).batches_per_step == 2:  # the sequential order's second batch
        step_input = (step_input, step_input)
    batches = tf.data.Dataset.from_tensors(step_input).repeat()
    clock = _StepClock()
    per_execution = model.config.train.steps_per_execution
    model.fit(batches, epochs=1, steps_per_epoch=(warmup + steps) * per_execution, callbacks=[clock], verbose=0,
              shuffle=False)
    return [seconds / per_execution for seconds in np.diff(clock.ends)[warmup:]]


def step_seconds(config: ExperimentConfig, steps: int, warmup: int) -> tuple[list[float], CycleGAN]:
    """Seconds of each of `steps` training steps after `warmup` steps, and the model."""
    model = build_model(config)
    global_batch = config.train.batch_size * model.distribute_strategy.num_replicas_in_sync
    return fit_seconds(model, random_batch(config, global_batch), steps, warmup), model


def joint_order(config: ExperimentConfig) -> ExperimentConfig:
    """`config` with train.update_order=joint (the single-pass order the plain step does), one step
    per execution (so that the two steps alternate)."""
    return config_from_dict(config_to_dict(config), ["train.update_order=joint", "train.steps_per_execution=1"])


def load_plain_step():
    """benchmarks/plain_keras_step.py of this checkout, as a module."""
    if not PLAIN_STEP.is_file():
        raise FileNotFoundError(f"--compare-plain needs the repository's {PLAIN_STEP} (run bench from a checkout)")
    spec = importlib.util.spec_from_file_location("plain_keras_step", PLAIN_STEP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare_plain_seconds(config: ExperimentConfig, steps: int,
                          warmup: int) -> tuple[list[float], list[float], CycleGAN]:
    """(the project's step seconds, the plain step's, the project's model): `steps` of each,
    interleaved step by step, on the same batch from the same initial weights; `config` should be joint."""
    model = build_model(config)
    if model.distribute_strategy.num_replicas_in_sync != 1:
        raise ValueError("--compare-plain times one device: set train.strategy=default")
    plain = load_plain_step().PlainCycleGAN(config, (model.g_h2c, model.g_c2h, model.d_healthy, model.d_cancer))
    healthy, cancer = (tf.convert_to_tensor(images) for images in random_batch(config, config.train.batch_size))
    plain.step_seconds(healthy, cancer, 0, warmup)
    clock = _Interleaved(lambda: plain.step_seconds(healthy, cancer, 1, 0)[0], warmup)
    batches = tf.data.Dataset.from_tensors((healthy, cancer)).repeat()
    model.fit(batches, epochs=1, steps_per_epoch=warmup + steps, callbacks=[clock], verbose=0, shuffle=False)
    return clock.project, clock.plain, model


def profile_steps(model: CycleGAN, batch, directory: Path) -> dict:
    """{"dir", "steps", "ms_per_step_by_op", "ops_per_step_by_op"}: PROFILED_STEPS executions of
    `model.fit` on `batch` traced into `directory`; per op type, the executor threads' time and the
    number of ops run, divided among the traced steps."""
    op_profile.trace(directory, lambda: fit_seconds(model, batch, PROFILED_STEPS, 0))
    steps = PROFILED_STEPS * model.config.train.steps_per_execution
    totals = op_profile.op_totals(directory)
    return {"dir": str(directory), "steps": steps,
            "ms_per_step_by_op": {op: round(ms / steps, 3) for op, (ms, _) in totals.items()},
            "ops_per_step_by_op": {op: count / steps for op, (_, count) in totals.items()}}


def matmul_peak(dtype: str, size: int, chain: int = 8, repeats: int = 5, parallel: int = 1) -> float:
    """Best FLOP/s of `parallel` independent chains of `chain` dependent (size x size) matmuls in
    `dtype` on the default device (as many chains as ops run at once, so that every core works)."""
    starts = [tf.cast(tf.random.normal((size, size)), dtype) for _ in range(parallel)]
    b = tf.cast(tf.random.normal((size, size), stddev=size ** -0.5), dtype)

    @tf.function
    def products(xs):
        ends = []
        for x in xs:
            for _ in range(chain):
                x = tf.matmul(x, b)
            ends.append(tf.reduce_sum(tf.cast(x[:1, :1], tf.float32)))
        return tf.add_n(ends)

    products(starts).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        products(starts).numpy()
        best = min(best, time.perf_counter() - start)
    return parallel * chain * 2 * size ** 3 / best


def pipeline_batches_per_second(data_dir, config: ExperimentConfig, global_batch: int, batches: int = 60,
                                warmup: int = 5) -> float:
    """Batches per second that `pipeline.train_dataset` delivers from prepared data."""
    dataset = pipeline.train_dataset(PreparedDataset.open(data_dir), global_batch, config.data.include_masks,
                                     config.seed, batches_per_step=update_order(config.train).batches_per_step,
                                     pairing=config.data.pairing)
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
    from cyclegan.data.recipes import resolve

    height, width = config.data.height, config.data.width
    write_phantom(root / "raw", PHANTOM_IMAGES, seed=config.seed, height=height, width=width)
    prepare_dataset([f"folder:{root / 'raw'}"], resolve(size=(height, width)), root / "prepared", progress=False)
    return root / "prepared"


def run_bench(config: ExperimentConfig, steps: int = 5, warmup: int = 2, data_dir=None, *,
              compare_plain: bool = False, peak_size: int | None = None, profile_dir=None) -> dict:
    """Measure everything the module docstring lists; returns the JSON-ready figures.

    Units: ms_per_step in milliseconds; flops_per_step in FLOPs (whole global batch);
    peak_flops and achieved_flops in FLOP/s; images are counted per domain image (a step
    consumes global_batch healthy and global_batch cancer images). `compare_plain` times the
    plain Keras step too, in the joint order (see the module docstring); `peak_size` is the
    matmul size for the peak (default 8192 on a GPU, 2048 on a CPU); `profile_dir` adds `profile`.
    """
    if config.train.strategy == "multiworker":
        raise ValueError("bench measures one machine; use train.strategy auto, default or mirrored")
    configured_order = config.train.update_order
    plain_seconds = None
    with BackgroundLoad() as background:
        if compare_plain:
            config = joint_order(config)
            seconds, plain_seconds, model = compare_plain_seconds(config, steps, warmup)
        else:
            seconds, model = step_seconds(config, steps, warmup)
    replicas = model.distribute_strategy.num_replicas_in_sync
    global_batch = config.train.batch_size * replicas
    step_flops = global_batch * flops.train_step_flops(
        config, (model.g_h2c, model.g_c2h, model.d_healthy, model.d_cancer))["step"]
    dtype = precision.compute_dtype(config.train.mixed_precision)
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    cpu_threads = threads.describe()
    peak = matmul_peak(dtype, peak_size or (8192 if on_gpu else 2048),
                       parallel=1 if on_gpu else cpu_threads["inter_op"] or threads.cpu_cores())
    with tempfile.TemporaryDirectory(prefix="cyclegan-bench-") as scratch:
        data = data_dir if data_dir is not None else prepare_phantom(Path(scratch), config)
        pipeline_rate = pipeline_batches_per_second(data, config, global_batch)
    median = statistics.median(seconds)
    achieved = step_flops / median
    result = {
        "config": config.name,
        "image_shape": list(config.image_shape),
        "global_batch": global_batch,
        "replicas": replicas,
        "update_order": config.train.update_order,
        "jit_compile": config.train.jit_compile,
        "steps_per_execution": config.train.steps_per_execution,
        "mixed_precision": config.train.mixed_precision,
        "device": device_description(),
        "cpu_isa": cpu_isa(cpu_flags()),
        "cpu_threads": cpu_threads,
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
        "instance_norm": {name: value for name, value in instance_norm.fastest().items() if name != "key"},
    }
    if profile_dir is not None:
        result["profile"] = profile_steps(model, random_batch(config, global_batch), Path(profile_dir))
    if plain_seconds is not None:
        plain_median = statistics.median(plain_seconds)
        result.update({
            "configured_update_order": configured_order,
            "plain_steps_timed": len(plain_seconds),
            "plain_ms_per_step": 1e3 * plain_median,
            "plain_ms_per_step_each": [round(1e3 * s, 1) for s in plain_seconds],
            "plain_utilization": step_flops / plain_median / (peak * replicas),
            "speedup_vs_plain": plain_median / median,
        })
    return result


def format_report(result: dict) -> str:
    """The figures of `run_bench` as a few readable lines."""
    lines = [
        f"{result['config']} {'x'.join(map(str, result['image_shape']))}, global batch {result['global_batch']}, "
        f"{result['replicas']} replica(s), update order {result['update_order']}, "
        f"XLA {'on' if result['jit_compile'] else 'off'}, {result['steps_per_execution']} step(s) per execution, "
        f"precision {result['mixed_precision']} on {result['device']}",
        f"  step:        {result['ms_per_step']:.1f} ms median of {result['steps_timed']} "
        f"({result['steps_per_s']:.3f} steps/s, {result['images_per_s']:.2f} images/s)",
    ]
    if "plain_ms_per_step" in result:
        lines.append(
            f"  plain Keras: {result['plain_ms_per_step']:.1f} ms median of {result['plain_steps_timed']}, "
            f"interleaved step by step -> speedup_vs_plain {result['speedup_vs_plain']:.2f}x "
            f"(plain utilisation {result['plain_utilization']:.2f})")
    lines += [
        f"  arithmetic:  {result['flops_per_step'] / 1e9:.1f} GFLOP/step -> "
        f"{result['achieved_flops'] / 1e9:.1f} GFLOP/s",
        f"  peak:        {result['peak_flops'] / 1e9:.1f} GFLOP/s ({result['peak_dtype']} matmul) -> "
        f"utilisation {result['utilization']:.2f}",
        f"  pipeline:    {result['pipeline_images_per_s']:.1f} images/s "
        f"({result['pipeline_headroom']:.1f}x the step rate, {result['pipeline_data']} data)",
        f"  instance norm: {_instance_norm_line(result['instance_norm'])}",
        f"  CPU threads: {_threads_line(result['cpu_threads'])}",
        *_profile_lines(result.get("profile")),
        f"  other processes used {result['background_cores']} cores while the steps ran",
    ]
    return "\n".join(lines)


def _threads_line(cpu_threads: dict) -> str:
    """"2 ops at once, 1 thread each" (TensorFlow's default where a count is 0)."""
    inter, intra = cpu_threads["inter_op"], cpu_threads["intra_op"]
    return (f"{inter or 'TensorFlow default:'} ops at once, "
            f"{intra or 'as many threads as cores'} thread{'s' if intra != 1 else ''} each")


def _instance_norm_line(choice: dict) -> str:
    """`choice` (instance_norm.fastest() without its key) in words."""
    timings = ""
    if choice["ms"]:
        timings = " (" + ", ".join(f"{name} {ms:.1f} ms" for name, ms in sorted(choice["ms"].items())) + \
                  " forward + backward)"
    how = {"environment": f"set by {instance_norm.ENVIRONMENT_VARIABLE}", "cache": "measured earlier on this machine",
           "measured": "measured now"}[choice["source"]]
    return f"{choice['implementation']}, {how}{timings}"


def _profile_lines(profile: dict | None) -> list[str]:
    """The largest op types of `profile` (run_bench's), one line each."""
    if not profile:
        return []
    by_op, ops = profile["ms_per_step_by_op"], profile["ops_per_step_by_op"]
    total = sum(by_op.values())
    lines = [f"  time by op type ({total:.0f} ms/step on the executor threads, which run ops side by side; "
             f"{sum(ops.values()):.0f} ops/step; trace in {profile['dir']}):"]
    lines += [f"    {op:32s} {ms:8.1f} ms/step {100 * ms / total:5.1f} % {ops[op]:6.0f} ops/step "
              f"{1e3 * ms / ops[op]:7.0f} us/op" for op, ms in list(by_op.items())[:PROFILE_LINES]]
    return lines
