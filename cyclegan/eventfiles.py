"""TensorBoard event files of a run directory."""

from __future__ import annotations

import re
from pathlib import Path

import tensorflow as tf
from tensorflow.core.util import event_pb2

# Keeps every image panel (TensorBoard 2.21 serves no images at all with images=0).
TENSORBOARD_FLAGS = "--samples_per_plugin images=100000"


def tensorboard_command(logdir: str | Path) -> str:
    """The command that shows a run's TensorBoard folder with every panel kept."""
    return f"tensorboard --logdir {logdir} {TENSORBOARD_FLAGS}"


def run_events_dir(tensorboard_dir: str | Path, run_name: str) -> Path:
    """The folder the events go to, tensorboard_dir/<run_name>: TensorBoard names the run after it.

    Characters other than letters, digits, '.', '_' and '-' become '_'."""
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", run_name).strip(".") or "run"
    return Path(tensorboard_dir) / folder


def truncate_events(logdir: str | Path, last_step: int) -> int:
    """Drop the summaries that a run restarting from the checkpoint at `last_step` writes again,
    from every event file under `logdir`: those after `last_step`, and with no checkpoint
    (`last_step` 0) also those of step 0 (the chart layout a start writes).

    Keeps each step once in TensorBoard. Returns how many events were dropped.
    """
    dropped = 0
    for path in sorted(Path(logdir).rglob("events.out.tfevents.*")):
        records = [bytes(r) for r in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()]
        kept = [r for r in records if _kept(event_pb2.Event.FromString(r), last_step)]
        if len(kept) == len(records):
            continue
        dropped += len(records) - len(kept)
        temporary = path.with_name(path.name + ".tmp")
        with tf.io.TFRecordWriter(str(temporary)) as writer:
            for record in kept:
                writer.write(record)
        temporary.replace(path)
    return dropped


def _kept(event: event_pb2.Event, last_step: int) -> bool:
    if last_step == 0 and event.summary.value:
        return False
    return event.step <= last_step
