"""Shared test setup: quiet TensorFlow; the prepared dataset and trained run that many tests use."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """A tiny prepared phantom dataset (32x32), shared by every test that trains or translates."""
    from tests.helpers import make_prepared

    return make_prepared(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_run(prepared, tmp_path_factory):
    """A run directory trained 4 steps on `prepared`, with checkpoints at steps 2 and 4."""
    from cyclegan.training import train
    from tests.helpers import tiny_config

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(tiny_config("train.max_steps=4"), prepared, run_dir, progress=False)
    return run_dir
