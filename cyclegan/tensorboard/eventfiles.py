"""TensorBoard event files of a run directory."""

from __future__ import annotations

import os
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
    (`last_step` 0) also those of step 0 (the chart layout a start writes). A record that a killed
    writer left half-written at the end of a file goes too.

    Keeps each step once in TensorBoard. Returns how many events were dropped.
    """
    dropped = 0
    for path in sorted(Path(logdir).rglob("events.out.tfevents.*")):
        records, complete = _complete_records(path)
        kept = [r for r in records if _kept(event_pb2.Event.FromString(r), last_step)]
        if len(kept) == len(records) and complete:
            continue
        dropped += len(records) - len(kept)
        _rewrite(path, kept)
    return dropped


def _complete_records(path: Path) -> tuple[list[bytes], bool]:
    """The whole records of an event file, and whether the file ends with a whole record."""
    records = []
    try:
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            records.append(bytes(record))
    except tf.errors.DataLossError:
        return records, False
    return records, True


def _rewrite(path: Path, records: list[bytes]) -> None:
    """Replace an event file by `records`, whole or not at all. The staging file's name lacks
    "tfevents", so TensorBoard never reads it (runlock.py removes one a killed process left)."""
    staging = path.with_name(f".{os.getpid()}.truncating")
    with tf.io.TFRecordWriter(str(staging)) as writer:
        for record in records:
            writer.write(record)
    staging.replace(path)


def _kept(event: event_pb2.Event, last_step: int) -> bool:
    if last_step == 0 and event.summary.value:
        return False
    return event.step <= last_step
