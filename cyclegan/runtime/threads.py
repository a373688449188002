"""How a CPU's cores are shared among a training step's ops.

TensorFlow's default on an n-core CPU runs up to n ops at once (inter-op threads) and lets each op
split its work over n threads (intra-op). A CycleGAN step has two independent halves (each
generator with its discriminator) that TensorFlow runs side by side, so two convolutions that each
ask for every core compete for them. `configure()` gives each op its own share instead:
min(2, n) ops at once, n // that many threads each (on 2 cores: 2 ops, 1 thread each); what that
gains is measured in docs/speed.md. With a GPU visible, TensorFlow's defaults stay (the CPU only
feeds the GPU). CYCLEGAN_CPU_THREADS=INTER,INTRA sets both counts; CYCLEGAN_CPU_THREADS=tensorflow
keeps TensorFlow's defaults.
"""

from __future__ import annotations

import os

ENVIRONMENT_VARIABLE = "CYCLEGAN_CPU_THREADS"
CONCURRENT_OPS = 2  # the step's independent halves


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask, e.g. under taskset or a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def layout(cores: int, gpu_visible: bool, setting: str | None) -> tuple[int, int] | None:
    """(inter-op threads, intra-op threads) for `cores` CPU cores, or None for TensorFlow's
    defaults; `setting` is CYCLEGAN_CPU_THREADS's value ("INTER,INTRA", "tensorflow" or None)."""
    if setting:
        if setting.strip().lower() == "tensorflow":
            return None
        counts = setting.replace(" ", "").split(",")
        if len(counts) != 2 or not all(count.isdigit() and int(count) > 0 for count in counts):
            raise ValueError(f"{ENVIRONMENT_VARIABLE}={setting!r}: give two positive counts "
                             "INTER,INTRA (e.g. 2,1) or 'tensorflow' for TensorFlow's defaults")
        return int(counts[0]), int(counts[1])
    if gpu_visible:
        return None
    inter_op = min(CONCURRENT_OPS, cores)
    return inter_op, max(1, cores // inter_op)


def configure() -> None:
    """Set TensorFlow's thread counts by `layout`. Only a process that has not run a TensorFlow op
    yet can change them; in one that has, they stay as they are."""
    import tensorflow as tf

    setting = os.environ.get(ENVIRONMENT_VARIABLE)
    threads = layout(cpu_cores(), bool(tf.config.list_physical_devices("GPU")), setting)
    if threads is None:
        return
    try:
        tf.config.threading.set_inter_op_parallelism_threads(threads[0])
        tf.config.threading.set_intra_op_parallelism_threads(threads[1])
    except RuntimeError:  # "... cannot be modified after initialization"
        pass


def describe() -> dict:
    """{"inter_op", "intra_op"}: this process's thread counts, 0 where TensorFlow picks its default
    (as many as cores)."""
    import tensorflow as tf

    return {"inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads()}
