"""Training killed with SIGKILL again and again, and resumed each time by the same command, ends
exactly where an uninterrupted run ends, with each TensorBoard step once, every kept checkpoint
whole and nothing half-written left behind."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

from cyclegan.runs.rundir import RunDir
from tests.helpers import TINY

SCRIPT = "tests.chaos_train"
ROOT = Path(__file__).resolve().parents[1]
TIME_LIMIT_S = 900  # all trainings together; about 120 s on 2 cores
SETTINGS = [*TINY, "train.max_steps=6", "train.deterministic=true"]
# After each moment the same command runs again; the last attempt trains to the end.
KILLS = ["after-step:1", "truncating-events", "checkpoint-shards:2", "checkpoint-state:4", "after-step:5"]
DEBRIS = ["**/*.partial", "**/.*.truncating", "checkpoints/*_temp", "checkpoints/checkpoint.tmp*"]
# What the kills leave half-written, for the next start to remove.
LEFT_BEHIND = {"truncating-events": "tensorboard/**/.*.truncating", "checkpoint-shards:2": "checkpoints/ckpt-2_temp",
               "checkpoint-state:4": "checkpoints/checkpoint.tmp*"}


def _start(kill_at: str, data: Path, run_dir: Path) -> subprocess.Popen:
    args = ["--config", "experiments/exp1.json", "--data", str(data), "--run-dir", str(run_dir), "--no-progress",
            *[part for setting in SETTINGS for part in ("--set", setting)]]
    return subprocess.Popen([sys.executable, "-m", SCRIPT, kill_at, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def _finish(process: subprocess.Popen, deadline: float) -> tuple[int, str]:
    """The exit code and output of `process`, killed once `deadline` (time.monotonic()) passes."""
    try:
        output, _ = process.communicate(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, output


def _kill_once_started(process: subprocess.Popen, run_dir: Path, deadline: float) -> int:
    """SIGKILL `process` as soon as it has written run_dir/config.json (start-up: model not built yet)."""
    while not (run_dir / "config.json").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    return _finish(process, deadline)[0]


def _chaos(data: Path, run_dir: Path, deadline: float) -> None:
    """A SIGKILL at start-up, then one at each of KILLS, each followed by the same command; the
    last one trains to the end."""
    assert _kill_once_started(_start("none", data, run_dir), run_dir, deadline) == -signal.SIGKILL
    for kill_at in KILLS:
        code, output = _finish(_start(kill_at, data, run_dir), deadline)
        assert code == -signal.SIGKILL, f"{kill_at}: exit {code}\n{output[-3000:]}"
        assert kill_at not in LEFT_BEHIND or list(run_dir.glob(LEFT_BEHIND[kill_at])), kill_at
    code, output = _finish(_start("none", data, run_dir), deadline)
    assert code == 0, output[-3000:]


def _scalars(run_dir: Path) -> list[tuple[str, int, float]]:
    found = []
    for path in sorted((run_dir / "tensorboard").rglob("*tfevents*")):
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            found += [(value.tag, event.step, value) for value in event.summary.value]
    return found


def _losses(scalars) -> dict[tuple[str, int], float]:
    return {(tag, step): float(tf.make_ndarray(value.tensor)) for tag, step, value in scalars
            if tag.startswith("losses/")}


def _tensors(prefix: str) -> dict[str, np.ndarray]:
    """Every tensor of a checkpoint, but its save counter (how many saves this process made)."""
    reader = tf.train.load_checkpoint(prefix)
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map() if "save_counter" not in key}


@pytest.mark.slow  # eight trainings of a tiny model in fresh processes: about two minutes on 2 cores
def test_killed_and_resumed_training_ends_as_an_uninterrupted_run(prepared, tmp_path):
    deadline = time.monotonic() + TIME_LIMIT_S
    chaos = tmp_path / "chaos"
    straight = _start("none", prepared, tmp_path / "straight")  # beside the chaos, on the other core
    try:
        _chaos(prepared, chaos, deadline)
        code, output = _finish(straight, deadline)
        assert code == 0, output[-3000:]
    finally:
        straight.kill()

    kept = RunDir(chaos).checkpoints.kept()
    assert sorted(kept) == [2, 4, 6] == sorted(RunDir(tmp_path / "straight").checkpoints.kept())
    assert sorted(path.name for path in (chaos / "checkpoints").glob("ckpt-*.index")) == \
        [f"ckpt-{step}.index" for step in (2, 4, 6)]
    tensors = {step: _tensors(prefix) for step, prefix in kept.items()}  # every kept checkpoint loads
    reference = _tensors(RunDir(tmp_path / "straight").checkpoints.kept()[6])
    assert tensors[6].keys() == reference.keys()
    for key, value in reference.items():
        np.testing.assert_array_equal(tensors[6][key], value, err_msg=key)

    scalars = _scalars(chaos)
    counts = Counter((tag, step) for tag, step, _ in scalars)
    assert [key for key, count in counts.items() if count > 1] == []
    assert counts[("custom_scalars__config__", 0)] == 1
    losses = _losses(scalars)
    reference_losses = _losses(_scalars(tmp_path / "straight"))
    assert losses.keys() == reference_losses.keys()
    assert {step for _, step in losses} == {1, 2, 3, 4, 5, 6}
    for key, value in reference_losses.items():
        assert losses[key] == value, key

    assert [path for pattern in DEBRIS for path in chaos.glob(pattern)] == []
