"""Helpers that only the data tests use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def assert_rerun_in_another_process_is_identical(sources: list[str], size, out: Path, again: Path,
                                                 **options) -> None:
    """Run prepare_dataset(sources, size, again, **options) in a fresh Python with another hash seed
    (other dict and set orders) and assert that every file equals the one in `out`, byte for byte."""
    script = ("from cyclegan.data.prepare import prepare_dataset; "
              f"prepare_dataset({sources!r}, {tuple(size)!r}, {str(again)!r}, progress=False, **{options!r})")
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment,
                   check=True)
    assert sorted(path.name for path in again.iterdir()) == sorted(path.name for path in out.iterdir())
    for path in out.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
