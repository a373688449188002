"""A run's checkpoints, their one owner: what one holds, where it is written, writing and reading it.

Where: checkpoints/ckpt-<step>.index and .data-*, and TensorFlow's `checkpoint` state file that
lists the complete ones. What: the model's state (`CycleGAN.state()`: step, g_h2c, g_c2h,
d_healthy, d_cancer, the optimizers, pool_healthy, pool_cancer), each under its name, so that a
reader can restore the generators alone. When: `TrainConfig.checkpoint_due` (train/callbacks.py
calls `Writer.save` at those steps and at the run's last step).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import tensorflow as tf

from cyclegan.errors import DiskFullError, NonFiniteLossError, is_disk_full

CHECKPOINT_NAME = "ckpt"
DEBRIS = ("*_temp", "checkpoint.tmp*")  # a checkpoint's shards before their merge, the state file's staging


def checkpoint_step(prefix: str) -> int:
    """The step of a checkpoint path prefix (".../ckpt-<step>")."""
    return int(prefix.rsplit("-", 1)[1])


class Checkpoints:
    """The checkpoints in `directory` (a run folder's checkpoints/, which need not exist yet)."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def kept(self) -> dict[int, str]:
        """{step: checkpoint path prefix} of every completely written checkpoint, oldest first."""
        state = tf.train.get_checkpoint_state(str(self.directory))
        if state is None:
            return {}
        return {checkpoint_step(prefix): prefix for prefix in state.all_model_checkpoint_paths}

    def latest(self) -> str | None:
        """The path prefix of the latest checkpoint, or None when there is none."""
        return tf.train.latest_checkpoint(str(self.directory))

    def unlisted_files(self) -> list[Path]:
        """Files a trainer killed between writing a checkpoint and listing it left behind."""
        listed = {Path(prefix).name for prefix in self.kept().values()}
        written = [path for path in self.directory.glob(f"{CHECKPOINT_NAME}-*")
                   if path.is_file() and path.name.split(".")[0] not in listed]
        return written + [path for pattern in DEBRIS for path in self.directory.glob(pattern)]

    def restore(self, state: dict, prefix: str) -> None:
        """Load the checkpoint at `prefix` into `state` (CycleGAN.state()): all of it must match."""
        tf.train.Checkpoint(**state).restore(prefix).assert_existing_objects_matched()

    def restore_part(self, networks: dict, prefix: str) -> None:
        """Load the networks in `networks` ({name: network}, e.g. the two generators) from `prefix`."""
        status = tf.train.Checkpoint(**networks).restore(prefix)
        status.expect_partial().assert_existing_objects_matched()

    def writer(self, state: dict, max_to_keep: int) -> Writer:
        """A writer of `state` (CycleGAN.state()) here; `max_to_keep` 0 keeps every checkpoint."""
        return Writer(self, state, max_to_keep)


class Writer:
    """Writes a model's state as ckpt-<step> into a `Checkpoints` folder."""

    def __init__(self, checkpoints: Checkpoints, state: dict, max_to_keep: int):
        self.checkpoints = checkpoints
        self.values = [variable for item in state.values() for variable in getattr(item, "variables", [item])
                       if tf.as_dtype(variable.dtype).is_floating]
        self.manager = tf.train.CheckpointManager(tf.train.Checkpoint(**state), str(checkpoints.directory),
                                                  checkpoint_name=CHECKPOINT_NAME, max_to_keep=max_to_keep or None)

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def save(self, step: int) -> str:
        """Write the checkpoint of `step`; returns its prefix. NonFiniteLossError if any value of
        the state (weights, optimizer moments, pooled images) is NaN or Inf; DiskFullError when it
        does not fit, after removing what it wrote (the state file stays on the last complete one)."""
        if not all(bool(tf.reduce_all(tf.math.is_finite(value))) for value in self.values):
            raise NonFiniteLossError(f"weights or optimizer state became NaN or Inf by step {step}; "
                                     "no checkpoint written")
        try:
            return self.manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as err:
            if not is_disk_full(err):
                raise
            for path in self.checkpoints.unlisted_files():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            latest = self.checkpoints.latest()
            kept = f"its checkpoint {Path(latest).name}" if latest else "no checkpoint yet"
            raise DiskFullError(f"no space left on the device for the checkpoint of step {step} in "
                                f"{self.checkpoints.directory}; the run keeps {kept}: free space, then run the "
                                "same command to resume") from err
