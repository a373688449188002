"""Run as a script: `python -m cyclegan train` with the given arguments, killed by SIGKILL at one
chosen moment (or not at all). test_chaos.py resumes after each kill.

    python -m tests.chaos_train KILL_AT TRAIN_ARGS...    (from the repository root)

KILL_AT:
  none                 train to the end
  after-step:N         once step N has run and been logged, before its checkpoint
  checkpoint-shards:N  while writing the checkpoint of step N: its shards written, not yet merged
  checkpoint-state:N   while recording the checkpoint of step N: its files written, the state file's
                       staging copy written, not yet renamed into place
  truncating-events    while rewriting a TensorBoard event file at start-up: its new copy
                       written, not yet renamed into place
"""

import os
import signal
import sys
from pathlib import Path

from tensorflow.python.lib.io import file_io
from tensorflow.python.ops import gen_io_ops

from cyclegan import cli
from cyclegan.runs import checkpoints
from cyclegan.train import callbacks


def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after_step(step: int) -> None:
    save = callbacks.StepCheckpoint.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        if self.global_step(batch) == step:
            die()
        save(self, batch, logs)

    callbacks.StepCheckpoint.on_train_batch_end = on_train_batch_end


def kill_while_saving(step: int, stage: str) -> None:
    save = checkpoints.Writer.save

    def save_then_die(writer, at_step):
        if at_step == step:
            arm(stage)
        return save(writer, at_step)

    checkpoints.Writer.save = save_then_die


def arm(stage: str) -> None:
    """Kill at the next shard merge ("shards") or checkpoint state update ("state")."""
    if stage == "shards":
        gen_io_ops.merge_v2_checkpoints = die
        return
    atomic_write = file_io.atomic_write_string_to_file

    def write_state(path, contents, overwrite=True):
        if os.path.basename(path) != "checkpoint":
            return atomic_write(path, contents, overwrite)
        file_io.write_string_to_file(f"{path}.tmp{os.getpid():x}", contents)
        die()

    file_io.atomic_write_string_to_file = write_state


def kill_while_truncating() -> None:
    """Kill when the first rewritten event file is about to replace the original."""
    replace = Path.replace

    def replace_or_die(self, target):
        if self.name.endswith(".truncating"):
            die()
        return replace(self, target)

    Path.replace = replace_or_die


def main():
    kill_at, train_args = sys.argv[1], sys.argv[2:]
    moment, _, step = kill_at.partition(":")
    if moment == "after-step":
        kill_after_step(int(step))
    elif moment.startswith("checkpoint-"):
        kill_while_saving(int(step), moment.removeprefix("checkpoint-"))
    elif moment == "truncating-events":
        kill_while_truncating()
    sys.exit(cli.main(["train", *train_args]))


if __name__ == "__main__":
    main()
