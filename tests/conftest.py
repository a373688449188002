"""Shared test setup: quiet TensorFlow; one instance-norm implementation whatever the machine (the
choice is timed and cached otherwise; tests/test_instance_norm.py tests that); the commands' CPU
thread counts (cyclegan/runtime/threads.py); the prepared dataset
and trained run that many tests use. Subprocesses the tests start inherit the environment."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CYCLEGAN_INSTANCE_NORM", "fused")

import pytest

from cyclegan.runtime import threads

threads.configure()  # the thread counts the commands run with, before any test runs an op


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """A tiny prepared phantom dataset (32x32), shared by every test that trains or translates."""
    from tests.helpers import make_prepared

    return make_prepared(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_run(prepared, tmp_path_factory):
    """A run directory trained 4 steps on `prepared`, with checkpoints at steps 2 and 4."""
    from cyclegan.train.training import train
    from tests.helpers import tiny_config

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(tiny_config("train.max_steps=4"), prepared, run_dir, progress=False)
    return run_dir
