"""One trainer per run folder: an exclusive OS lock on it.

The lock is `flock` on RUN/train.lock, which the kernel releases when its holder dies, however it
dies; the file keeps the holder's PID and host so that a refused trainer can name them. Whoever
holds the lock is the only writer of the folder, so what an earlier trainer left half-written can
go (rundir.py `RunDir.remove_debris`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from cyclegan.errors import RunInUseError

LOCK_NAME = "train.lock"


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run folder's lock (creating the folder) until the block ends; RunInUseError naming
    the holder's PID and host when another process holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if _lock(descriptor, path):
            os.ftruncate(descriptor, 0)
            os.write(descriptor, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        yield
    finally:
        os.close(descriptor)


def _lock(descriptor: int, path: Path) -> bool:
    """Take the lock: True, or False with a warning where the filesystem has no locks; RunInUseError
    when another process holds it."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RunInUseError(f"{path.parent} is being trained by {_holder(path)} (lock {path}); wait until it "
                            "ends, or choose another --run-dir") from None
    except OSError as err:
        print(f"warning: cannot lock {path} ({err.strerror}): nothing keeps a second trainer off this run folder",
              file=sys.stderr)
        return False
    return True


def _holder(path: Path, attempts: int = 10) -> str:
    """'PID n on host h' from the lock file, waiting briefly for a holder that is still writing it."""
    for _ in range(attempts):
        try:
            holder = json.loads(path.read_text())
            return f"PID {holder['pid']} on host {holder['host']}"
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.05)
    return "another process"
