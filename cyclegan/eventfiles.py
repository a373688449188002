"""TensorBoard event files of a run directory."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tensorflow.core.util import event_pb2


def truncate_events(logdir: str | Path, last_step: int) -> int:
    """Drop every event after `last_step` from the event files under `logdir`.

    A run resumed from the checkpoint at `last_step` rewrites the steps after it; removing the
    old ones first keeps each step once in TensorBoard. Returns how many events were dropped.
    """
    dropped = 0
    for path in sorted(Path(logdir).rglob("events.out.tfevents.*")):
        records = [bytes(r) for r in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()]
        kept = [r for r in records if event_pb2.Event.FromString(r).step <= last_step]
        if len(kept) == len(records):
            continue
        dropped += len(records) - len(kept)
        temporary = path.with_name(path.name + ".tmp")
        with tf.io.TFRecordWriter(str(temporary)) as writer:
            for record in kept:
                writer.write(record)
        temporary.replace(path)
    return dropped
