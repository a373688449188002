"""Distribution: which `tf.distribute` strategy a run uses, and which worker writes its outputs.

One machine: the default strategy (one device) or MirroredStrategy (all local GPUs). Several
machines: MultiWorkerMirroredStrategy over the cluster that the TF_CONFIG environment variable
describes. Every replica processes `train.batch_size` image pairs per step, so the global batch is
batch_size x replicas (over all workers); gradients are summed over replicas from losses divided
by the replica count, so a step equals one device's step on the global batch.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf


def select_strategy(name: str) -> tf.distribute.Strategy:
    """"default": one device; "mirrored": all local GPUs (or the CPU); "multiworker":
    MultiWorkerMirroredStrategy over TF_CONFIG's cluster; "auto": multiworker when TF_CONFIG is
    set, else mirrored when there are several GPUs, else default.

    Create it before anything else touches TensorFlow: the multi-worker strategy sets up the
    collective ops, which must happen before the runtime starts.
    """
    if name == "multiworker" or (name == "auto" and os.environ.get("TF_CONFIG")):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored" or (name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's checkpoints and TensorBoard events (always true on one machine)."""
    return strategy.extended.should_checkpoint


@contextlib.contextmanager
def output_dir(strategy: tf.distribute.Strategy, run_dir: Path):
    """Where this process writes checkpoints/ and tensorboard/: `run_dir` on the chief; on other
    workers a temporary directory, removed on exit. Other workers still save, because saving
    under a multi-worker strategy takes part in collective operations with the chief."""
    if is_chief(strategy):
        yield run_dir
        return
    scratch = Path(tempfile.mkdtemp(prefix="cyclegan-worker-"))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_same_step(strategy: tf.distribute.Strategy, step: int) -> None:
    """Raise ValueError on every worker unless all workers restored the same step.

    Workers resume from the checkpoints in their own `run_dir` (one shared folder, or copies of
    the chief's); workers at different steps would feed collectives that never match up.
    """
    if strategy.num_replicas_in_sync == 1:
        return
    value = tf.constant(float(step), tf.float64)
    per_replica = strategy.run(lambda: tf.stack([value, value * value]))
    total, total_squares = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None).numpy()
    replicas = strategy.num_replicas_in_sync
    if replicas * total_squares != total * total:  # equal only when every replica's step is the same
        raise ValueError(
            f"workers restored different steps (this one {step}, mean {total / replicas:g}): every "
            "worker resumes from the checkpoints in its --run-dir, so give all of them the same "
            "folder (a shared filesystem) or copies of the chief's checkpoints/")
