"""Two worker processes on localhost under MultiWorkerMirroredStrategy train, stop, resume, and end
with the weights one process reaches with their combined batch; only the chief writes the run."""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "tests.multiworker_step"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _run(args, env_by_process: list[dict]) -> list[dict]:
    processes = [subprocess.Popen([sys.executable, "-m", SCRIPT, *map(str, args)], cwd=ROOT,
                                  env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for env in env_by_process]
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _weights(run_dir: Path, step: int) -> list[np.ndarray]:
    """The four networks' variables in run_dir's checkpoint of `step`, in the optimizers' order."""
    reader = tf.train.load_checkpoint(str(run_dir / "checkpoints" / f"ckpt-{step}"))
    found = [re.match(r"(\w*optimizer)/_trainable_variables/(\d+)/", name)
             for name in reader.get_variable_to_shape_map()]
    keys = sorted((match.group(1), int(match.group(2)), match.group(0)) for match in found if match)
    assert len(keys) > 20
    return [reader.get_tensor(key + ".ATTRIBUTES/VARIABLE_VALUE") for _, _, key in keys]


@pytest.mark.slow  # five processes that each start TensorFlow and trace a step: about a minute
def test_two_workers_train_and_resume_like_one_process_with_the_combined_batch(prepared, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    workers = [{"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                "TMPDIR": str(tmp_path)} for index in range(2)]
    shared = tmp_path / "shared_run"

    first = _run([prepared, shared, 2, 1], workers)
    resumed = _run([prepared, shared, 3, 1], workers)
    (single,) = _run([prepared, tmp_path / "single_run", 3, 2], [{"TF_CONFIG": ""}])

    assert [r["chief"] for r in first] == [True, False]
    assert [(r["start_step"], r["end_step"]) for r in first + resumed] == [(0, 2)] * 2 + [(2, 3)] * 2
    assert (single["start_step"], single["end_step"], single["chief"]) == (0, 3, True)
    assert json.loads((shared / "train.lock").read_text())["pid"] == resumed[0]["pid"]  # only the chief locks

    steps = sorted(int(path.name.split("-")[1].split(".")[0]) for path in (shared / "checkpoints").glob("ckpt-*.index"))
    assert steps == [2, 3]  # the chief's checkpoints only, each written once
    assert json.loads((shared / "config.json").read_text())["train"]["batch_size"] == 1
    assert list(tmp_path.glob("cyclegan-worker-*")) == []  # the other worker's scratch is gone

    for multi, alone in zip(_weights(shared, 3), _weights(tmp_path / "single_run", 3)):
        np.testing.assert_allclose(multi, alone, rtol=1e-4, atol=2e-5)
    resumed_update = max(float(np.max(np.abs(a - b))) for a, b in zip(_weights(shared, 3), _weights(shared, 2)))
    assert resumed_update > 1e-4  # the resumed step changed the weights

