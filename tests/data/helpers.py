"""Helpers that only the data tests use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cyclegan.data.recipes import PrepareSettings

ROOT = Path(__file__).resolve().parents[2]


def assert_rerun_in_another_process_is_identical(sources: list[str], settings: PrepareSettings, out: Path,
                                                 again: Path, **options) -> None:
    """Run prepare_dataset(sources, settings, again, **options) in a fresh Python with another hash seed
    (other dict and set orders) and assert that every file equals the one in `out`, byte for byte.
    The settings travel as their repr, so they hold no Path."""
    script = ("from cyclegan.data.prepare import prepare_dataset; from cyclegan.data.recipes import PrepareSettings; "
              f"prepare_dataset({sources!r}, {settings!r}, {str(again)!r}, progress=False, **{options!r})")
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment,
                   check=True)
    assert sorted(path.name for path in again.iterdir()) == sorted(path.name for path in out.iterdir())
    for path in out.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
