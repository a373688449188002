"""Shared test setup: quiet TensorFlow and make the package importable."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import pytest


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """A tiny prepared phantom dataset (32x32), shared by every test that trains or translates."""
    from helpers import make_prepared

    return make_prepared(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_run(prepared, tmp_path_factory):
    """A run directory trained 4 steps on `prepared`, with checkpoints at steps 2 and 4."""
    from cyclegan.training import train
    from helpers import tiny_config

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(tiny_config("train.max_steps=4"), prepared, run_dir, progress=False)
    return run_dir
